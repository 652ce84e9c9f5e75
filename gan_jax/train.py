"""Two-player training state, the pure GAN step, and the scan-fused training loop.

Everything here is a pure function of a `TrainState` pytree, so `parallel.py`-style code can vmap it over seeds and
shard it over devices without rewriting it: no Python-side state, no global RNG, static shapes.
"""
import functools
import math
import os
from typing import Any, Callable, NamedTuple

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
from gan_jax import models
from gan_jax import objectives as objectives_lib
from gan_jax import parallel
from gan_jax import targets as targets_lib
from gan_jax import writers

OPTIMIZERS = ("adam", "rmsprop", "sgd")
UPDATES = ("alternating", "simultaneous")


@flax.struct.dataclass
class TrainState:
  """Both players' parameters and optimizer states, the step, and the run's PRNG key.

  Attributes:
    step: int32 scalar, generator steps taken.
    key: raw uint32 PRNG key of this replica; per-step keys are `fold_in(key, step)`.
    g_params: generator parameters.
    d_params: discriminator parameters.
    g_opt_state: generator optimizer state.
    d_opt_state: discriminator optimizer state.
    ema_g_params: exponential moving average of the generator parameters (== g_params when EMA is off).
    hparams: this replica's values of the vmapped hyper-parameters (`config.vmap_hparams`, names from
      `parallel.VMAPPABLE_HPARAMS`); empty when none are vmapped.
  """
  step: jax.Array
  key: jax.Array
  g_params: Any
  d_params: Any
  g_opt_state: Any
  d_opt_state: Any
  ema_g_params: Any
  hparams: dict[str, jax.Array]


class GAN(NamedTuple):
  """The static (non-pytree) half of a run: modules, objective, optimizers and step options."""
  generator: nn.Module
  discriminator: nn.Module
  objective: objectives_lib.Objective
  g_tx: optax.GradientTransformation
  d_tx: optax.GradientTransformation
  latent_dim: int
  data_dim: int
  batch_size: int
  n_critic: int
  simultaneous: bool
  r1_weight: float
  r2_weight: float
  ema_decay: float
  vmapped: tuple[str, ...] = ()   # hyper-parameters read from `TrainState.hparams` instead of the fields above
  # (x, batch_axis) -> x split over devices along the batch axis (data-parallel layout), else None.
  shard_batch: Callable[[jax.Array, int], jax.Array] | None = None

  def generate(self, g_params: Any, key: jax.Array, n: int) -> jax.Array:
    """Draws n generator samples G(z), z ~ N(0, I)."""
    z = jax.random.normal(key, (n, self.latent_dim))
    if self.shard_batch is not None:
      z = self.shard_batch(z, 0)
    return self.generator.apply(g_params, z)

  def hparam(self, state: "TrainState", name: str, default: Any) -> Any:
    """A hyper-parameter's value for this replica: traced from the state when vmapped, else the static default."""
    return state.hparams[name] if name in self.vmapped else default


def _fail(field: str, value: Any, allowed: str) -> None:
  raise ValueError(f"config.{field}={value!r} is invalid; allowed: {allowed}")


def make_optimizer(cfg: ml_collections.ConfigDict, field: str, injectable: bool = False
                   ) -> optax.GradientTransformation:
  """Builds the optax optimizer described by an optimizer sub-config.

  Args:
    cfg: has `name` (adam | rmsprop | sgd), `learning_rate` and that optimizer's options (adam: b1, b2, eps;
      rmsprop: decay, eps, momentum; sgd: momentum, nesterov).
    field: the sub-config's name, for error messages.
    injectable: keep the learning rate in the optimizer state (`optax.inject_hyperparams`), so that replicas can
      each have their own.

  Returns:
    The optax transformation.

  Raises:
    ValueError: for an unknown optimizer or a non-positive learning rate.
  """
  name = cfg.get("name")
  if name not in OPTIMIZERS:
    _fail(f"{field}.name", name, " | ".join(OPTIMIZERS))
  lr = cfg.get("learning_rate")
  if not isinstance(lr, (int, float)) or not lr > 0:
    _fail(f"{field}.learning_rate", lr, "a number > 0")
  opts = {k: v for k, v in cfg.items() if k not in ("name", "learning_rate")}
  factory = {"adam": optax.adam, "rmsprop": optax.rmsprop, "sgd": optax.sgd}[name]
  if injectable:
    factory = optax.inject_hyperparams(factory)
  try:
    return factory(lr, **opts)
  except TypeError as e:
    raise ValueError(f"config.{field} has an option {name} does not take: {e}") from None


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Checks every field a training run on a distribution target reads, before anything is compiled.

  Raises:
    ValueError: one line naming the first bad field, its value and what is allowed.
  """
  if config.target not in targets_lib.TARGETS:
    _fail("target", config.target, " | ".join(sorted(targets_lib.TARGETS)))
  if config.generator not in models.GENERATORS:
    _fail("generator", config.generator, " | ".join(models.GENERATORS))
  if config.discriminator not in models.DISCRIMINATORS:
    _fail("discriminator", config.discriminator, " | ".join(models.DISCRIMINATORS))
  validate_loop_config(config)


def validate_loop_config(config: ml_collections.ConfigDict) -> None:
  """Checks the fields every run reads (steps, batch, objective, update rule, seeds, checkpoints).

  Raises:
    ValueError: one line naming the first bad field, its value and what is allowed.
  """
  for field in ("num_steps", "batch_size", "eval_every", "n_critic", "num_seeds", "eval_samples"):
    value = config.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
      _fail(field, value, "an integer >= 1")
  if config.objective not in objectives_lib.OBJECTIVES:
    _fail("objective", config.objective, " | ".join(objectives_lib.OBJECTIVES))
  if config.update_mode not in UPDATES:
    _fail("update_mode", config.update_mode, " | ".join(UPDATES))
  if config.update_mode == "simultaneous" and config.n_critic != 1:
    _fail("n_critic", config.n_critic, "1 with update_mode='simultaneous' (several critic steps need alternation)")
  for field in ("r1_weight", "r2_weight"):
    if not config.get(field, 0.0) >= 0:
      _fail(field, config.get(field), "a number >= 0")
  if not 0.0 <= config.get("ema_decay", 0.0) < 1.0:
    _fail("ema_decay", config.get("ema_decay"), "a number in [0, 1)")
  if not isinstance(config.seed, int) or config.seed < 0:
    _fail("seed", config.seed, "an integer >= 0")
  if config.get("checkpoint_every", 1) < 0:
    _fail("checkpoint_every", config.checkpoint_every, "an integer >= 0 (0 = only at the end)")


def validate_replicas(config: ml_collections.ConfigDict) -> tuple[str, ...]:
  """Checks the replicas (seeds × vmapped hyper-parameters) and device layout; returns the vmapped names.

  Raises:
    ValueError: one line naming the bad value and what is allowed.
  """
  replicas = parallel.replicas_of(config)
  parallel.validate(config, replicas.size)
  vmapped = tuple(sorted(replicas.hparams))
  if "real_target" in vmapped and config.objective not in objectives_lib.LOGISTIC:
    _fail("vmap_hparams", "real_target", f"label smoothing only for {', '.join(objectives_lib.LOGISTIC)}")
  if "gradient_penalty_weight" in vmapped and config.objective != "wgan_gp":
    _fail("vmap_hparams", "gradient_penalty_weight", "the gradient penalty only for 'wgan_gp'")
  return vmapped


def build_gan(config: ml_collections.ConfigDict) -> GAN:
  """Validates `config` and builds the static half of the run.

  Args:
    config: a training config (see `configs/`).

  Returns:
    The `GAN` spec.

  Raises:
    ValueError: for any invalid field, before any compilation.
  """
  if is_image_config(config):
    from gan_jax import image_train  # imports this module
    return image_train.build_gan(config)
  validate_config(config)
  vmapped = validate_replicas(config)
  target = targets_lib.get_target(config.target)
  generator = models.get_generator(config.generator, dim=target.dim, **config.get("generator_kwargs", {}))
  discriminator = models.get_discriminator(config.discriminator, **config.get("discriminator_kwargs", {}))
  objective = objectives_lib.get_objective(config.objective, **config.get("objective_kwargs", {}))
  return GAN(
      generator=generator,
      discriminator=discriminator,
      objective=objective,
      g_tx=make_optimizer(config.optimizer_g, "optimizer_g", "g_learning_rate" in vmapped),
      d_tx=make_optimizer(config.optimizer_d, "optimizer_d", "d_learning_rate" in vmapped),
      latent_dim=models.latent_dim(generator),
      data_dim=target.dim,
      batch_size=config.batch_size,
      n_critic=config.n_critic,
      simultaneous=config.update_mode == "simultaneous",
      r1_weight=float(config.get("r1_weight", 0.0)),
      r2_weight=float(config.get("r2_weight", 0.0)),
      ema_decay=float(config.get("ema_decay", 0.0)),
      vmapped=vmapped,
  )


def _with_learning_rate(opt_state: Any, learning_rate: jax.Array) -> Any:
  return opt_state._replace(hyperparams={**opt_state.hyperparams, "learning_rate": learning_rate})


def init_state(gan: GAN, key: jax.Array, hparams: dict[str, jax.Array] | None = None) -> TrainState:
  """Initialises one replica from its raw PRNG key and its vmapped hyper-parameter values."""
  hparams = dict(hparams or {})
  k_g, k_d = jax.random.split(jax.random.fold_in(key, 0x5EED))
  g_params = gan.generator.init(k_g, jnp.zeros((1, gan.latent_dim)))
  d_params = gan.discriminator.init(k_d, jnp.zeros((1, gan.data_dim)))
  g_opt_state, d_opt_state = gan.g_tx.init(g_params), gan.d_tx.init(d_params)
  if "g_learning_rate" in hparams:
    g_opt_state = _with_learning_rate(g_opt_state, hparams["g_learning_rate"])
  if "d_learning_rate" in hparams:
    d_opt_state = _with_learning_rate(d_opt_state, hparams["d_learning_rate"])
  return TrainState(
      step=jnp.zeros((), jnp.int32),
      key=key,
      g_params=g_params,
      d_params=d_params,
      g_opt_state=g_opt_state,
      d_opt_state=d_opt_state,
      ema_g_params=g_params,
      hparams=hparams,
  )


def discriminator_objective(gan: Any, state: Any, real_out: jax.Array, fake_out: jax.Array) -> jax.Array:
  """The objective's discriminator loss, with this replica's label smoothing β when `real_target` is vmapped."""
  if "real_target" in gan.vmapped:
    return objectives_lib.logistic_discriminator_loss(real_out, fake_out, real_target=state.hparams["real_target"])
  return gan.objective.discriminator_loss(real_out, fake_out)


def discriminator_penalty(gan: Any, state: Any, disc: Callable[[jax.Array], jax.Array], real: jax.Array,
                          fake: jax.Array, key: jax.Array) -> jax.Array:
  """The gradient penalty of the objective (WGAN-GP) plus the R1 / R2 penalties the run asks for.

  `gan` is any spec with `objective`, `r1_weight`, `r2_weight`, `vmapped` and `hparam` (`GAN`, `ImageGAN`);
  `disc` maps inputs (n, ...) to raw outputs (n,).
  """
  penalty = jnp.zeros(())
  if gan.objective.gradient_penalty_weight:
    gp_weight = gan.hparam(state, "gradient_penalty_weight", gan.objective.gradient_penalty_weight)
    penalty += gp_weight * objectives_lib.gradient_penalty(disc, real, fake, key)
  # Mescheder et al. 2018, Eq. 9: (γ/2)·E‖∇D‖².
  if gan.r1_weight or "r1_weight" in gan.vmapped:
    penalty += 0.5 * gan.hparam(state, "r1_weight", gan.r1_weight) * objectives_lib.r1_penalty(disc, real)
  if gan.r2_weight or "r2_weight" in gan.vmapped:
    penalty += 0.5 * gan.hparam(state, "r2_weight", gan.r2_weight) * objectives_lib.r2_penalty(disc, fake)
  return penalty


def _discriminator_loss(gan: GAN, state: TrainState, d_params, real, key):
  k_z, k_gp = jax.random.split(key)
  fake = jax.lax.stop_gradient(gan.generate(state.g_params, k_z, real.shape[0]))
  disc = lambda x: gan.discriminator.apply(d_params, x)
  real_out, fake_out = disc(real), disc(fake)
  loss = discriminator_objective(gan, state, real_out, fake_out)
  penalty = discriminator_penalty(gan, state, disc, real, fake, k_gp)
  return loss + penalty, (loss, penalty, real_out, fake_out)


def _generator_loss(gan: GAN, g_params, d_params, key):
  fake = gan.generate(g_params, key, gan.batch_size)
  return gan.objective.generator_loss(gan.discriminator.apply(d_params, fake))


def mean_probability(gan: Any, outputs: jax.Array) -> jax.Array:
  if gan.objective.probability is None:
    return jnp.mean(outputs)
  return jnp.mean(gan.objective.probability(outputs))


def train_step(gan: GAN, state: TrainState, real: jax.Array) -> tuple[TrainState, dict[str, jax.Array]]:
  """One generator step preceded by `n_critic` discriminator steps.

  Args:
    gan: the static spec.
    state: one replica's state.
    real: real data for the critic steps, shape (n_critic, batch_size, data_dim).

  Returns:
    The new state and a metrics dict: both losses, the penalty, D(x) and D(G(z)) means (probabilities for logit
    objectives, raw critic values otherwise), and gradient / parameter / update norms per player.
  """
  step_key = jax.random.fold_in(state.key, state.step)
  k_d, k_g = jax.random.split(step_key)

  def critic_step(carry, inputs):
    d_params, d_opt_state = carry
    real_batch, i = inputs
    grad_fn = jax.value_and_grad(lambda p: _discriminator_loss(gan, state, p, real_batch,
                                                               jax.random.fold_in(k_d, i)), has_aux=True)
    (_, (loss, penalty, real_out, fake_out)), grads = grad_fn(d_params)
    updates, d_opt_state = gan.d_tx.update(grads, d_opt_state, d_params)
    d_params = optax.apply_updates(d_params, updates)
    if gan.objective.weight_clip is not None:
      c = gan.objective.weight_clip
      d_params = jax.tree.map(lambda p: jnp.clip(p, -c, c), d_params)
    metrics = {
        "d_loss": loss,
        "d_penalty": penalty,
        "d_real": mean_probability(gan, real_out),
        "d_fake": mean_probability(gan, fake_out),
        "d_grad_norm": optax.tree.norm(grads),
        "d_update_norm": optax.tree.norm(updates),
    }
    return (d_params, d_opt_state), metrics

  (d_params, d_opt_state), d_metrics = jax.lax.scan(
      critic_step, (state.d_params, state.d_opt_state), (real, jnp.arange(gan.n_critic)))
  d_metrics = jax.tree.map(lambda m: m[-1], d_metrics)

  # Simultaneous updates: the generator sees the discriminator from before this step's critic updates.
  g_sees = state.d_params if gan.simultaneous else d_params
  g_loss, g_grads = jax.value_and_grad(lambda p: _generator_loss(gan, p, g_sees, k_g))(state.g_params)
  g_updates, g_opt_state = gan.g_tx.update(g_grads, state.g_opt_state, state.g_params)
  g_params = optax.apply_updates(state.g_params, g_updates)
  if gan.ema_decay:
    ema = jax.tree.map(lambda e, p: gan.ema_decay * e + (1.0 - gan.ema_decay) * p, state.ema_g_params, g_params)
  else:
    ema = g_params

  new_state = state.replace(
      step=state.step + 1, g_params=g_params, d_params=d_params, g_opt_state=g_opt_state,
      d_opt_state=d_opt_state, ema_g_params=ema)
  metrics = dict(d_metrics)
  metrics.update({
      "g_loss": g_loss,
      "g_grad_norm": optax.tree.norm(g_grads),
      "g_update_norm": optax.tree.norm(g_updates),
      "g_param_norm": optax.tree.norm(g_params),
      "d_param_norm": optax.tree.norm(d_params),
  })
  return new_state, metrics


def sample_real(gan: GAN, target: Any, state: TrainState) -> jax.Array:
  """The real batches step `state.step` trains on, drawn from the target's own sampler."""
  key = jax.random.fold_in(jax.random.fold_in(state.key, state.step), 1)
  real = target.sample(key, gan.n_critic * gan.batch_size).reshape(gan.n_critic, gan.batch_size, gan.data_dim)
  return real if gan.shard_batch is None else gan.shard_batch(real, 1)


def train_steps(gan: GAN, target: Any, state: TrainState, num_steps: int) -> tuple[TrainState, dict]:
  """Runs `num_steps` steps on a distribution target as one `lax.scan` (compile time independent of num_steps).

  Returns:
    The final state and the per-step metrics, each of shape (num_steps,).
  """
  def body(state, _):
    return train_step(gan, state, sample_real(gan, target, state))
  return jax.lax.scan(body, state, None, length=num_steps)


class NonFiniteError(RuntimeError):
  """Training produced a non-finite loss or parameter; the message names the step, seed and objective."""


def seeds_of(config: ml_collections.ConfigDict) -> np.ndarray:
  """The seeds a config trains together: seed, seed + 1, …, seed + num_seeds − 1."""
  return config.seed + np.arange(config.num_seeds)


def init_states(gan: GAN, replicas: parallel.Replicas | np.ndarray,
                layout: parallel.Layout | None = None) -> TrainState:
  """Initialises every replica, stacked on a leading axis (placed on devices by `layout`).

  Args:
    gan: the static spec.
    replicas: `parallel.replicas_of(config)`, or just an array of seeds (no vmapped hyper-parameters).
    layout: device placement; None for JAX's default device.

  Returns:
    The stacked state.
  """
  if not isinstance(replicas, parallel.Replicas):
    replicas = parallel.Replicas(seeds=np.asarray(replicas), hparams={})
  keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray(replicas.seeds, jnp.uint32))
  hparams = {k: jnp.asarray(v) for k, v in replicas.hparams.items()}
  # The inputs are closed over, so on several hosts every process builds the same global state.
  init = lambda: jax.vmap(functools.partial(init_state, gan))(keys, hparams)
  shardings = layout.state(jax.eval_shape(init)) if layout is not None else None
  return jax.jit(init, out_shardings=shardings)()


def eval_spec(config: ml_collections.ConfigDict) -> evaluation.EvalSpec:
  return evaluation.EvalSpec(
      num_samples=config.eval_samples,
      mc_samples=config.get("eval_mc_samples", 20_000),
      kde_samples=config.get("eval_kde_samples", 1000),
      w1_samples=min(config.get("eval_w1_samples", 1000), config.eval_samples),
  )


def _all_finite(state: TrainState) -> jax.Array:
  """Per replica: are all parameters finite? (computed on device: on several hosts params are not addressable)."""
  leaves = jax.tree.leaves((state.g_params, state.d_params))
  return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x.reshape(x.shape[0], -1)), axis=1) for x in leaves]), axis=0)


def _first_non_finite(train_metrics: dict, params_finite: np.ndarray) -> tuple[int, int] | None:
  """(replica index, step offset) of the first non-finite loss in a chunk, or (replica, −1) for bad parameters."""
  losses = np.stack([np.asarray(train_metrics[k]) for k in ("d_loss", "g_loss")], 0)  # (2, R, n)
  bad = ~np.isfinite(losses).all(axis=0)  # (R, n)
  if bad.any():
    replica, offset = np.argwhere(bad)[0]
    return int(replica), int(offset)
  if not params_finite.all():
    return int(np.argmin(params_finite)), -1
  return None


def rows_of(config, target_name: str, step: int, replicas: parallel.Replicas, train_metrics: dict | None,
            eval_metrics: dict) -> list[dict]:
  """One row per replica: identification columns, vmapped hyper-parameters, last-step training metrics, evals."""
  train_metrics = jax.tree.map(np.asarray, train_metrics)
  eval_metrics = jax.tree.map(np.asarray, eval_metrics)
  rows = []
  for i, seed in enumerate(replicas.seeds):
    row = {"step": int(step), "seed": int(seed), "objective": config.objective, "target": target_name,
           "generator": config.generator}
    row.update({k: float(v[i]) for k, v in replicas.hparams.items()})
    if train_metrics is not None:
      row.update({k: float(v[i, -1]) for k, v in train_metrics.items()})
    row.update({k: float(v[i]) for k, v in eval_metrics.items()})
    rows.append(row)
  return rows


class Program(NamedTuple):
  """How one kind of run (distribution targets here, image datasets in `image_train.py`) trains and evaluates.

  `run` drives any program: initialisation, checkpoint resume, chunks of steps, evaluation rows, plots, the NaN
  stop.
  """
  init: Callable[[], Any]              # () -> the replica-stacked initial state, placed on devices
  chunk: Callable[[Any, int, int], tuple[Any, dict, jax.Array]]  # (state, step, n) -> (state, metrics, finite)
  evaluate: Callable[[Any], dict]      # state -> metric name -> per-replica values (R,)
  plot: Callable[[Any, int, writers.MetricWriter], None]  # (state, step, writer): figures of an evaluation
  target_name: str                     # the rows' "target" column
  headline: tuple[str, ...]            # metrics the progress line shows, first one present


def _plot(gan: GAN, target: Any, state: TrainState, step: int, workdir: str, writer: writers.MetricWriter) -> None:
  """Density (1-D) or sample (2-D) plot of seed 0, as a PNG and a TensorBoard image (process 0 only)."""
  if jax.process_count() > 1:
    return  # The state is spread over hosts; plot from a restored checkpoint instead.
  from gan_jax import figures  # matplotlib only when plotting.
  fig, (ax,) = figures.new_figure()
  figures.density_panel(ax, gan, target, state, title=f"step {step}")
  figures.save(fig, os.path.join(workdir, "plots", f"step_{step:07d}"), formats=("png",))
  writer.write_images(step, {"samples": np.asarray(fig.canvas.buffer_rgba())[..., :3]})


def _program(config: ml_collections.ConfigDict, workdir: str) -> Program:
  """The program of a run on a distribution target (`config.target`)."""
  gan = build_gan(config)
  layout = parallel.create_layout(config)
  gan = gan._replace(shard_batch=layout.batch_constraint())
  target = targets_lib.get_target(config.target)
  spec = eval_spec(config)
  replicas = parallel.replicas_of(config)
  init = lambda: init_states(gan, replicas, layout)
  replicated = layout.replicated(0) if layout.mesh is not None else None

  def eval_one(s):
    # Held-out evaluation stream: independent of the training keys fold_in(key, step).
    key = jax.random.fold_in(jax.random.fold_in(s.key, s.step), 2)
    return evaluation.evaluate(gan, target, s, key, spec)

  evaluate_all = jax.jit(jax.vmap(eval_one), out_shardings=replicated)

  @functools.lru_cache(maxsize=None)
  def chunk_fn(n: int):
    def chunk(s):
      s, metrics = jax.vmap(lambda r: train_steps(gan, target, r, n))(s)
      return s, metrics, _all_finite(s)
    out = (layout.state(jax.eval_shape(init)), replicated, replicated) if layout.mesh is not None else None
    return jax.jit(chunk, out_shardings=out)

  return Program(
      init=init,
      chunk=lambda state, step, n: chunk_fn(n)(state),
      evaluate=evaluate_all,
      plot=lambda state, step, writer: _plot(gan, target, state, step, workdir, writer),
      target_name=config.target,
      headline=("js", "js_kde"),
  )


def run(config: ml_collections.ConfigDict, workdir: str, program: Program) -> list[dict]:
  """Trains `program`'s replicas, logging an evaluation every `config.eval_every` steps (see `train_and_evaluate`)."""
  replicas = parallel.replicas_of(config)
  chief = jax.process_index() == 0
  os.makedirs(workdir, exist_ok=True)
  writer = writers.create_writer(workdir)
  writers.write_config(workdir, config)
  metrics_path = os.path.join(workdir, "metrics.jsonl")
  rows_at = functools.partial(rows_of, config, program.target_name)

  state = program.init()
  manager = checkpoint.create_manager(os.path.join(workdir, "checkpoints"),
                                      max_to_keep=config.get("keep_checkpoints", 3))
  restored = checkpoint.restore_latest(manager, state)
  if restored is not None:
    state, step = restored
    kept = writers.truncate_metrics(metrics_path, step) if chief and os.path.exists(metrics_path) else 0
    logging.info("Resumed from step %d (%d metric rows kept).", step, kept)
  else:
    step = 0
    if chief and os.path.exists(metrics_path):
      writers.truncate_metrics(metrics_path, -1)
    writer.write_rows(rows_at(0, replicas, None, program.evaluate(state)))
  last_saved = step if restored is not None else None

  checkpoint_every = config.get("checkpoint_every", 0)
  plot_every = config.get("plot_every", 0)
  progress = writers.Progress(config.num_steps, start_step=step, prefix=f"{config.objective}: ")
  rows = None
  while step < config.num_steps:
    n = min(config.eval_every - step % config.eval_every, config.num_steps - step)
    new_state, train_metrics, params_finite = program.chunk(state, step, n)
    bad = _first_non_finite(train_metrics, np.asarray(params_finite))
    if bad is not None:
      replica, offset = bad
      bad_step = step + (offset + 1 if offset >= 0 else n)
      if last_saved != step:
        checkpoint.save(manager, step, state)
      writer.close()
      hparams = "".join(f", {k}={v[replica]:g}" for k, v in replicas.hparams.items())
      raise NonFiniteError(
          f"non-finite loss or parameters at step {bad_step} (seed {int(replicas.seeds[replica])}{hparams}, "
          f"objective {config.objective!r}); kept the checkpoint and metrics of step {step}")
    state, step = new_state, step + n
    rows = rows_at(step, replicas, train_metrics, program.evaluate(state))
    writer.write_rows(rows)
    if plot_every and (step % plot_every == 0 or step == config.num_steps):
      program.plot(state, step, writer)
    if step == config.num_steps or (checkpoint_every and step % checkpoint_every == 0):
      checkpoint.save(manager, step, state)
      last_saved = step
    shown = next((k for k in program.headline if k in rows[0]), None)
    progress.update(step, {shown: rows[0][shown]} if shown else {})
  writer.close()
  manager.close()
  return rows if rows is not None else [r for r in writers.read_metrics(metrics_path) if r["step"] == step]


def is_image_config(config: ml_collections.ConfigDict) -> bool:
  """Does `config` train on an image dataset (`config.dataset` set) rather than a distribution target?"""
  return bool(config.get("dataset"))


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> list[dict]:
  """Trains every replica of `config` together, logging divergences every `config.eval_every` steps.

  Replicas are `config.num_seeds` seeds × the product of `config.vmap_hparams`, placed on devices by
  `config.parallel` (see `parallel.py`). Re-running on the same workdir resumes from the latest checkpoint; the
  resumed run's metrics are bit-identical to an uninterrupted one and `metrics.jsonl` keeps no row past the
  restored step. A config with `dataset` set trains an image GAN (`image_train.py`) through the same loop.

  Args:
    config: a training config (see `configs/`).
    workdir: output directory: config.json, metrics.jsonl, tensorboard/, checkpoints/, plots/.

  Returns:
    The metric rows of the final evaluation, one per replica.

  Raises:
    ValueError: an invalid config (before anything compiles).
    NonFiniteError: a non-finite loss or parameter; the last good checkpoint and metrics are kept.
  """
  if is_image_config(config):
    from gan_jax import image_train  # imports this module
    return run(config, workdir, image_train.program(config, workdir))
  return run(config, workdir, _program(config, workdir))


def load_latest(config: ml_collections.ConfigDict, workdir: str) -> tuple[GAN, Any, TrainState, int]:
  """Restores the latest checkpoint of a run: (gan, target, state stacked over seeds, step).

  For an image config the second item is None (see `image_train.load_latest`).

  Raises:
    ValueError: when `workdir` holds no checkpoint.
  """
  if is_image_config(config):
    from gan_jax import image_train  # imports this module
    return image_train.load_latest(config, workdir)
  gan = build_gan(config)
  target = targets_lib.get_target(config.target)
  abstract = jax.eval_shape(lambda: init_states(gan, parallel.replicas_of(config)))
  manager = checkpoint.create_manager(os.path.join(workdir, "checkpoints"))
  restored = checkpoint.restore_latest(manager, abstract)
  if restored is None:
    raise ValueError(f"no checkpoint in {os.path.join(workdir, 'checkpoints')!r}; train first")
  state, step = restored
  return gan, target, state, step
