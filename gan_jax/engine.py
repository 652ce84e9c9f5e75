"""The training engine: one train state, one step, one loop, for every task.

Everything here is a pure function of a `TrainState` pytree, so it vmaps over replicas (seeds × vmapped
hyper-parameters) and shards over devices without rewriting it: no Python-side state, no global RNG, static
shapes. What differs between kinds of data is plugged in, not copied:
- the players (`players.py`): how the generator and discriminator are initialised, fed and applied;
- the task (`toy_task.py`, `image_task.py`): where real batches come from, what evaluation adds, what gets
  drawn, given to `run` as a `Program`.

Key schedule (public, so that benchmarks and tests cross-check it instead of copying it): a replica's raw key
`state.key` initialises the players through `init_keys`; generator step s derives everything from
`step_key(state)` = fold_in(key, s): `critic_keys(state, i)` for its critic steps, `generator_keys(gan, state)`
for its generator update, `data_key(state)` for real samples drawn on device, and `eval_key(state)` for the
held-out evaluation after it.
"""
import functools
import os
from typing import Any, Callable, NamedTuple

from absl import logging
import flax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from gan_jax import checkpoint
from gan_jax import config as config_lib
from gan_jax import objectives as objectives_lib
from gan_jax import parallel
from gan_jax import probe
from gan_jax import workdir as workdir_lib
from gan_jax import writers

OPTIMIZERS = ("adam", "rmsprop", "sgd")
UPDATES = ("alternating", "simultaneous")
N_CRITIC_MODES = ("group", "mask")
# The `TrainState.hparams` entry of a replica's objective with an objective axis: its index into `GAN.objectives`.
OBJECTIVE = "objective"
_INIT_SALT = 0x5EED
_DATA_SALT = 1
_EVAL_SALT = 2


@flax.struct.dataclass
class TrainState:
  """Both players' parameters, running statistics and optimizer states, the step, and the replica's PRNG key.

  Attributes:
    step: int32 scalar, generator steps taken.
    key: raw uint32 PRNG key of this replica; per-step keys are `fold_in(key, step)`.
    g_params: generator parameters.
    d_params: discriminator parameters.
    g_batch_stats: the generator's non-trainable running statistics (BatchNorm, spectral norm); {} if none.
    d_batch_stats: the discriminator's; {} if none.
    g_opt_state: generator optimizer state.
    d_opt_state: discriminator optimizer state.
    ema_g_params: exponential moving average of the generator parameters (== g_params when EMA is off).
    hparams: this replica's values of the vmapped hyper-parameters (`config.vmap_hparams`, names from
      `parallel.VMAPPABLE_HPARAMS`), and with an objective axis its objective (`OBJECTIVE`: an int32 index into
      `GAN.objectives`); empty when none are vmapped.
  """
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


class GAN(NamedTuple):
  """The static (non-pytree) half of a run: players, objective, optimizers and step options.

  With an objective axis (`config.objective_axis`) every replica trains one of `objectives`, chosen by its index
  `TrainState.hparams[OBJECTIVE]`, with that objective's critic steps `n_critics[i]` (`n_critic` is their maximum)
  and weight clip; `objective` is then the first of them. Read the replica's objective through `objective_value`.
  """
  players: Any                # `players.ToyPlayers` / `players.ImagePlayers` (see the protocol there)
  objective: objectives_lib.Objective
  g_tx: optax.GradientTransformation
  d_tx: optax.GradientTransformation
  batch_size: int
  n_critic: int
  simultaneous: bool
  r1_weight: float
  r2_weight: float
  ema_decay: float
  info_weight: float = 1.0    # InfoGAN's λ (players with num_categories > 0 only)
  # The adversarial term's weight in G's loss beside the players' reconstruction term (image-to-image tasks; 0
  # trains G on the reconstruction alone, the L1-only baseline of pix2pix's Table 1).
  adversarial_weight: float = 1.0
  vmapped: tuple[str, ...] = ()   # hyper-parameters read from `TrainState.hparams` instead of the fields above
  objectives: tuple[objectives_lib.Objective, ...] = ()  # the objective axis; () = every replica trains `objective`
  n_critics: tuple[int, ...] = ()  # critic steps per generator step of each of `objectives`

  def hparam(self, state: TrainState, name: str, default: Any) -> Any:
    """A hyper-parameter's value for this replica: traced from the state when vmapped, else the static default."""
    return state.hparams[name] if name in self.vmapped else default

  def objective_value(self, state: TrainState | None, value: Callable[[objectives_lib.Objective], Any]) -> Any:
    """`value(objective)` for this replica's objective.

    With an objective axis, a `lax.switch` over `objectives` on the replica's index: under vmap every branch runs
    and each replica selects its own (the branches are a few elementwise functions of the outputs).
    """
    if not self.objectives:
      return value(self.objective)
    return jax.lax.switch(state.hparams[OBJECTIVE], [functools.partial(value, o) for o in self.objectives])

  def objective_constant(self, state: TrainState, value: Callable[[objectives_lib.Objective], float]
                         ) -> float | jax.Array:
    """A number per objective (weight clip, penalty weight) for this replica: static without an objective axis."""
    if not self.objectives:
      return value(self.objective)
    return jnp.asarray([value(o) for o in self.objectives], jnp.float32)[state.hparams[OBJECTIVE]]

  @property
  def all_objectives(self) -> tuple[objectives_lib.Objective, ...]:
    """Every objective a replica of this run may train."""
    return self.objectives or (self.objective,)

  @property
  def masks_critic(self) -> bool:
    """Do replicas take different numbers of critic steps in one step (`n_critic_mode` 'mask')?"""
    return len(set(self.n_critics)) > 1

  def replica_n_critic(self, state: TrainState) -> jax.Array:
    """This replica's critic steps per generator step (traced; with differing `n_critics` only)."""
    return jnp.asarray(self.n_critics, jnp.int32)[state.hparams[OBJECTIVE]]

  def alone(self, index: int) -> "GAN":
    """The run of objective `index` of the axis trained alone (what its rows and plots are computed against)."""
    return self._replace(objective=self.objectives[index], objectives=(), n_critics=(),
                         n_critic=self.n_critics[index])

  def with_n_critic(self, n_critic: int) -> "GAN":
    """This run restricted to its replicas of `n_critic` critic steps (a group of `n_critic_mode` 'group').

    When they all train one objective, the run of that objective alone: the program its lone run compiles, so that
    its numbers stay bit-identical over long runs (a select over objectives can round differently in the last
    place, and GAN training amplifies such differences over hundreds of steps).
    """
    shared = {id(o): o for o, n in zip(self.objectives, self.n_critics) if n == n_critic}
    if len(shared) == 1:
      return self._replace(objective=next(iter(shared.values())), objectives=(), n_critics=(), n_critic=n_critic)
    return self._replace(n_critic=n_critic, n_critics=tuple(n_critic for _ in self.n_critics))

  def with_shard_batch(self, shard_batch: Callable[[jax.Array, int], jax.Array] | None) -> "GAN":
    """The same run with its batches split over devices by `shard_batch` (see `parallel.Layout`)."""
    return self._replace(players=self.players._replace(shard_batch=shard_batch))


def fail(field: str, value: Any, allowed: str) -> None:
  """Raises the one-line error of a bad config field: its name, its value and what is allowed."""
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
    fail(f"{field}.name", name, " | ".join(OPTIMIZERS))
  lr = cfg.get("learning_rate")
  if not isinstance(lr, (int, float)) or not lr > 0:
    fail(f"{field}.learning_rate", lr, "a number > 0")
  opts = {k: v for k, v in cfg.items() if k not in ("name", "learning_rate")}
  factory = {"adam": optax.adam, "rmsprop": optax.rmsprop, "sgd": optax.sgd}[name]
  if injectable:
    factory = optax.inject_hyperparams(factory)
  try:
    return factory(lr, **opts)
  except TypeError as e:
    raise ValueError(f"config.{field} has an option {name} does not take: {e}") from None


def validate_loop_config(config: ml_collections.ConfigDict) -> None:
  """Checks the fields every run reads (steps, batch, objective, update rule, seeds, checkpoints).

  Raises:
    ValueError: one line naming the first bad field, its value and what is allowed.
  """
  for field in ("num_steps", "batch_size", "eval_every", "n_critic", "num_seeds", "eval_samples"):
    value = config.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
      fail(field, value, "an integer >= 1")
  if config.objective not in objectives_lib.OBJECTIVES:
    fail("objective", config.objective, " | ".join(objectives_lib.OBJECTIVES))
  if config.update_mode not in UPDATES:
    fail("update_mode", config.update_mode, " | ".join(UPDATES))
  if config.update_mode == "simultaneous" and config.n_critic != 1:
    fail("n_critic", config.n_critic, "1 with update_mode='simultaneous' (several critic steps need alternation)")
  for field in ("r1_weight", "r2_weight"):
    if not config.get(field, 0.0) >= 0:
      fail(field, config.get(field), "a number >= 0")
  if not 0.0 <= config.get("ema_decay", 0.0) < 1.0:
    fail("ema_decay", config.get("ema_decay"), "a number in [0, 1)")
  if not isinstance(config.seed, int) or config.seed < 0:
    fail("seed", config.seed, "an integer >= 0")
  keep = config.get("keep_checkpoints", 3)
  if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
    fail("keep_checkpoints", keep, "an integer >= 1")
  try:
    objectives_lib.get_objective(config.objective, **objective_kwargs(config))
  except (TypeError, ValueError) as e:
    fail("objective_kwargs", objective_kwargs(config), str(e))
  validate_objective_axis(config)
  if config.get("checkpoint_every", 1) < 0:
    fail("checkpoint_every", config.checkpoint_every, "an integer >= 0 (0 = only at the end)")
  probe_every = config.get("probe_every", 0)
  if not isinstance(probe_every, int) or isinstance(probe_every, bool) or probe_every < 0:
    fail("probe_every", probe_every, "an integer >= 0 (0 = off)")
  probe.spec_from_config(config.get("probe"))


def validate_objective_axis(config: ml_collections.ConfigDict) -> None:
  """Checks `config.objective_axis` (objectives trained side by side; empty = off).

  Raises:
    ValueError: one line naming the first bad field, its value and what is allowed.
  """
  axis = config.get("objective_axis", None) or ml_collections.ConfigDict()
  names = parallel.objective_axis(config)
  if not isinstance(axis.get("objectives", ()), (list, tuple)):
    fail("objective_axis.objectives", axis.get("objectives"), "a tuple of objective names")
  if not names:
    return
  if any(name not in objectives_lib.OBJECTIVES for name in names):
    fail("objective_axis.objectives", tuple(names), f"names of {' | '.join(objectives_lib.OBJECTIVES)}")
  if config.objective not in names:
    fail("objective", config.objective, f"one of config.objective_axis.objectives {tuple(names)}")
  for field in ("n_critic", "weight_clip"):
    values = axis.get(field, ()) or ()
    if not isinstance(values, (list, tuple)) or len(values) not in (0, len(names)):
      fail(f"objective_axis.{field}", values, f"empty or {len(names)} values (one per objective)")
  for n in axis.get("n_critic", ()) or ():
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
      fail("objective_axis.n_critic", tuple(axis.n_critic), "integers >= 1")
  if config.update_mode == "simultaneous" and any(n != 1 for _, n, _ in objective_axis_runs(config)):
    fail("objective_axis.n_critic", tuple(axis.n_critic), "1 with update_mode='simultaneous'")
  if axis.get("n_critic_mode", "group") not in N_CRITIC_MODES:
    fail("objective_axis.n_critic_mode", axis.get("n_critic_mode"), " | ".join(N_CRITIC_MODES))
  for name, _, kwargs in objective_axis_runs(config):
    try:
      objectives_lib.get_objective(name, **kwargs)
    except (TypeError, ValueError) as e:
      fail("objective_axis", name, str(e))


def objective_axis_runs(config: ml_collections.ConfigDict) -> list[tuple[str, int, dict[str, Any]]]:
  """(name, n_critic, objective options) of each objective of `config.objective_axis`; [] without one."""
  names = parallel.objective_axis(config)
  axis = config.get("objective_axis", None) or {}
  n_critics = tuple(axis.get("n_critic", ()) or ()) or (config.n_critic,) * len(names)
  clips = tuple(axis.get("weight_clip", ()) or ()) or (config.objective_kwargs.get("weight_clip"),) * len(names)
  runs = []
  for name, n, clip in zip(names, n_critics, clips):
    kwargs = {k: v for k, v in objective_kwargs(config).items() if k != "weight_clip"}
    runs.append((name, n, kwargs if clip is None else {**kwargs, "weight_clip": clip}))
  return runs


# Each vmapped value is checked like its scalar field: (is it allowed, what is allowed).
_VMAPPED_VALUES = {
    "g_learning_rate": (lambda v: 0 < v < np.inf, "finite numbers > 0"),
    "d_learning_rate": (lambda v: 0 < v < np.inf, "finite numbers > 0"),
    "real_target": (lambda v: 0 < v <= 1, "numbers in (0, 1]"),
    "gradient_penalty_weight": (lambda v: 0 <= v < np.inf, "finite numbers >= 0"),
    "r1_weight": (lambda v: 0 <= v < np.inf, "finite numbers >= 0"),
    "r2_weight": (lambda v: 0 <= v < np.inf, "finite numbers >= 0"),
}


def validate_replicas(config: ml_collections.ConfigDict) -> tuple[str, ...]:
  """Checks the replicas (seeds × vmapped hyper-parameters) and device layout; returns the vmapped names.

  Raises:
    ValueError: one line naming the bad value and what is allowed.
  """
  replicas = parallel.replicas_of(config)
  parallel.validate(config, replicas.size)
  vmapped = tuple(sorted(replicas.hparams))
  field = parallel.hparams_field(config)
  for name, values in replicas.hparams.items():
    ok, allowed = _VMAPPED_VALUES[name]
    if not all(ok(float(v)) for v in values):
      fail(f"{field}.{name}", tuple(config[field][name]), allowed)
  trained = parallel.objective_axis(config) or (config.objective,)
  if "real_target" in vmapped and any(o not in objectives_lib.LOGISTIC for o in trained):
    fail(field, "real_target", f"label smoothing only for {', '.join(objectives_lib.LOGISTIC)}")
  if "gradient_penalty_weight" in vmapped and any(o != "wgan_gp" for o in trained):
    fail(field, "gradient_penalty_weight", "the gradient penalty only for 'wgan_gp'")
  return vmapped


def objective_kwargs(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The objective options the config sets (unset placeholders left to the objective's defaults)."""
  return {k: v for k, v in dict(config.get("objective_kwargs") or {}).items() if v is not None}


def make_gan(config: ml_collections.ConfigDict, players: Any, vmapped: tuple[str, ...]) -> GAN:
  """The `GAN` of a validated config around the task's players: objective, optimizers and step options."""
  objective = objectives_lib.get_objective(config.objective, **objective_kwargs(config))
  axis = objective_axis_runs(config)
  # Entries of one objective and options share one instance (`GAN.with_n_critic` recognises a group of one).
  built = {}
  for name, _, kwargs in axis:
    key = (name, tuple(sorted(kwargs.items())))
    built.setdefault(key, objectives_lib.get_objective(name, **kwargs))
  objectives = tuple(built[(name, tuple(sorted(kwargs.items())))] for name, _, kwargs in axis)
  n_critics = tuple(n for _, n, _ in axis)
  return GAN(
      players=players,
      objective=objectives[0] if objectives else objective,
      g_tx=make_optimizer(config.optimizer_g, "optimizer_g", "g_learning_rate" in vmapped),
      d_tx=make_optimizer(config.optimizer_d, "optimizer_d", "d_learning_rate" in vmapped),
      batch_size=config.batch_size,
      n_critic=max(n_critics) if n_critics else config.n_critic,
      simultaneous=config.update_mode == "simultaneous",
      r1_weight=float(config.get("r1_weight", 0.0)),
      r2_weight=float(config.get("r2_weight", 0.0)),
      ema_decay=float(config.get("ema_decay", 0.0)),
      info_weight=float(config.get("info_weight", 1.0)),
      adversarial_weight=float(config.get("adversarial_weight", 1.0)),
      vmapped=vmapped,
      objectives=objectives,
      n_critics=n_critics,
  )


def init_keys(key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
  """The keys a replica's raw key initialises its players with: (generator, discriminator, example inputs)."""
  k_g, k_d, k_inputs = jax.random.split(jax.random.fold_in(key, _INIT_SALT), 3)
  return k_g, k_d, k_inputs


def step_key(state: TrainState) -> jax.Array:
  """The key of generator step `state.step`: split into the critic steps' and the generator's keys."""
  return jax.random.fold_in(state.key, state.step)


def critic_keys(state: TrainState, i: int | jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
  """The keys of critic step i of generator step `state.step`: (generator inputs, gradient penalty, dropout)."""
  k_d = jax.random.split(step_key(state))[0]
  k_inputs, k_penalty, k_dropout = jax.random.split(jax.random.fold_in(k_d, i), 3)
  return k_inputs, k_penalty, k_dropout


def generator_keys(gan: "GAN", state: TrainState) -> tuple[jax.Array, jax.Array | None]:
  """The keys of the generator update of step `state.step`: (generator inputs, D's dropout or None)."""
  return gan.players.generator_keys(jax.random.split(step_key(state))[1])


def data_key(state: TrainState) -> jax.Array:
  """The key real samples of step `state.step` are drawn with, when a task samples them on device."""
  return jax.random.fold_in(step_key(state), _DATA_SALT)


def eval_key(state: TrainState) -> jax.Array:
  """The held-out evaluation key after `state.step` steps: independent of every training key."""
  return jax.random.fold_in(step_key(state), _EVAL_SALT)


def _with_learning_rate(opt_state: Any, learning_rate: jax.Array) -> Any:
  return opt_state._replace(hyperparams={**opt_state.hyperparams, "learning_rate": learning_rate})


def init_state(gan: GAN, key: jax.Array, hparams: dict[str, jax.Array] | None = None) -> TrainState:
  """Initialises one replica from its raw PRNG key and its vmapped hyper-parameter values."""
  hparams = dict(hparams or {})
  g_params, g_stats, d_params, d_stats = gan.players.init(*init_keys(key))
  g_opt_state, d_opt_state = gan.g_tx.init(g_params), gan.d_tx.init(d_params)
  if "g_learning_rate" in hparams:
    g_opt_state = _with_learning_rate(g_opt_state, hparams["g_learning_rate"])
  if "d_learning_rate" in hparams:
    d_opt_state = _with_learning_rate(d_opt_state, hparams["d_learning_rate"])
  return TrainState(
      step=jnp.zeros((), jnp.int32), key=key, g_params=g_params, d_params=d_params, g_batch_stats=g_stats,
      d_batch_stats=d_stats, g_opt_state=g_opt_state, d_opt_state=d_opt_state, ema_g_params=g_params,
      hparams=hparams)


# Initialisation runs once, yet XLA:CPU spends seconds optimising it: one random-number kernel (threefry) per
# parameter tensor. At LLVM optimisation level 1 instead of the default 2 the 3-seed init compiles in 1.6 s instead
# of 7.9 s (unpaired translation), 0.9 s instead of 2.5 s (mnist5k DCGAN), 0.6 s instead of 1.1 s (the demo), with
# bit-identical parameters (tested); level 0 is faster still but changes the last bit of some truncated-normal
# draws. Other backends keep their defaults: not measured there.
INIT_COMPILER_OPTIONS = {"xla_backend_optimization_level": 1}


def _stacked_init(gan: GAN, replicas: parallel.Replicas | np.ndarray) -> Callable[[], TrainState]:
  """The function that initialises every replica, stacked on a leading axis (its inputs closed over)."""
  if not isinstance(replicas, parallel.Replicas):
    replicas = parallel.Replicas(seeds=np.asarray(replicas), hparams={})
  keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray(replicas.seeds, jnp.uint32))
  hparams = {k: jnp.asarray(v) for k, v in replicas.hparams.items()}
  if replicas.objectives is not None:
    hparams[OBJECTIVE] = jnp.asarray(replicas.objectives, jnp.int32)
  # The inputs are closed over, so on several hosts every process builds the same global state.
  return lambda: jax.vmap(functools.partial(init_state, gan))(keys, hparams)


def state_shapes(gan: GAN, replicas: parallel.Replicas | np.ndarray,
                 layout: parallel.Layout | None = None) -> TrainState:
  """What `init_states` returns, as shapes and dtypes (with `layout`'s shardings), without computing anything.

  Use this rather than `jax.eval_shape` of `init_states`: its top-level compiler options cannot be traced.
  """
  shapes = jax.eval_shape(_stacked_init(gan, replicas))
  shardings = layout.state(shapes) if layout is not None else None
  if shardings is None:
    return shapes
  return jax.tree.map(lambda s, sharding: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sharding), shapes,
                      shardings)


def init_states(gan: GAN, replicas: parallel.Replicas | np.ndarray,
                layout: parallel.Layout | None = None) -> TrainState:
  """Initialises every replica, stacked on a leading axis (placed on devices by `layout`).

  Args:
    gan: the static spec.
    replicas: `parallel.replicas_of(config)`, or just an array of seeds (no vmapped hyper-parameters).
    layout: device placement; None for JAX's default device.

  Returns:
    The stacked state. Its abstract value (for checkpoint restores and output shardings) is `state_shapes`.
  """
  init = _stacked_init(gan, replicas)
  shardings = layout.state(jax.eval_shape(init)) if layout is not None else None
  options = INIT_COMPILER_OPTIONS if jax.default_backend() == "cpu" else None
  return jax.jit(init, out_shardings=shardings, compiler_options=options)()


@jax.jit
def _take_replicas(state: TrainState, indices: jax.Array) -> TrainState:
  # One program for the whole state (eager indexing dispatches a gather per leaf: ~0.2 s per objective of the
  # demo), compiled once per number of replicas taken: the indices are data.
  return jax.tree.map(lambda x: x[indices], state)


def replicas_alone(state: TrainState, indices: Any) -> TrainState:
  """Replicas `indices` of a stacked state, as a run that does not vmap their hyper-parameters holds them.

  The vmapped learning rates leave the optimizer states (`optax.inject_hyperparams` keeps the optimizer's own state
  as `inner_state`) and `hparams` is emptied, so the result saves as a checkpoint that `restore_latest` restores
  with the config of those replicas alone (each hyper-parameter a plain field).

  Args:
    state: a replica-stacked state.
    indices: the replicas to keep, in order (an int array or list).

  Returns:
    The stacked state of those replicas.
  """
  picked = _take_replicas(state, jnp.asarray(np.asarray(indices), jnp.int32))
  unwrap = lambda opt_state, name: opt_state.inner_state if name in picked.hparams else opt_state
  return picked.replace(g_opt_state=unwrap(picked.g_opt_state, "g_learning_rate"),
                        d_opt_state=unwrap(picked.d_opt_state, "d_learning_rate"), hparams={})


def objective_alone(state: TrainState, indices: Any) -> TrainState:
  """Replicas `indices` of an objective-axis state, as the run of their objective alone holds them.

  Args:
    state: a replica-stacked state with an objective axis.
    indices: the replicas to keep, in order, all of one objective.

  Returns:
    Their stacked state without the objective index (`OBJECTIVE`), which that run's `restore_latest` restores.
  """
  picked = _take_replicas(state, jnp.asarray(np.asarray(indices), jnp.int32))
  return picked.replace(hparams={k: v for k, v in picked.hparams.items() if k != OBJECTIVE})


def discriminator_objective(gan: GAN, state: TrainState, real_out: jax.Array, fake_out: jax.Array) -> jax.Array:
  """The objective's discriminator loss, with this replica's label smoothing β when `real_target` is vmapped."""
  if "real_target" in gan.vmapped:
    return objectives_lib.logistic_discriminator_loss(real_out, fake_out, real_target=state.hparams["real_target"])
  return gan.objective_value(state, lambda o: o.discriminator_loss(real_out, fake_out))


def discriminator_penalty(gan: GAN, state: TrainState, disc: Callable[[jax.Array], jax.Array], real: jax.Array,
                          fake: jax.Array, key: jax.Array) -> jax.Array:
  """The gradient penalty of the objective (WGAN-GP) plus the R1 / R2 penalties the run asks for.

  `disc` maps inputs (n, ...) to raw outputs (n,).
  """
  penalty = jnp.zeros(())
  if any(o.gradient_penalty_weight for o in gan.all_objectives):
    gp_weight = gan.hparam(state, "gradient_penalty_weight",
                           gan.objective_constant(state, lambda o: o.gradient_penalty_weight))
    penalty += gp_weight * objectives_lib.gradient_penalty(disc, real, fake, key)
  # Mescheder et al. 2018, Eq. 9: (γ/2)·E‖∇D‖².
  if gan.r1_weight or "r1_weight" in gan.vmapped:
    penalty += 0.5 * gan.hparam(state, "r1_weight", gan.r1_weight) * objectives_lib.r1_penalty(disc, real)
  if gan.r2_weight or "r2_weight" in gan.vmapped:
    penalty += 0.5 * gan.hparam(state, "r2_weight", gan.r2_weight) * objectives_lib.r2_penalty(disc, fake)
  return penalty


def critic_loss(gan: GAN, state: TrainState, d_params: Any, d_stats: Any, real: jax.Array,
                labels: jax.Array | None, keys: tuple[jax.Array, jax.Array, jax.Array]) -> tuple[jax.Array, tuple]:
  """One critic step's loss on a real batch: objective + penalties (+ λ·L_info for InfoGAN).

  `keys` are the step's `critic_keys`.

  Returns:
    (the total, (objective loss, penalty, info loss, real outputs, fake outputs, D's new batch_stats)).
  """
  p = gan.players
  k_in, k_gp, k_drop = keys
  inputs = p.sample_inputs(k_in, real.shape[0], real=real)
  fake, _ = p.generate(state.g_params, state.g_batch_stats, inputs, train=True)
  fake = jax.lax.stop_gradient(fake)
  real_out, fake_out, q, new_stats = p.critic_outputs(d_params, d_stats, real, labels, fake, inputs.labels, k_drop)
  loss = discriminator_objective(gan, state, real_out, fake_out)
  # Penalties: D with the step's starting statistics, on real labels (tasks rule out BatchNorm here).
  disc = lambda x: p.discriminate(d_params, d_stats, x, labels, train=True, key=k_drop)[0]
  penalty = discriminator_penalty(gan, state, disc, real, fake, k_gp)
  info = p.info_loss(q, inputs)
  total = loss + penalty + gan.info_weight * info if p.num_categories else loss + penalty
  return total, (loss, penalty, info, real_out, fake_out, new_stats)


def generator_loss(gan: GAN, g_params: Any, g_stats: Any, d_params: Any, d_stats: Any,
                   keys: tuple[jax.Array, jax.Array | None], real: jax.Array | None = None,
                   state: TrainState | None = None) -> tuple[jax.Array, tuple]:
  """The generator's loss on a fresh batch against D: (total, (adversarial, info, reconstruction, G's new stats)).

  `keys` are the step's `generator_keys`. `real` is the step's last real batch: image-to-image players translate
  it and reconstruct it (noise-fed players ignore it; their reconstruction term is None). `state` is the
  replica's (its objective; needed with an objective axis).
  """
  p = gan.players
  k_in, k_drop = keys
  inputs = p.sample_inputs(k_in, gan.batch_size, real=real)
  fake, g_stats = p.generate(g_params, g_stats, inputs, train=True)
  # D in training mode as in the reference implementations; its statistics from this pass are not kept.
  out, q, _ = p.discriminate(d_params, d_stats, fake, inputs.labels, train=True, key=k_drop)
  adversarial = gan.objective_value(state, lambda o: o.generator_loss(out))
  info = p.info_loss(q, inputs)
  total = adversarial + gan.info_weight * info if p.num_categories else adversarial
  reconstruction = p.reconstruction_loss(g_params, g_stats, inputs, fake, real)
  if reconstruction is not None:
    total = gan.adversarial_weight * total + reconstruction
  return total, (adversarial, info, reconstruction, g_stats)


def mean_probability(gan: GAN, outputs: jax.Array, state: TrainState | None = None) -> jax.Array:
  """Mean D output as a probability for logit objectives, the raw critic value otherwise (of `state`'s objective)."""
  return gan.objective_value(
      state, lambda o: jnp.mean(outputs) if o.probability is None else jnp.mean(o.probability(outputs)))


def train_step(gan: GAN, state: TrainState, real: jax.Array, labels: jax.Array | None = None
               ) -> tuple[TrainState, dict[str, jax.Array]]:
  """One generator step preceded by `n_critic` discriminator steps.

  Args:
    gan: the static spec.
    state: one replica's state.
    real: real data for the critic steps, shape (n_critic, batch_size, ...).
    labels: their class labels (n_critic, batch_size), or None for unlabelled data.

  Returns:
    The new state and a metrics dict: both losses, the penalty, D(x) and D(G(z)) means (probabilities for logit
    objectives, raw critic values otherwise), gradient / parameter / update norms per player, and InfoGAN's
    `d_info` / `g_info`.
  """
  p = gan.players
  if p.shard_batch is not None:
    real, labels = jax.tree.map(lambda x: p.shard_batch(x, 1), (real, labels))

  def critic_step(carry, inputs):
    d_params, d_stats, d_opt_state = carry
    real_batch, label_batch, i = inputs
    grad_fn = jax.value_and_grad(
        lambda w: critic_loss(gan, state, w, d_stats, real_batch, label_batch, critic_keys(state, i)),
        has_aux=True)
    (_, (loss, penalty, info, real_out, fake_out, d_stats)), grads = grad_fn(d_params)
    updates, d_opt_state = gan.d_tx.update(grads, d_opt_state, d_params)
    d_params = optax.apply_updates(d_params, updates)
    if any(o.weight_clip is not None for o in gan.all_objectives):
      # An objective without clipping clips at ±inf, which leaves every weight as it is.
      c = gan.objective_constant(state, lambda o: np.inf if o.weight_clip is None else o.weight_clip)
      d_params = jax.tree.map(lambda w: jnp.clip(w, -c, c), d_params)
    metrics = {"d_loss": loss, "d_penalty": penalty, "d_real": mean_probability(gan, real_out, state),
               "d_fake": mean_probability(gan, fake_out, state), "d_grad_norm": optax.tree.norm(grads),
               "d_update_norm": optax.tree.norm(updates)}
    if p.num_categories:
      metrics["d_info"] = info
    new_carry = (d_params, d_stats, d_opt_state)
    if gan.masks_critic:
      # Critic steps past this replica's own n_critic leave it as it was (`n_critic_mode` 'mask').
      new_carry = jax.tree.map(lambda new, old: jnp.where(i < n_critic, new, old), new_carry, carry)
    return new_carry, metrics

  # The metrics of the replica's last critic step: step n_critic − 1 of its own.
  n_critic = gan.replica_n_critic(state) if gan.masks_critic else gan.n_critic
  carry = (state.d_params, state.d_batch_stats, state.d_opt_state)
  if p.unroll_critic:
    per_step = []
    for i in range(gan.n_critic):
      carry, step_metrics = critic_step(carry, jax.tree.map(lambda x, i=i: x[i], (real, labels)) + (i,))
      per_step.append(step_metrics)
    d_metrics = jax.tree.map(lambda *m: jnp.stack(m)[n_critic - 1], *per_step)
  else:
    carry, d_metrics = jax.lax.scan(critic_step, carry, (real, labels, jnp.arange(gan.n_critic)))
    d_metrics = jax.tree.map(lambda m: m[n_critic - 1], d_metrics)
  d_params, d_stats, d_opt_state = carry

  # Simultaneous updates: the generator sees the discriminator from before this step's critic updates.
  g_sees = (state.d_params, state.d_batch_stats) if gan.simultaneous else (d_params, d_stats)
  (_, (g_loss, g_info, g_reconstruction, g_stats)), g_grads = jax.value_and_grad(
      lambda w: generator_loss(gan, w, state.g_batch_stats, *g_sees, generator_keys(gan, state),
                               jax.tree.map(lambda x: x[n_critic - 1], real), state),
      has_aux=True)(state.g_params)
  g_updates, g_opt_state = gan.g_tx.update(g_grads, state.g_opt_state, state.g_params)
  g_params = optax.apply_updates(state.g_params, g_updates)
  if gan.ema_decay:
    ema = jax.tree.map(lambda e, w: gan.ema_decay * e + (1.0 - gan.ema_decay) * w, state.ema_g_params, g_params)
  else:
    ema = g_params

  new_state = state.replace(
      step=state.step + 1, g_params=g_params, d_params=d_params, g_batch_stats=g_stats, d_batch_stats=d_stats,
      g_opt_state=g_opt_state, d_opt_state=d_opt_state, ema_g_params=ema)
  metrics = dict(d_metrics)
  metrics.update({"g_loss": g_loss, "g_grad_norm": optax.tree.norm(g_grads),
                  "g_update_norm": optax.tree.norm(g_updates), "g_param_norm": optax.tree.norm(g_params),
                  "d_param_norm": optax.tree.norm(d_params)})
  if p.num_categories:
    metrics["g_info"] = g_info
  if g_reconstruction is not None:
    metrics["g_reconstruction"] = g_reconstruction
  return new_state, metrics


class NonFiniteError(RuntimeError):
  """Training produced a non-finite loss or parameter; the message names the step, seed and objective."""


def seeds_of(config: ml_collections.ConfigDict) -> np.ndarray:
  """The seeds a config trains together: seed, seed + 1, …, seed + num_seeds − 1."""
  return config.seed + np.arange(config.num_seeds)


def all_finite(state: TrainState) -> jax.Array:
  """Per replica: is the whole training state finite (parameters, running statistics, optimizer moments, EMA)?

  An optimizer state that overflowed (Adam's second moment at inf) would fail the next step after a resume, so it
  counts as much as a parameter. Computed on device: on several hosts the state is not addressable.
  """
  leaves = [x for x in jax.tree.leaves(state) if jnp.issubdtype(x.dtype, jnp.floating)]
  return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x.reshape(x.shape[0], -1)), axis=1) for x in leaves]), axis=0)


# Per-step metrics whose non-finite value stops a run: the losses, and the gradients (an inf gradient norm with
# still-finite parameters is the step before they overflow).
WATCHED_METRICS = ("d_loss", "g_loss", "d_grad_norm", "g_grad_norm")


def first_non_finite(train_metrics: dict, state_finite: np.ndarray) -> tuple[int, int, str] | None:
  """The earliest failure of a chunk across replicas: (replica, step offset, what failed), or None.

  The offset is that of the first step whose watched metric is non-finite (the lowest replica on a tie); −1 when
  only the final state is non-finite (the step that broke it is somewhere in the chunk).
  """
  names = [k for k in WATCHED_METRICS if k in train_metrics]
  values = np.stack([np.asarray(train_metrics[k]) for k in names], 0)  # (M, R, n)
  bad = ~np.isfinite(values)
  bad_step = bad.any(axis=0)  # (R, n)
  if bad_step.any():
    offsets = np.where(bad_step.any(axis=1), bad_step.argmax(axis=1), bad_step.shape[1])
    replica = int(np.argmin(offsets))
    offset = int(offsets[replica])
    metric = names[int(np.argmax(bad[:, replica, offset]))]
    return replica, offset, f"{metric} = {float(values[names.index(metric), replica, offset])}"
  if not state_finite.all():
    return int(np.argmin(state_finite)), -1, "the training state (parameters or optimizer moments) is not finite"
  return None


def objective_of(config: ml_collections.ConfigDict, replicas: parallel.Replicas, i: int) -> str:
  """The objective replica i trains: its entry of the objective axis, else `config.objective`."""
  if replicas.objectives is None:
    return config.objective
  return parallel.objective_axis(config)[int(replicas.objectives[i])]


def rows_of(config: ml_collections.ConfigDict, target_name: str, step: int, replicas: parallel.Replicas,
            train_metrics: dict | None, eval_metrics: dict, eval_drop: tuple[frozenset[str], ...] = ()
            ) -> list[dict]:
  """One row per replica: identification columns, vmapped hyper-parameters, last-step training metrics, evals.

  With an objective axis, replica i's row leaves out the evaluations in `eval_drop[its objective]` (those only
  other objectives have), so that it holds the columns of its objective trained alone.
  """
  train_metrics = jax.tree.map(np.asarray, train_metrics)
  eval_metrics = jax.tree.map(np.asarray, eval_metrics)
  rows = []
  for i, seed in enumerate(replicas.seeds):
    row = {"step": int(step), "seed": int(seed), "objective": objective_of(config, replicas, i),
           "target": target_name, "generator": config.generator}
    row.update({k: float(v[i]) for k, v in replicas.hparams.items()})
    if train_metrics is not None:
      row.update({k: float(v[i, -1]) for k, v in train_metrics.items()})
    drop = eval_drop[int(replicas.objectives[i])] if eval_drop and replicas.objectives is not None else ()
    row.update({k: float(v[i]) for k, v in eval_metrics.items() if k not in drop})
    rows.append(row)
  return rows


class Program(NamedTuple):
  """What a task plugs into the loop: how its replicas are initialised, trained, evaluated and drawn.

  `run` drives any program: initialisation, checkpoint resume, chunks of steps, evaluation rows, plots, the NaN
  stop.
  """
  init: Callable[[], Any]              # () -> the replica-stacked initial state, placed on devices
  chunk: Callable[[Any, int, int], tuple[Any, dict, jax.Array]]  # (state, step, n) -> (state, metrics, finite)
  evaluate: Callable[[Any], dict]      # state -> metric name -> per-replica values (R,)
  plot: Callable[[Any, int, writers.MetricWriter], None]  # (state, step, writer): figures of an evaluation
  target_name: str                     # the rows' "target" column
  headline: tuple[str, ...]            # metrics the progress line shows, first one present
  # state -> estimate name -> per-replica values (R,): the divergence probe (`probe.py`), for `probe_every`.
  probe: Callable[[Any], dict] | None = None
  # With an objective axis: per objective, the evaluations its rows leave out (`rows_of`).
  eval_drop: tuple[frozenset[str], ...] = ()


def run(config: ml_collections.ConfigDict, workdir: str, program: Program) -> list[dict]:
  """Trains `program`'s replicas, logging an evaluation every `config.eval_every` steps.

  The run owns its workdir while it trains (`workdir.exclusive`; process 0 holds the lock). Re-running on the same
  workdir resumes from the latest checkpoint that restores, with the same run only (`workdir.check_resumable`,
  checked before anything is written); the resumed run's metrics are bit-identical to an uninterrupted one and
  `metrics.jsonl` keeps no row past the restored step.

  Returns:
    The metric rows of the final evaluation, one per replica.

  Raises:
    NonFiniteError: a non-finite loss, gradient or training state; the last good checkpoint and metrics are kept.
    workdir.WorkdirBusyError: another process is training in `workdir`.
    ValueError: `workdir` holds another run (a config that differs in a field that defines the run).
  """
  if jax.process_index() != 0:
    return _run(config, workdir, program)
  with workdir_lib.exclusive(workdir):
    workdir_lib.check_resumable(workdir, config, config_lib.defaults_for(config))
    return _run(config, workdir, program)


def _run(config: ml_collections.ConfigDict, workdir: str, program: Program) -> list[dict]:
  replicas = parallel.replicas_of(config)
  chief = jax.process_index() == 0
  os.makedirs(workdir, exist_ok=True)
  writer = writers.create_writer(workdir)
  writers.write_config(workdir, config)
  metrics_path = os.path.join(workdir, "metrics.jsonl")
  rows_at = lambda *args: rows_of(config, program.target_name, *args, eval_drop=program.eval_drop)
  name = "+".join(dict.fromkeys(parallel.objective_axis(config))) or config.get("objective", "")
  clock = writers.PhaseClock()
  layout = config.get("parallel", {}).get("layout", "none")
  devices = parallel.num_devices(config) if layout != "none" else 1
  logging.info("%s%d replica(s) on %d device(s) (layout %r)", f"{name}: " if name else "", replicas.size, devices,
               layout)

  with clock.phase("init"):
    state = program.init()
    manager = checkpoint.create_manager(os.path.join(workdir, "checkpoints"),
                                        max_to_keep=config.get("keep_checkpoints", 3))
    restored = checkpoint.restore_latest(manager, state)
  probe_path = os.path.join(workdir, probe.PROBE_FILE)
  probe_every = config.get("probe_every", 0) if program.probe is not None and is_main_process() else 0
  if restored is not None:
    state, step = restored
    kept = writers.truncate_metrics(metrics_path, step) if chief and os.path.exists(metrics_path) else 0
    if chief:
      writers.truncate_metrics(probe_path, step)
    logging.info("Resumed from step %d (%d metric rows kept).", step, kept)
  else:
    step = 0
    if chief:
      for path in (metrics_path, probe_path):
        writers.truncate_metrics(path, -1)
    with clock.phase("evaluate"):
      rows = rows_at(0, replicas, None, program.evaluate(state))
      writer.write_rows(rows)
    if probe_every:
      with clock.phase("probe"):
        writers.append_rows(probe_path, probe.rows(rows, program.probe(state), keep=tuple(replicas.hparams)))
    rows = None
  last_saved = step if restored is not None else None

  start_step = step
  checkpoint_every = config.get("checkpoint_every", 0)
  plot_every = config.get("plot_every", 0)
  progress = writers.Progress(config.num_steps, start_step=step, prefix=f"{name}: ")
  rows = None
  while step < config.num_steps:
    n = min(config.eval_every - step % config.eval_every, config.num_steps - step)
    with clock.phase("train"):
      new_state, train_metrics, state_finite = program.chunk(state, step, n)
      bad = first_non_finite(train_metrics, np.asarray(state_finite))
    if bad is not None:
      replica, offset, what = bad
      bad_step = step + (offset + 1 if offset >= 0 else n)
      if last_saved != step:
        checkpoint.save(manager, step, state)
      writer.close()
      hparams = "".join(f", {k}={v[replica]:g}" for k, v in replicas.hparams.items())
      raise NonFiniteError(
          f"non-finite loss or parameters at step {bad_step} (seed {int(replicas.seeds[replica])}{hparams}, "
          f"objective {objective_of(config, replicas, replica)!r}: {what}); kept the checkpoint and metrics of "
          f"step {step}")
    state, step = new_state, step + n
    with clock.phase("evaluate"):
      rows = rows_at(step, replicas, train_metrics, program.evaluate(state))
      writer.write_rows(rows)
    if plot_every and (step % plot_every == 0 or step == config.num_steps):
      with clock.phase("plot"):
        program.plot(state, step, writer)
    if probe_every and (step % probe_every == 0 or step == config.num_steps):
      with clock.phase("probe"):
        writers.append_rows(probe_path, probe.rows(rows, program.probe(state), keep=tuple(replicas.hparams)))
    if step == config.num_steps or (checkpoint_every and step % checkpoint_every == 0):
      with clock.phase("checkpoint"):
        checkpoint.save(manager, step, state)
      last_saved = step
    shown = next((k for k in program.headline if k in rows[0]), None)
    progress.update(step, {shown: rows[0][shown]} if shown else {})
  writer.close()
  with clock.phase("checkpoint"):
    manager.close()  # waits for the last asynchronous save
  writers.write_timing(workdir, {**clock.record(), "start_step": int(start_step), "end_step": int(step)})
  logging.info("%s%s", f"{name}: " if name else "", clock.summary())
  return rows if rows is not None else [r for r in writers.read_metrics(metrics_path) if r["step"] == step]


def restore_latest(gan: GAN, config: ml_collections.ConfigDict, workdir: str, step: int | None = None
                   ) -> tuple[TrainState, int]:
  """The latest checkpoint of a run's replicas, or the one of `step`: (state stacked over replicas, step).

  Raises:
    ValueError: when `workdir` holds no checkpoint, or `step` was not saved.
  """
  abstract = state_shapes(gan, parallel.replicas_of(config))
  manager = checkpoint.create_manager(os.path.join(workdir, "checkpoints"))
  if step is not None:
    if not manager.all_steps():
      raise ValueError(f"no checkpoint in {os.path.join(workdir, 'checkpoints')!r}; train first")
    state = checkpoint.restore_step(manager, abstract, step)
  else:
    restored = checkpoint.restore_latest(manager, abstract)
    if restored is None:
      raise ValueError(f"no checkpoint in {os.path.join(workdir, 'checkpoints')!r}; train first")
    state, step = restored
  # Placed as the training run's state was (uncommitted without a mesh): its programs then hit the compile cache.
  return (checkpoint.uncommitted(state) if parallel.create_layout(config).mesh is None else state), step


def is_main_process() -> bool:
  """Plots and sample grids draw from one host's copy of the state: only with a single process."""
  return jax.process_count() == 1
