"""Scale-out: vmapped seeds and hyper-parameters equal separate runs; device layouts; two hosts over loopback."""
import json
import os
import socket
import subprocess
import sys

import jax
import ml_collections
import numpy as np
import pytest

from gan_jax import checkpoint
from gan_jax import config as config_lib
from gan_jax import engine
from gan_jax import evaluation
from gan_jax import parallel
from gan_jax import targets as targets_lib
from gan_jax import toy_task
from gan_jax import train
from gan_jax import workdir as workdir_lib
from gan_jax import writers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "configs"))
import testing as testing_config  # noqa: E402  pylint: disable=g-import-not-at-top

STEPS = 5


def _config(**overrides):
  # The affine generator without KDE compiles fastest; the flow and KDE paths are covered in train_test.py.
  c = testing_config.get_config()
  c.generator = "affine"
  c.generator_kwargs = ml_collections.ConfigDict()
  c.eval_kde_samples = 0
  for k, v in overrides.items():
    c[k] = ml_collections.ConfigDict(v) if isinstance(v, dict) else v
  return c


# Runs by config: several tests train the same config (a seed batch, a static run of a vmapped value, the unsharded
# reference of a layout), so each trains once per process; the states are read, never changed.
_RUNS = {}


def _train(config, with_eval=True):
  """(final state, per-step metrics, final evaluation or None) of every replica of `config` in its layout."""
  key = config.to_json_best_effort(sort_keys=True)
  if (key, True) in _RUNS or (key, with_eval) in _RUNS:
    state, metrics, evals = _RUNS.get((key, True)) or _RUNS[(key, with_eval)]
    return state, metrics, evals if with_eval else None
  _RUNS[(key, with_eval)] = _train_once(config, with_eval)
  return _RUNS[(key, with_eval)]


def _train_once(config, with_eval):
  gan = train.build_gan(config)
  layout = parallel.create_layout(config)
  gan = gan.with_shard_batch(layout.batch_constraint())
  target = targets_lib.get_target(config.target)
  state = engine.init_states(gan, parallel.replicas_of(config), layout)
  state, metrics = jax.jit(jax.vmap(lambda s: toy_task.train_steps(gan, target, s, STEPS)))(state)
  if not with_eval:
    return state, metrics, None
  spec = toy_task.eval_spec(config)
  evals = jax.jit(jax.vmap(lambda s: evaluation.evaluate(gan, target, s, jax.random.fold_in(s.key, 99), spec)))(
      state)
  return state, metrics, evals


def _replica(tree, i):
  return jax.tree.map(lambda x: np.asarray(x)[i], tree)


def _assert_trees_close(a, b, rtol=1e-5, atol=1e-6):
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


def test_vmapped_seeds_equal_each_seed_alone():
  state, metrics, evals = _train(_config(seed=3, num_seeds=2))
  for i in range(2):
    alone_state, alone_metrics, alone_evals = _train(_config(seed=3 + i, num_seeds=1), with_eval=i == 0)
    if alone_evals is not None:
      _assert_trees_close(_replica(evals, i), _replica(alone_evals, 0))
    _assert_trees_close(_replica(metrics, i), _replica(alone_metrics, 0))
    _assert_trees_close(_replica(state.g_params, i), _replica(alone_state.g_params, 0))


def test_zip_hparams_are_checked_before_anything_compiles():
  config = _config()
  config.zip_hparams.g_learning_rate = (1e-3, 2e-3)
  config.zip_hparams.d_learning_rate = (1e-3,)
  with pytest.raises(ValueError, match=r"config.zip_hparams has lists of lengths d_learning_rate: 1, g_learn"):
    parallel.replicas_of(config)
  config.zip_hparams.d_learning_rate = (1e-3, -1.0)
  with pytest.raises(ValueError, match=r"config.zip_hparams.d_learning_rate=\(0.001, -1.0\) is invalid"):
    train.build_gan(config)
  config.zip_hparams.d_learning_rate = (1e-3, 1e-2)
  config.vmap_hparams.r1_weight = (1.0,)
  with pytest.raises(ValueError, match="config.zip_hparams sets d_learning_rate, g_learning_rate and "
                                       "config.vmap_hparams sets r1_weight; allowed: one of the two"):
    parallel.replicas_of(config)


def test_runs_from_before_zip_hparams_still_resume(tmp_path):
  config = _config()
  writers.write_config(str(tmp_path), config)
  saved = json.loads((tmp_path / writers.CONFIG_FILE).read_text())
  del saved["zip_hparams"]  # a config.json written before the field existed
  (tmp_path / writers.CONFIG_FILE).write_text(json.dumps(saved))
  (tmp_path / "metrics.jsonl").write_text("")
  workdir_lib.check_resumable(str(tmp_path), config, config_lib.defaults_for(config))
  config.zip_hparams.g_learning_rate = (1e-3, 2e-3)
  with pytest.raises(ValueError, match=r"zip_hparams.g_learning_rate: '<unset>' -> \[0.001, 0.002\]"):
    workdir_lib.check_resumable(str(tmp_path), config, config_lib.defaults_for(config))


def test_zipped_replicas_alone_are_the_lone_config_state():
  config = _config(num_seeds=2)
  config.zip_hparams.g_learning_rate = (1e-3, 2e-3)
  config.zip_hparams.d_learning_rate = (3e-3, 4e-3)
  replicas = parallel.replicas_of(config)
  np.testing.assert_array_equal(replicas.seeds, [0, 1, 0, 1])  # zipped: 2 pairs × 2 seeds, not 4 pairs
  np.testing.assert_allclose(replicas.hparams["d_learning_rate"], [3e-3, 3e-3, 4e-3, 4e-3], rtol=1e-6)
  state = engine.init_states(train.build_gan(config), replicas)
  lone = _config(num_seeds=2)
  lone.optimizer_g.learning_rate, lone.optimizer_d.learning_rate = 2e-3, 4e-3
  lone_state = engine.init_states(train.build_gan(lone), parallel.replicas_of(lone))
  picked = engine.replicas_alone(state, [2, 3])
  # What a sweep saves as a packed member's checkpoint: the lone run's tree, so the lone config restores it.
  assert jax.tree.structure(picked) == jax.tree.structure(lone_state)
  _assert_trees_close(picked, lone_state)


@pytest.mark.parametrize("objective, field, values", [
    ("non_saturating", "g_learning_rate", [1e-3, 3e-3]),
    ("non_saturating", "real_target", [0.9, 1.0]),
    # The penalty weights compile the penalty's second-order gradients: ~10-15 s cold each.
    pytest.param("wgan_gp", "gradient_penalty_weight", [1.0, 10.0], marks=pytest.mark.slow),
    pytest.param("non_saturating", "r1_weight", [0.0, 5.0], marks=pytest.mark.slow),
])
def test_vmapped_hparams_equal_static_runs(objective, field, values):
  config = _config(objective=objective, num_seeds=2)
  config.vmap_hparams = ml_collections.ConfigDict({field: values})
  replicas = parallel.replicas_of(config)
  assert replicas.size == 4
  np.testing.assert_array_equal(replicas.seeds, [0, 1, 0, 1])
  np.testing.assert_allclose(replicas.hparams[field], np.repeat(values, 2))
  state, metrics, _ = _train(config, with_eval=False)
  for j, value in enumerate(values):
    static = _config(objective=objective, num_seeds=2)
    *group, name = parallel.VMAPPABLE_HPARAMS[field].split(".")
    (static[group[0]] if group else static)[name] = value
    static_state, static_metrics, _ = _train(static, with_eval=False)
    for s in range(2):
      _assert_trees_close(_replica(metrics, 2 * j + s), _replica(static_metrics, s))
      _assert_trees_close(_replica(state.g_params, 2 * j + s), _replica(static_state.g_params, s))


def test_rows_carry_hparam_columns(tmp_path):
  config = _config(num_seeds=2, num_steps=2, eval_every=2)
  config.vmap_hparams = ml_collections.ConfigDict({"d_learning_rate": [1e-3, 1e-2]})
  rows = train.train_and_evaluate(config, str(tmp_path))
  assert [(r["seed"], r["d_learning_rate"]) for r in rows] == [
      (0, pytest.approx(1e-3)), (1, pytest.approx(1e-3)), (0, pytest.approx(1e-2)), (1, pytest.approx(1e-2))]


def test_replica_sharded_equals_unsharded():
  # Not bit-exact: XLA:CPU picks matmul kernels by the per-device replica count (2 vs 1 here), which changes the
  # last float32 bits (measured max |Δ| ≈ 5e-9 on parameters of size ~5e-3 with 4 replicas on 4 devices).
  # Two replicas on two devices: the unsharded reference is the 2-seed run the other tests compile too.
  config = _config(num_seeds=2)
  plain_state, plain_metrics, plain_evals = _train(config)
  config.parallel.layout, config.parallel.num_devices = "replicas", 2
  state, metrics, evals = _train(config)
  leaf = jax.tree.leaves(state.g_params)[0]
  assert len(leaf.sharding.device_set) == 2 and leaf.sharding.spec[0] == parallel.REPLICA_AXIS
  for a, b in zip(jax.tree.leaves((plain_state, plain_metrics, plain_evals)),
                  jax.tree.leaves((state, metrics, evals))):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)


def test_data_parallel_matches_one_device():
  config = _config(num_seeds=2)  # batch 32: 8 examples per device; the reference is the shared 2-seed run
  plain_state, plain_metrics, _ = _train(config, with_eval=False)
  config.parallel.layout = "data"
  state, metrics, _ = _train(config, with_eval=False)
  assert len(jax.tree.leaves(state.g_params)[0].sharding.device_set) == 4
  _assert_trees_close(plain_metrics, metrics, rtol=1e-4, atol=1e-5)
  _assert_trees_close(plain_state.g_params, state.g_params, rtol=1e-4, atol=1e-5)
  _assert_trees_close(plain_state.d_params, state.d_params, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("num_seeds, devices", [(3, 3), (4, 4), (6, 3), (5, 1), (8, 4)])
def test_replicas_layout_on_all_devices_takes_those_that_divide_the_replicas(num_seeds, devices):
  config = _config(num_seeds=num_seeds)  # conftest: 4 CPU devices
  config.parallel.layout = "replicas"
  train.build_gan(config)  # validates: 0 devices never fails to divide
  assert parallel.num_devices(config) == devices
  assert parallel.create_layout(config).mesh.devices.size == devices
  config.parallel.layout = "data"
  assert parallel.num_devices(config) == 4  # every device: the batch must divide


def test_cpu_devices_split_the_cpu_before_jax_starts():
  # In a fresh process (here JAX started long ago with conftest's 4 devices, so it is only logged).
  script = ("from gan_jax import config, parallel\n"
            "c = config.base_config(); c.parallel.cpu_devices = 3\n"
            "assert parallel.use_cpu_devices(c)\n"
            "import jax; print(jax.device_count())\n")
  proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                        env={**os.environ, "JAX_PLATFORMS": "cpu"})
  assert proc.returncode == 0 and proc.stdout.split() == ["3"], proc.stderr[-2000:]
  config = _config()
  config.parallel.cpu_devices = 3
  assert not parallel.use_cpu_devices(config) and jax.device_count() == 4
  config.parallel.cpu_devices = 0
  assert not parallel.use_cpu_devices(config)


@pytest.mark.parametrize("overrides, needle", [
    ({"batch_size": 30, "parallel": {"layout": "data", "num_devices": 4}}, "config.batch_size=30 does not divide"),
    ({"parallel": {"layout": "none", "cpu_devices": -1}}, "config.parallel.cpu_devices=-1 is invalid"),
    ({"parallel": {"layout": "none", "cpu_devices": 2.5}}, "config.parallel.cpu_devices=2.5 is invalid"),
    ({"num_seeds": 3, "parallel": {"layout": "replicas", "num_devices": 4}}, "3 replicas"),
    ({"parallel": {"layout": "rows", "num_devices": 0}}, "config.parallel.layout='rows' is invalid"),
    ({"parallel": {"layout": "data", "num_devices": 64}}, "config.parallel.num_devices=64 is invalid"),
    ({"vmap_hparams": {"batch_size": [1, 2]}}, "config.vmap_hparams has 'batch_size'"),
    ({"vmap_hparams": {"r1_weight": ["a"]}}, r"config.vmap_hparams.r1_weight=\['a'\] is invalid"),
    ({"vmap_hparams": {"gradient_penalty_weight": [1.0]}}, "gradient penalty only for 'wgan_gp'"),
    ({"parallel": {"layout": "none", "num_devices": 0, "replica_map": "loop"}},
     r"config.parallel.replica_map='loop' is invalid; allowed: vmap \| unroll"),
    ({"num_seeds": 4, "parallel": {"layout": "replicas", "num_devices": 4, "replica_map": "unroll"}},
     "config.parallel.replica_map='unroll' is invalid with config.parallel.layout='replicas'"),
])
def test_layout_errors_before_compilation(overrides, needle):
  config = _config()
  for k, v in overrides.items():
    config[k] = ml_collections.ConfigDict(v) if isinstance(v, dict) else v
  with pytest.raises(ValueError, match=needle):
    train.build_gan(config)


def test_map_replicas_unrolled_equals_vmapped_with_shared_arguments():
  fn = lambda w, x, scale: {"y": jax.numpy.tanh(x @ w) * scale, "norm": jax.numpy.sum(w ** 2)}
  w = np.random.default_rng(0).normal(size=(3, 4, 2)).astype(np.float32)  # 3 replicas
  x = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)     # shared by every replica
  vmapped = parallel.map_replicas(fn, "vmap", in_axes=(0, None, None))(w, x, 2.0)
  unrolled = jax.jit(parallel.map_replicas(fn, "unroll", in_axes=(0, None, None)))(w, x, 2.0)
  assert unrolled["y"].shape == (3, 5, 2) and unrolled["norm"].shape == (3,)
  _assert_trees_close(vmapped, unrolled)
  with pytest.raises(ValueError, match="leading sizes \\[2, 3\\]"):
    parallel.map_replicas(fn, "unroll", in_axes=(0, 0, None))(w, w[:2], 1.0)


# The image run is the case that motivates 'unroll' (convolutions); the toy task's use of it is the same one call.
@pytest.mark.parametrize("task", [pytest.param("toy", marks=pytest.mark.slow), "image"])
def test_unrolled_replicas_train_as_vmapped(task, tmp_path):
  """A whole run (training chunks and evaluations) under replica_map='unroll' logs what 'vmap' logs."""
  if task == "toy":
    config = _config(num_seeds=2, num_steps=4, eval_every=2, eval_kde_samples=0)
  else:
    config = config_lib.image_config("digits")
    config.generator_kwargs = {"features": 8, "latent_dim": 16}
    config.discriminator_kwargs = {"features": 8, "normalization": "batch_norm"}
    config.num_seeds, config.batch_size, config.num_steps, config.eval_every = 2, 16, 3, 3
    config.eval_samples, config.eval_classifier, config.plot_every, config.checkpoint_every = 64, False, 0, 3
  rows = {}
  for how in parallel.REPLICA_MAPS:
    config.parallel.replica_map = how
    rows[how] = train.train_and_evaluate(config, str(tmp_path / how))
  assert len(rows["vmap"]) == 2
  for a, b in zip(rows["vmap"], rows["unroll"]):
    assert a.keys() == b.keys()
    for k, v in a.items():
      if isinstance(v, float):
        np.testing.assert_allclose(b[k], v, rtol=1e-4, atol=1e-5, err_msg=k)
      else:
        assert b[k] == v, k


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


MULTIHOST_OVERRIDES = {"num_seeds": 2, "num_steps": 4, "eval_every": 2, "checkpoint_every": 2, "batch_size": 64,
                       "generator": "affine", "generator_kwargs": {}, "eval_kde_samples": 0}


@pytest.mark.slow  # ~45 s cold (three processes); fake-device layouts are checked by default
def test_two_processes_over_loopback_match_one_process_on_four_devices(tmp_path):
  """Two hosts (processes) × 2 fake CPU devices, gloo collectives, data parallel, against 1 host × 4 devices."""
  port = _free_port()
  workdir = tmp_path / "multi"
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  worker = os.path.join(ROOT, "tests", "multihost_worker.py")
  procs = [subprocess.Popen([sys.executable, worker, f"127.0.0.1:{port}", "2", str(i), str(workdir),
                             json.dumps(MULTIHOST_OVERRIDES)],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
           for i in range(2)]
  outputs = [p.communicate(timeout=300)[0] for p in procs]
  for p, out in zip(procs, outputs):
    assert p.returncode == 0, out[-3000:]
  params = [np.load(workdir / f"params_process_{i}.npz") for i in range(2)]
  assert params[0].files == params[1].files
  for name in params[0].files:
    np.testing.assert_array_equal(params[0][name], params[1][name])

  single = _config(**MULTIHOST_OVERRIDES)
  single.parallel.layout = "data"
  single_dir = tmp_path / "single"
  train.train_and_evaluate(single, str(single_dir))
  multi_rows = writers.read_metrics(str(workdir / "metrics.jsonl"))
  single_rows = writers.read_metrics(str(single_dir / "metrics.jsonl"))
  assert [(r["step"], r["seed"]) for r in multi_rows] == [(r["step"], r["seed"]) for r in single_rows]
  for a, b in zip(multi_rows, single_rows):
    for key in ("g_loss", "d_loss", "g_param_norm", "js"):
      if key in b:
        assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-5), key
  gan = train.build_gan(single)
  restored, step = checkpoint.restore_latest(
      checkpoint.create_manager(str(single_dir / "checkpoints")),
      engine.state_shapes(gan, parallel.replicas_of(single)))
  assert step == 4
  flat = {jax.tree_util.keystr(k): np.asarray(v)
          for k, v in jax.tree_util.tree_leaves_with_path(restored.g_params)}
  for name in params[0].files:
    np.testing.assert_allclose(params[0][name], flat[name], rtol=1e-4, atol=1e-5)
