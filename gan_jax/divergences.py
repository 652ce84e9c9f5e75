"""Exact divergences between distributions, the optimal discriminator, and estimates from a discriminator.

Exact values (`js`, `kl`, `value_at_optimum`, `w1`; the first three at once: `js_kl_and_value`) take two
distributions of the protocol in `distributions.py` (any object with `dim`, `sample`, `log_prob`, `cdf` in 1-D and
`bounds`, e.g. a flow generator) and return an `Estimate`:

- 1-D: deterministic composite Gauss–Legendre quadrature (16 nodes × 256 panels on each of the three pieces
  between the sorted ends of `p.bounds()` and `g.bounds()`, so the edges of a bounded support fall on panel
  edges). About 1e-6 absolute for smooth densities in float32. Jittable and vmappable: the node count is static
  and only the box moves with the (possibly traced) parameters.
- d ≥ 2: Monte Carlo with the exact densities, with a standard error; needs `key`.
- Analytic: a Gaussian pair for KL (closed form), and singular distributions (`PointMass`, `ParallelLines`),
  whose divergences against anything with a density are those of mutually singular measures.

Integrands are written in log space from log p and log g, so nothing is NaN when both densities underflow.

Estimates from a discriminator's outputs (`value_from_logits`, `js_lower_bound`, `kl_pg_plugin`,
`kl_gp_plugin`, `f_lower_bound`) are pure functions of arrays. They mean something only on held-out samples: on
the samples a discriminator was trained on, they overfit and overstate the divergence.
"""
import dataclasses
import functools
import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import distributions
from gan_jax import f_divergences

Array = jax.Array
ArrayLike = Any
Distribution = Any
Term = Callable[[Array, Array], Array]

LOG2 = math.log(2.0)
# Composite Gauss–Legendre rule: exact for polynomials of degree 31 on each panel.
QUADRATURE_NODES = 16
QUADRATURE_PANELS = 256
_GL_X, _GL_W = np.polynomial.legendre.leggauss(QUADRATURE_NODES)
# Independent batches behind the sample-based W1 and its standard error.
W1_BATCHES = 4

_SINGULAR = (distributions.PointMass, distributions.ParallelLines)
_FULL_SUPPORT = (distributions.Gaussian, distributions.GaussianMixture)


@functools.partial(jax.tree_util.register_dataclass, data_fields=["value", "stderr"],
                   meta_fields=["method", "num_samples"])
@dataclasses.dataclass(frozen=True)
class Estimate:
  """A divergence value with its uncertainty; a pytree (returnable from jit, batched under vmap).

  Attributes:
    value: the estimate (nats for JS and KL).
    stderr: its Monte Carlo standard error; 0 for deterministic methods ('quadrature', 'closed_form',
      'analytic'), whose error is numerical only.
    method: 'quadrature', 'closed_form', 'analytic', 'monte_carlo' or 'optimal_transport' (static).
    num_samples: samples drawn from each distribution; 0 for deterministic methods (static).
  """

  value: Array
  stderr: Array
  method: str
  num_samples: int


def _deterministic(value: Array, method: str) -> Estimate:
  value = jnp.asarray(value, jnp.result_type(float))
  return Estimate(value=value, stderr=jnp.zeros_like(value), method=method, num_samples=0)


# --- validation -----------------------------------------------------------------------------------------------

def _is_tracer(value: Any) -> bool:
  return isinstance(value, jax.core.Tracer)


def _check_pair(p: Distribution, g: Distribution) -> None:
  for name, d in (("p", p), ("g", g)):
    if not all(hasattr(d, attr) for attr in ("dim", "sample", "bounds")):
      raise ValueError(f"{name} must be a distribution (with dim, sample, log_prob, bounds), got {d!r}")
  if p.dim != g.dim:
    raise ValueError(f"p and g must have the same dim, got p.dim = {p.dim} and g.dim = {g.dim}")


def _check_num_samples(num_samples: Any, minimum: int = 2) -> None:
  if (isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer))
      or num_samples < minimum):
    raise ValueError(f"num_samples must be a Python int >= {minimum}, got {num_samples!r}")


def _check_key(key: Any, what: str, dim: int) -> None:
  if key is None:
    raise ValueError(f"{what} in dim = {dim} >= 2 is a Monte Carlo estimate: pass key=jax.random.key(...), "
                     "got key=None")


def _check_finite(name: str, x: Array) -> None:
  if not _is_tracer(x):
    bad = ~np.isfinite(np.asarray(x))
    if np.any(bad):
      first = tuple(int(i) for i in np.argwhere(bad)[0])
      raise ValueError(f"{name} must be finite, got {float(np.asarray(x)[first])} at index {first} "
                       f"({int(bad.sum())} non-finite value(s))")


def _check_outputs(name: str, x: ArrayLike) -> Array:
  x = jnp.asarray(x)
  if x.ndim != 1 or x.shape[0] == 0:
    raise ValueError(f"{name} must have shape (n,) with n >= 1, got shape {x.shape}")
  _check_finite(name, x)
  return x


# --- the optimal discriminator --------------------------------------------------------------------------------

def _log_ratio(a: Array, b: Array) -> Array:
  # a == b also covers −inf == −inf (outside both supports), where the ratio is taken as 1 (D* = 1/2).
  return jnp.where(a == b, 0.0, a - b)


def _require_densities(p: Distribution, g: Distribution, what: str) -> None:
  for name, d in (("p", p), ("g", g)):
    if isinstance(d, _SINGULAR):
      raise ValueError(f"{what} needs densities, but {name} is a {type(d).__name__}, which has none")


def optimal_discriminator_logit(p: Distribution, g: Distribution) -> Callable[[Array], Array]:
  """The logit of the optimal discriminator, x ↦ log p(x) − log g(x).

  The density-ratio trick: D* = σ(log p − log g) (Goodfellow et al. 2014, Prop. 1), so KL(p‖g) = E_p[logit D*].

  Args:
    p: the data distribution.
    g: the generator's distribution, same dim.

  Returns:
    A function of x (n, dim) returning logits (n,); it raises ValueError for concrete non-finite x.

  Raises:
    ValueError: if the dims differ, or either distribution has no density.
  """
  _check_pair(p, g)
  _require_densities(p, g, "optimal_discriminator_logit")

  def logit(x: ArrayLike) -> Array:
    x = jnp.asarray(x)
    _check_finite("x", x)
    return _log_ratio(p.log_prob(x), g.log_prob(x))

  return logit


def optimal_discriminator(p: Distribution, g: Distribution) -> Callable[[Array], Array]:
  """The optimal discriminator D*(x) = p(x) / (p(x) + g(x)) (Goodfellow et al. 2014, Prop. 1).

  Computed as σ(log p − log g): no NaN where both densities underflow. Where both are exactly 0 it returns 1/2.

  Args:
    p: the data distribution.
    g: the generator's distribution, same dim.

  Returns:
    A function of x (n, dim) returning D*(x) (n,) in [0, 1]; it raises ValueError for concrete non-finite x.

  Raises:
    ValueError: if the dims differ, or either distribution has no density.
  """
  logit = optimal_discriminator_logit(p, g)
  return lambda x: jax.nn.sigmoid(logit(x))


# --- integrands: (log p, log g) at x ↦ the terms of E_p[·] and E_g[·] -----------------------------------------

def _js_p(a: Array, b: Array) -> Array:
  # JSD = ½ KL(p‖m) + ½ KL(g‖m), m = (p + g)/2 (Lin 1991); log m by logaddexp.
  return 0.5 * (a - (jnp.logaddexp(a, b) - LOG2))


def _js_g(a: Array, b: Array) -> Array:
  return _js_p(b, a)


def _kl_p(a: Array, b: Array) -> Array:
  return _log_ratio(a, b)


def _v_p(a: Array, b: Array) -> Array:
  # V(D*, G) straight from D* = σ(logit): E_p log D* + E_g log(1 − D*) (Goodfellow et al. 2014, Eq. 1).
  return jax.nn.log_sigmoid(_log_ratio(a, b))


def _v_g(a: Array, b: Array) -> Array:
  return jax.nn.log_sigmoid(-_log_ratio(a, b))


def _weighted(log_density: Array, term: Array) -> Array:
  """density · term, 0 where the density is 0 (even if term is ±inf or NaN); grad-safe double where."""
  density = jnp.exp(log_density)
  positive = density > 0
  return jnp.where(positive, density * jnp.where(positive, term, 0.0), 0.0)


def _quadrature_grid(p: Distribution, g: Distribution) -> tuple[Array, Array]:
  """Nodes (m, 1) and weights (m,) of the composite Gauss–Legendre rule on the union of the two boxes."""
  lo_p, hi_p = p.bounds()
  lo_g, hi_g = g.bounds()
  edges = jnp.sort(jnp.stack([lo_p[0], hi_p[0], lo_g[0], hi_g[0]]))
  t = jnp.linspace(0.0, 1.0, QUADRATURE_PANELS + 1, dtype=edges.dtype)
  panels = edges[:-1, None] + (edges[1:] - edges[:-1])[:, None] * t  # (3, P + 1)
  half = 0.5 * (panels[:, 1:] - panels[:, :-1])
  mid = 0.5 * (panels[:, 1:] + panels[:, :-1])
  nodes = mid[..., None] + half[..., None] * jnp.asarray(_GL_X, edges.dtype)
  weights = half[..., None] * jnp.asarray(_GL_W, edges.dtype)
  return nodes.reshape(-1, 1), weights.reshape(-1)


def _integrate(values: Array, weights: Array) -> Array:
  # Sum per panel, then over panels: short float32 sums. Zero-width panels contribute 0 even at ±inf.
  terms = jnp.where(weights > 0, values * weights, 0.0).reshape(-1, QUADRATURE_NODES)
  return jnp.sum(jnp.sum(terms, axis=-1))


# jit: one compiled program per (distribution types, shapes, integrand), instead of dozens of eager ops.
@functools.partial(jax.jit, static_argnames=("term_p", "term_g"))
def _quadrature(p: Distribution, g: Distribution, term_p: Term, term_g: Term | None) -> Estimate:
  """∫ p·term_p(log p, log g) + g·term_g(log p, log g) dx over the union of the boxes (1-D)."""
  x, w = _quadrature_grid(p, g)
  a, b = p.log_prob(x), g.log_prob(x)
  return _deterministic(_integrate(_integrand(a, b, term_p, term_g), w), "quadrature")


def _integrand(a: Array, b: Array, term_p: Term, term_g: Term | None) -> Array:
  """p·term_p(log p, log g) + g·term_g(log p, log g) at the nodes, from a = log p and b = log g there."""
  values = _weighted(a, term_p(a, b))
  if term_g is not None:
    values = values + _weighted(b, term_g(a, b))
  return values


def _mean_and_se(values: Array) -> tuple[Array, Array]:
  n = values.shape[0]
  return jnp.mean(values), jnp.std(values, ddof=1) / math.sqrt(n)


@functools.partial(jax.jit, static_argnames=("term_p", "term_g", "num_samples"))
def _monte_carlo(p: Distribution, g: Distribution, term_p: Term, term_g: Term | None, key: Array,
                 num_samples: int) -> Estimate:
  """E_{x~p} term_p(log p, log g) + E_{x~g} term_g(log p, log g) with independent draws of each."""
  k_p, k_g = jax.random.split(key)
  x = p.sample(k_p, num_samples)
  value, se = _mean_and_se(term_p(p.log_prob(x), g.log_prob(x)))
  if term_g is not None:
    y = g.sample(k_g, num_samples)
    value_g, se_g = _mean_and_se(term_g(p.log_prob(y), g.log_prob(y)))
    value, se = value + value_g, jnp.sqrt(se**2 + se_g**2)
  # An infinite value (p puts mass where g has none) is certain; its spread is not a standard error.
  se = jnp.where(jnp.isfinite(value), se, 0.0)
  return Estimate(value=value, stderr=se, method="monte_carlo", num_samples=num_samples)


def _expectation(what: str, p: Distribution, g: Distribution, term_p: Term, term_g: Term | None,
                 key: Array | None, num_samples: int) -> Estimate:
  if p.dim == 1:
    return _quadrature(p, g, term_p, term_g)
  _check_key(key, what, p.dim)
  return _monte_carlo(p, g, term_p, term_g, key, num_samples)


# --- singular (analytic) cases -------------------------------------------------------------------------------

def _is_singular(d: Distribution) -> bool:
  return isinstance(d, _SINGULAR)


def _same_singular(p: Distribution, g: Distribution) -> Array:
  """Whether two distributions, at least one singular, are equal (False unless both are the same class)."""
  if type(p) is not type(g):
    # A singular measure and one with a density (or two different singular families) are mutually singular.
    return jnp.asarray(False)
  if isinstance(p, distributions.PointMass):
    return jnp.all(p.loc == g.loc, axis=-1)
  return p.theta == g.theta


def _analytic(p: Distribution, g: Distribution, if_equal: float, if_singular: float) -> Estimate:
  # Arjovsky & Bottou 2017: mutually singular measures have JS = log 2 and KL = +∞.
  return _deterministic(jnp.where(_same_singular(p, g), if_equal, if_singular), "analytic")


# --- exact divergences ---------------------------------------------------------------------------------------

def js(p: Distribution, g: Distribution, *, key: Array | None = None, num_samples: int = 100_000) -> Estimate:
  """The Jensen–Shannon divergence JSD(p‖g) = ½ KL(p‖m) + ½ KL(g‖m), m = (p + g)/2, in nats ∈ [0, log 2].

  Args:
    p: a distribution.
    g: a distribution of the same dim.
    key: PRNG key for the Monte Carlo estimate (d ≥ 2); ignored in 1-D and in analytic cases.
    num_samples: draws from each of p and g (d ≥ 2).

  Returns:
    An `Estimate`: 'quadrature' in 1-D, 'monte_carlo' in d ≥ 2, 'analytic' when p or g is singular.

  Raises:
    ValueError: for mismatched dims, num_samples < 2, or key=None where Monte Carlo is needed.
  """
  _check_pair(p, g)
  _check_num_samples(num_samples)
  if _is_singular(p) or _is_singular(g):
    return _analytic(p, g, 0.0, LOG2)
  return _expectation("js", p, g, _js_p, _js_g, key, num_samples)


def _gaussian_kl(p: distributions.Gaussian, g: distributions.Gaussian) -> Estimate:
  # KL(N(μ1, σ1²) ‖ N(μ2, σ2²)) = log(σ2/σ1) + (σ1² + (μ1 − μ2)²)/(2σ2²) − ½, summed over the diagonal.
  ratio = p.scale / g.scale
  z = (p.loc - g.loc) / g.scale
  per_axis = -jnp.log(ratio) + 0.5 * (ratio**2 + z**2) - 0.5
  return _deterministic(jnp.sum(per_axis, axis=-1), "closed_form")


def kl(p: Distribution, g: Distribution, *, key: Array | None = None, num_samples: int = 100_000) -> Estimate:
  """The Kullback–Leibler divergence KL(p‖g) = E_p[log p − log g] in nats; +inf where p has mass and g none.

  Args:
    p: a distribution.
    g: a distribution of the same dim.
    key: PRNG key for the Monte Carlo estimate (d ≥ 2); ignored otherwise.
    num_samples: draws from p (d ≥ 2).

  Returns:
    An `Estimate`: 'closed_form' for two Gaussians (any dim); 'analytic' when p or g is singular, or when p is a
    Gaussian (mixture), with full support, and g a Uniform (+inf); otherwise 'quadrature' (1-D) or
    'monte_carlo' (d ≥ 2). Quadrature sees only the union of the two boxes, so a support mismatch with less
    than ~1e-12 of p's mass can go unseen.

  Raises:
    ValueError: for mismatched dims, num_samples < 2, or key=None where Monte Carlo is needed.
  """
  _check_pair(p, g)
  _check_num_samples(num_samples)
  if _is_singular(p) or _is_singular(g):
    return _analytic(p, g, 0.0, math.inf)
  special = _kl_without_integral(p, g)
  if special is not None:
    return special
  return _expectation("kl", p, g, _kl_p, None, key, num_samples)


def _kl_without_integral(p: Distribution, g: Distribution) -> Estimate | None:
  """KL(p‖g) where no integral is needed: a Gaussian pair (closed form), full support against a box (+inf)."""
  if isinstance(p, distributions.Gaussian) and isinstance(g, distributions.Gaussian):
    return _gaussian_kl(p, g)
  if isinstance(p, _FULL_SUPPORT) and isinstance(g, distributions.Uniform):
    return _deterministic(math.inf, "analytic")
  return None


def value_at_optimum(p: Distribution, g: Distribution, *, key: Array | None = None,
                     num_samples: int = 100_000) -> Estimate:
  """V(D*, G) = E_p[log D*] + E_g[log(1 − D*)], evaluated from D* itself.

  Goodfellow et al. 2014, Thm. 1 says this equals −log 4 + 2·JSD(p‖g); it is computed here directly from
  D* = σ(log p − log g), not through that identity, so the theorem can be checked numerically.

  Args:
    p: the data distribution.
    g: the generator's distribution, same dim.
    key: PRNG key for the Monte Carlo estimate (d ≥ 2); ignored otherwise.
    num_samples: draws from each of p and g (d ≥ 2).

  Returns:
    An `Estimate` in [−log 4, 0]: 'quadrature' (1-D), 'monte_carlo' (d ≥ 2), or 'analytic' when p or g is
    singular (D* is 1 on p's support and 0 on g's, so V = 0, unless p = g, where V = −log 4).

  Raises:
    ValueError: for mismatched dims, num_samples < 2, or key=None where Monte Carlo is needed.
  """
  _check_pair(p, g)
  _check_num_samples(num_samples)
  if _is_singular(p) or _is_singular(g):
    return _analytic(p, g, -2.0 * LOG2, 0.0)
  return _expectation("value_at_optimum", p, g, _v_p, _v_g, key, num_samples)


def js_kl_and_value(p: Distribution, g: Distribution, *, key: Array | None = None,
                    num_samples: int = 100_000) -> dict[str, Estimate]:
  """JSD(p‖g), KL(p‖g), KL(g‖p) and V(D*, G) together: {'js', 'kl_pg', 'kl_gp', 'v_opt'}.

  Each equals its own function (`js`, `kl`, `kl` with the arguments swapped, `value_at_optimum`). In 1-D the four
  quadratures share one grid (that of (g, p) is that of (p, g): the box edges are sorted), so log p and log g
  are evaluated once instead of four times each; for a flow generator (an inverse by bisection per node) or a
  kernel density estimate (a sum over every kernel per node) that evaluation is most of the cost. Elsewhere each
  comes from its own function, with `key` split as `jax.random.split(key, 3)` for JS and the two KLs and
  `jax.random.fold_in(key, 7)` for V(D*, G).

  Raises:
    ValueError: as the four functions do.
  """
  _check_pair(p, g)
  _check_num_samples(num_samples)
  singular = _is_singular(p) or _is_singular(g)
  if p.dim != 1 or singular:
    if not singular:
      _check_key(key, "js_kl_and_value", p.dim)
    k_js, k_pg, k_gp = jax.random.split(key, 3) if key is not None else (None, None, None)
    k_v = jax.random.fold_in(key, 7) if key is not None else None
    return {"js": js(p, g, key=k_js, num_samples=num_samples),
            "kl_pg": kl(p, g, key=k_pg, num_samples=num_samples),
            "kl_gp": kl(g, p, key=k_gp, num_samples=num_samples),
            "v_opt": value_at_optimum(p, g, key=k_v, num_samples=num_samples)}
  out = _shared_quadrature(p, g)
  for name, (a, b) in (("kl_pg", (p, g)), ("kl_gp", (g, p))):
    special = _kl_without_integral(a, b)
    if special is not None:
      out[name] = special
  return out


@jax.jit
def _shared_quadrature(p: Distribution, g: Distribution) -> dict[str, Estimate]:
  x, w = _quadrature_grid(p, g)
  a, b = p.log_prob(x), g.log_prob(x)
  integral = lambda a, b, term_p, term_g: _deterministic(_integrate(_integrand(a, b, term_p, term_g), w), "quadrature")
  return {"js": integral(a, b, _js_p, _js_g), "kl_pg": integral(a, b, _kl_p, None),
          "kl_gp": integral(b, a, _kl_p, None), "v_opt": integral(a, b, _v_p, _v_g)}


def _assignment_cost(x: np.ndarray, y: np.ndarray) -> float:
  """Mean Euclidean cost of the optimal one-to-one matching of two equal-size samples."""
  # Imported here: scipy.optimize takes ~0.4 s to import, paid by every process that imports gan_jax otherwise.
  from scipy.optimize import linear_sum_assignment  # pylint: disable=g-import-not-at-top
  cost = np.sqrt(np.sum((x[:, None, :] - y[None, :, :]) ** 2, axis=-1))
  rows, cols = linear_sum_assignment(cost)
  return float(cost[rows, cols].mean())


def _w1_host(x: np.ndarray, y: np.ndarray) -> np.ndarray:
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  costs = [_assignment_cost(xb, yb) for xb, yb in zip(np.array_split(x, W1_BATCHES),
                                                        np.array_split(y, W1_BATCHES))]
  return np.asarray([np.mean(costs), np.std(costs, ddof=1) / math.sqrt(W1_BATCHES)], np.float32)


def w1(p: Distribution, g: Distribution, *, key: Array | None = None, num_samples: int = 2000) -> Estimate:
  """The Wasserstein-1 distance (Euclidean ground cost).

  1-D: W1 = ∫ |F_p(x) − F_g(x)| dx (Vallender 1973) by quadrature of the cdfs; exact to ~1e-6, jittable.
  Analytic: two point masses (‖a − b‖) and two `ParallelLines` (|θ − θ′|, Arjovsky et al. 2017, Example 1).
  d ≥ 2 otherwise: the optimal assignment (scipy.optimize.linear_sum_assignment) between `num_samples` draws
  from each, in `W1_BATCHES` independent batches; value = mean batch cost, stderr = their standard error. This
  runs on the host through `jax.pure_callback` (works under jit and vmap, one call per item, not
  differentiable, O((num_samples/4)³) time). The empirical W1 is biased upward (W1 is jointly convex, so
  E W1(P_n, Q_n) ≥ W1(P, Q)), by O(n^(−1/2)) up to logs in 2-D; stderr covers only the sampling noise.

  Args:
    p: a distribution.
    g: a distribution of the same dim.
    key: PRNG key for the sample-based estimate (d ≥ 2); ignored otherwise.
    num_samples: draws from each distribution (d ≥ 2), at least 2·W1_BATCHES.

  Returns:
    An `Estimate`: 'quadrature', 'analytic' or 'optimal_transport'.

  Raises:
    ValueError: for mismatched dims, num_samples < 2·W1_BATCHES, key=None where samples are needed, or a 1-D
      distribution without a cdf.
  """
  _check_pair(p, g)
  _check_num_samples(num_samples, 2 * W1_BATCHES)
  if isinstance(p, distributions.PointMass) and isinstance(g, distributions.PointMass):
    return _deterministic(jnp.linalg.norm(p.loc - g.loc, axis=-1), "analytic")
  if isinstance(p, distributions.ParallelLines) and isinstance(g, distributions.ParallelLines):
    return _deterministic(jnp.abs(p.theta - g.theta), "analytic")
  if p.dim == 1:
    for name, d in (("p", p), ("g", g)):
      if not hasattr(d, "cdf"):
        raise ValueError(f"w1 in 1-D needs a cdf, but {name} ({type(d).__name__}) has none")
    return _w1_quadrature(p, g)
  _check_key(key, "w1", p.dim)
  return _w1_transport(p, g, key, num_samples)


@jax.jit
def _w1_quadrature(p: Distribution, g: Distribution) -> Estimate:
  # Vallender 1973: in 1-D, W1 = ∫ |F_p − F_g| dx.
  x, w = _quadrature_grid(p, g)
  return _deterministic(_integrate(jnp.abs(p.cdf(x) - g.cdf(x)), w), "quadrature")


@functools.partial(jax.jit, static_argnames=("num_samples",))
def _w1_transport(p: Distribution, g: Distribution, key: Array, num_samples: int) -> Estimate:
  k_p, k_g = jax.random.split(key)
  return w1_from_samples(p.sample(k_p, num_samples), g.sample(k_g, num_samples))


def w1_from_samples(x: Array, y: Array) -> Estimate:
  """W1 between two equal-size samples (n, d) by optimal assignment in `W1_BATCHES` batches (see `w1`).

  Works for any generator, density or not; biased upward like every empirical W1.
  """
  if x.shape != y.shape or x.ndim != 2 or x.shape[0] < 2 * W1_BATCHES:
    raise ValueError(f"w1_from_samples needs two (n, d) samples of equal shape with n >= {2 * W1_BATCHES}; "
                     f"got {x.shape} and {y.shape}")
  out = jax.pure_callback(_w1_host, jax.ShapeDtypeStruct((2,), jnp.float32), x, y, vmap_method="sequential")
  return Estimate(value=out[0], stderr=out[1], method="optimal_transport", num_samples=x.shape[0])


# --- estimates from a discriminator's outputs ----------------------------------------------------------------

def value_from_logits(real_logits: ArrayLike, fake_logits: ArrayLike) -> Array:
  """The plug-in V(D, G) = mean log σ(l_real) + mean log(1 − σ(l_fake)) (Goodfellow et al. 2014, Eq. 1).

  An unbiased estimate of V(D, G) for the given D on held-out samples (on training samples it is biased up).

  Args:
    real_logits: discriminator logits on data samples, shape (n,).
    fake_logits: discriminator logits on generator samples, shape (m,).

  Returns:
    A scalar ≤ 0; its expectation is ≤ V(D*, G) = −log 4 + 2·JSD.

  Raises:
    ValueError: for shapes other than (n,) or (concrete) non-finite logits.
  """
  real_logits = _check_outputs("real_logits", real_logits)
  fake_logits = _check_outputs("fake_logits", fake_logits)
  return jnp.mean(jax.nn.log_sigmoid(real_logits)) + jnp.mean(jax.nn.log_sigmoid(-fake_logits))


def js_lower_bound(real_logits: ArrayLike, fake_logits: ArrayLike) -> Array:
  """The lower bound JSD ≥ log 2 + ½·V(D, G), valid for every D (Goodfellow et al. 2014, Thm. 1).

  Its expectation over held-out samples is a lower bound on JSD(p‖g); the value itself is a sample estimate of
  that bound (it can exceed JSD by sampling noise, and on training samples by overfitting).

  Args:
    real_logits: discriminator logits on data samples, shape (n,).
    fake_logits: discriminator logits on generator samples, shape (m,).

  Returns:
    A scalar, in nats.

  Raises:
    ValueError: for shapes other than (n,) or (concrete) non-finite logits.
  """
  return LOG2 + 0.5 * value_from_logits(real_logits, fake_logits)


def kl_pg_plugin(real_logits: ArrayLike) -> Array:
  """Plug-in KL(p‖g) ≈ mean(l_real): the density-ratio trick, logit D* = log p − log g.

  Not a bound: it equals KL(p‖g) in expectation only when D = D* (Nowozin et al. 2016; Sugiyama et al. 2012).
  Meaningful on held-out data samples.

  Args:
    real_logits: discriminator logits on data samples, shape (n,).

  Returns:
    A scalar, in nats.

  Raises:
    ValueError: for shapes other than (n,) or (concrete) non-finite logits.
  """
  return jnp.mean(_check_outputs("real_logits", real_logits))


def kl_gp_plugin(fake_logits: ArrayLike) -> Array:
  """Plug-in KL(g‖p) ≈ −mean(l_fake): the density-ratio trick on generator samples.

  Not a bound: exact in expectation only when D = D*. Meaningful on held-out generator samples.

  Args:
    fake_logits: discriminator logits on generator samples, shape (m,).

  Returns:
    A scalar, in nats.

  Raises:
    ValueError: for shapes other than (n,) or (concrete) non-finite logits.
  """
  return -jnp.mean(_check_outputs("fake_logits", fake_logits))


def tv_lower_bound(real_values: ArrayLike, fake_values: ArrayLike) -> Array:
  """The bound TV(p, g) ≥ ½(E_p f − E_g f) for any critic f with |f| ≤ 1, here f = clip(D, −1, 1).

  Total variation TV = ½∫|p − g| = sup_{|f| ≤ 1} ½(E_p f − E_g f), attained at f = sign(p − g): the minimiser of
  the hinge loss E_p max(0, 1 − D) + E_g max(0, 1 + D) (Lim & Ye 2017), whose optimal value is 2 − 2·TV. Its
  expectation over held-out samples is a lower bound on TV; the value itself is a sample estimate of it.

  Args:
    real_values: raw critic outputs on data samples, shape (n,).
    fake_values: raw critic outputs on generator samples, shape (m,).

  Returns:
    A scalar in [−1, 1].

  Raises:
    ValueError: for shapes other than (n,) or (concrete) non-finite outputs.
  """
  clipped = lambda v: jnp.clip(v, -1.0, 1.0)
  return 0.5 * (jnp.mean(clipped(_check_outputs("real_values", real_values)))
                - jnp.mean(clipped(_check_outputs("fake_values", fake_values))))


# Least-squares outputs are clipped to [ε, 1 − ε] before their log-odds are taken.
PROBABILITY_EPS = 1e-6


def logits_of_probabilities(values: ArrayLike) -> Array:
  """log(v / (1 − v)) of outputs read as probabilities, clipped to [ε, 1 − ε]: LSGAN's D* = p/(p + g) (targets
  a = 0, b = 1) is a probability, so its log-odds enter `js_lower_bound`, a bound for every D."""
  v = jnp.clip(_check_outputs("values", values), PROBABILITY_EPS, 1.0 - PROBABILITY_EPS)
  return jnp.log(v) - jnp.log1p(-v)


def f_lower_bound(name: str, real_outputs: ArrayLike, fake_outputs: ArrayLike) -> Array:
  """The f-GAN variational bound E_p[g_f(v)] − E_q[f*(g_f(v))] (Nowozin et al. 2016, Eq. 4 and 6).

  For every critic this lower-bounds D_f(p‖q) in expectation over held-out samples, with equality at
  g_f(v) = f′(p/q). Scales follow `gan_jax.f_divergences`: 'js' gives 2·JSD and 'gan' 2·JSD − log 4.

  Args:
    name: a row of `gan_jax.f_divergences.F_DIVERGENCES`.
    real_outputs: raw critic outputs v on data samples, shape (n,).
    fake_outputs: raw critic outputs v on generator samples, shape (m,).

  Returns:
    A scalar sample estimate of the bound.

  Raises:
    ValueError: for an unknown name, shapes other than (n,) or (concrete) non-finite outputs.
  """
  row = f_divergences.get_f_divergence(name)
  real_outputs = _check_outputs("real_outputs", real_outputs)
  fake_outputs = _check_outputs("fake_outputs", fake_outputs)
  return jnp.mean(row.activation(real_outputs)) - jnp.mean(row.conjugate(row.activation(fake_outputs)))
