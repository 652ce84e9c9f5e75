"""Image GANs through the same engine: DCGAN, the Keras MNIST MLP GAN, conditional GANs and InfoGAN.

A config with `dataset` set (see `config.image_config`) trains here; `train.train_and_evaluate`, the sweeps and
the entry points route it automatically. What differs from distribution targets:

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
from typing import Any, NamedTuple

from absl import logging
import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from gan_jax import checkpoint
from gan_jax import evaluation
from gan_jax import image_metrics
from gan_jax import image_models
from gan_jax import input_pipeline
from gan_jax import objectives as objectives_lib
from gan_jax import parallel
from gan_jax import train
from gan_jax import writers

GENERATORS = {"dcgan": image_models.DCGANGenerator, "mlp": image_models.MLPImageGenerator,
              "infogan": image_models.InfoGANGenerator}
DISCRIMINATORS = {"dcgan": image_models.DCGANDiscriminator, "mlp": image_models.MLPImageDiscriminator,
                  "infogan": image_models.InfoGANDiscriminator}
# Objectives whose discriminator loss needs per-sample input gradients: BatchNorm couples the samples of a batch.
_GRADIENT_PENALTIES = ("wgan_gp",)
GRID_COLUMNS = 8
STEP_LOOPS = ("python", "scan")  # how a chunk's steps run: one jitted call each, or one lax.scan


@flax.struct.dataclass
class ImageTrainState:
  """`train.TrainState` plus each player's non-trainable `batch_stats` ({} for players without any)."""
  step: jax.Array
  key: jax.Array
  g_params: Any
  d_params: Any
  g_batch_stats: Any
  d_batch_stats: Any
  g_opt_state: Any
  d_opt_state: Any
  ema_g_params: Any
  hparams: dict[str, jax.Array]


class Inputs(NamedTuple):
  """What the generator is fed: noise z (n, latent_dim), labels (n,) for conditional GANs, InfoGAN codes."""
  z: jax.Array
  labels: jax.Array | None = None
  cat: jax.Array | None = None    # InfoGAN categorical code (n,)
  cont: jax.Array | None = None   # InfoGAN continuous codes (n, L)


class ImageGAN(NamedTuple):
  """The static half of an image run (the fields `train.discriminator_objective/penalty` read included)."""
  generator: nn.Module
  discriminator: nn.Module
  objective: objectives_lib.Objective
  g_tx: optax.GradientTransformation
  d_tx: optax.GradientTransformation
  latent_dim: int
  image_shape: tuple[int, int, int]
  num_classes: int            # > 0: conditional on labels
  num_categories: int         # > 0: InfoGAN (with num_continuous continuous codes)
  num_continuous: int
  info_weight: float
  info_continuous_weight: float
  joint_batch: bool           # the critic sees real and fake as one concatenated batch (the Keras MNIST GAN)
  batch_size: int
  n_critic: int
  simultaneous: bool
  r1_weight: float
  r2_weight: float
  ema_decay: float
  vmapped: tuple[str, ...] = ()
  shard_batch: Any = None     # as in `train.GAN`

  def hparam(self, state: ImageTrainState, name: str, default: Any) -> Any:
    return state.hparams[name] if name in self.vmapped else default

  def sample_inputs(self, key: jax.Array, n: int, labels: jax.Array | None = None) -> Inputs:
    """z ~ N(0, I), with uniform labels (unless given) for conditional GANs and prior codes for InfoGAN."""
    k_z, k_c = jax.random.split(key)
    z = jax.random.normal(k_z, (n, self.latent_dim))
    if self.num_categories:
      cat, cont = image_models.sample_infogan_codes(k_c, n, self.num_categories, self.num_continuous)
      return Inputs(z, cat=cat, cont=cont)
    if self.num_classes:
      if labels is None:
        labels = jax.random.randint(k_c, (n,), 0, self.num_classes, dtype=jnp.int32)
      return Inputs(z, labels=labels)
    return Inputs(z)

  def generate(self, params: Any, stats: Any, inputs: Inputs, *, train: bool) -> tuple[jax.Array, Any]:
    """G(inputs) and G's updated batch_stats (unchanged in evaluation mode)."""
    if self.shard_batch is not None:
      inputs = jax.tree.map(lambda x: self.shard_batch(x, 0), inputs)
    return _apply(self.generator, params, stats, _generator_args(self, inputs), train, None)

  def discriminate(self, params: Any, stats: Any, x: jax.Array, labels: jax.Array | None, *, train: bool,
                   key: jax.Array | None = None) -> tuple[jax.Array, Any, Any]:
    """(raw outputs (n,), InfoGAN's Q outputs (logits, means) or None, D's updated batch_stats)."""
    args = (x, labels) if self.num_classes else (x,)
    out, stats = _apply(self.discriminator, params, stats, args, train, None if key is None else {"dropout": key})
    if self.num_categories:
      return out[0], (out[1], out[2]), stats
    return out, None, stats

  def info_loss(self, q: Any, inputs: Inputs) -> jax.Array:
    """InfoGAN's mutual-information loss of Q's outputs on the generated samples (0 without InfoGAN)."""
    if not self.num_categories:
      return jnp.zeros(())
    return image_models.infogan_mutual_information_loss(
        q[0], q[1], inputs.cat, inputs.cont, continuous_weight=self.info_continuous_weight)


def _apply(module: nn.Module, params: Any, stats: Any, args: tuple, train: bool, rngs: dict | None
           ) -> tuple[Any, Any]:
  variables = {"params": params, "batch_stats": stats} if stats else {"params": params}
  if not train:
    return module.apply(variables, *args, train=False), stats
  out, mutated = module.apply(variables, *args, train=True, mutable=["batch_stats"], rngs=rngs)
  return out, mutated.get("batch_stats", stats)


def _fail(field: str, value: Any, allowed: str) -> None:
  raise ValueError(f"config.{field}={value!r} is invalid; allowed: {allowed}")


def image_shape_of(config: ml_collections.ConfigDict) -> tuple[int, int, int]:
  """(H, W, C) the players see: the dataset's native shape, or `config.image_size` squares."""
  h, w, c = input_pipeline.IMAGE_SHAPES[config.dataset]
  size = config.get("image_size") or h
  return (size, size, c) if config.get("image_size") else (h, w, c)


def _kwargs(cfg: Any) -> dict[str, Any]:
  """Module keyword arguments from a config (lists from config.json become tuples)."""
  return {k: tuple(v) if isinstance(v, list) else v for k, v in dict(cfg or {}).items()}


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Checks the fields an image run reads, before anything is compiled (or any data is read).

  Raises:
    ValueError: one line naming the first bad field, its value and what is allowed.
  """
  if config.dataset not in input_pipeline.DATASETS:
    _fail("dataset", config.dataset, " | ".join(input_pipeline.DATASETS))
  size = config.get("image_size")
  if size is not None and size != 0 and (not isinstance(size, int) or isinstance(size, bool) or size < 4):
    _fail("image_size", size, "0 (the dataset's own size) or an integer >= 4")
  if config.generator not in GENERATORS:
    _fail("generator", config.generator, " | ".join(GENERATORS))
  if config.discriminator not in DISCRIMINATORS:
    _fail("discriminator", config.discriminator, " | ".join(DISCRIMINATORS))
  if (config.generator == "infogan") != (config.discriminator == "infogan"):
    _fail("discriminator", config.discriminator, "'infogan' exactly when config.generator='infogan'")
  if config.get("conditional", False) and config.generator == "infogan":
    _fail("conditional", True, "False for InfoGAN (its categorical code plays the label's role)")
  if config.get("info_weight", 1.0) < 0 or config.get("info_continuous_weight", 1.0) < 0:
    _fail("info_weight", (config.get("info_weight"), config.get("info_continuous_weight")), "weights >= 0")
  normalization = config.get("discriminator_kwargs", {}).get("normalization", "batch_norm")
  uses_bn = config.discriminator in ("dcgan", "infogan") and normalization == "batch_norm"
  if uses_bn and (config.objective in _GRADIENT_PENALTIES or config.get("r1_weight", 0.0)
                  or config.get("r2_weight", 0.0)):
    _fail("discriminator_kwargs.normalization", normalization,
          "'layer_norm', 'spectral_norm' or 'none' with gradient penalties (BatchNorm couples the samples whose "
          "input gradients they penalise; Gulrajani et al. 2017, Sec. 4)")
  per_transfer = config.get("steps_per_transfer", 100)
  if not isinstance(per_transfer, int) or isinstance(per_transfer, bool) or per_transfer < 1:
    _fail("steps_per_transfer", per_transfer, "an integer >= 1")
  if config.get("step_loop", "python") not in STEP_LOOPS:
    _fail("step_loop", config.get("step_loop"), " | ".join(STEP_LOOPS))
  train.validate_loop_config(config)
  layout = config.get("parallel", {}).get("layout", "none")
  if jax.process_count() > 1 and layout == "none":
    _fail("parallel.layout", layout, f"'data' or 'replicas' on {jax.process_count()} processes")


def build_gan(config: ml_collections.ConfigDict) -> ImageGAN:
  """Validates an image config and builds the static half of the run (modules, objective, optimizers).

  Raises:
    ValueError: for any invalid field, before any compilation.
  """
  validate_config(config)
  vmapped = train.validate_replicas(config)
  h, w, c = image_shape_of(config)
  conditional = bool(config.get("conditional", False))
  num_classes = input_pipeline.NUM_CLASSES if conditional else 0
  g_kwargs, d_kwargs = _kwargs(config.get("generator_kwargs")), _kwargs(config.get("discriminator_kwargs"))
  num_categories = num_continuous = 0
  try:
    if config.generator == "mlp":
      generator = image_models.MLPImageGenerator(image_shape=(h, w, c), num_classes=num_classes, **g_kwargs)
    elif config.generator == "dcgan":
      generator = image_models.DCGANGenerator(image_size=h, channels=c, num_classes=num_classes, **g_kwargs)
    else:
      generator = image_models.InfoGANGenerator(image_size=h, channels=c, **g_kwargs)
      num_categories, num_continuous = generator.num_categories, generator.num_continuous
      d_kwargs.update(num_categories=num_categories, num_continuous=num_continuous)
    if config.discriminator == "mlp":
      discriminator = image_models.MLPImageDiscriminator(image_shape=(h, w, c), num_classes=num_classes, **d_kwargs)
    elif config.discriminator == "dcgan":
      discriminator = image_models.DCGANDiscriminator(image_size=h, channels=c, num_classes=num_classes,
                                                      **d_kwargs)
    else:
      discriminator = image_models.InfoGANDiscriminator(image_size=h, channels=c, **d_kwargs)
  except (TypeError, ValueError) as e:
    raise ValueError(f"config.generator_kwargs / discriminator_kwargs: {e}") from None
  objective = objectives_lib.get_objective(config.objective, **config.get("objective_kwargs", {}))
  return ImageGAN(
      generator=generator,
      discriminator=discriminator,
      objective=objective,
      g_tx=train.make_optimizer(config.optimizer_g, "optimizer_g", "g_learning_rate" in vmapped),
      d_tx=train.make_optimizer(config.optimizer_d, "optimizer_d", "d_learning_rate" in vmapped),
      latent_dim=generator.latent_dim,
      image_shape=(h, w, c),
      num_classes=num_classes,
      num_categories=num_categories,
      num_continuous=num_continuous,
      info_weight=float(config.get("info_weight", 1.0)),
      info_continuous_weight=float(config.get("info_continuous_weight", 1.0)),
      joint_batch=bool(config.get("joint_batch", False)),
      batch_size=config.batch_size,
      n_critic=config.n_critic,
      simultaneous=config.update_mode == "simultaneous",
      r1_weight=float(config.get("r1_weight", 0.0)),
      r2_weight=float(config.get("r2_weight", 0.0)),
      ema_decay=float(config.get("ema_decay", 0.0)),
      vmapped=vmapped,
  )


def init_state(gan: ImageGAN, key: jax.Array, hparams: dict[str, jax.Array] | None = None) -> ImageTrainState:
  """Initialises one replica from its raw PRNG key and its vmapped hyper-parameter values."""
  hparams = dict(hparams or {})
  k_g, k_d, k_in = jax.random.split(jax.random.fold_in(key, 0x5EED), 3)
  inputs = gan.sample_inputs(k_in, 2)
  g_vars = gan.generator.init(k_g, *_generator_args(gan, inputs), train=False)
  fake = jnp.zeros((2, *gan.image_shape))
  d_vars = gan.discriminator.init(k_d, *((fake, inputs.labels) if gan.num_classes else (fake,)), train=False)
  g_params, d_params = g_vars["params"], d_vars["params"]
  g_opt_state, d_opt_state = gan.g_tx.init(g_params), gan.d_tx.init(d_params)
  if "g_learning_rate" in hparams:
    g_opt_state = train._with_learning_rate(g_opt_state, hparams["g_learning_rate"])
  if "d_learning_rate" in hparams:
    d_opt_state = train._with_learning_rate(d_opt_state, hparams["d_learning_rate"])
  return ImageTrainState(
      step=jnp.zeros((), jnp.int32), key=key, g_params=g_params, d_params=d_params,
      g_batch_stats=g_vars.get("batch_stats", {}), d_batch_stats=d_vars.get("batch_stats", {}),
      g_opt_state=g_opt_state, d_opt_state=d_opt_state, ema_g_params=g_params, hparams=hparams)


def _generator_args(gan: ImageGAN, inputs: Inputs) -> tuple:
  if gan.num_categories:
    return inputs.z, inputs.cat, inputs.cont
  return (inputs.z, inputs.labels) if gan.num_classes else (inputs.z,)


def _discriminator_loss(gan: ImageGAN, state: ImageTrainState, d_params, d_stats, real, labels, key):
  k_in, k_gp, k_drop = jax.random.split(key, 3)
  n = real.shape[0]
  inputs = gan.sample_inputs(k_in, n)
  fake, _ = gan.generate(state.g_params, state.g_batch_stats, inputs, train=True)
  fake = jax.lax.stop_gradient(fake)
  if gan.joint_batch:
    both_labels = jnp.concatenate([labels, inputs.labels]) if gan.num_classes else None
    out, q, new_stats = gan.discriminate(d_params, d_stats, jnp.concatenate([real, fake]), both_labels, train=True,
                                         key=k_drop)
    real_out, fake_out = out[:n], out[n:]
    q = None if q is None else jax.tree.map(lambda a: a[n:], q)
  else:
    real_out, _, new_stats = gan.discriminate(d_params, d_stats, real, labels, train=True, key=k_drop)
    fake_out, q, new_stats = gan.discriminate(d_params, new_stats, fake, inputs.labels, train=True,
                                              key=jax.random.fold_in(k_drop, 1))
  loss = train.discriminator_objective(gan, state, real_out, fake_out)
  # Penalties: D with the step's starting statistics, on real labels (validate_config rules out BatchNorm here).
  disc = lambda x: gan.discriminate(d_params, d_stats, x, labels, train=True, key=k_drop)[0]
  penalty = train.discriminator_penalty(gan, state, disc, real, fake, k_gp)
  info = gan.info_loss(q, inputs)
  return loss + penalty + gan.info_weight * info, (loss, penalty, info, real_out, fake_out, new_stats)


def _generator_loss(gan: ImageGAN, g_params, g_stats, d_params, d_stats, key):
  k_in, k_drop = jax.random.split(key)
  inputs = gan.sample_inputs(k_in, gan.batch_size)
  fake, g_stats = gan.generate(g_params, g_stats, inputs, train=True)
  # D in training mode as in the reference implementations; its statistics from this pass are not kept.
  out, q, _ = gan.discriminate(d_params, d_stats, fake, inputs.labels, train=True, key=k_drop)
  adversarial = gan.objective.generator_loss(out)
  info = gan.info_loss(q, inputs)
  return adversarial + gan.info_weight * info, (adversarial, info, g_stats)


def train_step(gan: ImageGAN, state: ImageTrainState, real: jax.Array, labels: jax.Array
               ) -> tuple[ImageTrainState, dict[str, jax.Array]]:
  """`n_critic` critic steps on real batches (n_critic, b, H, W, C) with labels (n_critic, b), then a G step.

  Returns:
    The new state and the metrics of `train.train_step`, plus `d_info` / `g_info` for InfoGAN.
  """
  step_key = jax.random.fold_in(state.key, state.step)
  k_d, k_g = jax.random.split(step_key)
  if gan.shard_batch is not None:
    real, labels = gan.shard_batch(real, 1), gan.shard_batch(labels, 1)

  def critic_step(carry, inputs):
    d_params, d_stats, d_opt_state = carry
    real_batch, label_batch, i = inputs
    grad_fn = jax.value_and_grad(
        lambda p: _discriminator_loss(gan, state, p, d_stats, real_batch, label_batch, jax.random.fold_in(k_d, i)),
        has_aux=True)
    (_, (loss, penalty, info, real_out, fake_out, d_stats)), grads = grad_fn(d_params)
    updates, d_opt_state = gan.d_tx.update(grads, d_opt_state, d_params)
    d_params = optax.apply_updates(d_params, updates)
    if gan.objective.weight_clip is not None:
      c = gan.objective.weight_clip
      d_params = jax.tree.map(lambda p: jnp.clip(p, -c, c), d_params)
    metrics = {"d_loss": loss, "d_penalty": penalty, "d_real": train.mean_probability(gan, real_out),
               "d_fake": train.mean_probability(gan, fake_out), "d_grad_norm": optax.tree.norm(grads),
               "d_update_norm": optax.tree.norm(updates)}
    if gan.num_categories:
      metrics["d_info"] = info
    return (d_params, d_stats, d_opt_state), metrics

  # A Python loop, not lax.scan: XLA:CPU runs convolution gradients many times slower inside a loop body
  # (jax-ml/jax#12868), and n_critic is small and static.
  carry = (state.d_params, state.d_batch_stats, state.d_opt_state)
  for i in range(gan.n_critic):
    carry, d_metrics = critic_step(carry, (real[i], labels[i], i))
  d_params, d_stats, d_opt_state = carry

  g_sees = (state.d_params, state.d_batch_stats) if gan.simultaneous else (d_params, d_stats)
  (_, (g_loss, g_info, g_stats)), g_grads = jax.value_and_grad(
      lambda p: _generator_loss(gan, p, state.g_batch_stats, *g_sees, k_g), has_aux=True)(state.g_params)
  g_updates, g_opt_state = gan.g_tx.update(g_grads, state.g_opt_state, state.g_params)
  g_params = optax.apply_updates(state.g_params, g_updates)
  if gan.ema_decay:
    ema = jax.tree.map(lambda e, p: gan.ema_decay * e + (1.0 - gan.ema_decay) * p, state.ema_g_params, g_params)
  else:
    ema = g_params

  new_state = state.replace(
      step=state.step + 1, g_params=g_params, d_params=d_params, g_batch_stats=g_stats, d_batch_stats=d_stats,
      g_opt_state=g_opt_state, d_opt_state=d_opt_state, ema_g_params=ema)
  metrics = dict(d_metrics)
  metrics.update({"g_loss": g_loss, "g_grad_norm": optax.tree.norm(g_grads),
                  "g_update_norm": optax.tree.norm(g_updates), "g_param_norm": optax.tree.norm(g_params),
                  "d_param_norm": optax.tree.norm(d_params)})
  if gan.num_categories:
    metrics["g_info"] = g_info
  return new_state, metrics


def train_steps(gan: ImageGAN, state: ImageTrainState, real: jax.Array, labels: jax.Array
                ) -> tuple[ImageTrainState, dict]:
  """Scans `train_step` over real batches (num_steps, n_critic, b, H, W, C) and labels (num_steps, n_critic, b)."""
  return jax.lax.scan(lambda s, batch: train_step(gan, s, *batch), state, (real, labels))


def real_batches(dataset: input_pipeline.ImageDataset, gan: ImageGAN, seeds: np.ndarray, step: int, num_steps: int,
                 process_index: int = 0, process_count: int = 1) -> tuple[np.ndarray, np.ndarray]:
  """The real batches of steps [step, step + num_steps) for every replica (its seed's shuffle).

  Generator step s reads global batches s·n_critic … s·n_critic + n_critic − 1 of `input_pipeline.batches`;
  process p of P reads its p-th slice of each (b / P images).

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
    images = np.stack([b.images for b in got]).reshape(num_steps, gan.n_critic, local, *gan.image_shape)
    labels = np.stack([b.labels for b in got]).reshape(num_steps, gan.n_critic, local)
    per_seed[int(seed)] = images, labels
  return (np.stack([per_seed[int(s)][0] for s in seeds]), np.stack([per_seed[int(s)][1] for s in seeds]))


def init_states(gan: ImageGAN, replicas: parallel.Replicas, layout: parallel.Layout | None = None
                ) -> ImageTrainState:
  """Every replica's initial state, stacked on a leading axis (placed on devices by `layout`)."""
  keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray(replicas.seeds, jnp.uint32))
  hparams = {k: jnp.asarray(v) for k, v in replicas.hparams.items()}
  init = lambda: jax.vmap(functools.partial(init_state, gan))(keys, hparams)
  shardings = layout.state(jax.eval_shape(init)) if layout is not None else None
  return jax.jit(init, out_shardings=shardings)()


def _place_batches(data: input_pipeline.ImageDataset, gan: ImageGAN, replicas: parallel.Replicas,
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


def eval_inputs(gan: ImageGAN, key: jax.Array, n: int) -> Inputs:
  """Evaluation inputs: for conditional GANs the labels cycle 0, 1, …, K−1 so every class is asked for equally."""
  labels = jnp.arange(n, dtype=jnp.int32) % gan.num_classes if gan.num_classes else None
  return gan.sample_inputs(key, n, labels=labels)


def grid_inputs(gan: ImageGAN, key: jax.Array, rows: int = GRID_COLUMNS) -> Inputs:
  """Inputs of a sample grid (rows × GRID_COLUMNS): row r asks for label / category r (conditional, InfoGAN)."""
  n = rows * GRID_COLUMNS
  inputs = gan.sample_inputs(key, n)
  row = jnp.repeat(jnp.arange(rows, dtype=jnp.int32), GRID_COLUMNS)
  if gan.num_categories:
    return inputs._replace(cat=row % gan.num_categories)
  if gan.num_classes:
    return inputs._replace(labels=row % gan.num_classes)
  return inputs


def evaluate(gan: ImageGAN, state: ImageTrainState, real: jax.Array, labels: jax.Array, key: jax.Array,
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
    code), the generated images (num_samples, H, W, C), the labels they were generated for (or zeros)).
  """
  inputs = eval_inputs(gan, key, num_samples)
  fake, _ = gan.generate(state.g_params, state.g_batch_stats, inputs, train=False)
  real_out, _, _ = gan.discriminate(state.d_params, state.d_batch_stats, real, labels, train=False)
  fake_out, q, _ = gan.discriminate(state.d_params, state.d_batch_stats, fake, inputs.labels, train=False)
  out = evaluation.discriminator_estimates(gan.objective, real_out, fake_out)
  if gan.num_categories:
    out["info_loss"] = gan.info_loss(q, inputs)
    out["info_accuracy"] = jnp.mean(jnp.argmax(q[0], axis=-1) == inputs.cat)
  fake_labels = inputs.labels if gan.num_classes else jnp.zeros((num_samples,), jnp.int32)
  return out, fake, fake_labels


def default_data_dir() -> str:
  """TFDS's default data directory: $TFDS_DATA_DIR, else ~/tensorflow_datasets."""
  return os.environ.get("TFDS_DATA_DIR") or os.path.expanduser(os.path.join("~", "tensorflow_datasets"))


def classifier_for(config: ml_collections.ConfigDict, workdir: str) -> image_metrics.TrainedClassifier | None:
  """The metric classifier of the run's dataset and image size (None when `config.eval_classifier` is off).

  It is read from `image_metrics.classifier_path(config.data_dir, ...)` (TFDS's default data dir when unset). For
  the offline digits a missing one is trained on the spot (seconds) and saved there (in the workdir when
  `config.data_dir` is unset); TFDS datasets need `experiments/train_classifier.py` first.

  Raises:
    ValueError: a TFDS dataset's classifier is missing (the message gives the command) or fails its checksum.
  """
  if not config.get("eval_classifier", True):
    return None
  size = image_shape_of(config)[0]
  data_dir = config.get("data_dir") or (workdir if config.dataset == "digits" else default_data_dir())
  path = image_metrics.classifier_path(data_dir, config.dataset, size)
  if config.dataset == "digits" and not os.path.exists(path):
    if jax.process_index() == 0:
      logging.info("Training the digits metric classifier (%d px) into %s.", size, path)
      image_metrics.train_and_save_classifier("digits", data_dir, image_size=config.get("image_size") or None)
    if jax.process_count() > 1:  # the others wait for process 0's file
      from jax.experimental import multihost_utils
      multihost_utils.sync_global_devices("gan_jax digits classifier")
  try:
    return image_metrics.load_classifier(path)
  except FileNotFoundError:
    raise ValueError(
        f"no {config.dataset} metric classifier at {path}; train it with: python experiments/train_classifier.py "
        f"--dataset={config.dataset} --data_dir={data_dir} --image_size={size}") from None


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


def grid_key(state: ImageTrainState) -> jax.Array:
  """A fixed key per replica: every evaluation's grid shows the same z, so grids over training are comparable."""
  return jax.random.fold_in(state.key, 0x6121D)


def program(config: ml_collections.ConfigDict, workdir: str) -> train.Program:
  """The `train.Program` of an image run (see the module docstring)."""
  gan = build_gan(config)
  layout = parallel.create_layout(config)
  gan = gan._replace(shard_batch=layout.batch_constraint())
  replicas = parallel.replicas_of(config)
  image_size = config.get("image_size") or None
  data_dir = config.get("data_dir") or None
  data = input_pipeline.load(config.dataset, "train", data_dir=data_dir, image_size=image_size)
  held_out = input_pipeline.load(config.dataset, config.get("eval_split", "test"), data_dir=data_dir,
                                 image_size=image_size)
  if config.batch_size > len(data):
    _fail("batch_size", config.batch_size, f"at most the {len(data)} training images of {config.dataset}")
  # Held-out real images: the first eval_samples of a fixed shuffle of the split.
  order = np.random.default_rng(0).permutation(len(held_out))[:config.eval_samples]
  real_eval = held_out.read(np.sort(order))
  classifier = classifier_for(config, workdir)
  real_features = None if classifier is None else classifier.features_and_logits(real_eval.images)[0]
  init = lambda: init_states(gan, replicas, layout)
  replicated = layout.replicated(0) if layout.mesh is not None else None
  state_sharding = layout.state(jax.eval_shape(init)) if layout.mesh is not None else None

  def eval_one(s, real, labels):
    key = jax.random.fold_in(jax.random.fold_in(s.key, s.step), 2)
    return evaluate(gan, s, real, labels, key, config.eval_samples)

  evaluate_all = jax.jit(jax.vmap(eval_one, in_axes=(0, None, None)), out_shardings=replicated)

  def evaluate_host(state):
    out, fakes, fake_labels = evaluate_all(state, real_eval.images, real_eval.labels)
    out = {k: np.asarray(v) for k, v in out.items()}
    if classifier is not None:
      per_replica = []
      for i in range(replicas.size):
        fake_features, fake_logits = classifier.features_and_logits(np.asarray(fakes[i]))
        per_replica.append(image_metrics.evaluate_features(
            real_features, fake_features, fake_logits,
            fake_labels=np.asarray(fake_labels[i]) if gan.num_classes else None))
      out.update({k: np.array([m[k] for m in per_replica]) for k in per_replica[0]})
    return out

  out = (state_sharding, replicated, replicated) if layout.mesh is not None else None

  @functools.lru_cache(maxsize=None)
  def scan_fn(n: int):
    def steps(s, real, labels):
      s, metrics = jax.vmap(lambda r, x, y: train_steps(gan, r, x, y))(s, real, labels)
      return s, metrics, train._all_finite(s)
    return jax.jit(steps, out_shardings=out)

  def one_step(s, real, labels, t):
    pick = lambda x: jax.lax.dynamic_index_in_dim(x, t, axis=0, keepdims=False)
    s, metrics = jax.vmap(lambda r, x, y: train_step(gan, r, pick(x), pick(y)))(s, real, labels)
    return s, metrics, train._all_finite(s)

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
      state, step_metrics, finite = step_fn(state, real, labels, t)
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
    if jax.process_count() > 1:
      return  # The state is spread over hosts; `experiments/sample.py` draws grids from the checkpoint.
    first = jax.tree.map(lambda x: x[0], state)
    grid = tile(np.asarray(grid_fn(first)))
    save_png(grid, os.path.join(workdir, "samples", f"step_{step:07d}.png"))
    writer.write_images(step, {"samples": grid})

  return train.Program(init=init, chunk=chunk, evaluate=evaluate_host, plot=plot, target_name=config.dataset,
                       headline=("fcd", "js_lower_bound", "w1_critic"))


def grid_images(gan: ImageGAN, state: ImageTrainState, inputs: Inputs | None = None) -> jax.Array:
  """One replica's images for a sample grid, in evaluation mode (jittable; `tile` lays them out).

  Without `inputs`, the grid of `grid_inputs` at the replica's fixed `grid_key`.
  """
  inputs = grid_inputs(gan, grid_key(state)) if inputs is None else inputs
  images, _ = gan.generate(state.g_params, state.g_batch_stats, inputs, train=False)
  return images


def load_latest(config: ml_collections.ConfigDict, workdir: str
                ) -> tuple[ImageGAN, input_pipeline.ImageDataset | None, ImageTrainState, int]:
  """Restores the latest checkpoint of an image run: (gan, None, state stacked over replicas, step).

  Raises:
    ValueError: when `workdir` holds no checkpoint.
  """
  gan = build_gan(config)
  abstract = jax.eval_shape(lambda: init_states(gan, parallel.replicas_of(config)))
  manager = checkpoint.create_manager(os.path.join(workdir, "checkpoints"))
  restored = checkpoint.restore_latest(manager, abstract)
  if restored is None:
    raise ValueError(f"no checkpoint in {os.path.join(workdir, 'checkpoints')!r}; train first")
  state, step = restored
  return gan, None, state, step


def infogan_code_inputs(gan: ImageGAN, key: jax.Array, code: str, num_values: int = 10, value_range: float = 2.0
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
  k, l = gan.num_categories, gan.num_continuous
  if not k:
    raise ValueError("code-variation grids need an InfoGAN run (config.generator='infogan')")
  names = ["categorical"] + [f"continuous{j}" for j in range(l)]
  if code not in names:
    raise ValueError(f"unknown InfoGAN code {code!r}; allowed: {', '.join(names)}")
  if code == "categorical":
    rows, cols = GRID_COLUMNS, k
    z = jnp.repeat(jax.random.normal(key, (rows, gan.latent_dim)), cols, axis=0)
    cat = jnp.tile(jnp.arange(k, dtype=jnp.int32), rows)
    return Inputs(z, cat=cat, cont=jnp.zeros((rows * cols, l))), cols
  j = int(code[len("continuous"):])
  rows, cols = k, num_values
  z = jnp.broadcast_to(jax.random.normal(key, (1, gan.latent_dim)), (rows * cols, gan.latent_dim))
  cat = jnp.repeat(jnp.arange(k, dtype=jnp.int32), cols)
  values = jnp.tile(jnp.linspace(-value_range, value_range, cols), rows)
  cont = jnp.zeros((rows * cols, l)).at[:, j].set(values)
  return Inputs(z, cat=cat, cont=cont), cols


def infogan_code_names(gan: ImageGAN) -> list[str]:
  """The codes `infogan_code_inputs` can vary: 'categorical', 'continuous0', …"""
  return ["categorical"] + [f"continuous{j}" for j in range(gan.num_continuous)]
