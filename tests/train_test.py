"""Tests of the training engine: steps for every objective, invalid configs, resume after kill -9, NaN stop."""
import os
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from gan_jax import checkpoint
from gan_jax import config as config_lib
from gan_jax import objectives
from gan_jax import train
from gan_jax import writers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "configs"))
import testing as testing_config  # noqa: E402  pylint: disable=g-import-not-at-top


def _config(**overrides):
  c = testing_config.get_config()
  for k, v in overrides.items():
    c[k] = v
  return c


@pytest.mark.parametrize("objective", objectives.OBJECTIVES)
def test_few_steps_every_objective(objective):
  config = _config(objective=objective, num_seeds=2)
  gan = train.build_gan(config)
  target = train.targets_lib.get_target(config.target)
  state = train.init_states(gan, train.seeds_of(config))
  new_state, metrics = jax.jit(jax.vmap(lambda s: train.train_steps(gan, target, s, 3)))(state)
  assert int(new_state.step[0]) == 3
  for name, value in metrics.items():
    assert value.shape == (2, 3), name
    assert np.isfinite(np.asarray(value)).all(), name
  # Both players moved, and the two seeds are different replicas.
  for before, after in ((state.g_params, new_state.g_params), (state.d_params, new_state.d_params)):
    assert not all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(before), jax.tree.leaves(after)))
  leaf = jax.tree.leaves(new_state.g_params)[0]
  assert not np.array_equal(leaf[0], leaf[1])
  for key in ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm", "d_grad_norm", "g_param_norm", "d_param_norm"):
    assert key in metrics


def test_weight_clip_holds_after_every_step():
  config = _config(objective="wasserstein", n_critic=3)
  config.optimizer_d.learning_rate = 0.5
  gan = train.build_gan(config)
  target = train.targets_lib.get_target(config.target)
  state = train.init_states(gan, train.seeds_of(config))
  state, _ = jax.jit(jax.vmap(lambda s: train.train_steps(gan, target, s, 2)))(state)
  c = gan.objective.weight_clip
  assert max(float(jnp.max(jnp.abs(p))) for p in jax.tree.leaves(state.d_params)) <= c


def test_simultaneous_generator_sees_old_discriminator():
  config = _config(update_mode="simultaneous")
  gan = train.build_gan(config)
  target = train.targets_lib.get_target(config.target)
  state = jax.tree.map(lambda x: x[0], train.init_states(gan, train.seeds_of(config)))
  real = train.sample_real(gan, target, state)
  new_state, _ = train.train_step(gan, state, real)
  # Recompute the generator update by hand against the *old* discriminator.
  k_g = jax.random.split(jax.random.fold_in(state.key, state.step))[1]
  grads = jax.grad(lambda p: train._generator_loss(gan, p, state.d_params, k_g))(state.g_params)
  updates, _ = gan.g_tx.update(grads, state.g_opt_state, state.g_params)
  expected = jax.tree.map(lambda p, u: p + u, state.g_params, updates)
  for a, b in zip(jax.tree.leaves(expected), jax.tree.leaves(new_state.g_params)):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("field, value, needle", [
    ("objective", "nope", "config.objective='nope'"),
    ("target", "moon", "config.target='moon'"),
    ("generator", "gru", "config.generator='gru'"),
    ("num_steps", 0, "config.num_steps=0"),
    ("batch_size", -4, "config.batch_size=-4"),
    ("eval_every", 0, "config.eval_every=0"),
    ("n_critic", 0, "config.n_critic=0"),
    ("update_mode", "sideways", "config.update_mode='sideways'"),
    ("seed", -1, "config.seed=-1"),
])
def test_invalid_config_raises_one_clear_error(field, value, needle):
  with pytest.raises(ValueError, match="^" + __import__("re").escape(needle)):
    train.build_gan(_config(**{field: value}))


@pytest.mark.parametrize("player, field, value", [
    ("optimizer_g", "name", "adamax"),
    ("optimizer_d", "learning_rate", 0.0),
    ("optimizer_g", "learning_rate", -1e-3),
])
def test_invalid_optimizer_raises(player, field, value):
  c = _config()
  c[player][field] = value
  with pytest.raises(ValueError, match=f"config.{player}.{field}="):
    train.build_gan(c)


def _run_train(workdir, *overrides, check=False):
  cmd = [sys.executable, os.path.join(ROOT, "experiments", "train.py"),
         f"--config={os.path.join(ROOT, 'configs', 'testing.py')}", f"--workdir={workdir}", *overrides]
  return subprocess.run(cmd, capture_output=True, text=True, check=check, cwd=ROOT)


def test_entry_point_bad_override_is_one_line(tmp_path):
  proc = _run_train(tmp_path / "w", "--config.objective=nope")
  assert proc.returncode != 0
  assert "Traceback" not in proc.stderr
  assert proc.stderr.strip().splitlines()[-1].startswith("error: config.objective='nope' is invalid; allowed:")
  assert not (tmp_path / "w" / "checkpoints").exists()


def _rows_by_key(path):
  rows = writers.read_metrics(str(path))
  keys = [(r["step"], r["seed"]) for r in rows]
  assert len(keys) == len(set(keys)), "duplicated metric rows"
  return {k: r for k, r in zip(keys, rows)}


def test_resume_after_kill_9_is_bit_identical(tmp_path):
  # The affine generator without KDE compiles fastest: three processes compile this run.
  overrides = ["--config.num_steps=120", "--config.eval_every=4", "--config.checkpoint_every=4",
               "--config.num_seeds=2", "--config.generator=affine", "--config.generator_kwargs={}",
               "--config.eval_kde_samples=0"]
  killed = tmp_path / "killed"
  cmd = [sys.executable, os.path.join(ROOT, "experiments", "train.py"),
         f"--config={os.path.join(ROOT, 'configs', 'testing.py')}", f"--workdir={killed}", *overrides]
  proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  ckpt_dir = killed / "checkpoints"
  deadline = time.time() + 120
  while time.time() < deadline and proc.poll() is None:
    steps = [int(d) for d in os.listdir(ckpt_dir) if d.isdigit()] if ckpt_dir.exists() else []
    if steps and max(steps) >= 12:
      break
    time.sleep(0.01)
  assert proc.poll() is None, "the run finished before it could be killed; make it longer"
  os.kill(proc.pid, signal.SIGKILL)
  proc.wait()
  assert proc.returncode == -signal.SIGKILL
  partial = writers.read_metrics(str(killed / "metrics.jsonl"))
  assert max(r["step"] for r in partial) < 120

  _run_train(killed, *overrides, check=True)
  reference = tmp_path / "reference"
  _run_train(reference, *overrides, check=True)

  resumed, expected = _rows_by_key(killed / "metrics.jsonl"), _rows_by_key(reference / "metrics.jsonl")
  assert resumed.keys() == expected.keys()
  assert len(expected) == 2 * (120 // 4 + 1)
  for key, row in expected.items():
    for name, value in row.items():
      assert resumed[key][name] == value or (np.isnan(value) and np.isnan(resumed[key][name])), (key, name)


def test_non_finite_stops_with_step_seed_objective_and_keeps_last_good(tmp_path):
  config = _config(num_seeds=2, num_steps=6, eval_every=2, checkpoint_every=2)
  config.optimizer_g = config_lib.optimizer_config("sgd", 1e30)
  config.optimizer_d = config_lib.optimizer_config("sgd", 1e30)
  with pytest.raises(train.NonFiniteError, match=r"at step \d+ \(seed \d+, objective 'non_saturating'\)"):
    train.train_and_evaluate(config, str(tmp_path))
  rows = writers.read_metrics(str(tmp_path / "metrics.jsonl"))
  last_step = max(r["step"] for r in rows)
  manager = checkpoint.create_manager(str(tmp_path / "checkpoints"))
  assert checkpoint.latest_step(manager) == last_step
  assert all(np.isfinite(r["g_loss"]) for r in rows if "g_loss" in r)


def test_train_and_evaluate_writes_outputs(tmp_path):
  rows = train.train_and_evaluate(_config(num_seeds=2), str(tmp_path))
  assert [r["seed"] for r in rows] == [0, 1]
  for name in ("config.json", "metrics.jsonl", "tensorboard", "checkpoints"):
    assert (tmp_path / name).exists(), name
  for key in ("js", "kl_pg", "kl_gp", "w1", "v_opt", "js_kde", "js_lower_bound", "kl_pg_plugin", "d_vs_dstar",
              "v_gap", "g_loss", "d_loss"):
    assert key in rows[-1], key
  manager = checkpoint.create_manager(str(tmp_path / "checkpoints"))
  assert checkpoint.latest_step(manager) == 4


@pytest.mark.parametrize("objective", ["non_saturating", "minimax"])
def test_learning_drives_exact_js_down(objective, tmp_path):
  """A real learning check: exact JS below 0.01 and D close to D* on the 1-D Gaussian target."""
  config = _config(target="gaussian_1d", generator="affine", objective=objective, num_steps=1500,
                   eval_every=500, batch_size=256, eval_samples=4096, checkpoint_every=0,
                   generator_kwargs=ml_collections.ConfigDict())
  config.discriminator_kwargs.features = 32
  config.discriminator_kwargs.depth = 2
  config.optimizer_g.learning_rate = config.optimizer_d.learning_rate = 3e-3
  rows = train.train_and_evaluate(config, str(tmp_path))
  first = writers.read_metrics(str(tmp_path / "metrics.jsonl"))[0]
  assert first["js"] > 0.3
  assert rows[0]["js"] < 0.01, rows[0]
  assert rows[0]["d_vs_dstar"] < 0.1, rows[0]


def test_ring_with_mlp_generator_logs_kde_ot_and_modes(tmp_path):
  config = _config(target="ring", generator="mlp", generator_kwargs=ml_collections.ConfigDict(), num_steps=2,
                   eval_every=2, eval_w1_samples=200)
  rows = train.train_and_evaluate(config, str(tmp_path))
  for key in ("js_kde", "js_kde_stderr", "kl_pg_kde", "w1_ot", "w1_ot_stderr", "modes_covered", "high_quality",
              "js_lower_bound"):
    assert key in rows[0], key
  assert "js" not in rows[0]  # No exact divergences without a generator density.
  assert 0 <= rows[0]["modes_covered"] <= 8 and 0.0 <= rows[0]["high_quality"] <= 1.0
  assert 0.0 <= rows[0]["js_kde"] <= np.log(2) + 4 * rows[0]["js_kde_stderr"]


def test_generator_ema_follows_its_definition():
  config = _config(ema_decay=0.75)
  gan = train.build_gan(config)
  target = train.targets_lib.get_target(config.target)
  state = jax.tree.map(lambda x: x[0], train.init_states(gan, train.seeds_of(config)))
  one, _ = train.train_step(gan, state, train.sample_real(gan, target, state))
  two, _ = train.train_step(gan, one, train.sample_real(gan, target, one))
  # ema_1 = 0.75·θ_0 + 0.25·θ_1; ema_2 = 0.75·ema_1 + 0.25·θ_2 (by hand, in NumPy).
  for t0, t1, t2, ema in zip(*(jax.tree.leaves(s.g_params) for s in (state, one, two)),
                             jax.tree.leaves(two.ema_g_params)):
    expected = 0.75 * (0.75 * np.asarray(t0) + 0.25 * np.asarray(t1)) + 0.25 * np.asarray(t2)
    np.testing.assert_allclose(ema, expected, rtol=1e-6, atol=1e-7)


def test_dirac_gan_through_build_gan_spirals_out_unless_r1(tmp_path):
  """Mescheder et al. 2018: simultaneous GD on the Dirac-GAN moves away from (θ, ψ) = (0, 0); R1 (γ = 1) converges."""
  sys.path.insert(0, os.path.join(ROOT, "configs"))
  import dirac as dirac_config  # pylint: disable=g-import-not-at-top

  def final_radius(r1_weight):
    config = dirac_config.get_config()
    config.r1_weight = r1_weight
    gan = train.build_gan(config)
    target = train.targets_lib.get_target(config.target)
    state = train.init_states(gan, train.seeds_of(config))
    state = state.replace(g_params={"params": {"theta": jnp.ones_like(state.g_params["params"]["theta"])}})
    state, _ = jax.jit(jax.vmap(lambda s: train.train_steps(gan, target, s, 300)))(state)
    theta = float(state.g_params["params"]["theta"][0, 0])
    psi = float(jax.tree.leaves(state.d_params)[0].reshape(-1)[0])
    return np.hypot(theta, psi)

  assert final_radius(0.0) > 1.0
  assert final_radius(1.0) < 0.05
  rows = train.train_and_evaluate(dirac_config.get_config(), str(tmp_path))
  assert "v_d" in rows[0] and "js" not in rows[0] and "js_kde" not in rows[0]
