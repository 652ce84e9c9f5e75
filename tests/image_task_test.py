"""Tests for gan_jax/image_task.py: image GANs through the engine.

References: the objectives' own loss formulas on the step's captured D outputs, a NumPy BatchNorm running
average (momentum 0.9) of the generator's first pre-activation recomputed from the step's latents, batch
independence of evaluation mode, separate single-replica runs (vmap) and the unsharded run (device layouts), an
uninterrupted run (resume), and the metric classifier for conditional samples (chance is 0.1).
"""
import functools
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds

from gan_jax import config as config_lib
from gan_jax import engine
from gan_jax import image_task
from gan_jax import input_pipeline
from gan_jax import train
from gan_jax import writers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OBJECTIVES = ("minimax", "non_saturating", "wasserstein")
MODELS = ("dcgan", "dcgan_cond", "mlp", "infogan")


def _config(model: str = "dcgan", objective: str = "non_saturating", **overrides):
  c = config_lib.image_config("digits")
  c.objective = objective
  c.generator_kwargs = {"features": 8, "latent_dim": 16}
  c.discriminator_kwargs = {"features": 8, "normalization": "batch_norm"}
  if model == "dcgan_cond":
    c.conditional = True
  elif model == "mlp":
    c.generator, c.discriminator = "mlp", "mlp"
    c.generator_kwargs = {"features": (32, 64), "random_dim": 16}
    c.discriminator_kwargs = {"features": (64, 32), "dropout_rate": 0.3}
    c.joint_batch = True
  elif model == "infogan":
    c.generator, c.discriminator = "infogan", "infogan"
    c.generator_kwargs = {"features": 8, "latent_dim": 8, "num_categories": 10, "num_continuous": 2}
    c.discriminator_kwargs = {"features": 8, "q_features": 16, "normalization": "batch_norm"}
  c.batch_size = 16
  c.num_steps = 4
  c.eval_every = 2
  c.eval_samples = 64
  c.eval_classifier = False
  c.plot_every = 0
  c.checkpoint_every = 2
  for k, v in overrides.items():
    setattr(c, k, v)
  return c


@functools.lru_cache(maxsize=None)
def _digits_train():
  return input_pipeline.load_digits("train")


def _batch(gan, n_critic=1, seed=0):
  data = _digits_train()
  b = next(input_pipeline.batches(data, gan.batch_size * n_critic, seed, num_batches=1))
  return (jnp.asarray(b.images.reshape(n_critic, gan.batch_size, *gan.players.image_shape)),
          jnp.asarray(b.labels.reshape(n_critic, gan.batch_size)))


@functools.lru_cache(maxsize=None)
def _step_fn(gan):
  return jax.jit(functools.partial(engine.train_step, gan))


def _init(gan, seed):
  """`engine.init_state` under one jit (eagerly, each of its ops would be dispatched and compiled on its own).

  Its weights come from the non-partitionable threefry, whose random bits XLA:CPU compiles about 7× faster; the
  state's key is the same PRNGKey(seed) and the step under test runs as in any run. No test here depends on which
  bits the initial weights are drawn from.
  """
  with jax.threefry_partitionable(False):
    return jax.jit(functools.partial(engine.init_state, gan))(jax.random.PRNGKey(seed))


def _changed(a, b) -> bool:
  """Whether two arrays differ anywhere, compared on the host (an eager comparison would compile per shape)."""
  return bool(np.any(np.asarray(a) != np.asarray(b)))


# Every model and every objective in the default suite (one compilation each); the full product under slow. The
# objectives' arithmetic is the engine's, tested on toy players (engine_test.test_few_steps_every_objective).
DIAGONAL = (("dcgan", "minimax"), ("dcgan_cond", "non_saturating"), ("mlp", "wasserstein"),
            ("infogan", "non_saturating"))
MODEL_OBJECTIVE = [pytest.param(m, o, marks=() if (m, o) in DIAGONAL else pytest.mark.slow)
                   for o in OBJECTIVES for m in MODELS]


@pytest.mark.parametrize("model, objective", MODEL_OBJECTIVE)
def test_one_step_of_each_model_under_each_objective(model, objective):
  gan = image_task.build_gan(_config(model, objective))
  state = _init(gan, 0)
  real, labels = _batch(gan)
  new, metrics = _step_fn(gan)(state, real, labels)
  assert int(new.step) == 1
  assert all(np.isfinite(float(v)) for v in metrics.values()), metrics
  for player in ("g_params", "d_params"):
    moved = jax.tree.leaves(jax.tree.map(lambda a, b: float(np.max(np.abs(np.asarray(a) - np.asarray(b)))),
                                         getattr(state, player), getattr(new, player)))
    assert max(moved) > 0, player
  if objective == "wasserstein":  # the critic's weights are clipped to [−c, c]
    c = gan.objective.weight_clip
    assert all(float(np.max(np.abs(p))) <= c + 1e-7 for p in jax.tree.leaves(new.d_params))
  if model == "infogan":
    assert metrics["g_info"] > 0 and metrics["d_info"] > 0
  bn_stats = jax.tree.leaves(state.g_batch_stats)
  assert bool(bn_stats) == (model != "mlp")  # the MLP players have no BatchNorm
  if bn_stats:
    assert all(jax.tree.leaves(jax.tree.map(_changed, state.g_batch_stats, new.g_batch_stats)))
    assert all(jax.tree.leaves(jax.tree.map(_changed, state.d_batch_stats, new.d_batch_stats)))


def test_logged_losses_are_the_objective_on_the_step_outputs():
  """d_loss = −mean log D(x) − mean log(1 − D(G(z))) recomputed from d_real/d_fake is not possible (means of
  probabilities), so rebuild the critic's real outputs at the step's parameters and compare."""
  gan = image_task.build_gan(_config("mlp", "minimax", joint_batch=False,
                                      discriminator_kwargs={"features": (64, 32), "dropout_rate": 0.0}))
  state = _init(gan, 3)
  real, labels = _batch(gan, seed=3)
  _, metrics = _step_fn(gan)(state, real, labels)

  @jax.jit  # the critic's raw outputs on the step's real and fake batches, in one compilation
  def critic_outputs(state, real):
    k_in = engine.critic_keys(state, 0)[0]
    z = gan.players.sample_inputs(k_in, gan.batch_size).z
    fake = gan.players.generator.apply({"params": state.g_params}, z, train=True)
    d = lambda x: gan.players.discriminator.apply({"params": state.d_params}, x, train=False)
    return d(real), d(fake)

  d_real, d_fake = (np.asarray(o, np.float64) for o in critic_outputs(state, real[0]))
  sigmoid = lambda l: 1 / (1 + np.exp(-l))
  expected = -np.mean(np.log(sigmoid(d_real))) - np.mean(np.log(1 - sigmoid(d_fake)))
  np.testing.assert_allclose(float(metrics["d_loss"]), expected, rtol=1e-5)
  np.testing.assert_allclose(float(metrics["d_real"]), np.mean(sigmoid(d_real)), rtol=1e-5)


def test_batch_norm_running_average_is_updated_from_the_generator_batch():
  gan = image_task.build_gan(_config("dcgan"))
  state = _init(gan, 1)
  real, labels = _batch(gan)
  new, _ = _step_fn(gan)(state, real, labels)
  # The generator step's latents, from train_step's documented key schedule.
  _, k_g = jax.random.split(jax.random.fold_in(state.key, state.step))
  z = np.asarray(gan.players.sample_inputs(jax.random.split(k_g)[0], gan.batch_size).z, np.float64)
  decoder = state.g_params["_DCGANDecoder_0"]
  kernel = np.asarray(decoder["Dense_0"]["kernel"], np.float64)
  width = kernel.shape[1] // 16  # 8 px: 4×4 base
  pre = (z @ kernel).reshape(gan.batch_size, 4, 4, width)
  stats = new.g_batch_stats["_DCGANDecoder_0"]["BatchNorm_0"]
  old = state.g_batch_stats["_DCGANDecoder_0"]["BatchNorm_0"]
  np.testing.assert_allclose(stats["mean"], 0.9 * old["mean"] + 0.1 * pre.mean(axis=(0, 1, 2)), atol=1e-6)
  np.testing.assert_allclose(stats["var"], 0.9 * old["var"] + 0.1 * pre.var(axis=(0, 1, 2)), rtol=1e-4,
                             atol=1e-6)


def test_evaluation_mode_uses_running_averages_and_training_mode_the_batch():
  gan = image_task.build_gan(_config("dcgan"))
  state = _init(gan, 2)
  real, labels = _batch(gan)
  for _ in range(3):
    state, _ = _step_fn(gan)(state, real, labels)
  inputs = gan.players.sample_inputs(jax.random.PRNGKey(5), 8)
  first = jax.tree.map(lambda x: x[:1], inputs)
  # Jitted: one compilation per batch size instead of op-by-op dispatch of the decoder.
  evaluate = jax.jit(lambda i: gan.players.generate(state.g_params, state.g_batch_stats, i, train=False)[0])
  training = jax.jit(lambda i: gan.players.generate(state.g_params, state.g_batch_stats, i, train=True)[0])
  np.testing.assert_allclose(evaluate(inputs)[:1], evaluate(first), atol=1e-5)
  assert float(np.max(np.abs(training(inputs)[:1] - training(jax.tree.map(lambda x: x[:2], inputs))[:1]))) > 1e-3
  _, unchanged = gan.players.generate(state.g_params, state.g_batch_stats, inputs, train=False)
  assert unchanged is state.g_batch_stats


@pytest.mark.parametrize("field, value, message", [
    ("dataset", "imagenet", "config.dataset='imagenet' is invalid; allowed: digits | mnist"),
    ("generator", "flow1d", "config.generator='flow1d' is invalid; allowed: dcgan | mlp | infogan"),
    ("discriminator", "infogan", "'infogan' exactly when config.generator='infogan'"),
    ("objective", "wgan_gp", "config.discriminator_kwargs.normalization='batch_norm' is invalid"),
    ("r1_weight", 10.0, "config.discriminator_kwargs.normalization='batch_norm' is invalid"),
    ("image_size", 3, "config.image_size=3 is invalid"),
    ("image_size", 9, "config.image_size=9 is invalid; allowed: 0 (the dataset's own size) or an even integer >= 8 "
                      "(e.g. 8, 16, 28, 32) for the dcgan players"),
    ("dataset", "mnist5", "config.dataset='mnist5' is invalid; allowed: digits | mnist5k | mnist | fashion_mnist | "
                          "cifar10"),
    ("batch_size", 0, "config.batch_size=0 is invalid"),
    ("steps_per_transfer", 0, "config.steps_per_transfer=0 is invalid; allowed: an integer >= 1"),
    ("step_loop", "fast", "config.step_loop='fast' is invalid; allowed: python | scan"),
    ("latent_prior", "gaussian", "config.latent_prior='gaussian' is invalid; allowed: normal | uniform"),
    ("latent_scale", 0.0, "config.latent_scale=0.0 is invalid; allowed: a number > 0"),
])
def test_bad_image_configs_fail_in_one_line_before_compiling(field, value, message, monkeypatch):
  monkeypatch.setattr(jax, "jit", lambda *a, **k: pytest.fail("compiled before validating"))
  c = _config()
  setattr(c, field, value)
  with pytest.raises(ValueError, match=None) as err:
    train.build_gan(c)
  assert message in str(err.value) and "\n" not in str(err.value)


def test_latent_prior_and_scale_shape_z_and_code_grids_use_them():
  c = _config("infogan", latent_prior="uniform")
  gan = train.build_gan(c)
  z = np.asarray(gan.players.sample_inputs(jax.random.PRNGKey(0), 20_000).z)
  assert z.min() >= -1.0 and z.max() <= 1.0
  # U(−1, 1): mean 0, variance 1/3 (N(0, 1) would give 1), per coordinate; 160,000 draws: stderr ~0.0013.
  assert abs(z.mean()) < 0.01 and abs(z.var() - 1 / 3) < 0.01
  for code in ("categorical", "continuous0"):
    grid_z = np.asarray(image_task.infogan_code_inputs(gan, jax.random.PRNGKey(1), code)[0].z)
    assert grid_z.min() >= -1.0 and grid_z.max() <= 1.0 and grid_z.std() > 0.4
  normal = np.asarray(train.build_gan(_config("infogan")).players.sample_inputs(jax.random.PRNGKey(0), 20_000).z)
  assert abs(normal.var() - 1.0) < 0.03
  scaled = train.build_gan(_config("infogan", latent_scale=0.1)).players.sample_inputs(jax.random.PRNGKey(0), 20_000)
  np.testing.assert_allclose(np.asarray(scaled.z), 0.1 * normal, rtol=1e-6)  # the same draws, scaled


def test_mlp_players_take_any_image_size():
  assert train.build_gan(_config("mlp", image_size=9)).players.image_shape == (9, 9, 1)


def test_sample_label_is_checked_before_the_checkpoint_is_read(tmp_path):
  # The workdir holds a config and no checkpoint: reaching the checkpoint would be a different error. (One
  # subprocess, ~3 s; the slow conditional-run test checks a label against a trained run.)
  writers.write_config(str(tmp_path), _config(conditional=True))
  proc = subprocess.run([sys.executable, "experiments/sample.py", f"--workdir={tmp_path}", "--label=12"], cwd=ROOT,
                        capture_output=True, text=True, env=dict(os.environ, JAX_PLATFORMS="cpu"))
  assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
  assert proc.stderr.strip().splitlines()[-1] == "error: --label=12 is invalid; allowed: 0 to 9"


def test_batch_larger_than_the_dataset_is_refused(tmp_path):
  c = _config(batch_size=2000)
  with pytest.raises(ValueError, match="config.batch_size=2000 is invalid; allowed: at most the 1501"):
    train.train_and_evaluate(c, str(tmp_path))


def _rows(path):
  return {(r["step"], r["seed"]): r for r in writers.read_metrics(os.path.join(path, "metrics.jsonl"))}


@pytest.mark.slow  # ~40 s cold; train_test checks resume through the same engine loop by default
def test_resume_is_exact_with_batch_norm_state(tmp_path):
  # The uninterrupted run sends its batches 1 step at a time: the split of a chunk changes no number either.
  c = _config("dcgan_cond", num_seeds=2, steps_per_transfer=1)
  full = tmp_path / "full"
  train.train_and_evaluate(c, str(full))
  c = _config("dcgan_cond", num_seeds=2)
  part = tmp_path / "part"
  half = _config("dcgan_cond", num_seeds=2, num_steps=2)
  train.train_and_evaluate(half, str(part))
  train.train_and_evaluate(c, str(part))  # resumes at step 2
  assert _rows(str(full)) == _rows(str(part))


@pytest.mark.slow  # two extra cold compilations; the default suite is near its 10-minute budget
def test_scan_and_python_step_loops_agree(tmp_path):
  python = train.train_and_evaluate(_config("dcgan", n_critic=2), str(tmp_path / "python"))
  scan = train.train_and_evaluate(_config("dcgan", n_critic=2, step_loop="scan"), str(tmp_path / "scan"))
  for k in ("d_loss", "g_loss", "v_d", "g_param_norm", "d_param_norm"):
    np.testing.assert_allclose(scan[0][k], python[0][k], rtol=1e-4, err_msg=k)


@pytest.mark.slow  # ~35 s cold; parallel_test checks vmapped seeds through the same engine by default
def test_vmapped_seeds_equal_their_own_runs(tmp_path):
  both = train.train_and_evaluate(_config("dcgan", num_seeds=2), str(tmp_path / "both"))
  alone = train.train_and_evaluate(_config("dcgan", seed=1), str(tmp_path / "alone"))
  for k in ("d_loss", "g_loss", "v_d", "g_param_norm"):
    np.testing.assert_allclose(both[1][k], alone[0][k], rtol=2e-5, err_msg=k)


@pytest.mark.slow  # ~30 s cold; parallel_test checks both layouts on toy players by default
@pytest.mark.parametrize("layout", ["replicas", "data"])
def test_device_layouts_match_the_unsharded_run(tmp_path, layout):
  base = _config("dcgan", num_seeds=2)
  sharded = _config("dcgan", num_seeds=2)
  sharded.parallel = {"layout": layout, "num_devices": 2}
  ref = train.train_and_evaluate(base, str(tmp_path / "ref"))
  got = train.train_and_evaluate(sharded, str(tmp_path / layout))
  for a, b in zip(ref, got):
    for k in ("d_loss", "g_loss", "v_d", "g_param_norm", "d_param_norm"):
      np.testing.assert_allclose(b[k], a[k], rtol=1e-4, err_msg=(layout, k))


def test_tfds_dataset_trains_through_the_engine_under_mock_data(tmp_path):
  # The data path is under test: the MLP players compile in a fraction of the 28×28 DCGAN's time.
  c = _config("mlp", dataset="mnist", data_dir=str(tmp_path / "tfds"), num_steps=2, eval_every=2,
              eval_samples=16)
  with tfds.testing.mock_data(num_examples=40):
    rows = train.train_and_evaluate(c, str(tmp_path / "run"))
  assert rows[0]["target"] == "mnist" and rows[0]["step"] == 2
  assert np.isfinite(rows[0]["js_lower_bound"])


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
  """A small conditional MLP GAN trained on 8×8 digits, with the classifier metrics on."""
  workdir = str(tmp_path_factory.mktemp("cgan"))
  c = _config("mlp", eval_classifier=True, conditional=True, num_steps=1500, eval_every=750, eval_samples=300,
              batch_size=64, plot_every=750, joint_batch=False)
  c.generator_kwargs = {"features": (128, 128), "random_dim": 16}
  c.discriminator_kwargs = {"features": (128, 128)}
  c.optimizer_g.learning_rate = c.optimizer_d.learning_rate = 1e-3
  train.train_and_evaluate(c, workdir)
  return workdir


@pytest.mark.slow  # with the next test, a 1,500-step conditional run (~40 s cold); one-step cGAN tests run by default
def test_conditional_samples_honour_their_labels(conditional_run):
  rows = writers.read_metrics(os.path.join(conditional_run, "metrics.jsonl"))
  first, last = rows[0], rows[-1]
  assert first["step"] == 0 and last["step"] == 1500
  assert last["conditional_accuracy"] > 0.8, last  # chance: 0.1; three seeds reached 0.95–0.99
  # The learning check: the Fréchet classifier distance falls.
  assert last["fcd"] < 0.1 * first["fcd"], (first["fcd"], last["fcd"])  # three seeds: 710–750 -> 10–21
  assert os.path.exists(os.path.join(conditional_run, "samples", "step_0001500.png"))


@pytest.mark.slow  # shares the conditional run above
def test_sample_script_writes_a_grid_of_the_requested_label(conditional_run, tmp_path):
  out = tmp_path / "grids"
  proc = subprocess.run([sys.executable, "experiments/sample.py", f"--workdir={conditional_run}", "--label=5",
                         "--num=40", f"--out_dir={out}"], cwd=ROOT, capture_output=True, text=True,
                        env=dict(os.environ, JAX_PLATFORMS="cpu"))
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert os.path.exists(out / "label5_step1500.png")
  # The grid's digits are 5s according to the run's own metric classifier.
  from gan_jax import image_metrics
  config = writers.read_config(conditional_run)
  gan, _, state, _ = train.load_latest(config, conditional_run)
  one = jax.tree.map(lambda x: x[0], state)
  inputs = gan.players.sample_inputs(jax.random.PRNGKey(0), 40, labels=jnp.full((40,), 5, jnp.int32))
  images = image_task.grid_images(gan, one, inputs)
  classifier = image_metrics.load_classifier(image_metrics.classifier_path(conditional_run, "digits", 8))
  _, logits = classifier.features_and_logits(np.asarray(images))
  assert np.mean(np.argmax(logits, -1) == 5) > 0.5
  bad = subprocess.run([sys.executable, "experiments/sample.py", f"--workdir={conditional_run}", "--label=12"],
                       cwd=ROOT, capture_output=True, text=True, env=dict(os.environ, JAX_PLATFORMS="cpu"))
  assert bad.returncode != 0 and bad.stderr.strip().splitlines()[-1] == (
      "error: --label=12 is invalid; allowed: 0 to 9")


@pytest.mark.slow  # ~50 s cold (a run, then sample.py in a subprocess); one-step InfoGAN tests run by default
def test_infogan_code_grids(tmp_path):
  c = _config("infogan", num_steps=2)
  train.train_and_evaluate(c, str(tmp_path))
  gan, _, state, _ = train.load_latest(c, str(tmp_path))
  inputs, cols = image_task.infogan_code_inputs(gan, jax.random.PRNGKey(0), "continuous1", num_values=5)
  assert cols == 5 and inputs.z.shape == (50, 8)
  np.testing.assert_array_equal(inputs.cat.reshape(10, 5), np.repeat(np.arange(10)[:, None], 5, 1))
  np.testing.assert_allclose(inputs.cont[:5, 1], np.linspace(-2, 2, 5))
  assert float(jnp.max(jnp.abs(inputs.cont[:, 0]))) == 0.0
  inputs, cols = image_task.infogan_code_inputs(gan, jax.random.PRNGKey(0), "categorical")
  np.testing.assert_array_equal(inputs.cat[:10], np.arange(10))
  with pytest.raises(ValueError, match="unknown InfoGAN code 'continuous2'; allowed: categorical, continuous0"):
    image_task.infogan_code_inputs(gan, jax.random.PRNGKey(0), "continuous2")
  proc = subprocess.run([sys.executable, "experiments/sample.py", f"--workdir={tmp_path}"], cwd=ROOT,
                        capture_output=True, text=True, env=dict(os.environ, JAX_PLATFORMS="cpu"))
  assert proc.returncode == 0, proc.stderr[-2000:]
  names = sorted(os.path.basename(p) for p in proc.stdout.split())
  assert names == ["infogan_categorical_step2.png", "infogan_continuous0_step2.png",
                   "infogan_continuous1_step2.png", "samples_step2.png"]
  rows = writers.read_metrics(os.path.join(tmp_path, "metrics.jsonl"))
  assert {"info_loss", "info_accuracy", "d_info", "g_info"} <= set(rows[-1])


def test_tile_lays_images_out_row_major():
  images = np.stack([np.full((2, 3, 1), v) for v in (-1.0, 0.0, 1.0)])
  grid = image_task.tile(images, columns=2)
  assert grid.shape == (2 * 3 + 1, 2 * 4 + 1, 1) and grid.dtype == np.uint8
  assert grid[1, 1, 0] == 0 and grid[1, 5, 0] == 128 and grid[4, 1, 0] == 255 and grid[4, 5, 0] == 0


def _load_config(name):
  from ml_collections import config_flags  # noqa: F401  (configs are plain modules with get_config)
  import importlib.util
  spec = importlib.util.spec_from_file_location(f"cfg_{name}", os.path.join(ROOT, "configs", f"{name}.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


MNIST_CONFIGS = ("mnist_dcgan", "mnist_mlp_seed", "mnist_cgan", "mnist_infogan")


@pytest.mark.parametrize("name", ("digits_dcgan",) + MNIST_CONFIGS)
def test_image_configs_build(name):
  gan = train.build_gan(_load_config(name))
  assert gan.players.image_shape == ((8, 8, 1) if name.startswith("digits") else (28, 28, 1))
  if name == "mnist_mlp_seed":
    assert gan.players.joint_batch and gan.batch_size == 128
    assert gan.objective.name == "non_saturating"
  assert bool(gan.players.num_classes) == (name == "mnist_cgan")
  assert (gan.players.num_categories, gan.players.num_continuous) == ((10, 2) if name == "mnist_infogan" else (0, 0))


MNIST5K_CONFIGS = ("mnist5k_dcgan", "mnist5k_mlp", "mnist5k_cgan", "mnist5k_infogan")
# The README's mnist5k numbers. Floor: FCD of 1,000 real training images against the 500 test images through the
# metric classifier (train_classifier.py, seed 0, 1,000 steps).
MNIST5K_FLOOR_FCD = 9.689
# configs/mnist5k_dcgan.py measured FCD 219.0 at step 2,000 (22.6× the floor) and 202.7 at 4,000 (20.9×).
MNIST5K_DCGAN_FACTOR_AT_2000 = 30.0
# configs/mnist5k_infogan.py (U(−1, 1) noise, FC-1024 layers): the categorical code's class accuracy after the best
# matching measured 0.123 at initialisation (the matching's own bias above 0.1), 0.752 at step 1,500, 0.865 at
# 2,000 and 0.879 at 3,000 (the README's run); the target is 80%.
MNIST5K_INFOGAN_STEPS = 2000
MNIST5K_INFOGAN_THRESHOLD = 0.8


@pytest.mark.parametrize("name", MNIST5K_CONFIGS)
def test_mnist5k_configs_build(name):
  c = _load_config(name)
  gan = train.build_gan(c)
  assert c.dataset == "mnist5k" and gan.players.image_shape == (28, 28, 1) and c.eval_samples == 1000
  assert (gan.players.joint_batch, gan.batch_size) == ((True, 128) if name == "mnist5k_mlp" else (False, 64))
  assert bool(gan.players.num_classes) == (name == "mnist5k_cgan")
  assert gan.players.num_categories == (10 if name == "mnist5k_infogan" else 0)


def test_mnist5k_objective_sweep_members_build():
  from gan_jax import config as config_file
  from gan_jax import sweep
  path = os.path.join(ROOT, "configs", "sweeps", "mnist5k_objectives.py")
  members = sweep.expand(config_file.load_config_file(path), config_file.load_config_file(path, "get_sweep"))
  built = {m.config.objective: train.build_gan(m.config) for m in members}
  assert sorted(built) == ["hinge", "minimax", "non_saturating", "wgan_gp"]
  assert all(m.config.num_seeds == 3 and m.config.dataset == "mnist5k" for m in members)
  assert {m.config.objective: m.config.discriminator_kwargs.normalization for m in members}["wgan_gp"] == "layer_norm"


def _shortened(name, tmp_path, num_steps):
  """`configs/<name>.py` cut to `num_steps`: the same batches and keys as the full run's first steps (a pure
  function of seed and step), so its numbers are the full run's at that step; the classifier is trained here."""
  c = _load_config(name)
  c.num_steps, c.eval_every, c.plot_every, c.checkpoint_every = num_steps, num_steps, 0, 0
  c.data_dir = str(tmp_path / "data")
  return train.train_and_evaluate(c, str(tmp_path / "run"))


@pytest.mark.slow  # ~3 min: the README's DCGAN threshold on the first 2,000 of its 4,000 steps
def test_mnist5k_dcgan_comes_within_the_stated_factor_of_the_floor(tmp_path):
  rows = _shortened("mnist5k_dcgan", tmp_path, 2000)
  assert rows[-1]["fcd"] < MNIST5K_FLOOR_FCD * MNIST5K_DCGAN_FACTOR_AT_2000, rows[-1]
  assert rows[-1]["precision"] > 0.5 and rows[-1]["recall"] > 0.3, rows[-1]


@pytest.mark.slow  # ~3 min: the conditional threshold (>= 90%; measured 97.9%) on the first 2,000 of 4,000 steps
def test_mnist5k_cgan_samples_are_their_requested_digit(tmp_path):
  rows = _shortened("mnist5k_cgan", tmp_path, 2000)
  assert rows[-1]["conditional_accuracy"] >= 0.9, rows[-1]


@pytest.mark.slow  # ~4 min: categorical code <-> digit class after the best matching, the 80%
def test_mnist5k_infogan_code_picks_the_digit_class(tmp_path):
  rows = _shortened("mnist5k_infogan", tmp_path, MNIST5K_INFOGAN_STEPS)
  assert rows[-1]["info_class_accuracy"] >= MNIST5K_INFOGAN_THRESHOLD, rows[-1]


@pytest.mark.slow  # ~2 min: the Keras MLP GAN's FCD falls from initialisation (3-fold in 1,000 steps)
def test_mnist5k_mlp_gan_fcd_falls(tmp_path):
  _shortened("mnist5k_mlp", tmp_path, 1000)
  rows = writers.read_metrics(str(tmp_path / "run" / "metrics.jsonl"))
  assert [r["step"] for r in rows] == [0, 1000]
  assert rows[-1]["fcd"] < rows[0]["fcd"] / 3, (rows[0]["fcd"], rows[-1]["fcd"])  # measured 1,863 -> 458


@pytest.mark.slow  # ~5 min: the README's objective comparison on the first 1,000 of the sweep's 2,000 steps, seed 0
def test_mnist5k_objective_sweep_minimax_lags_the_others(tmp_path):
  from gan_jax import config as config_file
  from gan_jax import sweep
  path = os.path.join(ROOT, "configs", "sweeps", "mnist5k_objectives.py")
  base = config_file.load_config_file(path)
  base.num_steps, base.eval_every, base.checkpoint_every, base.plot_every, base.probe_every = 1000, 1000, 0, 0, 0
  base.data_dir = str(tmp_path / "data")
  grid = config_file.load_config_file(path, "get_sweep").grid
  report = sweep.run(base, sweep.Sweep(grid=grid, seeds=1), str(tmp_path / "sweep"))
  assert sorted(report.outcomes.values()) == ["done"] * 4, report.outcomes
  final = {}
  for member in os.listdir(tmp_path / "sweep" / "members"):
    rows = writers.read_metrics(str(tmp_path / "sweep" / "members" / member / "metrics.jsonl"))
    assert [r["step"] for r in rows] == [0, 1000]
    final[rows[-1]["objective"]] = rows[-1]["fcd"]
  # Measured (seed 0, step 1,000): non-saturating 313, WGAN-GP 340, hinge 416, minimax 1,623 (saturated).
  for objective in ("non_saturating", "wgan_gp", "hinge"):
    assert final[objective] < 600, final
  assert final["minimax"] > 2 * max(final[o] for o in ("non_saturating", "wgan_gp", "hinge")), final


@pytest.mark.slow  # ~15 s cold each at full 28 px size; test_image_configs_build checks them
@pytest.mark.parametrize("name", MNIST_CONFIGS)
def test_mnist_configs_train_under_mock_data(name, tmp_path):
  c = _load_config(name)
  c.data_dir = str(tmp_path / "tfds")
  c.num_steps, c.eval_every, c.eval_samples, c.plot_every, c.checkpoint_every = 1, 1, 8, 1, 1
  c.batch_size = 8
  c.eval_classifier = False
  with tfds.testing.mock_data(num_examples=16):
    rows = train.train_and_evaluate(c, str(tmp_path / "run"))
  assert rows[0]["target"] == "mnist" and np.isfinite(rows[0]["g_loss"])
  assert os.path.exists(tmp_path / "run" / "samples" / "step_0000001.png")


def test_missing_mnist_classifier_is_one_line_naming_the_command(tmp_path):
  c = _load_config("mnist_dcgan")
  c.data_dir = str(tmp_path / "tfds")
  c.batch_size = 8
  with tfds.testing.mock_data(num_examples=16):
    with pytest.raises(ValueError) as err:
      train.train_and_evaluate(c, str(tmp_path / "run"))
  message = str(err.value)
  assert "\n" not in message and "no mnist metric classifier at" in message
  assert f"python experiments/train_classifier.py --dataset=mnist --data_dir={tmp_path / 'tfds'} --image_size=28" \
      in message


def test_offline_mnist5k_classifier_is_trained_once_then_read_from_its_checksummed_file(tmp_path, monkeypatch):
  from gan_jax import image_metrics
  calls = []
  real_train = image_metrics.train_and_save_classifier

  def quick(*args, **kwargs):  # a few steps: this checks the caching, image_metrics_test the classifier itself
    calls.append(args)
    return real_train(*args, **kwargs, num_steps=3)

  monkeypatch.setattr(image_metrics, "train_and_save_classifier", quick)
  c = config_lib.image_config("mnist5k")
  first = image_task.classifier_for(c, str(tmp_path))
  path = tmp_path / "classifiers" / "mnist5k_28px.msgpack"
  assert calls == [("mnist5k", str(tmp_path))] and path.exists() and path.with_name(path.name + ".sha256").exists()
  second = image_task.classifier_for(c, str(tmp_path))
  assert len(calls) == 1 and second.dataset == "mnist5k" and second.image_shape == (28, 28, 1)
  x = input_pipeline.load("mnist5k", "test").read(np.arange(4)).images
  np.testing.assert_array_equal(first.features_and_logits(x)[1], second.features_and_logits(x)[1])


@pytest.mark.slow
def test_digits_dcgan_reaches_the_stated_frechet_distance(tmp_path):
  """configs/digits_dcgan.py as the README states it: every seed's final FCD below 15 (measured 8.8–12.1)."""
  rows = train.train_and_evaluate(_load_config("digits_dcgan"), str(tmp_path))
  assert [r["step"] for r in rows] == [5000] * 3
  assert all(r["fcd"] < 15.0 for r in rows), [r["fcd"] for r in rows]
  assert all(r["recall"] > 0.6 and r["precision"] > 0.4 for r in rows), rows


@pytest.mark.slow  # ~18 s cold; sweeps call the same train_and_evaluate
def test_image_runs_sweep_like_toy_runs(tmp_path):
  from gan_jax import sweep
  base = _config("mlp", num_steps=2, eval_every=2, checkpoint_every=2)
  grid = sweep.product({"objective": ["minimax", "wasserstein"]})
  report = sweep.run(base, sweep.Sweep(grid=grid, seeds=2), str(tmp_path))
  assert sorted(report.outcomes.values()) == ["done", "done"], report.outcomes
  import csv
  with open(next(p for p in report.results if p.endswith(".csv"))) as f:
    rows = list(csv.DictReader(f))
  assert {(r["objective"], r["seed"]) for r in rows if r["step"] == "2"} == {
      ("minimax", "0"), ("minimax", "1"), ("wasserstein", "0"), ("wasserstein", "1")}
  assert all(r["target"] == "digits" for r in rows)
  assert all(r["w1_critic"] for r in rows if r["objective"] == "wasserstein")
  assert all(r["js_lower_bound"] for r in rows if r["objective"] == "minimax")


@pytest.mark.slow  # ~50 s cold; the toy 2-process test runs by default
def test_two_processes_over_loopback_match_one_process_on_four_devices(tmp_path):
  """Two hosts × 2 fake CPU devices, data parallel with BatchNorm, each host reading its half of every batch."""
  import socket
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
  overrides = {"dataset": "digits", "num_seeds": 2, "num_steps": 4, "eval_every": 2, "checkpoint_every": 2,
               "batch_size": 16, "eval_samples": 64, "plot_every": 0, "data_dir": str(tmp_path / "data"),
               "generator_kwargs": {"features": 8, "latent_dim": 16},
               "discriminator_kwargs": {"features": 8, "normalization": "batch_norm"}}
  workdir = tmp_path / "multi"
  worker = os.path.join(ROOT, "tests", "multihost_worker.py")
  procs = [subprocess.Popen([sys.executable, worker, f"127.0.0.1:{port}", "2", str(i), str(workdir),
                             json.dumps(overrides)], env=dict(os.environ, JAX_PLATFORMS="cpu"), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in range(2)]
  outputs = [p.communicate(timeout=300)[0] for p in procs]
  for p, out in zip(procs, outputs):
    assert p.returncode == 0, out[-3000:]
  params = [np.load(workdir / f"params_process_{i}.npz") for i in range(2)]
  for name in params[0].files:
    np.testing.assert_array_equal(params[0][name], params[1][name])

  single = config_lib.image_config()
  for k, v in overrides.items():
    setattr(single, k, v)
  single.parallel = {"layout": "data", "num_devices": 4}
  train.train_and_evaluate(single, str(tmp_path / "single"))
  multi_rows = writers.read_metrics(str(workdir / "metrics.jsonl"))
  single_rows = writers.read_metrics(str(tmp_path / "single" / "metrics.jsonl"))
  assert [(r["step"], r["seed"]) for r in multi_rows] == [(r["step"], r["seed"]) for r in single_rows]
  for a, b in zip(multi_rows, single_rows):
    for key in ("g_loss", "d_loss", "g_param_norm", "v_d", "fcd"):
      if key in b:
        assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-5), key


@pytest.mark.slow  # ~23 s cold
def test_infogan_q_learns_to_recover_the_categorical_code(tmp_path):
  """The mutual-information term at work: Q's accuracy on the categorical code goes from chance (0.1) to ~1.

  Measured: 0.12 -> 0.75 (step 200) -> 1.00 (step 600), in evaluation mode on 500 held-out codes.
  """
  c = _config("infogan", num_steps=600, eval_every=300, eval_samples=500, batch_size=32, checkpoint_every=0)
  c.generator_kwargs.features = 16
  c.discriminator_kwargs.features = 16
  c.discriminator_kwargs.q_features = 32
  c.optimizer_g.learning_rate = 1e-3  # Chen et al. 2016, App. C.1
  train.train_and_evaluate(c, str(tmp_path))
  rows = writers.read_metrics(os.path.join(tmp_path, "metrics.jsonl"))
  assert rows[0]["info_accuracy"] < 0.3 and rows[-1]["step"] == 600
  assert rows[-1]["info_accuracy"] > 0.9, rows[-1]
  assert rows[-1]["info_loss"] < 0.5 * rows[0]["info_loss"]
