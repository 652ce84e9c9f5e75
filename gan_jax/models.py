"""Generators and discriminators for low-dimensional GAN experiments, as pure Flax Linen modules.

Two kinds of generator map a latent z ~ N(0, I) to a sample x:

* `MLPGenerator`: an unconstrained network; its density has no closed form.
* Invertible generators (`AffineGenerator`, `MonotoneFlow1D`, `RealNVP`): latent size = data size, and besides the
  differentiable forward map `__call__(z)` they expose the exact density of their own distribution by the change of
  variables, log g(x) = log N(h⁻¹(x); 0, I) − log|det ∂h/∂z (h⁻¹(x))|, through methods called as
  `module.apply(params, x, method="log_prob")` (also `inverse`, `bounds`, and in 1-D `cdf`).

`GeneratorDistribution` wraps an invertible generator and its parameters in the distribution protocol of
`gan_jax/distributions.py` (`dim`, `sample`, `log_prob`, `cdf`, `bounds`), so exact divergences between the target
and the generator can be computed during training. Its parameters are pytree leaves and its module is static, so it
can be passed through `jax.jit` and `jax.vmap` (e.g. over seeds).

Discriminators return raw outputs of shape (n,): logits for GAN losses, critic values for WGAN, or the input of an
f-GAN output activation.
"""
import dataclasses
import functools
from typing import Any, Callable

from flax import linen as nn
from flax import struct
import jax
import jax.numpy as jnp
import numpy as np
import scipy.special

Array = jax.Array

# A standard normal puts only 2Φ(−8.5) ≈ 2e-17 of its mass outside [−8.5, 8.5], so the image of that latent
# interval under a monotone map holds all but ~2e-17 of the generator's mass (per coordinate).
LATENT_BOUND = 8.5

# Bisection starts from a bracket of width 2Σc/a (see MonotoneFlow1D) and halves it each step: 60 steps shrink
# it by 2⁻⁶⁰ ≈ 1e-18, below float32 resolution of z whenever Σc/a < ~1e11.
_BISECTION_STEPS = 60

ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "relu": nn.relu,
    "leaky_relu": lambda x: nn.leaky_relu(x, negative_slope=0.2),
    "tanh": jnp.tanh,
    "elu": nn.elu,
    "gelu": nn.gelu,
    "softplus": nn.softplus,
}


def _check_activation(activation: str) -> None:
  if activation not in ACTIVATIONS:
    raise ValueError(
        f"unknown activation {activation!r}; valid activations: {', '.join(sorted(ACTIVATIONS))}")


def _check_positive(**sizes: Any) -> None:
  for name, value in sizes.items():
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
      raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_batch(x: Any, dim: int, what: str) -> None:
  shape = jnp.shape(x)
  if len(shape) != 2 or shape[1] != dim:
    raise ValueError(f"{what} must have shape (n, {dim}), got shape {tuple(shape)}")


def _softplus_inverse(y: float) -> float:
  # log(e^y − 1): the raw parameter whose softplus is y.
  return float(np.log(np.expm1(y)))


def _std_normal_log_prob(z: Array) -> Array:
  """Sum over the last axis of log N(z_i; 0, 1)."""
  return jnp.sum(jax.scipy.stats.norm.logpdf(z), axis=-1)


class _MLP(nn.Module):
  """`depth` hidden Dense layers of `features` units, then a linear Dense(`out`)."""
  out: int
  features: int
  depth: int
  activation: str
  kernel_init_last: Callable[..., Array] = nn.linear.default_kernel_init

  @nn.compact
  def __call__(self, x: Array) -> Array:
    act = ACTIVATIONS[self.activation]
    for _ in range(self.depth):
      x = act(nn.Dense(self.features)(x))
    return nn.Dense(self.out, kernel_init=self.kernel_init_last)(x)


class MLPGenerator(nn.Module):
  """An MLP generator z (n, latent_dim) -> x (n, out_dim) with a linear output layer.

  Attributes:
    out_dim: data dimension.
    features: width of each hidden layer.
    depth: number of hidden layers.
    activation: hidden activation name, one of `ACTIVATIONS`.
    latent_dim: latent size it expects. Defaults to 2: enough noise to bend into the 1-D and 2-D toy targets (a
      1-D latent cannot cover a 2-D target) while keeping the latent box small; set it explicitly to match papers.
  """
  out_dim: int
  features: int = 128
  depth: int = 2
  activation: str = "relu"
  latent_dim: int = 2

  def __post_init__(self) -> None:
    _check_positive(out_dim=self.out_dim, features=self.features, depth=self.depth, latent_dim=self.latent_dim)
    _check_activation(self.activation)
    super().__post_init__()

  @nn.compact
  def __call__(self, z: Array) -> Array:
    """Maps latents z (n, latent_dim) to samples (n, out_dim)."""
    _check_batch(z, self.latent_dim, "z")
    return _MLP(self.out_dim, self.features, self.depth, self.activation)(z)


class MLPDiscriminator(nn.Module):
  """An MLP discriminator x (n, d) -> raw outputs (n,) (logits or critic values).

  Attributes:
    features: width of each hidden layer.
    depth: number of hidden layers.
    activation: hidden activation name, one of `ACTIVATIONS`.
  """
  features: int = 128
  depth: int = 2
  activation: str = "leaky_relu"

  def __post_init__(self) -> None:
    _check_positive(features=self.features, depth=self.depth)
    _check_activation(self.activation)
    super().__post_init__()

  @nn.compact
  def __call__(self, x: Array) -> Array:
    """Returns the raw outputs (n,) for inputs x (n, d)."""
    if jnp.ndim(x) != 2:
      raise ValueError(f"x must have shape (n, d), got shape {tuple(jnp.shape(x))}")
    return _MLP(1, self.features, self.depth, self.activation)(x)[:, 0]


class LinearDiscriminator(nn.Module):
  """The Dirac-GAN discriminator D(x) = ψ·x with no bias (Mescheder et al. 2018, Sec. 2.2)."""

  @nn.compact
  def __call__(self, x: Array) -> Array:
    """Returns ψ·x (n,) for inputs x (n, d)."""
    if jnp.ndim(x) != 2:
      raise ValueError(f"x must have shape (n, d), got shape {tuple(jnp.shape(x))}")
    return nn.Dense(1, use_bias=False)(x)[:, 0]


class AffineGenerator(nn.Module):
  """A diagonal Gaussian generator x = loc + exp(log_scale) ⊙ z; starts at N(0, I).

  Attributes:
    dim: data (and latent) dimension.
  """
  dim: int

  def __post_init__(self) -> None:
    _check_positive(dim=self.dim)
    super().__post_init__()

  def setup(self) -> None:
    self.loc = self.param("loc", nn.initializers.zeros, (self.dim,))
    self.log_scale = self.param("log_scale", nn.initializers.zeros, (self.dim,))

  def __call__(self, z: Array) -> Array:
    """Maps latents z (n, dim) to samples (n, dim)."""
    _check_batch(z, self.dim, "z")
    return self.loc + jnp.exp(self.log_scale) * z

  def inverse(self, x: Array) -> Array:
    """The latent z (n, dim) that generates x (n, dim)."""
    _check_batch(x, self.dim, "x")
    return (x - self.loc) * jnp.exp(-self.log_scale)

  def log_prob(self, x: Array) -> Array:
    """Exact log density (n,) of the generator's distribution at x (n, dim)."""
    return _std_normal_log_prob(self.inverse(x)) - jnp.sum(self.log_scale)

  def cdf(self, x: Array) -> Array:
    """CDF (n,) at x (n, 1); only for dim = 1."""
    _require_1d(self.dim, "cdf")
    return jax.scipy.stats.norm.cdf(self.inverse(x)[:, 0])

  def bounds(self) -> tuple[Array, Array]:
    """Per-coordinate (lo, hi), each (dim,), holding all but ~2e-17 of the mass per coordinate."""
    scale = jnp.exp(self.log_scale)
    return self.loc - LATENT_BOUND * scale, self.loc + LATENT_BOUND * scale


def _require_1d(dim: int, method: str) -> None:
  if dim != 1:
    raise ValueError(f"{method} is defined only for dim = 1, got dim = {dim}")


class MonotoneFlow1D(nn.Module):
  """A strictly increasing map of ℝ onto ℝ: h(z) = a·z + b + Σᵢ cᵢ·tanh(wᵢ·z + dᵢ), with a, cᵢ, wᵢ > 0.

  Positivity (by softplus) makes h′ ≥ a > 0, and h(z) → ±∞, so h is a bijection and g = h#N(0, 1) has
  log g(x) = log N(h⁻¹(x)) − log h′(h⁻¹(x)). Each tanh unit adds a steep step of height 2cᵢ at z = −dᵢ/wᵢ, so a
  small a and a few steep units move latent mass into separate modes (a bimodal mixture needs one step).

  The forward pass is explicit (cheap to train through). h⁻¹ uses bisection on the bracket
  [(x − b − Σc)/a, (x − b + Σc)/a] (h lies within Σc of the line a·z + b) for a fixed number of steps
  (jittable and vmappable), with the implicit-function derivative attached, so log_prob and cdf are also
  differentiable in x and in the parameters (training itself only needs the explicit forward pass).

  Attributes:
    num_units: number K of tanh units.
  """
  num_units: int = 16

  def __post_init__(self) -> None:
    _check_positive(num_units=self.num_units)
    super().__post_init__()

  @property
  def dim(self) -> int:
    """Data (and latent) dimension: always 1."""
    return 1

  def setup(self) -> None:
    k = self.num_units
    # Identity-ish at init: slope 1/2 in the tails plus units of total height 2·Σc = 2 spread over [−2, 2],
    # so h′ ≈ 1 near the origin; the jitter on d makes seeds differ.
    self.raw_a = self.param("raw_a", nn.initializers.constant(_softplus_inverse(0.5)), ())
    self.b = self.param("b", nn.initializers.zeros, ())
    self.raw_c = self.param("raw_c", nn.initializers.constant(_softplus_inverse(1.0 / k)), (k,))
    self.raw_w = self.param("raw_w", nn.initializers.constant(_softplus_inverse(1.0)), (k,))
    self.d = self.param(
        "d", lambda key, shape: jnp.linspace(-2.0, 2.0, k) + 0.1 * jax.random.normal(key, shape), (k,))

  def _coefficients(self) -> tuple[Array, Array, Array]:
    return nn.softplus(self.raw_a), nn.softplus(self.raw_c), nn.softplus(self.raw_w)

  def _forward(self, z: Array) -> Array:
    """h(z) elementwise for z of any shape."""
    a, c, w = self._coefficients()
    return a * z + self.b + jnp.sum(c * jnp.tanh(w * z[..., None] + self.d), axis=-1)

  def _log_derivative(self, z: Array) -> Array:
    """log h′(z) elementwise."""
    a, c, w = self._coefficients()
    u = jnp.abs(w * z[..., None] + self.d)
    # sech²(u) = 4e^{−2|u|}/(1 + e^{−2|u|})², stable where 1 − tanh² would cancel.
    e = jnp.exp(-2.0 * u)
    sech2 = 4.0 * e / (1.0 + e) ** 2
    return jnp.log(a + jnp.sum(c * w * sech2, axis=-1))

  def _inverse(self, x: Array) -> Array:
    """h⁻¹(x) elementwise."""
    a, c, _ = self._coefficients()
    x_const = jax.lax.stop_gradient(x)
    spread = jax.lax.stop_gradient(jnp.sum(c))
    a_const = jax.lax.stop_gradient(a)
    b_const = jax.lax.stop_gradient(self.b)
    lo = (x_const - b_const - spread) / a_const
    hi = (x_const - b_const + spread) / a_const

    def bisect(_, bracket):
      lo, hi = bracket
      mid = 0.5 * (lo + hi)
      below = jax.lax.stop_gradient(self._forward(mid)) < x_const
      return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

    lo, hi = jax.lax.fori_loop(0, _BISECTION_STEPS, bisect, (lo, hi))
    z0 = jax.lax.stop_gradient(0.5 * (lo + hi))
    # Value z0; derivative that of a Newton step at the root, i.e. the implicit-function one,
    # ∂z/∂θ = −(∂h/∂θ)/h′, ∂z/∂x = 1/h′. (The step's value is dropped: where h′ is tiny it would only
    # amplify float32 rounding in the residual.)
    slope = jax.lax.stop_gradient(jnp.exp(self._log_derivative(z0)))
    step = (self._forward(z0) - x) / slope
    return z0 - (step - jax.lax.stop_gradient(step))

  def __call__(self, z: Array) -> Array:
    """Maps latents z (n, 1) to samples (n, 1)."""
    _check_batch(z, 1, "z")
    return self._forward(z)

  def inverse(self, x: Array) -> Array:
    """The latent z (n, 1) that generates x (n, 1)."""
    _check_batch(x, 1, "x")
    return self._inverse(x)

  def log_prob(self, x: Array) -> Array:
    """Exact log density (n,) of the generator's distribution at x (n, 1)."""
    z = self.inverse(x)[:, 0]
    return jax.scipy.stats.norm.logpdf(z) - self._log_derivative(z)

  def cdf(self, x: Array) -> Array:
    """CDF (n,) at x (n, 1): Φ(h⁻¹(x))."""
    return jax.scipy.stats.norm.cdf(self.inverse(x)[:, 0])

  def bounds(self) -> tuple[Array, Array]:
    """(h(−8.5), h(8.5)), each (1,): all but ~2e-17 of the mass lies between them."""
    ends = self._forward(jnp.array([-LATENT_BOUND, LATENT_BOUND]))
    return ends[:1], ends[1:]


class _Conditioner(nn.Module):
  """The (s, t) network of one affine coupling; s = scale ⊙ tanh(·) keeps early training stable."""
  dim: int
  features: int

  @nn.compact
  def __call__(self, x: Array) -> tuple[Array, Array]:
    # Zero last layer: every coupling starts as the identity (Kingma & Dhariwal 2018, Sec. 3.3).
    out = _MLP(2 * self.dim, self.features, 2, "relu", kernel_init_last=nn.initializers.zeros)(x)
    scale = self.param("scale", nn.initializers.ones, (self.dim,))
    return scale * jnp.tanh(out[..., :self.dim]), out[..., self.dim:]


def _coupling_masks(dim: int, num_layers: int) -> np.ndarray:
  """(num_layers, dim) 0/1 masks of the coordinates each coupling keeps fixed; alternating parity."""
  return np.array([(np.arange(dim) + layer) % 2 == 0 for layer in range(num_layers)], dtype=np.float32)


class RealNVP(nn.Module):
  """An affine coupling flow (Dinh et al. 2017, Eqs. 4–9) from z ~ N(0, I_dim) to x.

  Layer l keeps the coordinates with mask mₗ = 1 and moves the rest:
  y = m ⊙ u + (1 − m) ⊙ (u ⊙ exp(s(m ⊙ u)) + t(m ⊙ u)); masks alternate parity so every coordinate is moved.
  Its Jacobian is triangular with log|det| = Σ (1 − m) ⊙ s, and the inverse is explicit.

  Each conditioner is an MLP dim → features → features → 2·dim (ReLU), s = scale ⊙ tanh(raw s), with a zero last
  layer so the flow starts as the identity (the generator starts at N(0, I)).

  Attributes:
    dim: data (and latent) dimension, ≥ 2.
    num_layers: number of coupling layers.
    features: hidden width of each conditioner.
  """
  dim: int = 2
  num_layers: int = 6
  features: int = 64

  def __post_init__(self) -> None:
    _check_positive(dim=self.dim, num_layers=self.num_layers, features=self.features)
    if self.dim < 2:
      raise ValueError(f"RealNVP needs dim >= 2 (a coupling splits coordinates), got dim = {self.dim}")
    super().__post_init__()

  def setup(self) -> None:
    self.conditioners = [_Conditioner(self.dim, self.features) for _ in range(self.num_layers)]

  def forward_and_log_det(self, z: Array) -> tuple[Array, Array]:
    """Returns x = h(z) (n, dim) and log|det ∂h/∂z| (n,)."""
    _check_batch(z, self.dim, "z")
    log_det = jnp.zeros(z.shape[:1], z.dtype)
    for mask, conditioner in zip(_coupling_masks(self.dim, self.num_layers), self.conditioners):
      s, t = conditioner(mask * z)
      s, t = (1.0 - mask) * s, (1.0 - mask) * t
      z = z * jnp.exp(s) + t
      log_det = log_det + jnp.sum(s, axis=-1)
    return z, log_det

  def __call__(self, z: Array) -> Array:
    """Maps latents z (n, dim) to samples (n, dim)."""
    return self.forward_and_log_det(z)[0]

  def inverse_and_log_det(self, x: Array) -> tuple[Array, Array]:
    """Returns z = h⁻¹(x) (n, dim) and log|det ∂h⁻¹/∂x| (n,)."""
    _check_batch(x, self.dim, "x")
    log_det = jnp.zeros(x.shape[:1], x.dtype)
    masks = _coupling_masks(self.dim, self.num_layers)
    for mask, conditioner in reversed(list(zip(masks, self.conditioners))):
      s, t = conditioner(mask * x)
      s, t = (1.0 - mask) * s, (1.0 - mask) * t
      x = (x - t) * jnp.exp(-s)
      log_det = log_det - jnp.sum(s, axis=-1)
    return x, log_det

  def inverse(self, x: Array) -> Array:
    """The latent z (n, dim) that generates x (n, dim)."""
    return self.inverse_and_log_det(x)[0]

  def log_prob(self, x: Array) -> Array:
    """Exact log density (n,) of the generator's distribution at x (n, dim)."""
    z, log_det = self.inverse_and_log_det(x)
    return _std_normal_log_prob(z) + log_det

  def bounds(self) -> tuple[Array, Array]:
    """An estimate of a box holding all but ~2e-17 of the mass, each of (lo, hi) of shape (dim,).

    h maps the latent ball of radius r (`latent_radius(dim)`: the ball N(0, I) leaves the same ~2e-17 outside as
    [−8.5, 8.5] in 1-D) onto a compact set whose boundary is the image of the sphere, so the set's bounding box is
    that of the image of the sphere. It is estimated from a fixed set of sphere points (4096 evenly spaced angles
    in 2-D; fixed pseudo-random directions in higher dimensions) and widened by 2% on each side for what lies
    between them: an estimate, not a guarantee. ReLU conditioners extrapolate linearly, so the box can be much
    wider than where the bulk of the mass lies.
    """
    x = self(jnp.asarray(_latent_sphere(self.dim)))
    lo, hi = jnp.min(x, axis=0), jnp.max(x, axis=0)
    pad = 0.02 * (hi - lo)
    return lo - pad, hi + pad


def latent_radius(dim: int) -> float:
  """Radius of the ball outside which N(0, I_dim) has mass 2Φ(−8.5) ≈ 2e-17 (= 8.5 for dim = 1)."""
  # scipy.stats.chi.isf(2Φ(−8.5), dim) as scipy computes it (scipy.stats itself takes ~0.4 s to import).
  return float(np.sqrt(2.0 * scipy.special.gammainccinv(dim / 2.0, 2.0 * scipy.special.ndtr(-LATENT_BOUND))))


@functools.lru_cache(maxsize=None)
def _latent_sphere(dim: int, num_points: int = 4096) -> np.ndarray:
  """(num_points, dim) fixed points on the sphere of radius `latent_radius(dim)`."""
  if dim == 2:
    angle = np.linspace(0.0, 2.0 * np.pi, num_points, endpoint=False)
    directions = np.stack([np.cos(angle), np.sin(angle)], axis=1)
  else:
    # A fixed NumPy stream, so bounds() is a deterministic function of the params.
    directions = np.random.default_rng(0).normal(size=(num_points, dim))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
  return (latent_radius(dim) * directions).astype(np.float32)


INVERTIBLE_GENERATORS = (AffineGenerator, MonotoneFlow1D, RealNVP)


def is_invertible(module: nn.Module) -> bool:
  """Whether `module` is an invertible generator with an exact `log_prob`."""
  return isinstance(module, INVERTIBLE_GENERATORS)


def latent_dim(module: nn.Module) -> int:
  """The latent size a generator expects.

  Args:
    module: a generator from this file.

  Returns:
    `dim` for invertible generators (1 for `MonotoneFlow1D`), the `latent_dim` field for `MLPGenerator`.

  Raises:
    ValueError: if `module` is not a generator from this file.
  """
  if is_invertible(module):
    return module.dim
  if isinstance(module, MLPGenerator):
    return module.latent_dim
  if isinstance(module, PointMassGenerator):
    return module.dim
  raise ValueError(
      f"latent_dim needs a generator ({', '.join(c.__name__ for c in _GENERATOR_CLASSES.values())}), "
      f"got {type(module).__name__}")


@struct.dataclass
class GeneratorDistribution:
  """An invertible generator and its parameters, as a distribution (the protocol of `distributions.py`).

  The module is static metadata and the params are pytree leaves, so an instance can be passed to jitted and
  vmapped functions (e.g. stacked params of several seeds under `jax.vmap`).

  Attributes:
    module: an invertible generator (`is_invertible(module)`).
    params: its variables, as returned by `module.init`.
  """
  module: nn.Module = struct.field(pytree_node=False)
  params: Any

  def __post_init__(self) -> None:
    if not is_invertible(self.module):
      raise ValueError(
          "GeneratorDistribution needs an invertible generator "
          f"({', '.join(c.__name__ for c in INVERTIBLE_GENERATORS)}), got {type(self.module).__name__}")

  @property
  def dim(self) -> int:
    """Data dimension (a Python int)."""
    return self.module.dim

  def sample(self, key: Array, n: int) -> Array:
    """n draws (n, dim): z ~ N(0, I) pushed through the generator (differentiable in params)."""
    _check_positive(n=n)
    z = jax.random.normal(key, (n, self.dim))
    return self.module.apply(self.params, z)

  def log_prob(self, x: Array) -> Array:
    """Exact log density (n,) at x (n, dim)."""
    _check_batch(x, self.dim, "x")
    return self.module.apply(self.params, x, method="log_prob")

  def cdf(self, x: Array) -> Array:
    """CDF (n,) at x (n, 1); only for dim = 1."""
    _require_1d(self.dim, "cdf")
    _check_batch(x, 1, "x")
    return self.module.apply(self.params, x, method="cdf")

  def bounds(self) -> tuple[Array, Array]:
    """(lo, hi), each (dim,), holding all but a negligible part of the mass (an estimate for RealNVP)."""
    return self.module.apply(self.params, method="bounds")


class PointMassGenerator(nn.Module):
  """The Dirac-GAN generator (Mescheder et al. 2018): every latent maps to one learned atom θ (initialised at 0).

  Attributes:
    dim: data dimension; the latent has the same size (it is ignored).
  """
  dim: int = 1

  def __post_init__(self) -> None:
    _check_positive(dim=self.dim)
    super().__post_init__()

  @nn.compact
  def __call__(self, z: Array) -> Array:
    """Returns θ repeated for each latent: (n, dim) for z (n, dim)."""
    theta = self.param("theta", nn.initializers.zeros, (self.dim,))
    # θ + 0·z keeps the latent in the graph (shape and dtype) without letting it move the sample.
    return theta + 0.0 * z


_GENERATOR_CLASSES: dict[str, type[nn.Module]] = {
    "mlp": MLPGenerator,
    "affine": AffineGenerator,
    "flow1d": MonotoneFlow1D,
    "realnvp": RealNVP,
    "point": PointMassGenerator,
}
_DISCRIMINATOR_CLASSES: dict[str, type[nn.Module]] = {
    "mlp": MLPDiscriminator,
    "linear": LinearDiscriminator,
}
GENERATORS: tuple[str, ...] = tuple(_GENERATOR_CLASSES)
DISCRIMINATORS: tuple[str, ...] = tuple(_DISCRIMINATOR_CLASSES)


def _check_kwargs(cls: type[nn.Module], kwargs: dict[str, Any], fixed: tuple[str, ...]) -> None:
  allowed = sorted(f.name for f in dataclasses.fields(cls) if f.name not in ("parent", "name", *fixed))
  unknown = sorted(set(kwargs) - set(allowed))
  if unknown:
    raise ValueError(
        f"unknown argument(s) {', '.join(unknown)} for {cls.__name__}; "
        f"allowed: {', '.join(allowed) if allowed else 'none'}")


def get_generator(name: str, *, dim: int, **kwargs: Any) -> nn.Module:
  """Builds the generator called `name` for data of dimension `dim`.

  Args:
    name: one of `GENERATORS`: 'mlp', 'affine', 'flow1d' (dim = 1 only), 'realnvp' (dim ≥ 2).
    dim: data dimension.
    **kwargs: the module's other fields (e.g. features, depth, activation, latent_dim for 'mlp').

  Returns:
    The Linen module (unbound; call `.init` / `.apply`).

  Raises:
    ValueError: for an unknown name or argument, a dim the generator does not support, or bad field values.
  """
  if name not in _GENERATOR_CLASSES:
    raise ValueError(f"unknown generator {name!r}; valid names: {', '.join(GENERATORS)}")
  _check_positive(dim=dim)
  cls = _GENERATOR_CLASSES[name]
  if name == "mlp":
    _check_kwargs(cls, kwargs, ("out_dim",))
    return MLPGenerator(out_dim=dim, **kwargs)
  if name == "flow1d":
    if dim != 1:
      raise ValueError(f"generator 'flow1d' is one-dimensional: dim must be 1, got dim = {dim}")
    _check_kwargs(cls, kwargs, ())
    return MonotoneFlow1D(**kwargs)
  if name == "realnvp" and dim < 2:
    raise ValueError(f"generator 'realnvp' needs dim >= 2, got dim = {dim}; use 'flow1d' or 'affine' in 1-D")
  _check_kwargs(cls, kwargs, ("dim",))
  return cls(dim=dim, **kwargs)


def get_discriminator(name: str, **kwargs: Any) -> nn.Module:
  """Builds the discriminator called `name`.

  Args:
    name: one of `DISCRIMINATORS`: 'mlp', or 'linear' (the Dirac-GAN D(x) = ψ·x, no fields).
    **kwargs: the module's fields (features, depth, activation for 'mlp').

  Returns:
    The Linen module (unbound).

  Raises:
    ValueError: for an unknown name or argument, or bad field values.
  """
  if name not in _DISCRIMINATOR_CLASSES:
    raise ValueError(f"unknown discriminator {name!r}; valid names: {', '.join(DISCRIMINATORS)}")
  cls = _DISCRIMINATOR_CLASSES[name]
  _check_kwargs(cls, kwargs, ())
  return cls(**kwargs)


def count_params(tree: Any, collection: str | None = None) -> int:
  """Number of scalars in a pytree, or in one collection of a variables dict (e.g. 'params', 'batch_stats').

  Works on `jax.eval_shape(module.init, ...)` too (leaves with a `.shape`), so counting needs no computation.
  """
  if collection is not None:
    tree = tree.get(collection, {})
  return sum(int(np.prod(np.shape(leaf))) for leaf in jax.tree_util.tree_leaves(tree))
