"""The fields every training config shares, with their defaults (configs/*.py start from `base_config()`), and the
one loader of config files (`load_config_file`: `path.py` or `path.py:arg`, as given to --config)."""
import importlib.util
import os
from typing import Any

import ml_collections
from ml_collections import config_dict

from gan_jax import parallel
from gan_jax import probe


def load_config_file(spec: str, function: str = "get_config") -> Any:
  """Calls `function(arg)` of a config file given as `path.py` or `path.py:arg` (as for --config).

  As `ml_collections.config_flags` does: the text after the first ':' is passed on as one string argument; without
  it the function is called with none. The file runs as a fresh module each call (it is not added to sys.modules).

  Args:
    spec: `path.py` or `path.py:arg`.
    function: the function of the file to call: `get_config` (a ConfigDict) or `get_sweep` (a `sweep.Sweep`).

  Returns:
    What the function returns.

  Raises:
    ValueError: one line, for a missing file, a file that is not Python, or a file without `function`.
  """
  path, *arg = spec.split(":", 1)
  if not os.path.isfile(path):
    raise ValueError(f"config file {path!r} does not exist")
  module_spec = importlib.util.spec_from_file_location(f"gan_jax_config_file_{function}", path)
  if module_spec is None or module_spec.loader is None:
    raise ValueError(f"config file {path!r} is not a Python file")
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  if not callable(getattr(module, function, None)):
    raise ValueError(f"config file {path} defines no {function}()")
  return getattr(module, function)(*arg)


def optimizer_config(name: str = "adam", learning_rate: float = 2e-4, **options) -> ml_collections.ConfigDict:
  """One player's optax optimizer: `name` (adam | rmsprop | sgd), `learning_rate`, and that optimizer's options."""
  return ml_collections.ConfigDict(dict(name=name, learning_rate=learning_rate, **options))


def base_config() -> ml_collections.ConfigDict:
  """Returns a complete training config; experiment configs override what they change."""
  c = ml_collections.ConfigDict()
  c.target = "mixture_1d"            # gan_jax.targets.TARGETS
  c.objective = "non_saturating"     # gan_jax.objectives.OBJECTIVES
  # The objective's options (`objectives.get_objective`), unset = the objective's default; typed placeholders so
  # that `--config.objective_kwargs.real_target=0.9` works from the command line.
  c.objective_kwargs = ml_collections.ConfigDict(dict(
      real_target=config_dict.placeholder(float),              # one-sided label smoothing β (1.0 = off)
      weight_clip=config_dict.placeholder(float),              # 'wasserstein' (0.01)
      gradient_penalty_weight=config_dict.placeholder(float),  # 'wgan_gp' (10)
      fgan_generator=config_dict.placeholder(str),             # 'saddle' | 'heuristic' (f-GAN objectives)
  ))
  c.generator = "flow1d"             # gan_jax.models.GENERATORS
  c.generator_kwargs = ml_collections.ConfigDict()
  c.discriminator = "mlp"            # gan_jax.models.DISCRIMINATORS
  c.discriminator_kwargs = ml_collections.ConfigDict(dict(features=64, depth=2))
  c.optimizer_g = optimizer_config("adam", 1e-3, b1=0.5, b2=0.999)
  c.optimizer_d = optimizer_config("adam", 1e-3, b1=0.5, b2=0.999)
  c.update_mode = "alternating"          # or "simultaneous" (both players step from the same point)
  c.n_critic = 1                     # discriminator steps per generator step
  c.r1_weight = 0.0                  # γ of the R1 penalty (γ/2)·E_p‖∇D‖² (Mescheder et al. 2018)
  c.r2_weight = 0.0                  # the same on generated samples
  c.ema_decay = 0.0                  # EMA of generator parameters (0 = off)
  c.seed = 0
  c.num_seeds = 1                    # replicas trained together in one program: seeds seed … seed+num_seeds−1
  # Hyper-parameters vmapped inside the same program: name -> values (empty = not vmapped), e.g.
  # --config.vmap_hparams.g_learning_rate="(1e-4, 1e-3)"; replicas = product of the non-empty lists × num_seeds.
  c.vmap_hparams = ml_collections.ConfigDict({name: () for name in parallel.VMAPPABLE_HPARAMS})
  # The same names zipped instead of crossed (lists of equal length; replicas = that length × num_seeds), e.g. a
  # packed sweep's members (`sweep.pack`) whose learning rates move together. Not combined with vmap_hparams.
  c.zip_hparams = ml_collections.ConfigDict({name: () for name in parallel.VMAPPABLE_HPARAMS})
  # Objectives trained side by side in one program (`engine.GAN.objectives`): names, each with its own n_critic and
  # weight clip (tuples as long as the names; empty = config.n_critic / objective_kwargs.weight_clip for every one).
  # Replicas = objectives × vmap_hparams combinations × seeds, or objectives zipped with zip_hparams × seeds; each
  # equals that objective trained alone. Empty = config.objective alone. How replicas of different n_critic share
  # the program: "group" (one vmapped step per n_critic) or "mask" (every replica steps max(n_critic) times; the
  # extra critic steps leave it unchanged).
  c.objective_axis = ml_collections.ConfigDict(dict(objectives=(), n_critic=(), weight_clip=(), n_critic_mode="group"))
  # Device layout: "none", "replicas" (shard the replica axis) or "data" (shard each batch); 0 devices = all (with
  # "replicas": the most devices that divide the replica count).
  # replica_map: "vmap" (batched) or "unroll" (replicas side by side: 3.5× faster for 3 DCGAN seeds on CPU).
  # cpu_devices: the JAX devices the entry points split the CPU into before JAX starts (0 = JAX's one device), so
  # that layout "replicas" trains replicas on several cores at once (`parallel.use_cpu_devices`).
  c.parallel = ml_collections.ConfigDict(dict(layout="none", num_devices=0, replica_map="vmap", cpu_devices=0))
  c.num_steps = 2000                 # generator steps
  c.batch_size = 256
  c.eval_every = 200
  c.eval_samples = 4096              # held-out samples per player for the discriminator-based estimates
  c.eval_mc_samples = 20_000         # Monte Carlo samples of the exact divergences in d >= 2
  c.eval_kde_samples = 1000          # generator samples behind the KDE estimates (0 = off)
  c.eval_w1_samples = 1000           # samples per side of the 2-D optimal-transport W1 `w1_ot` (0 = off)
  c.checkpoint_every = 1000          # steps (0 = only at the end)
  c.keep_checkpoints = 3
  c.plot_every = 1000                # density / sample plots at evaluations that are multiples of this, and at
                                     # the last step (0 = none)
  # The divergence probe (`probe.py`: fresh critics against the frozen generator) at evaluations that are
  # multiples of this, and at the last step, into <workdir>/probe.jsonl (0 = off; experiments/probe.py runs it
  # on a finished run's checkpoints). `probe` holds its `probe.ProbeSpec` fields.
  c.probe_every = 0
  c.probe = ml_collections.ConfigDict(probe.spec_fields())
  return c


def defaults_for(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The default config of `config`'s task: `image_to_image_config` of its task, `image_config` of its dataset for
  image runs, else `base_config`."""
  if config.get("image_to_image"):
    return image_to_image_config(config.image_to_image)
  return image_config(config.dataset) if config.get("dataset") else base_config()


def testing_config(**overrides: Any) -> ml_collections.ConfigDict:
  """A tiny config that runs every part of the engine in seconds (tests; `configs/testing.py`).

  Args:
    **overrides: top-level fields to set (e.g. `objective="minimax"`), as `--config.FIELD=VALUE` would.
  """
  c = base_config()
  c.target = "mixture_1d"
  c.generator = "flow1d"
  c.generator_kwargs.num_units = 4
  c.discriminator_kwargs.features = 16
  c.discriminator_kwargs.depth = 1
  c.batch_size = 32
  c.num_steps = 4
  c.eval_every = 2
  c.eval_samples = 256
  c.eval_mc_samples = 1000
  c.eval_kde_samples = 100
  c.checkpoint_every = 2
  c.plot_every = 0
  # A probe of seconds (off unless a test sets probe_every).
  c.probe.update(dict(num_critics=2, num_steps=100, batch_size=128, validate_every=50, num_train=2048,
                      num_validation=256, num_test=512))
  for field, value in overrides.items():
    c[field] = value
  return c


def toy_2d_config(target: str, num_steps: int, eval_every: int) -> ml_collections.ConfigDict:
  """An MLP GAN (3×128 per player, Adam 1e-4, β1 = 0.5) on a 2-D mixture target (`ring`, `grid`)."""
  c = base_config()
  c.target = target
  c.generator = "mlp"
  c.generator_kwargs.features = 128
  c.generator_kwargs.depth = 3
  c.discriminator_kwargs.features = 128
  c.discriminator_kwargs.depth = 3
  c.optimizer_g = optimizer_config("adam", 1e-4, b1=0.5, b2=0.999)
  c.optimizer_d = optimizer_config("adam", 1e-4, b1=0.5, b2=0.999)
  c.num_steps = num_steps
  c.eval_every = eval_every
  return c


def image_config(dataset: str = "digits") -> ml_collections.ConfigDict:
  """An image GAN config (`gan_jax/image_task.py`): DCGAN players, non-saturating loss, Adam 2e-4 β1 = 0.5.

  Radford et al. 2015's settings; `configs/digits_dcgan.py` and `configs/mnist_*.py` start from here.
  """
  c = base_config()
  c.dataset = dataset                # gan_jax.input_pipeline.DATASETS; setting it makes the run an image run
  c.data_dir = ""                    # TFDS data dir, also where metric classifiers live ("" = TFDS default; digits:
                                     # the workdir)
  c.image_size = 0                   # side length to resize to (0 = the dataset's own)
  c.eval_split = "test"              # held-out split behind the discriminator estimates and the classifier metrics
  c.eval_classifier = True           # classifier metrics (fcd, classifier_score, precision/recall, ...)
  c.target = ""                      # unused by image runs
  c.generator = "dcgan"              # gan_jax.image_models.GENERATORS: dcgan | mlp | infogan
  c.generator_kwargs = ml_collections.ConfigDict(dict(features=64, latent_dim=100))
  c.discriminator = "dcgan"          # gan_jax.image_models.DISCRIMINATORS
  c.discriminator_kwargs = ml_collections.ConfigDict(dict(features=64, normalization="batch_norm"))
  c.conditional = False              # labels into both players (cGAN / projection discriminator)
  c.info_weight = 1.0                # InfoGAN: λ of the mutual-information loss (Chen et al. 2016)
  c.info_continuous_weight = 1.0     # InfoGAN: weight of the continuous codes' Gaussian term inside it
  c.latent_prior = "normal"          # the noise z: "normal" N(0, I) | "uniform" U(−1, 1) (Chen et al.'s InfoGAN)
  c.latent_scale = 1.0               # z times this (ClusterGAN's σ = 0.1 lets InfoGAN's codes dominate G's input)
  c.joint_batch = False              # critic on one concatenated real+fake batch (the Keras MNIST GAN loop)
  c.steps_per_transfer = 100         # real batches sent to the devices this many steps at a time (memory bound)
  c.step_loop = "python"             # "python": one jitted call per step (fast convolutions on CPU); "scan"
  c.objective = "non_saturating"
  c.optimizer_g = optimizer_config("adam", 2e-4, b1=0.5, b2=0.999)
  c.optimizer_d = optimizer_config("adam", 2e-4, b1=0.5, b2=0.999)
  c.batch_size = 64
  c.num_steps = 2000
  c.eval_every = 500
  c.eval_samples = 1000              # generated (and at most as many held-out real) images per evaluation
  c.plot_every = 500                 # sample grids (PNG in samples/, TensorBoard) at these evaluations
  c.checkpoint_every = 1000
  return c


def image_to_image_config(task: str = "super_resolution") -> ml_collections.ConfigDict:
  """An image-to-image config (`gan_jax/translation_task.py`) on mnist5k: U-Net G, PatchGAN D, Adam 2e-4 β1 = 0.5.

  pix2pix's settings (Isola et al. 2017: L1 weight λ = 100, non-saturating loss) for the paired tasks
  ('super_resolution', 'inpainting'); CycleGAN's (Zhu et al. 2017: cycle weight λ = 10, least-squares loss) for
  'unpaired' translation between mnist5k and the scikit-learn digits. The `configs/mnist5k_*` image-to-image
  configs start from here. An unknown task name is refused by `translation_task.validate_config`.
  """
  c = image_config("mnist5k")
  for unused in ("conditional", "info_weight", "info_continuous_weight", "latent_prior", "latent_scale",
                 "joint_batch", "step_loop"):
    del c[unused]
  c.image_to_image = task            # gan_jax.translation_task.TASKS; setting it makes the run image-to-image
  c.target_dataset = "digits"        # 'unpaired': domain B (domain A is `dataset`), both resized to image_size
  c.image_size = 28
  c.upscale = 4                      # 'super_resolution': the factor (28 -> 7 -> 28)
  c.mask = "center"                  # 'inpainting': degradations.HOLE_KINDS
  c.mask_size = 14                   # 'inpainting', mask='center': the hole's side in pixels
  unpaired = task == "unpaired"
  c.reconstruction_weight = 10.0 if unpaired else 100.0  # CycleGAN's cycle λ / pix2pix's L1 λ
  c.adversarial_weight = 1.0         # 0 = the reconstruction term alone (the L1-only baseline)
  c.objective = "least_squares" if unpaired else "non_saturating"
  c.generator = "unet"               # gan_jax.translation_models.GENERATORS
  # 16 base channels: a 28×28 U-Net step is ~60 ms per seed on 2 CPU cores (32 channels: ~2.5× the cost).
  c.generator_kwargs = ml_collections.ConfigDict(dict(features=16, depth=2, normalization="instance_norm"))
  c.discriminator = "patch"          # gan_jax.translation_models.DISCRIMINATORS
  c.discriminator_kwargs = ml_collections.ConfigDict(dict(features=16, depth=2, normalization="instance_norm"))
  c.batch_size = 32
  c.num_steps = 1000                 # 7 epochs of mnist5k's 4,500 training images
  c.eval_every = 250
  c.eval_samples = 500               # held-out test images per evaluation (mnist5k's whole test split)
  c.plot_every = 1000
  c.checkpoint_every = 250
  return c
