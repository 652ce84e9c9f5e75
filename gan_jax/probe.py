"""The divergence probe: fresh critics, trained against a frozen generator, estimate JS, KL both ways and W1.

The training discriminator is mid-game and never optimal, so what its outputs say about the divergence is a loose
lower bound. To *measure* a generator, train new critics to convergence on samples of the two distributions and
evaluate their variational bounds on held-out samples (Im et al. 2018, "Quantitatively evaluating GANs with
divergences proposed for training"; Gulrajani et al. 2019). Four critics, each an MLP over standardised inputs
(f-GAN bounds: Nowozin et al. 2016):

- `gan` (logistic), maximising E_p log σ(v) + E_g log σ(−v) (= 2·JSD − log 4 at the optimum): `js` =
  log 2 + ½·V(D, G), and the density-ratio plug-ins `kl_pg` = E_p v, `kl_gp` = −E_g v (logit D* = log p/g);
- `kl`, maximising E_p v − E_g e^(v−1) (NWJ, the f-GAN KL): `kl_pg_nwj`, a lower bound on KL(p‖g);
- `reverse_kl`, maximising E_g(1 − v) − E_p e^(−v) (NWJ with p and g swapped): `kl_gp_nwj`, a bound on KL(g‖p);
- `wasserstein`, maximising E_p f − E_g f − λ·E max(0, ‖∇f‖ − 1)² at interpolates (WGAN-LP, Petzka et al.
  2018): `w1` = E_p f − E_g f.

Each estimate is a mean over `num_critics` critics trained from independent initialisations and minibatch orders
(vmapped: one program), on three disjoint splits per side: the critics train on `train`, each keeps the parameters
of its best bound on `validation` (checked every `validate_every` steps: early stopping within a fixed budget),
and the bounds are evaluated on `test` only. Each estimate `<name>` comes with `<name>_stderr`, the held-out
sampling error of a critic's bound (from the variance of its per-sample terms, averaged over the critics), and
`<name>_critic_std`, the spread over critics; `interval` combines both.

What the estimates are: the JS and NWJ values are variational lower bounds in expectation (any critic, held-out
samples); the plug-in KLs are not bounds and inherit the critic's error in the tails (Song & Ermon 2020 show
that the variance of the NWJ bound grows like e^KL). The W1 penalty is one-sided: the two-sided WGAN-GP penalty
makes ‖∇f‖ = 0 a barrier, and a 1-D critic that starts with the wrong slope sign stays there (measured: a critic
of N(0, 1) against N(1, 1) converged to the wrong sign in 1 of 4 seeds). A penalty only softly holds ‖∇f‖ ≤ 1:
for a linear critic its optimum has slope 1 + W1/(2λ), an overestimate of W1²/(2λ), hence λ = 100 (W1 = 2:
+1%); dividing by the critic's largest measured gradient norm instead underestimated by 6–16%. The validation
table (`probe_validation.py`, README) measures each estimate's bias against exact values.

Everything here takes arrays of samples or samplers; `probe_runs.py` applies it to a run's checkpoints.
"""
import dataclasses
import functools
import math
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gan_jax import f_divergences
from gan_jax import models

Array = jax.Array
Sampler = Callable[[Array, int], Array]

LOG2 = math.log(2.0)
# The three f-GAN critics, by the row of `f_divergences` they maximise, then the W1 critic.
F_CRITICS = ("gan", "kl", "reverse_kl")
CRITICS = F_CRITICS + ("wasserstein",)
# Everything `estimate` reports, each also with `_stderr` and `_critic_std`.
ESTIMATES = ("js", "kl_pg", "kl_gp", "kl_pg_nwj", "kl_gp_nwj", "w1")
# A run's probe rows: <workdir>/probe.jsonl, one row per (step, replica).
PROBE_FILE = "probe.jsonl"
# What a probe row copies from the run's metrics row of the same step and replica: who it is, the exact
# divergences (where the generator has a density) and the training discriminator's own estimates, to compare.
ROW_COLUMNS = ("step", "seed", "objective", "target", "dataset", "generator", "js", "kl_pg", "kl_gp", "w1",
               "js_lower_bound", "kl_pg_plugin", "kl_gp_plugin", "w1_critic")
# Two-sided 95% normal quantile of `interval`.
Z95 = 1.959963984540054


@dataclasses.dataclass(frozen=True)
class ProbeSpec:
  """How the probe's critics are built, trained and evaluated (static: one compiled program per spec and shape).

  Attributes:
    num_critics: independent critics per estimate (their spread is `<name>_critic_std`).
    features: hidden width of each critic MLP.
    depth: hidden layers of each critic MLP.
    activation: hidden activation, one of `models.ACTIVATIONS` (smooth ones fit log-density ratios best).
    num_steps: training steps per critic (the budget).
    batch_size: samples per side per step.
    learning_rate: Adam learning rate.
    gp_weight: λ of the W1 critic's gradient penalty.
    validate_every: steps between the validation checks that pick each critic's parameters.
    num_train: training samples per side drawn from a sampler (arrays: what remains after the other splits).
    num_validation: validation samples per side.
    num_test: held-out samples per side behind the reported estimates.
    w1: train the W1 critic (its gradient penalty makes it the costliest); off, the `w1` estimates are NaN. The
      other critics' results do not depend on it.
  """
  num_critics: int = 4
  features: int = 64
  depth: int = 2
  activation: str = "elu"
  num_steps: int = 2000
  batch_size: int = 512
  learning_rate: float = 3e-3
  gp_weight: float = 100.0
  validate_every: int = 100
  num_train: int = 32768
  num_validation: int = 2048
  num_test: int = 4096
  w1: bool = True

  def __post_init__(self) -> None:
    for name in ("num_critics", "features", "depth", "num_steps", "batch_size", "validate_every", "num_train",
                 "num_validation", "num_test"):
      value = getattr(self, name)
      if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"probe.{name}={value!r} is invalid; allowed: an integer >= 1")
    for name in ("learning_rate", "gp_weight"):
      value = getattr(self, name)
      if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"probe.{name}={value!r} is invalid; allowed: a finite number > 0")
    if not isinstance(self.w1, bool):
      raise ValueError(f"probe.w1={self.w1!r} is invalid; allowed: True | False")
    if self.activation not in models.ACTIVATIONS:
      raise ValueError(f"probe.activation={self.activation!r} is invalid; allowed: "
                       f"{' | '.join(sorted(models.ACTIVATIONS))}")
    if self.num_steps % self.validate_every:
      raise ValueError(f"probe.num_steps={self.num_steps} is invalid; allowed: a multiple of validate_every "
                       f"({self.validate_every})")
    if self.batch_size > self.num_train:
      raise ValueError(f"probe.batch_size={self.batch_size} is invalid; allowed: at most num_train "
                       f"({self.num_train})")

  def replace(self, **changes: Any) -> "ProbeSpec":
    """A copy with `changes` (validated)."""
    return dataclasses.replace(self, **changes)


def spec_fields() -> dict[str, Any]:
  """The default `ProbeSpec` as a dict: `config.probe` of `config.base_config()`."""
  return dataclasses.asdict(ProbeSpec())


def spec_from_config(fields: Any) -> ProbeSpec:
  """The `ProbeSpec` of a training config's `probe` field (a dict or ConfigDict of `ProbeSpec` fields).

  Raises:
    ValueError: one line naming the bad `config.probe.<field>`, its value and what is allowed.
  """
  given = dict(fields.items()) if fields is not None else {}
  allowed = [f.name for f in dataclasses.fields(ProbeSpec)]
  for name in given:
    if name not in allowed:
      raise ValueError(f"config.probe.{name} is not a probe field; allowed: {', '.join(allowed)}")
  try:
    return ProbeSpec(**given)
  except ValueError as e:
    raise ValueError(f"config.{e}") from None


class Splits(NamedTuple):
  """Train, validation and test samples of both sides, each a pair (p's (n, d), g's (m, d)); a pytree."""
  train: tuple[Array, Array]
  validation: tuple[Array, Array]
  test: tuple[Array, Array]


def _check_samples(name: str, x: Any) -> np.ndarray:
  shape = np.shape(x)
  if len(shape) != 2 or shape[0] < 1 or shape[1] < 1:
    raise ValueError(f"{name} has shape {tuple(shape)}; allowed: a 2-D array (num_samples, dim) — flatten images "
                     "to (num_samples, height·width·channels)")
  return np.asarray(x, np.float32)


def split_samples(real: Any, fake: Any, spec: ProbeSpec, key: Array) -> Splits:
  """Shuffles each side once and splits it into test, validation and train (the rest).

  Args:
    real: samples of p, (n, d).
    fake: samples of g, (m, d).
    spec: the probe's split sizes (`num_test`, `num_validation`; train gets the rest, at least `batch_size`).
    key: the shuffle.

  Raises:
    ValueError: samples that are not 2-D, of different dimensions, non-finite, or too few for the split.
  """
  real, fake = _check_samples("real samples", real), _check_samples("fake samples", fake)
  if real.shape[1] != fake.shape[1]:
    raise ValueError(f"real samples have dimension {real.shape[1]} and fake samples {fake.shape[1]}; allowed: "
                     "the same dimension")
  need = spec.num_test + spec.num_validation + spec.batch_size
  for name, x in (("real", real), ("fake", fake)):
    if x.shape[0] < need:
      raise ValueError(f"{name} samples: {x.shape[0]} is too few; allowed: at least num_test + num_validation + "
                       f"batch_size = {spec.num_test} + {spec.num_validation} + {spec.batch_size} = {need}")
    if not np.isfinite(x).all():
      raise ValueError(f"{name} samples hold {int((~np.isfinite(x)).sum())} non-finite values; allowed: finite")
  sides = []
  for k, x in zip(jax.random.split(key), (real, fake)):
    x = x[np.asarray(jax.random.permutation(k, x.shape[0]))]
    a, b = spec.num_test, spec.num_test + spec.num_validation
    sides.append((x[b:], x[a:b], x[:a]))
  (p_train, p_val, p_test), (g_train, g_val, g_test) = sides
  return Splits((p_train, g_train), (p_val, g_val), (p_test, g_test))


def draw_splits(sample_p: Sampler, sample_g: Sampler, spec: ProbeSpec, key: Array) -> Splits:
  """Fresh, independent train / validation / test samples from two samplers `(key, n) -> (n, d)`."""
  keys = jax.random.split(key, 6)
  sizes = (spec.num_train, spec.num_validation, spec.num_test)
  p = [jnp.asarray(sample_p(k, n), jnp.float32) for k, n in zip(keys[:3], sizes)]
  g = [jnp.asarray(sample_g(k, n), jnp.float32) for k, n in zip(keys[3:], sizes)]
  for name, side in (("sample_p", p), ("sample_g", g)):
    for x, n in zip(side, sizes):
      if x.ndim != 2 or x.shape[0] != n:
        raise ValueError(f"{name}(key, {n}) returned shape {tuple(x.shape)}; allowed: ({n}, dim)")
  if p[0].shape[1] != g[0].shape[1]:
    raise ValueError(f"sample_p draws dimension {p[0].shape[1]} and sample_g {g[0].shape[1]}; allowed: the same "
                     "dimension")
  return Splits((p[0], g[0]), (p[1], g[1]), (p[2], g[2]))


# --- critics -------------------------------------------------------------------------------------------------

def critic_kinds(spec: ProbeSpec) -> tuple[str, ...]:
  """The kinds of critic `spec` trains: `CRITICS`, without 'wasserstein' when `spec.w1` is off."""
  return CRITICS if spec.w1 else F_CRITICS


def _critic(spec: ProbeSpec) -> models.MLPDiscriminator:
  return models.MLPDiscriminator(features=spec.features, depth=spec.depth, activation=spec.activation)


def _terms(kind: str, v_p: Array, v_g: Array) -> tuple[Array, Array]:
  """Per-sample terms (a_p, b_g) of a critic's bound, mean(a_p) − mean(b_g)."""
  if kind == "wasserstein":
    return v_p, v_g
  row = f_divergences.get_f_divergence(kind)
  return row.activation(v_p), row.conjugate(row.activation(v_g))


def _gradient_norms(apply: Callable[[Array], Array], x: Array) -> Array:
  grads = jax.vmap(jax.grad(lambda xi: apply(xi[None])[0]))(x)
  return jnp.sqrt(jnp.sum(grads**2, axis=-1) + 1e-12)


def _interpolates(key: Array, x_p: Array, x_g: Array) -> Array:
  eps = jax.random.uniform(key, (x_p.shape[0], 1))
  return eps * x_p + (1.0 - eps) * x_g


def _objective(spec: ProbeSpec, kind: str, apply: Callable[[Array], Array], x_p: Array, x_g: Array,
               key: Array) -> Array:
  """What critic `kind` maximises on a batch: its bound, minus the gradient penalty for the W1 critic."""
  a, b = _terms(kind, apply(x_p), apply(x_g))
  bound = jnp.mean(a) - jnp.mean(b)
  if kind == "wasserstein":
    norms = _gradient_norms(apply, _interpolates(key, x_p, x_g))
    bound = bound - spec.gp_weight * jnp.mean(jnp.maximum(norms - 1.0, 0.0) ** 2)
  return bound


def _standardiser(splits: Splits) -> tuple[Array, Array]:
  # Critics see inputs of unit scale whatever the data's (the ring's modes are 0.01 wide, images 0–1): Adam's
  # defaults then fit every case. Gradients stay with respect to the raw inputs (W1 is not scale-invariant).
  pooled = jnp.concatenate(splits.train, axis=0)
  return jnp.mean(pooled, axis=0), jnp.std(pooled, axis=0) + 1e-6


def train_critics(spec: ProbeSpec, splits: Splits, key: Array) -> dict[str, Any]:
  """Trains `spec.num_critics` critics of each kind in `critic_kinds(spec)`; jittable (spec static).

  Returns:
    {kind: parameters stacked over critics (num_critics, ...)} — each critic's parameters at its best validation
    bound — plus "loc" and "scale", the input standardisation.
  """
  loc, scale = _standardiser(splits)
  kinds = critic_kinds(spec)
  net = _critic(spec)
  dim = splits.train[0].shape[1]
  tx = optax.adam(spec.learning_rate)
  n_p, n_g = splits.train[0].shape[0], splits.train[1].shape[0]

  def apply(params, x):
    return net.apply(params, (x - loc) / scale)

  # One key per kind of `CRITICS` whichever are trained: a critic's result does not depend on the others.
  def keyed(k):
    return [(kind, kk) for kind, kk in zip(CRITICS, jax.random.split(k, len(CRITICS))) if kind in kinds]

  def init(k):
    return {kind: net.init(kk, jnp.zeros((1, dim))) for kind, kk in keyed(k)}

  def total(params, x_p, x_g, k):
    return -sum(_objective(spec, kind, functools.partial(apply, params[kind]), x_p, x_g, kk)
                for kind, kk in keyed(k))

  def validation_bounds(params, k):
    return {kind: _objective(spec, kind, functools.partial(apply, params[kind]), *splits.validation, kk)
            for kind, kk in keyed(k)}

  def one_critic(k):
    k_init, k_train = jax.random.split(k)
    params = init(k_init)
    opt_state = tx.init(params)

    def step(carry, k_step):
      params, opt_state = carry
      k_p, k_g, k_loss = jax.random.split(k_step, 3)
      x_p = splits.train[0][jax.random.randint(k_p, (spec.batch_size,), 0, n_p)]
      x_g = splits.train[1][jax.random.randint(k_g, (spec.batch_size,), 0, n_g)]
      grads = jax.grad(total)(params, x_p, x_g, k_loss)
      updates, opt_state = tx.update(grads, opt_state, params)
      return (optax.apply_updates(params, updates), opt_state), None

    def round_(carry, k_round):
      params, opt_state, best, best_value = carry
      k_steps, k_val = jax.random.split(k_round)
      (params, opt_state), _ = jax.lax.scan(step, (params, opt_state),
                                            jax.random.split(k_steps, spec.validate_every))
      # The same validation key every round: rounds are compared on the same interpolates.
      value = validation_bounds(params, jax.random.fold_in(k_train, 0))
      better = {kind: value[kind] > best_value[kind] for kind in kinds}
      best = {kind: jax.tree.map(lambda new, old: jnp.where(better[kind], new, old), params[kind], best[kind])
              for kind in kinds}
      best_value = {kind: jnp.where(better[kind], value[kind], best_value[kind]) for kind in kinds}
      return (params, opt_state, best, best_value), None

    start = {kind: jnp.array(-jnp.inf) for kind in kinds}
    rounds = jax.random.split(jax.random.fold_in(k_train, 1), spec.num_steps // spec.validate_every)
    (_, _, best, _), _ = jax.lax.scan(round_, (params, opt_state, params, start), rounds)
    return best

  critics = jax.vmap(one_critic)(jax.random.split(key, spec.num_critics))
  return {**critics, "loc": loc, "scale": scale}


def mean_and_stderr(a: Array, b: Array | None = None) -> tuple[Array, Array]:
  """mean(a) − mean(b) over independent samples (b = None: mean(a)) and its standard error."""
  value, variance = jnp.mean(a), jnp.var(a, ddof=1) / a.shape[0]
  if b is not None:
    value, variance = value - jnp.mean(b), variance + jnp.var(b, ddof=1) / b.shape[0]
  return value, jnp.sqrt(variance)


def critic_estimates(spec: ProbeSpec, critics: dict[str, Any], test: tuple[Array, Array]) -> dict[str, Array]:
  """Each critic's estimates on the held-out samples: {name: (num_critics,)} for `ESTIMATES` and their stderrs."""
  net = _critic(spec)
  x_p, x_g = test

  def one(params):
    apply = lambda kind, x: net.apply(params[kind], (x - critics["loc"]) / critics["scale"])
    out = {}
    v_p, v_g = apply("gan", x_p), apply("gan", x_g)
    value, stderr = mean_and_stderr(*_terms("gan", v_p, v_g))
    out["js"], out["js_stderr"] = LOG2 + 0.5 * value, 0.5 * stderr
    out["kl_pg"], out["kl_pg_stderr"] = mean_and_stderr(v_p)
    out["kl_gp"], out["kl_gp_stderr"] = mean_and_stderr(-v_g)
    out["kl_pg_nwj"], out["kl_pg_nwj_stderr"] = mean_and_stderr(*_terms("kl", apply("kl", x_p), apply("kl", x_g)))
    # reverse_kl's bound is KL(g‖p) in the f-GAN convention D_f(p‖g) with f(u) = −log u.
    out["kl_gp_nwj"], out["kl_gp_nwj_stderr"] = mean_and_stderr(
        *_terms("reverse_kl", apply("reverse_kl", x_p), apply("reverse_kl", x_g)))
    if spec.w1:
      out["w1"], out["w1_stderr"] = mean_and_stderr(apply("wasserstein", x_p), apply("wasserstein", x_g))
    else:
      out["w1"] = out["w1_stderr"] = jnp.full((), jnp.nan)
    return out

  params = {kind: critics[kind] for kind in critic_kinds(spec)}
  return jax.vmap(one)(params)


def combine(per_critic: dict[str, Array]) -> dict[str, Array]:
  """Critic-stacked estimates -> their mean, the mean held-out stderr and the spread over critics."""
  out = {}
  for name in ESTIMATES:
    values = per_critic[name]
    out[name] = jnp.mean(values, axis=-1)
    out[name + "_stderr"] = jnp.mean(per_critic[name + "_stderr"], axis=-1)
    out[name + "_critic_std"] = jnp.std(values, axis=-1, ddof=1) if values.shape[-1] > 1 else jnp.zeros_like(
        out[name])
  return out


def interval(result: dict[str, Any], name: str, z: float = Z95) -> tuple[float, float]:
  """The normal interval of estimate `name`: mean ± z·√(stderr² + critic_std²/num_critics).

  It covers the probe's sampling and critic-seed noise, not its bias (a critic short of the optimum).
  """
  k = result.get("num_critics", 1)
  half = z * math.sqrt(float(result[name + "_stderr"]) ** 2 + float(result[name + "_critic_std"]) ** 2 / k)
  return float(result[name]) - half, float(result[name]) + half


def estimates(spec: ProbeSpec, splits: Splits, key: Array) -> dict[str, Array]:
  """Trains the critics on `splits` and returns `combine`d held-out estimates; jittable and vmappable (spec static).

  Tasks vmap it over a run's replicas, so that the critics of every replica train as one program.
  """
  critics = train_critics(spec, splits, key)
  return combine(critic_estimates(spec, critics, splits.test))


_jitted_estimates = jax.jit(estimates, static_argnums=0)


def estimate_splits(splits: Splits, key: Array, spec: ProbeSpec = ProbeSpec()) -> dict[str, float]:
  """Trains the critics on prepared splits and returns the held-out estimates as floats (one compile per shape)."""
  out = {k: float(v) for k, v in _jitted_estimates(spec, splits, key).items()}
  out["num_critics"] = spec.num_critics
  return out


def estimate(real: Any, fake: Any, key: Array, spec: ProbeSpec = ProbeSpec()) -> dict[str, float]:
  """Probe estimates between two arrays of samples, e.g. `probe.estimate(x_data, x_generated, jax.random.key(0))`.

  Args:
    real: samples of p, (n, d).
    fake: samples of g, (m, d).
    key: randomness of the split, the critics' initialisation and their minibatches.
    spec: the critics and the split sizes.

  Returns:
    {name, name_stderr, name_critic_std for name in `ESTIMATES`, "num_critics"}: floats, in nats (JS, KL) and
    data units (W1).

  Raises:
    ValueError: samples of different dimensions, not 2-D, non-finite, or too few for the split; before any
      compilation.
  """
  k_split, k_probe = jax.random.split(key)
  return estimate_splits(split_samples(real, fake, spec, k_split), k_probe, spec)


def estimate_samplers(sample_p: Sampler, sample_g: Sampler, key: Array, spec: ProbeSpec = ProbeSpec()
                      ) -> dict[str, float]:
  """Probe estimates between two samplers `(key, n) -> (n, d)`, e.g. a target's and a generator's `sample`.

  Draws `spec.num_train`, `num_validation` and `num_test` fresh samples per side; otherwise as `estimate`.
  """
  k_split, k_probe = jax.random.split(key)
  return estimate_splits(draw_splits(sample_p, sample_g, spec, k_split), k_probe, spec)


def rows(metrics_rows: list[dict], estimates: dict[str, Any], keep: tuple[str, ...] = ()) -> list[dict]:
  """probe.jsonl rows: per replica, `ROW_COLUMNS` (and `keep`) of its metrics row plus `<name>_probe` estimates.

  Args:
    metrics_rows: the run's metrics rows of one step, one per replica (`engine.rows_of`).
    estimates: {name: per-replica values (R,)} for every key `combine` returns.
    keep: further columns to copy, e.g. the vmapped hyper-parameters.

  Returns:
    One row per replica, e.g. {"step", "seed", "js", "js_probe", "js_probe_stderr", "js_probe_critic_std", …}.
  """
  out = []
  for i, metrics_row in enumerate(metrics_rows):
    row = {k: metrics_row[k] for k in ROW_COLUMNS + keep if k in metrics_row}
    for name in ESTIMATES:
      for stat in ("", "_stderr", "_critic_std"):
        row[f"{name}_probe{stat}"] = float(np.asarray(estimates[name + stat])[i])
    out.append(row)
  return out
