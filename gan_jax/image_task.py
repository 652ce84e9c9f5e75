"""Training on an image dataset (`config.dataset`): DCGAN, the Keras MNIST MLP GAN, conditional GANs, InfoGAN.

A config with `dataset` set (see `config.image_config`) is this task; `train.train_and_evaluate`, the sweeps and
the entry points route it automatically. What it plugs into the engine (`engine.py`, players from `players.py`):

- Real data comes from `input_pipeline` (a pure function of seed and step, so resume is exact): each chunk of
  steps reads its batches on the host, one stream per replica seed, and scans over them on device. With the
  data-parallel layout on several hosts each host reads only its slice of every batch.
- The state carries each player's `batch_stats` (BatchNorm running averages, spectral-norm vectors) beside its
  parameters; the optimizers see parameters only. In a training step both players run in training mode (batch
  statistics); each player's running statistics are updated by its own update only (the generator's by the
  generator step, the discriminator's by the critic steps). Evaluation runs both in evaluation mode (running
  averages), so a generated image does not depend on the rest of its batch.
- Conditional GANs feed labels to both players (uniform labels for generated samples); InfoGAN adds the
  mutual-information loss λ·L_info to the discriminator-and-Q update and to the generator update.
- Evaluation logs, per replica: the discriminator's held-out estimates (`v_d`, `js_lower_bound`, KL plug-ins or
  `w1_critic`: estimates only, images have no exact density) on the dataset's test split, and the offline
  classifier metrics (`fcd`, `classifier_score`, `precision`, `recall`, `density`, `coverage`,
  `conditional_accuracy` for conditional GANs, `info_*` for InfoGAN); sample grids go to `samples/` and TensorBoard.
"""
import functools
import os
from typing import Any

from absl import logging
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gan_jax import engine
from gan_jax import evaluation
from gan_jax import image_metrics
from gan_jax import image_models
from gan_jax import input_pipeline
from gan_jax import parallel
from gan_jax import players as players_lib
from gan_jax import probe as probe_lib

Inputs = players_lib.Inputs
# Objectives whose discriminator loss needs per-sample input gradients: BatchNorm couples the samples of a batch.
_GRADIENT_PENALTIES = ("wgan_gp",)
GRID_COLUMNS = 8
STEP_LOOPS = ("python", "scan")  # how a chunk's steps run: one jitted call each, or one lax.scan


def image_shape_of(config: ml_collections.ConfigDict) -> tuple[int, int, int]:
  """(H, W, C) the players see: the dataset's native shape, or `config.image_size` squares."""
  h, w, c = input_pipeline.IMAGE_SHAPES[config.dataset]
  size = config.get("image_size") or h
  return (size, size, c) if config.get("image_size") else (h, w, c)


def module_kwargs(cfg: Any) -> dict[str, Any]:
  """Module keyword arguments from a config (lists from config.json become tuples)."""
  return {k: tuple(v) if isinstance(v, list) else v for k, v in dict(cfg or {}).items()}


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Checks the fields an image run reads, before anything is compiled (or any data is read).

  Raises:
    ValueError: one line naming the first bad field, its value and what is allowed.
  """
  if config.dataset not in input_pipeline.DATASETS:
    engine.fail("dataset", config.dataset, " | ".join(input_pipeline.DATASETS))
  if parallel.objective_axis(config):
    engine.fail("objective_axis.objectives", tuple(parallel.objective_axis(config)),
                "() for image runs (objectives side by side train on distribution targets)")
  size = config.get("image_size")
  if size is not None and size != 0 and (not isinstance(size, int) or isinstance(size, bool) or size < 4):
    engine.fail("image_size", size, "0 (the dataset's own size) or an integer >= 4")
  if config.generator not in image_models.GENERATORS:
    engine.fail("generator", config.generator, " | ".join(image_models.GENERATORS))
  if config.discriminator not in image_models.DISCRIMINATORS:
    engine.fail("discriminator", config.discriminator, " | ".join(image_models.DISCRIMINATORS))
  convolutional = {config.generator, config.discriminator} - {"mlp"}
  if size and convolutional:
    try:  # the stride-2 plan of the DCGAN / InfoGAN players (`image_models.dcgan_base_size`)
      image_models.dcgan_base_size(size)
    except ValueError:
      engine.fail("image_size", size, f"0 (the dataset's own size) or an even integer >= 8 (e.g. 8, 16, 28, 32) "
                  f"for the {' and '.join(sorted(convolutional))} players")
  if (config.generator == "infogan") != (config.discriminator == "infogan"):
    engine.fail("discriminator", config.discriminator, "'infogan' exactly when config.generator='infogan'")
  if config.get("conditional", False) and config.generator == "infogan":
    engine.fail("conditional", True, "False for InfoGAN (its categorical code plays the label's role)")
  if config.get("latent_prior", "normal") not in players_lib.LATENT_PRIORS:
    engine.fail("latent_prior", config.get("latent_prior"), " | ".join(players_lib.LATENT_PRIORS))
  scale = config.get("latent_scale", 1.0)
  if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale < float("inf"):
    engine.fail("latent_scale", scale, "a number > 0")
  if config.get("info_weight", 1.0) < 0 or config.get("info_continuous_weight", 1.0) < 0:
    engine.fail("info_weight", (config.get("info_weight"), config.get("info_continuous_weight")), "weights >= 0")
  normalization = config.get("discriminator_kwargs", {}).get("normalization", "batch_norm")
  uses_bn = config.discriminator in ("dcgan", "infogan") and normalization == "batch_norm"
  if uses_bn and (config.objective in _GRADIENT_PENALTIES or config.get("r1_weight", 0.0)
                  or config.get("r2_weight", 0.0)):
    engine.fail("discriminator_kwargs.normalization", normalization,
          "'layer_norm', 'spectral_norm' or 'none' with gradient penalties (BatchNorm couples the samples whose "
          "input gradients they penalise; Gulrajani et al. 2017, Sec. 4)")
  per_transfer = config.get("steps_per_transfer", 100)
  if not isinstance(per_transfer, int) or isinstance(per_transfer, bool) or per_transfer < 1:
    engine.fail("steps_per_transfer", per_transfer, "an integer >= 1")
  if config.get("step_loop", "python") not in STEP_LOOPS:
    engine.fail("step_loop", config.get("step_loop"), " | ".join(STEP_LOOPS))
  engine.validate_loop_config(config)
  layout = config.get("parallel", {}).get("layout", "none")
  if jax.process_count() > 1 and layout == "none":
    engine.fail("parallel.layout", layout, f"'data' or 'replicas' on {jax.process_count()} processes")


def build_gan(config: ml_collections.ConfigDict) -> engine.GAN:
  """Validates an image config and builds the static half of the run (players, objective, optimizers).

  Raises:
    ValueError: for any invalid field, before any compilation.
  """
  validate_config(config)
  vmapped = engine.validate_replicas(config)
  shape = image_shape_of(config)
  num_classes = input_pipeline.NUM_CLASSES if config.get("conditional", False) else 0
  g_kwargs, d_kwargs = module_kwargs(config.get("generator_kwargs")), module_kwargs(config.get("discriminator_kwargs"))
  try:
    generator = image_models.get_generator(config.generator, image_shape=shape, num_classes=num_classes,
                                           **g_kwargs)
    num_categories = generator.num_categories if config.generator == "infogan" else 0
    num_continuous = generator.num_continuous if num_categories else 0
    if num_categories:
      d_kwargs.update(num_categories=num_categories, num_continuous=num_continuous)
    discriminator = image_models.get_discriminator(config.discriminator, image_shape=shape,
                                                   num_classes=num_classes, **d_kwargs)
  except (TypeError, ValueError) as e:
    raise ValueError(f"config.generator_kwargs / discriminator_kwargs: {e}") from None
  players = players_lib.ImagePlayers(
      generator=generator, discriminator=discriminator, latent_dim=generator.latent_dim, image_shape=shape,
      num_classes=num_classes, num_categories=num_categories, num_continuous=num_continuous,
      info_continuous_weight=float(config.get("info_continuous_weight", 1.0)),
      latent_prior=config.get("latent_prior", "normal"), latent_scale=float(config.get("latent_scale", 1.0)),
      joint_batch=bool(config.get("joint_batch", False)))
  return engine.make_gan(config, players, vmapped)


def train_steps(gan: engine.GAN, state: engine.TrainState, real: jax.Array, labels: jax.Array
                ) -> tuple[engine.TrainState, dict]:
  """Scans `train_step` over real batches (num_steps, n_critic, b, H, W, C) and labels (num_steps, n_critic, b)."""
  return jax.lax.scan(lambda s, batch: engine.train_step(gan, s, *batch), state, (real, labels))


def real_batches(dataset: input_pipeline.ImageDataset, gan: engine.GAN, seeds: np.ndarray, step: int, num_steps: int,
                 process_index: int = 0, process_count: int = 1) -> tuple[np.ndarray, np.ndarray]:
  """The real batches of steps [step, step + num_steps) for every replica (its seed's shuffle).

  Generator step s reads global batches s·n_critic … s·n_critic + n_critic − 1 of `input_pipeline.batches`;
  process p of P reads its p-th slice of each (b / P images). Images have the dataset's shape.

  Returns:
    images (R, num_steps, n_critic, b / P, H, W, C) and labels (R, num_steps, n_critic, b / P).
  """
  per_seed = {}
  local = gan.batch_size // process_count
  for seed in np.unique(seeds):
    stream = input_pipeline.batches(dataset, gan.batch_size, int(seed), num_batches=num_steps * gan.n_critic,
                                    start_step=step * gan.n_critic, process_index=process_index,
                                    process_count=process_count)
    got = list(stream)
    images = np.stack([b.images for b in got]).reshape(num_steps, gan.n_critic, local, *dataset.image_shape)
    labels = np.stack([b.labels for b in got]).reshape(num_steps, gan.n_critic, local)
    per_seed[int(seed)] = images, labels
  return (np.stack([per_seed[int(s)][0] for s in seeds]), np.stack([per_seed[int(s)][1] for s in seeds]))


def _place_batches(data: input_pipeline.ImageDataset, gan: engine.GAN, replicas: parallel.Replicas,
                   layout: parallel.Layout, step: int, n: int) -> tuple[jax.Array | np.ndarray, ...]:
  """A chunk's real batches on the devices of `layout`, each host reading only what its devices need.

  Data parallel: every host reads its slice of each global batch (`input_pipeline.batches`) and the global array
  is assembled from the hosts' parts. Replicas: every host reads the batches of all replicas and keeps the ones of
  its own devices (replica streams differ by seed, so there is no slice to share).
  """
  if layout.mesh is None:
    return real_batches(data, gan, replicas.seeds, step, n)
  if layout.layout == "data":
    local = real_batches(data, gan, replicas.seeds, step, n, jax.process_index(), jax.process_count())
    return tuple(_from_process_slices(x, layout) for x in local)
  full = real_batches(data, gan, replicas.seeds, step, n)
  return tuple(jax.make_array_from_callback(x.shape, layout.state(x), lambda index, x=x: x[index]) for x in full)


def _from_process_slices(local: np.ndarray, layout: parallel.Layout) -> jax.Array:
  """The global (R, n, n_critic, b, …) array, batch axis 3 split over the mesh, from this process's b / P slice."""
  spec = jax.sharding.PartitionSpec(None, None, None, parallel.DATA_AXIS)
  sharding = jax.sharding.NamedSharding(layout.mesh, spec)
  shape = local.shape[:3] + (local.shape[3] * jax.process_count(),) + local.shape[4:]
  return jax.make_array_from_process_local_data(sharding, local, shape)


@jax.jit
def take_step(batches: Any, t: int | jax.Array) -> Any:
  """Step t's batches (R, n_critic, b, …) of a block (R, num_steps, n_critic, b, …), as a program of its own.

  Slicing inside the jitted training step instead fuses the dynamic slice into the convolutions that read the
  batch, and XLA:CPU then runs them off its fast path: the mnist5k DCGAN step (32 features, batch 64, 2 cores)
  took 343 ms that way against 64–73 ms with this separate slice.
  """
  return jax.tree.map(lambda x: jax.lax.dynamic_index_in_dim(x, t, axis=1, keepdims=False), batches)


def eval_inputs(gan: engine.GAN, key: jax.Array, n: int) -> Inputs:
  """Evaluation inputs: for conditional GANs the labels cycle 0, 1, …, K−1 so every class is asked for equally."""
  labels = jnp.arange(n, dtype=jnp.int32) % gan.players.num_classes if gan.players.num_classes else None
  return gan.players.sample_inputs(key, n, labels=labels)


def grid_inputs(gan: engine.GAN, key: jax.Array, rows: int = GRID_COLUMNS) -> Inputs:
  """Inputs of a sample grid (rows × GRID_COLUMNS): row r asks for label / category r (conditional, InfoGAN)."""
  n = rows * GRID_COLUMNS
  inputs = gan.players.sample_inputs(key, n)
  row = jnp.repeat(jnp.arange(rows, dtype=jnp.int32), GRID_COLUMNS)
  if gan.players.num_categories:
    return inputs._replace(cat=row % gan.players.num_categories)
  if gan.players.num_classes:
    return inputs._replace(labels=row % gan.players.num_classes)
  return inputs


def evaluate(gan: engine.GAN, state: engine.TrainState, real: jax.Array, labels: jax.Array, key: jax.Array,
             num_samples: int) -> tuple[dict[str, jax.Array], jax.Array, jax.Array]:
  """One replica's on-device evaluation, both players in evaluation mode.

  Args:
    gan: the static spec.
    state: one replica's state.
    real: held-out real images (m, H, W, C) with their labels (m,).
    labels: their labels.
    key: evaluation key (independent of the training stream).
    num_samples: generated samples to draw.

  Returns:
    (the discriminator's estimates, and for InfoGAN `info_loss` and `info_accuracy` (Q recovering the categorical
    code), the generated images (num_samples, H, W, C), the labels they were generated for (InfoGAN: their
    categorical codes; else zeros)).
  """
  inputs = eval_inputs(gan, key, num_samples)
  fake, _ = gan.players.generate(state.g_params, state.g_batch_stats, inputs, train=False)
  real_out, _, _ = gan.players.discriminate(state.d_params, state.d_batch_stats, real, labels, train=False)
  fake_out, q, _ = gan.players.discriminate(state.d_params, state.d_batch_stats, fake, inputs.labels, train=False)
  out = evaluation.discriminator_estimates(gan.objective, real_out, fake_out)
  if gan.players.num_categories:
    out["info_loss"] = gan.players.info_loss(q, inputs)
    out["info_accuracy"] = jnp.mean(jnp.argmax(q[0], axis=-1) == inputs.cat)
  if gan.players.num_classes:
    fake_labels = inputs.labels
  elif gan.players.num_categories:
    fake_labels = inputs.cat
  else:
    fake_labels = jnp.zeros((num_samples,), jnp.int32)
  return out, fake, fake_labels


def default_data_dir() -> str:
  """TFDS's default data directory: $TFDS_DATA_DIR, else ~/tensorflow_datasets."""
  return os.environ.get("TFDS_DATA_DIR") or os.path.expanduser(os.path.join("~", "tensorflow_datasets"))


def classifier_for(config: ml_collections.ConfigDict, workdir: str, dataset: str | None = None
                   ) -> image_metrics.TrainedClassifier | None:
  """The metric classifier of the run's dataset (or of `dataset`) and image size (None when
  `config.eval_classifier` is off).

  It is read from `image_metrics.classifier_path(config.data_dir, ...)` (TFDS's default data dir when unset). For
  the offline datasets (digits, mnist5k) a missing one is trained on the spot (15–60 s) and saved there (in the
  workdir when `config.data_dir` is unset); TFDS datasets need `experiments/train_classifier.py` first.

  Raises:
    ValueError: a TFDS dataset's classifier is missing (the message gives the command) or fails its checksum.
  """
  if not config.get("eval_classifier", True):
    return None
  dataset = dataset or config.dataset
  size = config.get("image_size") or input_pipeline.IMAGE_SHAPES[dataset][0]
  offline = dataset in input_pipeline.OFFLINE_DATASETS
  data_dir = config.get("data_dir") or (workdir if offline else default_data_dir())
  path = image_metrics.classifier_path(data_dir, dataset, size)
  if offline and not os.path.exists(path):
    if jax.process_index() == 0:
      logging.info("Training the %s metric classifier (%d px) into %s.", dataset, size, path)
      image_metrics.train_and_save_classifier(dataset, data_dir, image_size=config.get("image_size") or None)
    if jax.process_count() > 1:  # the others wait for process 0's file
      from jax.experimental import multihost_utils
      multihost_utils.sync_global_devices(f"gan_jax {dataset} classifier")
  try:
    return image_metrics.load_classifier(path)
  except FileNotFoundError:
    raise ValueError(
        f"no {dataset} metric classifier at {path}; train it with: python experiments/train_classifier.py "
        f"--dataset={dataset} --data_dir={data_dir} --image_size={size}") from None


def tile(images: np.ndarray, columns: int = GRID_COLUMNS) -> np.ndarray:
  """Images (n, H, W, C) in [−1, 1] -> one uint8 grid (rows·H + gaps, columns·W + gaps, C), 1-px dark gaps."""
  images = np.asarray(images, np.float32)
  n, h, w, c = images.shape
  rows = -(-n // columns)
  grid = np.zeros((rows * (h + 1) + 1, columns * (w + 1) + 1, c), np.uint8)
  pixels = np.round((np.clip(images, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
  for i in range(n):
    r, col = divmod(i, columns)
    grid[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + col * (w + 1):1 + col * (w + 1) + w] = pixels[i]
  return grid


def save_png(grid: np.ndarray, path: str, scale: int = 4) -> str:
  """Writes a uint8 grid (H, W, C) as a PNG, enlarged `scale`× (nearest neighbour) so small digits stay visible."""
  import matplotlib  # only when writing images
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  big = np.repeat(np.repeat(grid, scale, axis=0), scale, axis=1)
  plt.imsave(path, big[..., 0] if big.shape[-1] == 1 else big, cmap="gray", vmin=0, vmax=255)
  return path


def grid_key(state: engine.TrainState) -> jax.Array:
  """A fixed key per replica: every evaluation's grid shows the same z, so grids over training are comparable."""
  return jax.random.fold_in(state.key, 0x6121D)


def program(config: ml_collections.ConfigDict, workdir: str) -> engine.Program:
  """The engine program of an image run (see the module docstring)."""
  layout = parallel.create_layout(config)
  gan = build_gan(config).with_shard_batch(layout.batch_constraint())
  replicas = parallel.replicas_of(config)
  image_size = config.get("image_size") or None
  data_dir = config.get("data_dir") or None
  data = input_pipeline.load(config.dataset, "train", data_dir=data_dir, image_size=image_size)
  held_out = input_pipeline.load(config.dataset, config.get("eval_split", "test"), data_dir=data_dir,
                                 image_size=image_size)
  if config.batch_size > len(data):
    engine.fail("batch_size", config.batch_size, f"at most the {len(data)} training images of {config.dataset}")
  real_eval = image_metrics.held_out_subset(held_out, config.eval_samples)  # the floor uses the same images
  classifier = classifier_for(config, workdir)
  real_features = None if classifier is None else classifier.features_and_logits(real_eval.images)[0]
  # InfoGAN: does the categorical code pick the digit class? (needs one code value per class)
  matches_classes = classifier is not None and gan.players.num_categories == classifier.module.num_classes
  init = lambda: engine.init_states(gan, replicas, layout)
  replicated = layout.replicated(0) if layout.mesh is not None else None
  state_sharding = layout.state(engine.state_shapes(gan, replicas)) if layout.mesh is not None else None

  def eval_one(s, real, labels):
    return evaluate(gan, s, real, labels, engine.eval_key(s), config.eval_samples)

  evaluate_all = jax.jit(layout.map_replicas(eval_one, in_axes=(0, None, None)), out_shardings=replicated)

  def evaluate_host(state):
    out, fakes, fake_labels = evaluate_all(state, real_eval.images, real_eval.labels)
    out = {k: np.asarray(v) for k, v in out.items()}
    if classifier is not None:
      per_replica = []
      for i in range(replicas.size):
        fake_features, fake_logits = classifier.features_and_logits(np.asarray(fakes[i]))
        metrics = image_metrics.evaluate_features(
            real_features, fake_features, fake_logits,
            fake_labels=np.asarray(fake_labels[i]) if gan.players.num_classes else None)
        if matches_classes:
          metrics["info_class_accuracy"] = image_metrics.matched_accuracy(fake_logits, np.asarray(fake_labels[i]))
        per_replica.append(metrics)
      out.update({k: np.array([m[k] for m in per_replica]) for k in per_replica[0]})
    return out

  out = (state_sharding, replicated, replicated) if layout.mesh is not None else None

  @functools.lru_cache(maxsize=None)
  def scan_fn(n: int):
    def steps(s, real, labels):
      s, metrics = layout.map_replicas(lambda r, x, y: train_steps(gan, r, x, y))(s, real, labels)
      return s, metrics, engine.all_finite(s)
    return jax.jit(steps, out_shardings=out)

  def one_step(s, real, labels):
    s, metrics = layout.map_replicas(lambda r, x, y: engine.train_step(gan, r, x, y))(s, real, labels)
    return s, metrics, engine.all_finite(s)

  step_fn = jax.jit(one_step, out_shardings=out)
  per_transfer = config.get("steps_per_transfer", 100)

  def run_block(state, real, labels, m):
    if config.get("step_loop", "python") == "scan":
      return scan_fn(m)(state, real, labels)
    # One jitted step per call: XLA:CPU runs convolution gradients several times slower inside a loop body
    # (jax-ml/jax#12868; a DCGAN step took 1040 ms under lax.scan against 220 ms alone), and an image step is
    # long enough that per-step dispatch costs nothing. The block of batches stays on the devices.
    metrics, finite = [], None
    for t in range(m):
      state, step_metrics, finite = step_fn(state, *take_step((real, labels), t))
      metrics.append(step_metrics)
    return state, jax.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs], axis=1), *metrics), finite

  def chunk(state, step, n):
    # Real batches go to the devices `per_transfer` steps at a time: host and device memory stay bounded
    # whatever eval_every is (1,000 steps of CIFAR-10 at batch 64 would be 790 MB per replica).
    parts, done, finite = [], 0, None
    while done < n:
      m = min(per_transfer, n - done)
      state, metrics, finite = run_block(state, *_place_batches(data, gan, replicas, layout, step + done, m), m)
      parts.append(metrics)
      done += m
    if len(parts) == 1:
      return state, parts[0], finite
    return state, jax.tree.map(lambda *xs: np.concatenate([np.asarray(x) for x in xs], axis=1), *parts), finite

  grid_fn = jax.jit(lambda s: grid_images(gan, s))

  def plot(state, step, writer):
    if not engine.is_main_process():
      return  # The state is spread over hosts; `experiments/sample.py` draws grids from the checkpoint.
    first = jax.tree.map(lambda x: x[0], state)
    grid = tile(np.asarray(grid_fn(first)))
    save_png(grid, os.path.join(workdir, "samples", f"step_{step:07d}.png"))
    writer.write_images(step, {"samples": grid})

  return engine.Program(init=init, chunk=chunk, evaluate=evaluate_host, plot=plot, target_name=config.dataset,
                        headline=("fcd", "js_lower_bound", "w1_critic"),
                        probe=probe_for(config, gan) if config.get("probe_every", 0) else None)


# Folded into a replica's evaluation key: the probe's samples are independent of the evaluation's.
PROBE_STREAM = 0x9B0E


def probe_spec(spec: probe_lib.ProbeSpec, num_train: int, num_test: int) -> probe_lib.ProbeSpec:
  """`spec` with its splits sized to a dataset: at most the held-out split's images for `num_test`, a tenth of the
  training split for validation (at most `spec.num_validation`) and the rest of it for training.

  Raises:
    ValueError: a split too small for `spec.batch_size`.
  """
  num_validation = min(spec.num_validation, num_train // 10)
  if num_train - num_validation < spec.batch_size or num_validation < 1:
    raise ValueError(f"the dataset's {num_train} training images are too few for the probe; allowed: at least "
                     f"probe.batch_size ({spec.batch_size}) + a tenth for validation")
  return spec.replace(num_train=num_train - num_validation, num_validation=num_validation,
                      num_test=min(spec.num_test, num_test))


def probe(gan: engine.GAN, train_images: np.ndarray, test_images: np.ndarray, spec: probe_lib.ProbeSpec) -> Any:
  """The jitted divergence probe of every replica: state -> {estimate: (R,)} (`probe.estimates`).

  p's critics train on the real training images (flattened) and their bounds are read on the held-out split;
  g's images are drawn fresh from each replica's generator in evaluation mode (labels cycling over the classes
  for conditional GANs, like the evaluation). `spec` must be sized with `probe_spec`.
  """
  flat = lambda x: jnp.reshape(x, (x.shape[0], -1)).astype(jnp.float32)
  real_train = flat(jnp.asarray(train_images))
  real_test = flat(jnp.asarray(test_images[:spec.num_test]))

  def one(state, real_train, real_test):
    k_split, k_fake, k_probe = jax.random.split(jax.random.fold_in(engine.eval_key(state), PROBE_STREAM), 3)
    n = spec.num_train + spec.num_validation + spec.num_test
    fake, _ = gan.players.generate(state.g_params, state.g_batch_stats, eval_inputs(gan, k_fake, n), train=False)
    fake = flat(fake)
    order = jax.random.permutation(k_split, real_train.shape[0])
    real = real_train[order]
    splits = probe_lib.Splits(
        train=(real[:spec.num_train], fake[:spec.num_train]),
        validation=(real[spec.num_train:spec.num_train + spec.num_validation],
                    fake[spec.num_train:spec.num_train + spec.num_validation]),
        test=(real_test, fake[spec.num_train + spec.num_validation:]))
    return probe_lib.estimates(spec, splits, k_probe)
  # The images are arguments, not constants folded into the program.
  jitted = jax.jit(jax.vmap(one, in_axes=(0, None, None)))
  return lambda state: jitted(state, real_train, real_test)


def probe_for(config: ml_collections.ConfigDict, gan: engine.GAN) -> Any:
  """`probe` on the run's dataset: its training split against its held-out split (`config.eval_split`)."""
  image_size = config.get("image_size") or None
  data_dir = config.get("data_dir") or None
  train = input_pipeline.load(config.dataset, "train", data_dir=data_dir, image_size=image_size)
  held_out = input_pipeline.load(config.dataset, config.get("eval_split", "test"), data_dir=data_dir,
                                 image_size=image_size)
  spec = probe_spec(probe_lib.spec_from_config(config.get("probe")), len(train), len(held_out))
  # A fixed shuffle, like the evaluation's held-out images.
  test = held_out.read(np.sort(np.random.default_rng(0).permutation(len(held_out))[:spec.num_test])).images
  return probe(gan, train.read(np.arange(len(train))).images, test, spec)


def grid_images(gan: engine.GAN, state: engine.TrainState, inputs: Inputs | None = None) -> jax.Array:
  """One replica's images for a sample grid, in evaluation mode (jittable; `tile` lays them out).

  Without `inputs`, the grid of `grid_inputs` at the replica's fixed `grid_key`.
  """
  inputs = grid_inputs(gan, grid_key(state)) if inputs is None else inputs
  images, _ = gan.players.generate(state.g_params, state.g_batch_stats, inputs, train=False)
  return images


def load_latest(config: ml_collections.ConfigDict, workdir: str, step: int | None = None
                ) -> tuple[engine.GAN, input_pipeline.ImageDataset | None, engine.TrainState, int]:
  """Restores the latest checkpoint of an image run, or that of `step`: (gan, None, state over replicas, step).

  Raises:
    ValueError: when `workdir` holds no checkpoint, or `step` was not saved.
  """
  gan = build_gan(config)
  state, step = engine.restore_latest(gan, config, workdir, step)
  return gan, None, state, step


def infogan_code_inputs(gan: engine.GAN, key: jax.Array, code: str, num_values: int = 10, value_range: float = 2.0
                        ) -> tuple[Inputs, int]:
  """InfoGAN inputs that vary one latent code along each row, all else fixed (Chen et al. 2016, Fig. 2).

  Args:
    gan: an InfoGAN spec.
    key: draws the noise z (one per row).
    code: 'categorical' (columns: categories 0…K−1; rows: different z; continuous codes 0) or 'continuous<j>'
      (columns: c_j from −value_range to value_range, beyond the training prior U(−1, 1) as in the paper; rows:
      categories 0…K−1, one shared z; other continuous codes 0).
    num_values: columns of a continuous code's grid.
    value_range: the continuous code's extreme value.

  Returns:
    (inputs for rows × columns images in row-major order, the number of columns).

  Raises:
    ValueError: for a non-InfoGAN spec or an unknown code name.
  """
  k, l = gan.players.num_categories, gan.players.num_continuous
  if not k:
    raise ValueError("code-variation grids need an InfoGAN run (config.generator='infogan')")
  names = ["categorical"] + [f"continuous{j}" for j in range(l)]
  if code not in names:
    raise ValueError(f"unknown InfoGAN code {code!r}; allowed: {', '.join(names)}")
  if code == "categorical":
    rows, cols = GRID_COLUMNS, k
    z = jnp.repeat(gan.players.sample_inputs(key, rows).z, cols, axis=0)  # z from the run's prior
    cat = jnp.tile(jnp.arange(k, dtype=jnp.int32), rows)
    return Inputs(z, cat=cat, cont=jnp.zeros((rows * cols, l))), cols
  j = int(code[len("continuous"):])
  rows, cols = k, num_values
  z = jnp.broadcast_to(gan.players.sample_inputs(key, 1).z, (rows * cols, gan.players.latent_dim))
  cat = jnp.repeat(jnp.arange(k, dtype=jnp.int32), cols)
  values = jnp.tile(jnp.linspace(-value_range, value_range, cols), rows)
  cont = jnp.zeros((rows * cols, l)).at[:, j].set(values)
  return Inputs(z, cat=cat, cont=cont), cols


def infogan_code_names(gan: engine.GAN) -> list[str]:
  """The codes `infogan_code_inputs` can vary: 'categorical', 'continuous0', …"""
  return ["categorical"] + [f"continuous{j}" for j in range(gan.players.num_continuous)]
