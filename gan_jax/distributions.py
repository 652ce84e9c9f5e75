"""Target distributions with exact densities: the ground truth every divergence is measured against.

Every distribution is an immutable pytree whose parameters are its leaves, so it can be passed to jitted and
vmapped functions (e.g. a batch of Gaussians with stacked `loc`). They share a duck-typed protocol:

- `dim`: the data dimension, a Python int derived from the parameter shapes;
- `sample(key, n)`: n draws, shape (n, dim);
- `log_prob(x)`: the log density (n,) at x (n, dim), w.r.t. Lebesgue measure;
- `cdf(x)`: in 1-D only, the distribution function (n,) at x (n, 1);
- `bounds()`: (lo, hi), each (dim,), a box holding all but ~1e-12 of the mass (quadrature ranges).

`PointMass` and `ParallelLines` are singular (no density): they have `sample` and `bounds` (and a `cdf` for a 1-D
point mass), and `divergences.py` treats them analytically.

Parameters are validated when an instance is built from concrete values: bad values raise `ValueError` eagerly,
before any compilation. Values that are JAX tracers (an instance built inside `jit`/`vmap`) are only checked for
shape. Unflattening (what JAX does with in_axes trees, stacked batches and jit outputs) bypasses the constructor,
so it neither converts nor validates leaves.
"""
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr

Array = jax.Array
ArrayLike = Any

# Half-width of a Gaussian's box in standard deviations: 2·Φ(−8) ≈ 1.2e-15 of the mass lies outside (per axis).
GAUSSIAN_BOUND = 8.0
_HALF_LOG_2PI = 0.5 * float(np.log(2.0 * np.pi))


def _pytree(*fields: str) -> Callable[[type], type]:
  """Registers a class as a pytree with `fields` as children; unflatten skips `__init__` (no validation)."""

  def register(cls: type) -> type:

    def flatten_with_keys(obj: Any) -> tuple[tuple[tuple[Any, Any], ...], None]:
      return tuple((jax.tree_util.GetAttrKey(f), getattr(obj, f)) for f in fields), None

    def flatten(obj: Any) -> tuple[tuple[Any, ...], None]:
      return tuple(getattr(obj, f) for f in fields), None

    def unflatten(_: None, children: Any) -> Any:
      # object.__new__: JAX unflattens with non-array leaves (None, ints, sentinels); they must pass untouched.
      obj = object.__new__(cls)
      for f, child in zip(fields, children):
        object.__setattr__(obj, f, child)
      return obj

    jax.tree_util.register_pytree_with_keys(cls, flatten_with_keys, unflatten, flatten)
    cls._fields = fields
    return cls

  return register


class _Frozen:
  """Immutable attribute holder with a readable repr."""

  _fields: tuple[str, ...] = ()

  def __setattr__(self, name: str, value: Any) -> None:
    raise AttributeError(f"{type(self).__name__} is immutable; cannot set {name!r}")

  def _set(self, **values: Any) -> None:
    for name, value in values.items():
      object.__setattr__(self, name, value)

  def __repr__(self) -> str:
    args = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
    return f"{type(self).__name__}({args})"


def _is_tracer(value: Any) -> bool:
  return isinstance(value, jax.core.Tracer)


def _short(value: Any) -> str:
  """A compact rendering of a received value for error messages."""
  if _is_tracer(value):
    return repr(value)
  try:
    return np.array2string(np.asarray(value), threshold=8, precision=6)
  except (TypeError, ValueError):
    return repr(value)


def _as_float(owner: str, name: str, value: ArrayLike, *, positive: bool = False) -> Array:
  """Converts a parameter to a float array; for concrete values checks it is finite (and > 0 if asked)."""
  if not _is_tracer(value):
    try:
      concrete = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
      raise ValueError(f"{owner}: {name} must be a real array, got {value!r}") from e
    if not np.all(np.isfinite(concrete)):
      raise ValueError(f"{owner}: {name} must be finite, got {_short(concrete)}")
    if positive and not np.all(concrete > 0):
      raise ValueError(f"{owner}: {name} must be > 0 everywhere, got {_short(concrete)}")
  return jnp.asarray(value, dtype=jnp.result_type(float))


def _check_ndim(owner: str, name: str, value: Array, allowed: tuple[int, ...]) -> None:
  if value.ndim not in allowed:
    shapes = " or ".join({0: "a scalar", 1: "shape (d,)", 2: "shape (k, d)"}[n] for n in allowed)
    raise ValueError(f"{owner}: {name} must be {shapes}, got shape {value.shape}")


def _check_n(n: Any) -> None:
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
    raise ValueError(f"n must be a positive Python int (the static sample count), got {n!r}")


def _check_x(x: ArrayLike, dim: int) -> Array:
  x = jnp.asarray(x)
  if x.ndim != 2 or x.shape[1] != dim:
    raise ValueError(f"x must have shape (n, {dim}), got shape {x.shape}")
  return x


def _require_1d(owner: str, dim: int) -> None:
  if dim != 1:
    raise ValueError(f"{owner}.cdf is defined only for dim = 1, got dim = {dim}")


@_pytree("loc", "scale")
class Gaussian(_Frozen):
  """A Gaussian with diagonal covariance, N(loc, diag(scale²)).

  Attributes:
    loc: mean, shape (dim,).
    scale: standard deviations, shape (dim,), > 0.
  """

  loc: Array
  scale: Array

  def __init__(self, loc: ArrayLike, scale: ArrayLike):
    """Builds N(loc, diag(scale²)).

    Args:
      loc: a scalar (dim 1) or shape (d,).
      scale: a scalar or shape (d,); broadcast against loc; > 0.

    Raises:
      ValueError: if a parameter is not finite, scale ≤ 0, a parameter has more than one axis, or the shapes
        of loc and scale do not broadcast.
    """
    loc = _as_float("Gaussian", "loc", loc)
    scale = _as_float("Gaussian", "scale", scale, positive=True)
    _check_ndim("Gaussian", "loc", loc, (0, 1))
    _check_ndim("Gaussian", "scale", scale, (0, 1))
    if loc.ndim == 1 and scale.ndim == 1 and loc.shape != scale.shape:
      raise ValueError(f"Gaussian: loc and scale must have the same shape, got {loc.shape} and {scale.shape}")
    shape = jnp.broadcast_shapes(jnp.shape(loc), jnp.shape(scale), (1,))
    self._set(loc=jnp.broadcast_to(loc, shape), scale=jnp.broadcast_to(scale, shape))

  @property
  def dim(self) -> int:
    """Data dimension."""
    return self.loc.shape[-1]

  def sample(self, key: Array, n: int) -> Array:
    """n draws, shape (n, dim)."""
    _check_n(n)
    return self.loc + self.scale * jax.random.normal(key, (n, self.dim), self.loc.dtype)

  def log_prob(self, x: ArrayLike) -> Array:
    """Log density (n,) at x (n, dim)."""
    x = _check_x(x, self.dim)
    z = (x - self.loc) / self.scale
    return jnp.sum(-0.5 * z**2 - jnp.log(self.scale) - _HALF_LOG_2PI, axis=-1)

  def cdf(self, x: ArrayLike) -> Array:
    """Distribution function (n,) at x (n, 1); dim = 1 only."""
    _require_1d("Gaussian", self.dim)
    x = _check_x(x, 1)
    return ndtr((x[:, 0] - self.loc[0]) / self.scale[0])

  def bounds(self) -> tuple[Array, Array]:
    """loc ± 8·scale: all but ~1.2e-15 of the mass per axis."""
    return self.loc - GAUSSIAN_BOUND * self.scale, self.loc + GAUSSIAN_BOUND * self.scale


@_pytree("locs", "scales", "weights")
class GaussianMixture(_Frozen):
  """A finite mixture of diagonal Gaussians, Σₖ wₖ N(locsₖ, diag(scalesₖ²)).

  Attributes:
    locs: component means, shape (k, dim); what mode-coverage metrics read.
    scales: component standard deviations, shape (k, dim), > 0.
    weights: mixing weights, shape (k,), ≥ 0, summing to 1.
  """

  locs: Array
  scales: Array
  weights: Array

  def __init__(self, locs: ArrayLike, scales: ArrayLike, weights: ArrayLike):
    """Builds the mixture.

    Args:
      locs: shape (k, d).
      scales: shape (k, d), or (k,) for one isotropic scale per component; > 0.
      weights: shape (k,); ≥ 0 and summing to 1 within 1e-6.

    Raises:
      ValueError: for non-finite parameters, scales ≤ 0, negative weights, weights not summing to 1, or
        shapes that do not match.
    """
    owner = "GaussianMixture"
    raw_weights = weights
    locs = _as_float(owner, "locs", locs)
    scales = _as_float(owner, "scales", scales, positive=True)
    weights = _as_float(owner, "weights", weights)
    _check_ndim(owner, "locs", locs, (2,))
    k, d = locs.shape
    if k < 1 or d < 1:
      raise ValueError(f"{owner}: locs must have shape (k, d) with k, d >= 1, got {locs.shape}")
    if scales.shape == (k,):
      scales = jnp.broadcast_to(scales[:, None], (k, d))
    if scales.shape != (k, d):
      raise ValueError(f"{owner}: scales must have shape ({k}, {d}) or ({k},) to match locs {locs.shape}, "
                       f"got {scales.shape}")
    if weights.shape != (k,):
      raise ValueError(f"{owner}: weights must have shape ({k},) to match locs {locs.shape}, got {weights.shape}")
    if not _is_tracer(raw_weights):
      # Checked on the caller's values (often float64), before the float32 cast.
      w = np.asarray(raw_weights, dtype=np.float64)
      if np.any(w < 0):
        raise ValueError(f"{owner}: weights must be >= 0, got {_short(w)}")
      if abs(float(np.sum(w)) - 1.0) > 1e-6:
        raise ValueError(f"{owner}: weights must sum to 1 (within 1e-6), got sum {float(np.sum(w))!r} "
                         f"for weights {_short(w)}")
    self._set(locs=locs, scales=scales, weights=weights)

  @property
  def dim(self) -> int:
    """Data dimension."""
    return self.locs.shape[-1]

  def sample(self, key: Array, n: int) -> Array:
    """n draws, shape (n, dim)."""
    _check_n(n)
    k_comp, k_noise = jax.random.split(key)
    comp = jax.random.categorical(k_comp, jnp.log(self.weights), shape=(n,))
    noise = jax.random.normal(k_noise, (n, self.dim), self.locs.dtype)
    return self.locs[comp] + self.scales[comp] * noise

  def _component_log_probs(self, x: Array) -> Array:
    z = (x[:, None, :] - self.locs) / self.scales
    return jnp.sum(-0.5 * z**2 - jnp.log(self.scales) - _HALF_LOG_2PI, axis=-1)

  def log_prob(self, x: ArrayLike) -> Array:
    """Log density (n,) at x (n, dim), by logsumexp over components (no underflow far from every mode)."""
    x = _check_x(x, self.dim)
    return jax.nn.logsumexp(self._component_log_probs(x), axis=-1, b=self.weights)

  def cdf(self, x: ArrayLike) -> Array:
    """Distribution function (n,) at x (n, 1); dim = 1 only."""
    _require_1d("GaussianMixture", self.dim)
    x = _check_x(x, 1)
    return jnp.sum(self.weights * ndtr((x - self.locs[:, 0]) / self.scales[:, 0]), axis=-1)

  def bounds(self) -> tuple[Array, Array]:
    """The box holding every component's loc ± 8·scale."""
    lo = jnp.min(self.locs - GAUSSIAN_BOUND * self.scales, axis=-2)
    hi = jnp.max(self.locs + GAUSSIAN_BOUND * self.scales, axis=-2)
    return lo, hi


@_pytree("low", "high")
class Uniform(_Frozen):
  """The uniform distribution on the box [low, high] (product of intervals).

  Attributes:
    low: lower corner, shape (dim,).
    high: upper corner, shape (dim,), > low.
  """

  low: Array
  high: Array

  def __init__(self, low: ArrayLike, high: ArrayLike):
    """Builds U[low, high].

    Args:
      low: a scalar (dim 1) or shape (d,).
      high: same shape as low (scalars broadcast), with high > low.

    Raises:
      ValueError: for non-finite bounds, high ≤ low, or mismatched shapes.
    """
    low = _as_float("Uniform", "low", low)
    high = _as_float("Uniform", "high", high)
    _check_ndim("Uniform", "low", low, (0, 1))
    _check_ndim("Uniform", "high", high, (0, 1))
    if low.ndim == 1 and high.ndim == 1 and low.shape != high.shape:
      raise ValueError(f"Uniform: low and high must have the same shape, got {low.shape} and {high.shape}")
    shape = jnp.broadcast_shapes(low.shape, high.shape, (1,))
    low, high = jnp.broadcast_to(low, shape), jnp.broadcast_to(high, shape)
    if not (_is_tracer(low) or _is_tracer(high)) and not np.all(np.asarray(high) > np.asarray(low)):
      raise ValueError(f"Uniform: high must be > low everywhere, got low={_short(low)}, high={_short(high)}")
    self._set(low=low, high=high)

  @property
  def dim(self) -> int:
    """Data dimension."""
    return self.low.shape[-1]

  def sample(self, key: Array, n: int) -> Array:
    """n draws, shape (n, dim)."""
    _check_n(n)
    return self.low + (self.high - self.low) * jax.random.uniform(key, (n, self.dim), self.low.dtype)

  def log_prob(self, x: ArrayLike) -> Array:
    """Log density (n,) at x (n, dim): −log volume inside the closed box, −inf outside."""
    x = _check_x(x, self.dim)
    inside = jnp.all((x >= self.low) & (x <= self.high), axis=-1)
    return jnp.where(inside, -jnp.sum(jnp.log(self.high - self.low), axis=-1), -jnp.inf)

  def cdf(self, x: ArrayLike) -> Array:
    """Distribution function (n,) at x (n, 1); dim = 1 only."""
    _require_1d("Uniform", self.dim)
    x = _check_x(x, 1)
    return jnp.clip((x[:, 0] - self.low[0]) / (self.high[0] - self.low[0]), 0.0, 1.0)

  def bounds(self) -> tuple[Array, Array]:
    """The support, exactly: (low, high)."""
    return self.low, self.high


@_pytree("loc")
class PointMass(_Frozen):
  """The Dirac measure at loc (the data of Mescheder et al. 2018's Dirac-GAN). Singular: no density.

  Attributes:
    loc: the atom, shape (dim,).
  """

  loc: Array

  def __init__(self, loc: ArrayLike):
    """Builds δ_loc.

    Args:
      loc: a scalar (dim 1) or shape (d,).

    Raises:
      ValueError: if loc is not finite or has more than one axis.
    """
    loc = _as_float("PointMass", "loc", loc)
    _check_ndim("PointMass", "loc", loc, (0, 1))
    self._set(loc=jnp.broadcast_to(loc, jnp.broadcast_shapes(loc.shape, (1,))))

  @property
  def dim(self) -> int:
    """Data dimension."""
    return self.loc.shape[-1]

  def sample(self, key: Array, n: int) -> Array:
    """n copies of loc, shape (n, dim); `key` is unused."""
    del key
    _check_n(n)
    return jnp.broadcast_to(self.loc, (n, self.dim))

  def log_prob(self, x: ArrayLike) -> Array:
    """Always raises: a point mass has no density w.r.t. Lebesgue measure.

    Raises:
      ValueError: always.
    """
    raise ValueError("PointMass has no density (log_prob is undefined); divergences.py treats it analytically")

  def cdf(self, x: ArrayLike) -> Array:
    """Distribution function (n,) at x (n, 1): the step 1[x ≥ loc]; dim = 1 only."""
    _require_1d("PointMass", self.dim)
    x = _check_x(x, 1)
    return (x[:, 0] >= self.loc[0]).astype(self.loc.dtype)

  def bounds(self) -> tuple[Array, Array]:
    """The support, exactly: (loc, loc)."""
    return self.loc, self.loc


@_pytree("theta")
class ParallelLines(_Frozen):
  """The segment {θ} × [0, 1] with Z ~ U[0, 1] on it: Arjovsky et al. 2017, Example 1 / Fig. 1.

  With P₀ = ParallelLines(0) and P_θ = ParallelLines(θ): W1 = |θ|, JS = log 2 and KL = +∞ for θ ≠ 0. Singular in
  2-D: no density.

  Attributes:
    theta: the horizontal offset, a scalar array.
  """

  theta: Array

  def __init__(self, theta: ArrayLike):
    """Builds P_θ.

    Args:
      theta: a finite scalar.

    Raises:
      ValueError: if theta is not a finite scalar.
    """
    theta = _as_float("ParallelLines", "theta", theta)
    _check_ndim("ParallelLines", "theta", theta, (0,))
    self._set(theta=theta)

  @property
  def dim(self) -> int:
    """Data dimension: always 2."""
    return 2

  def sample(self, key: Array, n: int) -> Array:
    """n draws (θ, Z), Z ~ U[0, 1], shape (n, 2)."""
    _check_n(n)
    z = jax.random.uniform(key, (n,), self.theta.dtype)
    return jnp.stack([jnp.broadcast_to(self.theta, (n,)), z], axis=-1)

  def log_prob(self, x: ArrayLike) -> Array:
    """Always raises: the segment has no density in 2-D.

    Raises:
      ValueError: always.
    """
    raise ValueError("ParallelLines has no density in 2-D (log_prob is undefined); "
                     "divergences.py treats it analytically")

  def bounds(self) -> tuple[Array, Array]:
    """The support, exactly: ([θ, 0], [θ, 1])."""
    zero, one = jnp.zeros_like(self.theta), jnp.ones_like(self.theta)
    return jnp.stack([self.theta, zero], axis=-1), jnp.stack([self.theta, one], axis=-1)


def _check_positive_int(name: str, value: Any) -> None:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
    raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_positive_float(name: str, value: Any) -> None:
  if not (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
          and np.isfinite(value) and value > 0):
    raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def ring(n_modes: int = 8, radius: float = 1.0, scale: float = 0.01) -> GaussianMixture:
  """Equal-weight isotropic Gaussians on a circle: the PacGAN / VEEGAN 2-D ring.

  Defaults follow Lin et al. 2018 (PacGAN) and Srivastava et al. 2017 (VEEGAN): 8 modes on the unit circle,
  σ = 0.01.

  Args:
    n_modes: number of modes, placed at angles 2πk/n_modes.
    radius: circle radius, > 0.
    scale: per-axis standard deviation of each mode, > 0.

  Returns:
    A 2-D `GaussianMixture` with `n_modes` components.

  Raises:
    ValueError: for a non-positive n_modes, radius or scale.
  """
  _check_positive_int("n_modes", n_modes)
  _check_positive_float("radius", radius)
  _check_positive_float("scale", scale)
  angles = 2.0 * np.pi * np.arange(n_modes) / n_modes
  locs = radius * np.stack([np.cos(angles), np.sin(angles)], axis=-1)
  return GaussianMixture(locs, np.full((n_modes, 2), scale), np.full(n_modes, 1.0 / n_modes))


def grid(n: int = 5, spacing: float = 2.0, scale: float = 0.05) -> GaussianMixture:
  """Equal-weight isotropic Gaussians on an n × n grid centred at 0: the PacGAN / VEEGAN 2-D grid.

  Defaults follow Lin et al. 2018 (PacGAN) and Srivastava et al. 2017 (VEEGAN): 25 modes with means in
  {−4, −2, 0, 2, 4}², σ = 0.05.

  Args:
    n: modes per axis.
    spacing: distance between neighbouring means, > 0.
    scale: per-axis standard deviation of each mode, > 0.

  Returns:
    A 2-D `GaussianMixture` with n² components.

  Raises:
    ValueError: for a non-positive n, spacing or scale.
  """
  _check_positive_int("n", n)
  _check_positive_float("spacing", spacing)
  _check_positive_float("scale", scale)
  axis = spacing * (np.arange(n) - (n - 1) / 2.0)
  xx, yy = np.meshgrid(axis, axis, indexing="ij")
  locs = np.stack([xx.ravel(), yy.ravel()], axis=-1)
  return GaussianMixture(locs, np.full((n * n, 2), scale), np.full(n * n, 1.0 / (n * n)))
