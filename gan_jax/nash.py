"""Goodfellow et al. 2014, Proposition 1 and Theorem 1, as numbers a reader can check.

For a fixed generator density g and data density p the discriminator's value is

    V(D, G) = E_{x~p}[log D(x)] + E_{x~g}[log(1 − D(x))]     (Goodfellow et al. 2014, Eq. 1 with x = G(z)).

Prop. 1: y ↦ a·log y + b·log(1 − y) peaks on (0, 1) at a/(a + b), so D*(x) = p(x)/(p(x) + g(x)) (Eq. 2).
Thm. 1: V(D*, G) = −log 4 + 2·JSD(p‖g) (Eqs. 4–6), minimal (−log 4) exactly at g = p, where D* ≡ 1/2; and
JSD ≤ log 2 with equality for disjoint supports (Arjovsky & Bottou 2017), so V(D*, G) saturates at 0.

`run_nash(config)` computes every check (pure, no I/O; `default_config()` is the experiment's config) and
`format_table` renders it. The figure and the files the entry point writes are in `gan_jax.paper_figures.nash`.
V(D*, G) and JSD come from `divergences` independently (V straight from D*, never via the theorem), so the
"difference" column is a real test of Thm. 1.
"""
import dataclasses
import functools
import math
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from jax.typing import ArrayLike

from gan_jax import distributions
from gan_jax import divergences

LOG_2 = math.log(2.0)
MINUS_LOG_4 = -math.log(4.0)

# Smooth bounded perturbations h for V(D* + εh) (Prop. 1 says every one of them must lower V).
PERTURBATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "sin(x)": jnp.sin,
    "tanh(x)": jnp.tanh,
    "bump(x-1/2)": lambda x: jnp.exp(-2.0 * (x - 0.5) ** 2),
    "bump(x+2)": lambda x: jnp.exp(-2.0 * (x + 2.0) ** 2),
}

# The x grid must hold both densities of every pair it integrates to this many standard deviations.
_COVER_SIGMAS = 8.0
# Largest x-grid × y-grid of the pointwise argmax (float32 elements held at once).
_MAX_POINTWISE = 50_000_000


@dataclasses.dataclass(frozen=True)
class PointwiseRow:
  """Prop. 1 pointwise: grid argmax of p(x)·log y + g(x)·log(1 − y) against p/(p + g), worst x.

  Attributes:
    target: name of p.
    mu: location of g = N(μ, 1).
    max_abs_error: max over the x grid of |grid argmax − p(x)/(p(x) + g(x))|.
    grid_spacing: spacing of the y grid (the argmax must lie within it).
  """
  target: str
  mu: float
  max_abs_error: float
  grid_spacing: float


@dataclasses.dataclass(frozen=True)
class PerturbationRow:
  """Prop. 1 globally: V(D* + εh, G) − V(D*, G), which must be negative.

  Attributes:
    h: name of the perturbation (a key of `PERTURBATIONS`).
    epsilon: its size ε.
    value: V(D* + εh, G) in nats (1-D quadrature).
    delta: V(D* + εh, G) − V(D*, G) in nats.
  """
  h: str
  epsilon: float
  value: float
  delta: float


@dataclasses.dataclass(frozen=True)
class TheoremRow:
  """Thm. 1 for one pair (p, g = N(μ, 1)).

  Attributes:
    target: name of p.
    mu: location of g.
    jsd: JSD(p‖g) in nats.
    value: V(D*, G) in nats, computed from D* directly.
    theorem: −log 4 + 2·JSD(p‖g).
    difference: value − theorem (zero by Thm. 1).
  """
  target: str
  mu: float
  jsd: float
  value: float
  theorem: float
  difference: float


@dataclasses.dataclass(frozen=True)
class MinimumRow:
  """The global minimum of Thm. 1: g = p.

  Attributes:
    target: name of p (= g).
    max_abs_d_minus_half: max over the x grid of |D*(x) − 1/2|.
    value: V(D*, G) in nats (−log 4 by Thm. 1).
    jsd: JSD(p‖p) in nats (0).
  """
  target: str
  max_abs_d_minus_half: float
  value: float
  jsd: float


@dataclasses.dataclass(frozen=True)
class SaturationRow:
  """JSD against its ceiling log 2.

  Attributes:
    family: "gaussian" (N(0,1) vs N(μ,1), param = μ) or "parallel_lines" (P0 vs Pθ, param = θ).
    param: μ or θ.
    jsd: JSD in nats.
    gap: log 2 − JSD in nats.
  """
  family: str
  param: float
  jsd: float
  gap: float


@dataclasses.dataclass(frozen=True)
class DiscriminatorCurves:
  """D*(x) for p = N(0, 1) and several g = N(μ, 1), for plotting.

  Attributes:
    x: (n,) grid.
    p: (n,) density of p.
    mus: (m,) locations of g.
    g: (m, n) densities of each g.
    d_star: (m, n) D*(x) for each g.
  """
  x: np.ndarray
  p: np.ndarray
  mus: np.ndarray
  g: np.ndarray
  d_star: np.ndarray


@dataclasses.dataclass(frozen=True)
class NashResults:
  """Every number `run_nash` computes.

  Attributes:
    pointwise: Prop. 1 pointwise rows, one per (target, μ).
    perturbation_mu: g = N(μ, 1) of the perturbation check (p = N(0, 1)).
    perturbation_value: V(D*, G) for that pair by the same quadrature as the perturbed values.
    perturbation: Prop. 1 perturbation rows.
    theorem: Thm. 1 rows (Gaussian target, then mixture target).
    minimum: g = p rows.
    saturation: JSD → log 2 rows.
    curve_mu: (c,) dense μ grid.
    curve_theorem: (c,) −log 4 + 2·JSD(N(0,1)‖N(μ,1)) on it.
    curves: D* curves for the figure.
  """
  pointwise: tuple[PointwiseRow, ...]
  perturbation_mu: float
  perturbation_value: float
  perturbation: tuple[PerturbationRow, ...]
  theorem: tuple[TheoremRow, ...]
  minimum: tuple[MinimumRow, ...]
  saturation: tuple[SaturationRow, ...]
  curve_mu: np.ndarray
  curve_theorem: np.ndarray
  curves: DiscriminatorCurves


# ---------------------------------------------------------------------------------------------------------------
# Proposition 1.


@jax.jit
def _y_argmax(a: jax.Array, b: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
  # Normalise to weights summing to 1: same argmax, and no overflow or underflow for very large or small a, b.
  w = a / (a + b)
  objective = w[:, None] * jnp.log(y)[None, :] + (1.0 - w)[:, None] * jnp.log1p(-y)[None, :]
  return y[jnp.argmax(objective, axis=1)], w


def pointwise_argmax(a: ArrayLike, b: ArrayLike, num_y: int = 1001) -> tuple[jax.Array, jax.Array]:
  """Grid argmax over y ∈ (0, 1) of a·log y + b·log(1 − y), beside Prop. 1's a/(a + b).

  The y grid is the midpoints y_k = (k + 1/2)/num_y, so the grid argmax lies within 1/num_y of a/(a + b). In
  float32 the peak is flat to rounding within ~2e-4 of a/(a + b), so num_y much above 2000 resolves noise.

  Args:
    a: (n,) weights a ≥ 0, e.g. p(x) on a grid of x.
    b: (n,) weights b ≥ 0 with a + b > 0, e.g. g(x) on the same grid.
    num_y: number of grid points in (0, 1).

  Returns:
    (argmax, a/(a + b)), both (n,) float32.

  Raises:
    ValueError: if a and b are not 1-D arrays of one shape, or num_y < 2.
  """
  a = jnp.asarray(a, jnp.float32)
  b = jnp.asarray(b, jnp.float32)
  if a.ndim != 1 or a.shape != b.shape:
    raise ValueError(f"a and b must be 1-D arrays of one shape, got {a.shape} and {b.shape}")
  if num_y < 2:
    raise ValueError(f"num_y must be >= 2, got {num_y}")
  y = (jnp.arange(num_y, dtype=jnp.float32) + 0.5) / num_y
  return _y_argmax(a, b, y)


def _scaled_densities(log_p: jax.Array, log_g: jax.Array) -> tuple[jax.Array, jax.Array]:
  # Prop. 1's argmax is invariant to a common factor; dividing by max(p, g) keeps one of them 1, so the pair never
  # underflows to (0, 0) in float32 far in the tails.
  top = jnp.maximum(log_p, log_g)
  return jnp.exp(log_p - top), jnp.exp(log_g - top)


@jax.jit
def _perturbation(p: Any, g: Any, x: jax.Array, h: jax.Array,
                  epsilons: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
  log_p, log_g = p.log_prob(x[:, None]), g.log_prob(x[:, None])
  logit = log_p - log_g
  p_x, g_x = jnp.exp(log_p), jnp.exp(log_g)
  # D* and 1 − D* each from its own sigmoid: 1 − D* rounds to 0 in float32 where p ≫ g.
  d_star, one_minus_d_star = jax.nn.sigmoid(logit), jax.nn.sigmoid(-logit)
  log_d_star, log_one_minus_d_star = jax.nn.log_sigmoid(logit), jax.nn.log_sigmoid(-logit)
  v_star = jnp.trapezoid(p_x * log_d_star + g_x * log_one_minus_d_star, x)

  step = epsilons[:, None, None] * h[None, :, :]  # (e, m, n)
  # Clip D and 1 − D each into [tiny, 1]: D stays a valid discriminator in (0, 1) where D* + εh leaves it.
  tiny = jnp.finfo(jnp.float32).tiny
  log_d = jnp.log(jnp.clip(d_star + step, tiny, 1.0))
  log_one_minus_d = jnp.log(jnp.clip(one_minus_d_star - step, tiny, 1.0))
  values = jnp.trapezoid(p_x * log_d + g_x * log_one_minus_d, x, axis=-1)
  # ΔV as the integral of the pointwise difference, not a difference of two ≈ −1.2 integrals: float32
  # cancellation would otherwise swamp the ~1e-5 changes that ε = 1e-2 can make.
  deltas = jnp.trapezoid(
      p_x * (log_d - log_d_star) + g_x * (log_one_minus_d - log_one_minus_d_star), x, axis=-1)
  return v_star, values, deltas


def perturbation_table(p: Any, g: Any, x: ArrayLike, epsilons: Sequence[float],
                       perturbations: dict[str, Callable[[jax.Array], jax.Array]] | None = None
                       ) -> tuple[float, tuple[PerturbationRow, ...]]:
  """V(D* + εh, G) − V(D*, G) for each h and ε, by trapezoidal quadrature on a 1-D grid.

  V(D, G) = ∫ p log D + g log(1 − D) dx (Goodfellow et al. 2014, Eq. 3), with D* = p/(p + g) (Prop. 1).

  Args:
    p: 1-D data distribution (`log_prob` on (n, 1) arrays).
    g: 1-D generator distribution.
    x: (n,) uniform grid holding (numerically) all the mass of p and g.
    epsilons: perturbation sizes ε.
    perturbations: name -> h, smooth and bounded; `PERTURBATIONS` by default.

  Returns:
    (V(D*, G) on the grid, one row per (h, ε)).

  Raises:
    ValueError: if p or g is not 1-D or x is not a 1-D grid of at least 3 points.
  """
  perturbations = PERTURBATIONS if perturbations is None else perturbations
  x = jnp.asarray(x, jnp.float32)
  if x.ndim != 1 or x.shape[0] < 3:
    raise ValueError(f"x must be a 1-D grid of at least 3 points, got shape {x.shape}")
  if p.dim != 1 or g.dim != 1:
    raise ValueError(f"perturbation_table needs 1-D distributions, got dims {p.dim} and {g.dim}")
  names = list(perturbations)
  h = jnp.stack([perturbations[name](x) for name in names])
  eps = jnp.asarray(epsilons, jnp.float32)
  v_star, values, deltas = _perturbation(p, g, x, h, eps)
  rows = tuple(
      PerturbationRow(h=name, epsilon=float(e), value=float(values[i, j]), delta=float(deltas[i, j]))
      for j, name in enumerate(names) for i, e in enumerate(epsilons))
  return float(v_star), rows


# ---------------------------------------------------------------------------------------------------------------
# Configuration.


def default_config() -> ml_collections.ConfigDict:
  """The Nash experiment's config (`configs/nash.py` returns it; the `nash` paper figure starts from it)."""
  config = ml_collections.ConfigDict()
  # Thm. 1 table: p = N(0, 1) (and the mixture below) against g = N(μ, 1).
  config.mus = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)
  # Bimodal target of the f-GAN mixture experiment (Nowozin et al. 2016, Sec. 4): 0.5 N(−2, 0.5) + 0.5 N(2, 0.5).
  config.mixture = ml_collections.ConfigDict()
  config.mixture.locs = (-2.0, 2.0)
  config.mixture.scales = (0.5, 0.5)
  config.mixture.weights = (0.5, 0.5)

  # x grid for Prop. 1 (pointwise and perturbation quadrature) and the D* plots; it must hold every density to
  # 8 standard deviations (checked).
  config.x_min = -8.0
  config.x_max = 16.0
  config.grid_size = 2001
  # Points of the y ∈ (0, 1) grid for the pointwise argmax; float32 resolves the flat peak only to ~2e-4.
  config.y_grid_size = 1001

  # Prop. 1 perturbation: p = N(0, 1), g = N(perturbation_mu, 1), D = D* + ε·h.
  config.perturbation_mu = 1.0
  config.epsilons = (-0.1, -0.01, 0.01, 0.1)

  # JSD → log 2: Gaussian shifts, and Arjovsky et al. 2017's parallel lines P0 vs Pθ.
  config.saturation_mus = (4.0, 8.0, 16.0, 32.0, 50.0)
  config.parallel_lines_thetas = (0.0, 0.1, 1.0)

  # Figure: points of the dense −log 4 + 2·JSD(μ) curve, and the μ of the D* curves.
  config.curve_points = 41
  config.figure_mus = (0.0, 1.0, 2.0, 4.0)
  return config


def _floats(name: str, values: Any, *, allow_empty: bool = False) -> tuple[float, ...]:
  try:
    out = tuple(float(v) for v in values)
  except (TypeError, ValueError):
    raise ValueError(f"config.{name} must be a sequence of numbers, got {values!r}") from None
  if not out and not allow_empty:
    raise ValueError(f"config.{name} must not be empty")
  if not all(math.isfinite(v) for v in out):
    raise ValueError(f"config.{name} must be finite, got {out}")
  return out


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Checks a Nash config (see `default_config`) before any computation.

  Raises:
    ValueError: naming the first offending field and why.
  """
  for name in ("grid_size", "y_grid_size", "curve_points"):
    value = config[name]
    if isinstance(value, bool) or not isinstance(value, int):
      raise ValueError(f"config.{name} must be an integer, got {value!r}")
  if config.grid_size < 3:
    raise ValueError(f"config.grid_size must be >= 3, got {config.grid_size}")
  if config.y_grid_size < 2:
    raise ValueError(f"config.y_grid_size must be >= 2, got {config.y_grid_size}")
  if config.grid_size * config.y_grid_size > _MAX_POINTWISE:
    raise ValueError(f"config.grid_size * config.y_grid_size must be <= {_MAX_POINTWISE:.0e} (memory of the "
                     f"pointwise argmax), got {config.grid_size} * {config.y_grid_size}")
  if config.curve_points < 2:
    raise ValueError(f"config.curve_points must be >= 2, got {config.curve_points}")
  (x_min,) = _floats("x_min", (config.x_min,))
  (x_max,) = _floats("x_max", (config.x_max,))
  if not x_min < x_max:
    raise ValueError(f"config.x_min must be < config.x_max, got {x_min} and {x_max}")
  mus = _floats("mus", config.mus)
  _floats("saturation_mus", config.saturation_mus)
  _floats("parallel_lines_thetas", config.parallel_lines_thetas, allow_empty=True)
  figure_mus = _floats("figure_mus", config.figure_mus)
  (perturbation_mu,) = _floats("perturbation_mu", (config.perturbation_mu,))
  epsilons = _floats("epsilons", config.epsilons)
  if not all(0.0 < abs(e) < 1.0 for e in epsilons):
    raise ValueError(f"config.epsilons must satisfy 0 < |ε| < 1, got {epsilons}")

  mixture = config.mixture
  locs = _floats("mixture.locs", mixture.locs)
  scales = _floats("mixture.scales", mixture.scales)
  weights = _floats("mixture.weights", mixture.weights)
  if not len(locs) == len(scales) == len(weights):
    raise ValueError(f"config.mixture.locs, scales and weights must have one length, got "
                     f"{len(locs)}, {len(scales)} and {len(weights)}")
  if not all(s > 0 for s in scales):
    raise ValueError(f"config.mixture.scales must be > 0, got {scales}")
  if not all(w > 0 for w in weights) or abs(sum(weights) - 1.0) > 1e-6:
    raise ValueError(f"config.mixture.weights must be positive and sum to 1, got {weights}")

  # The grid integrates (perturbation) and plots (D* curves); both need the densities' mass on it.
  lo = min([0.0, perturbation_mu, *mus, *figure_mus]) - _COVER_SIGMAS
  hi = max([0.0, perturbation_mu, *mus, *figure_mus]) + _COVER_SIGMAS
  lo = min(lo, min(l - _COVER_SIGMAS * s for l, s in zip(locs, scales)))
  hi = max(hi, max(l + _COVER_SIGMAS * s for l, s in zip(locs, scales)))
  if x_min > lo or x_max < hi:
    raise ValueError(f"config.x_min, x_max = {x_min}, {x_max} must cover [{lo}, {hi}] (every density to "
                     f"{_COVER_SIGMAS:g} standard deviations)")


def _mixture(config: ml_collections.ConfigDict) -> tuple[str, Any]:
  m = config.mixture
  name = " + ".join(f"{w:g}N({l:g},{s:g})" for l, s, w in zip(m.locs, m.scales, m.weights))
  return name, distributions.GaussianMixture(
      locs=[[float(l)] for l in m.locs], scales=[[float(s)] for s in m.scales],
      weights=[float(w) for w in m.weights])


# ---------------------------------------------------------------------------------------------------------------
# Theorem 1 and the checks around it.


@jax.jit
def _pair(p: Any, g: Any, x: jax.Array) -> dict[str, jax.Array]:
  """JSD, V(D*, G), D* and both log densities on x for one pair.

  Jitted (and vmapped by `_gaussian_sweep`): one compilation per pair of distribution types, instead of
  op-by-op dispatch, which compiles every small op of the quadrature on first use (~10 s on 2 cores).
  """
  return {
      "jsd": divergences.js(p, g).value,
      "value": divergences.value_at_optimum(p, g).value,
      "d_star": divergences.optimal_discriminator(p, g)(x[:, None]),
      "log_p": p.log_prob(x[:, None]),
      "log_g": g.log_prob(x[:, None]),
  }


@jax.jit
def _gaussian_sweep(p: Any, mus: jax.Array, x: jax.Array) -> dict[str, jax.Array]:
  """`_pair(p, N(μ, 1), x)` for every μ in mus, stacked along a leading axis."""
  return jax.vmap(lambda mu: _pair(p, distributions.Gaussian(mu, 1.0), x))(mus)


def _theorem_rows(target: str, sweep: dict[str, np.ndarray], mus: Sequence[float]) -> list[TheoremRow]:
  rows = []
  for i, mu in enumerate(mus):
    jsd, value = float(sweep["jsd"][i]), float(sweep["value"][i])
    theorem = MINUS_LOG_4 + 2.0 * jsd  # Goodfellow et al. 2014, Thm. 1 (Eq. 6).
    rows.append(TheoremRow(target=target, mu=float(mu), jsd=jsd, value=value, theorem=theorem,
                           difference=value - theorem))
  return rows


@functools.partial(jax.jit, static_argnames="num_y")
def _pointwise_errors(log_p: jax.Array, log_g: jax.Array, num_y: int) -> jax.Array:
  """max_x |grid argmax − p/(p + g)| for each row of (k, n) log densities; one row at a time (memory n·num_y)."""
  y = (jnp.arange(num_y, dtype=jnp.float32) + 0.5) / num_y

  def one(logs: tuple[jax.Array, jax.Array]) -> jax.Array:
    argmax, ratio = _y_argmax(*_scaled_densities(*logs), y)
    return jnp.max(jnp.abs(argmax - ratio))

  return jax.lax.map(one, (log_p, log_g))


def _pointwise_rows(target: str, sweep: dict[str, np.ndarray], mus: Sequence[float],
                    num_y: int) -> list[PointwiseRow]:
  errors = _pointwise_errors(sweep["log_p"], sweep["log_g"], num_y)
  return [PointwiseRow(target=target, mu=float(mu), max_abs_error=float(e), grid_spacing=1.0 / num_y)
          for mu, e in zip(mus, errors)]


def _minimum_row(target: str, out: dict[str, np.ndarray]) -> MinimumRow:
  return MinimumRow(target=target, max_abs_d_minus_half=float(np.max(np.abs(out["d_star"] - 0.5))),
                    value=float(out["value"]), jsd=float(out["jsd"]))


def run_nash(config: ml_collections.ConfigDict) -> NashResults:
  """Computes Prop. 1 (pointwise and perturbation), the Thm. 1 table, its minimum and JSD saturation.

  Pure: no I/O. Every V(D*, G) is computed from D* itself and every JSD from the densities, independently
  (`divergences.value_at_optimum`, `divergences.js`).

  Args:
    config: see `default_config`.

  Returns:
    The results; `format_table` renders them.

  Raises:
    ValueError: for an invalid config, before any computation.
  """
  validate_config(config)
  x = jnp.linspace(config.x_min, config.x_max, config.grid_size, dtype=jnp.float32)
  normal = distributions.Gaussian(0.0, 1.0)
  mixture_name, mixture = _mixture(config)
  mus = [float(mu) for mu in config.mus]
  curve_mu = np.linspace(0.0, max(mus) if max(mus) > 0 else 1.0, config.curve_points)

  # One sweep for every g = N(μ, 1) against N(0, 1): table, minimum (g = N(0, 1), built afresh inside the sweep:
  # nothing can short-circuit on identity), saturation, dense curve and figure.
  sections = {"table": mus, "minimum": [0.0], "saturation": [float(mu) for mu in config.saturation_mus],
              "curve": curve_mu.tolist(), "figure": [float(mu) for mu in config.figure_mus]}
  everything = jax.device_get(_gaussian_sweep(normal, jnp.asarray(sum(sections.values(), []), jnp.float32), x))
  gaussian, start = {}, 0
  for name, section_mus in sections.items():
    gaussian[name] = {k: v[start:start + len(section_mus)] for k, v in everything.items()}
    start += len(section_mus)
  mixed = jax.device_get(_gaussian_sweep(mixture, jnp.asarray(mus, jnp.float32), x))

  pointwise = (_pointwise_rows("N(0,1)", gaussian["table"], mus, config.y_grid_size)
               + _pointwise_rows(mixture_name, mixed, mus, config.y_grid_size))

  perturbation_value, perturbation = perturbation_table(
      normal, distributions.Gaussian(config.perturbation_mu, 1.0), x, config.epsilons)

  theorem = _theorem_rows("N(0,1)", gaussian["table"], mus) + _theorem_rows(mixture_name, mixed, mus)

  minimum = (_minimum_row("N(0,1)", {k: v[0] for k, v in gaussian["minimum"].items()}),
             # A second, equal mixture object: g = p by value, not by identity.
             _minimum_row(mixture_name, jax.device_get(_pair(mixture, _mixture(config)[1], x))))

  saturation = [SaturationRow("gaussian", mu, float(jsd), LOG_2 - float(jsd))
                for mu, jsd in zip(sections["saturation"], gaussian["saturation"]["jsd"])]
  lines0 = distributions.ParallelLines(0.0)
  for theta in config.parallel_lines_thetas:
    jsd = float(divergences.js(lines0, distributions.ParallelLines(theta)).value)
    saturation.append(SaturationRow("parallel_lines", float(theta), jsd, LOG_2 - jsd))

  figure = gaussian["figure"]
  curves = DiscriminatorCurves(x=np.asarray(x), p=np.exp(figure["log_p"][0]),
                               mus=np.asarray(sections["figure"]), g=np.exp(figure["log_g"]),
                               d_star=figure["d_star"])

  return NashResults(pointwise=tuple(pointwise), perturbation_mu=float(config.perturbation_mu),
                     perturbation_value=perturbation_value, perturbation=perturbation, theorem=tuple(theorem),
                     minimum=minimum, saturation=tuple(saturation), curve_mu=curve_mu,
                     curve_theorem=MINUS_LOG_4 + 2.0 * gaussian["curve"]["jsd"].astype(np.float64),
                     curves=curves)


# ---------------------------------------------------------------------------------------------------------------
# Output.


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
  widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
  line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths)).rstrip()
  return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def format_table(results: NashResults) -> str:
  """Renders `run_nash`'s results as plain-text tables (nats; 6 decimals, differences in %.1e).

  Args:
    results: from `run_nash`.

  Returns:
    The text, one section per check, ending in a newline.
  """
  out = ["Proposition 1, pointwise: grid argmax over y of p(x)·log y + g(x)·log(1−y) vs p/(p+g), worst x"]
  out += _table(["p", "g = N(mu,1): mu", "max|argmax - p/(p+g)|", "y spacing"],
                [[r.target, f"{r.mu:g}", f"{r.max_abs_error:.1e}", f"{r.grid_spacing:.1e}"]
                 for r in results.pointwise])
  out += ["", f"Proposition 1, perturbation: V(D*+eps·h, G) - V(D*, G) < 0 for p = N(0,1), "
          f"g = N({results.perturbation_mu:g},1); V(D*, G) = {results.perturbation_value:.6f} (quadrature)"]
  out += _table(["h", "eps", "V(D*+eps·h, G)", "delta V"],
                [[r.h, f"{r.epsilon:g}", f"{r.value:.6f}", f"{r.delta:.3e}"] for r in results.perturbation])
  out += ["", "Theorem 1: V(D*, G) = -log 4 + 2·JSD(p||g), g = N(mu,1) (nats)"]
  out += _table(["p", "mu", "JSD", "V(D*,G)", "-log4+2·JSD", "difference"],
                [[r.target, f"{r.mu:g}", f"{r.jsd:.6f}", f"{r.value:.6f}", f"{r.theorem:.6f}",
                  f"{r.difference:.1e}"] for r in results.theorem])
  out += ["", f"Global minimum (g = p): D* = 1/2 and V(D*, G) = -log 4 = {MINUS_LOG_4:.6f}"]
  out += _table(["p = g", "max|D* - 1/2|", "V(D*,G)", "JSD"],
                [[r.target, f"{r.max_abs_d_minus_half:.1e}", f"{r.value:.6f}", f"{r.jsd:.6f}"]
                 for r in results.minimum])
  out += ["", f"Saturation: JSD -> log 2 = {LOG_2:.6f} (N(0,1) vs N(mu,1); parallel lines P0 vs P_theta)"]
  out += _table(["family", "mu or theta", "JSD", "log 2 - JSD"],
                [[r.family, f"{r.param:g}", f"{r.jsd:.6f}", f"{r.gap:.1e}"] for r in results.saturation])
  return "\n".join(out) + "\n"


def results_to_dict(results: NashResults, *, curves: bool = True) -> dict[str, Any]:
  """`results` as JSON-ready nested dicts and lists (arrays become lists of floats).

  Args:
    results: from `run_nash`.
    curves: whether to include the D* curves (the figure's data: several thousand floats).

  Returns:
    The dict.
  """
  def plain(value: Any) -> Any:
    if isinstance(value, dict):
      return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
      return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
      return value.astype(float).tolist()
    if isinstance(value, np.generic):
      return value.item()
    return value
  out = plain(dataclasses.asdict(results))
  if not curves:
    del out["curves"]
  return out
