"""Tests for gan_jax/models.py: every density is checked against an independent reference.

References: scipy.stats.norm (affine generator), scipy.integrate.quad and fine grids (normalisation), the
Kolmogorov–Smirnov test (samples vs cdf), jax.jacfwd / jax.grad of the forward map (change of variables), NumPy
re-implementations of the MLPs, and hand-computed parameter counts.
"""
import functools

from hypothesis import assume
from hypothesis import given
from hypothesis import strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate
from scipy import stats

from gan_jax import models

KEY = jax.random.PRNGKey(0)


@functools.lru_cache(maxsize=None)
def _init(module):
  """The module's initial variables (cached: Linen modules are hashable dataclasses)."""
  return jax.jit(module.init)(KEY, jnp.zeros((1, models.latent_dim(module))))


def _random_params(module, seed, scale):
  """The initial variables plus scale·N(0, 1) on every leaf: parameters away from the (often symmetric) init.

  NumPy noise rather than jax.random: no compilation per module, which keeps the suite fast on CPU.
  """
  rng = np.random.default_rng(seed)
  return jax.tree_util.tree_map(
      lambda leaf: jnp.asarray(leaf + scale * rng.normal(size=leaf.shape), jnp.float32), _init(module))


def _normal(seed, shape):
  """Standard normal float32 draws from NumPy (an eager jax.random call compiles once per shape)."""
  return jnp.asarray(np.random.default_rng(seed).normal(size=shape), jnp.float32)


@functools.partial(jax.jit, static_argnums=(0, 3))
def _apply(module, params, x, method="__call__"):
  """module.apply under jit: one compilation per (module, method, shape) instead of many eager ops."""
  return module.apply(params, x, method=method)


@functools.partial(jax.jit, static_argnums=0)
def _bounds(module, params):
  return module.apply(params, method="bounds")


@functools.partial(jax.jit, static_argnums=0)
def _jacobians(module, params, z):
  """∂h/∂z (n, dim, dim) by forward-mode autodiff of the forward map, one sample at a time."""
  return jax.vmap(jax.jacfwd(lambda v: module.apply(params, v[None])[0]))(z)


def _num_params(module, x):
  """Parameter count from abstract shapes (jax.eval_shape: nothing is computed or compiled)."""
  return models.count_params(jax.eval_shape(module.init, KEY, x))


def _mlp_count(sizes):
  """Σ (fan_in + 1)·fan_out over consecutive layer sizes."""
  return sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:]))


# ---------------------------------------------------------------- parameter counts (vit_jax style, by hand)


def test_parameter_counts_at_default_sizes():
  z2, z3 = jnp.zeros((1, 2)), jnp.zeros((1, 3))
  assert _num_params(models.MLPGenerator(out_dim=2), z2) == _mlp_count([2, 128, 128, 2])
  deep = models.MLPGenerator(out_dim=1, latent_dim=3, depth=3)
  assert _num_params(deep, z3) == _mlp_count([3, 128, 128, 128, 1])
  assert _num_params(models.MLPDiscriminator(), z2) == _mlp_count([2, 128, 128, 1])
  assert _num_params(models.LinearDiscriminator(), z3) == 3  # ψ only, no bias
  assert _num_params(models.AffineGenerator(dim=3), z3) == 2 * 3  # loc, log_scale
  k = 16
  assert _num_params(models.MonotoneFlow1D(), jnp.zeros((1, 1))) == 2 + 3 * k  # a, b; c, w, d per unit
  dim, layers, feats = 2, 6, 64
  per_coupling = _mlp_count([dim, feats, feats, 2 * dim]) + dim  # conditioner MLP + per-coordinate s scale
  assert _num_params(models.RealNVP(), z2) == layers * per_coupling
  # count_params itself, on concrete arrays.
  assert models.count_params({"a": jnp.zeros((2, 3)), "b": [jnp.zeros(4), jnp.zeros(())]}) == 11


# ---------------------------------------------------------------- MLPs against NumPy


def _numpy_mlp(params, x, act):
  layers = [params[name] for name in sorted(params, key=lambda n: int(n.split("_")[1]))]
  x = np.asarray(x, np.float64)
  for i, layer in enumerate(layers):
    x = x @ np.asarray(layer["kernel"], np.float64) + np.asarray(layer["bias"], np.float64)
    if i < len(layers) - 1:
      x = act(x)
  return x


@pytest.mark.parametrize("activation,numpy_act", [
    ("relu", lambda x: np.maximum(x, 0.0)),
    ("leaky_relu", lambda x: np.where(x > 0, x, 0.2 * x)),
    ("tanh", np.tanh),
    ("elu", lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))),
    ("softplus", lambda x: np.logaddexp(0.0, x)),
])
def test_mlps_match_numpy_forward(activation, numpy_act):
  gen = models.MLPGenerator(out_dim=3, features=8, depth=2, activation=activation, latent_dim=2)
  z = _normal(1, (5, 2))
  params = gen.init(KEY, z)
  expected = _numpy_mlp(params["params"]["_MLP_0"], z, numpy_act)
  np.testing.assert_allclose(gen.apply(params, z), expected, rtol=1e-5, atol=1e-5)
  disc = models.MLPDiscriminator(features=8, depth=3, activation=activation)
  x = _normal(2, (5, 4))
  params = disc.init(KEY, x)
  out = disc.apply(params, x)
  assert out.shape == (5,)
  np.testing.assert_allclose(out, _numpy_mlp(params["params"]["_MLP_0"], x, numpy_act)[:, 0], rtol=1e-5, atol=1e-5)


def test_gelu_activation_matches_scipy():
  x = np.linspace(-4.0, 4.0, 41)
  # Flax's gelu is the tanh approximation by default; compare with the exact x·Φ(x) to its accuracy.
  np.testing.assert_allclose(models.ACTIVATIONS["gelu"](jnp.asarray(x)), x * stats.norm.cdf(x), atol=2e-3)
  np.testing.assert_allclose(models.ACTIVATIONS["leaky_relu"](jnp.asarray(x)), np.where(x > 0, x, 0.2 * x),
                             rtol=1e-6)


def test_linear_discriminator_is_psi_dot_x():
  disc = models.get_discriminator("linear")
  x = _normal(3, (6, 2))
  params = disc.init(KEY, x)
  psi = np.asarray(params["params"]["Dense_0"]["kernel"])[:, 0]
  np.testing.assert_allclose(disc.apply(params, x), np.asarray(x) @ psi, rtol=1e-6)
  np.testing.assert_allclose(disc.apply(params, jnp.zeros((1, 2))), [0.0])  # no bias: D(0) = 0


# ---------------------------------------------------------------- AffineGenerator vs scipy.stats.norm


def test_affine_matches_scipy_norm():
  gen = models.AffineGenerator(dim=3)
  params = _random_params(gen, seed=4, scale=0.7)
  loc = np.asarray(params["params"]["loc"], np.float64)
  scale = np.exp(np.asarray(params["params"]["log_scale"], np.float64))
  x = loc + scale * np.random.default_rng(0).normal(size=(50, 3)) * 2.0
  expected = stats.norm(loc, scale).logpdf(x).sum(axis=1)
  dist = models.GeneratorDistribution(gen, params)
  np.testing.assert_allclose(dist.log_prob(jnp.asarray(x, jnp.float32)), expected, rtol=1e-5, atol=1e-4)
  lo, hi = dist.bounds()
  np.testing.assert_allclose(lo, stats.norm(loc, scale).ppf(stats.norm.cdf(-8.5)), rtol=1e-4)
  np.testing.assert_allclose(hi, stats.norm(loc, scale).isf(stats.norm.cdf(-8.5)), rtol=1e-4)
  draws = np.asarray(dist.sample(jax.random.PRNGKey(5), 20000))
  assert np.all(np.abs(draws.mean(0) - loc) < 5 * scale / np.sqrt(20000))
  np.testing.assert_allclose(draws.std(0), scale, rtol=0.03)


def test_affine_1d_cdf_and_normalisation():
  gen = models.AffineGenerator(dim=1)
  params = _random_params(gen, seed=6, scale=0.8)
  loc = float(params["params"]["loc"][0])
  scale = float(np.exp(params["params"]["log_scale"][0]))
  dist = models.GeneratorDistribution(gen, params)
  x = jnp.linspace(loc - 6 * scale, loc + 6 * scale, 101)[:, None]
  np.testing.assert_allclose(dist.cdf(x), stats.norm(loc, scale).cdf(np.asarray(x[:, 0])), atol=1e-6)
  lo, hi = dist.bounds()
  density = lambda t: float(jnp.exp(dist.log_prob(jnp.array([[t]]))[0]))
  total, _ = integrate.quad(density, float(lo[0]), float(hi[0]), points=[loc], limit=200)
  assert abs(total - 1.0) < 1e-5


# ---------------------------------------------------------------- MonotoneFlow1D


FLOW = models.MonotoneFlow1D()


@jax.jit
def _flow_forward(params, z):
  return FLOW.apply(params, z)


@jax.jit
def _flow_inverse(params, x):
  return FLOW.apply(params, x, method="inverse")


@jax.jit
def _flow_log_prob(params, x):
  return FLOW.apply(params, x, method="log_prob")


@jax.jit
def _flow_cdf(params, x):
  return FLOW.apply(params, x, method="cdf")


@jax.jit
def _flow_slope(params, z):
  """h′(z) by automatic differentiation of the forward map (independent of the module's closed form)."""
  return jax.vmap(jax.grad(lambda t: FLOW.apply(params, t[None, None])[0, 0]))(z)


GRID = 1001  # one array size for the flow tests: each new shape is a new compilation
FLOW_PARAM_SETS = [("init", 0, 0.0), ("random", 7, 1.0), ("random", 8, 1.5)]


@pytest.mark.parametrize("kind,seed,scale", FLOW_PARAM_SETS)
def test_flow1d_log_prob_integrates_to_one(kind, seed, scale):
  del kind
  params = _random_params(FLOW, seed, scale)
  lo, hi = _bounds(FLOW, params)
  density = lambda t: float(jnp.exp(_flow_log_prob(params, jnp.array([[t]], jnp.float32))[0]))
  # Tolerances reachable with float32 densities (quad warns of roundoff below them).
  total, _ = integrate.quad(density, float(lo[0]), float(hi[0]), limit=500, epsabs=1e-7, epsrel=1e-6)
  assert abs(total - 1.0) < 1e-4


@pytest.mark.parametrize("kind,seed,scale", FLOW_PARAM_SETS)
def test_flow1d_change_of_variables_via_autodiff(kind, seed, scale):
  del kind
  params = _random_params(FLOW, seed, scale)
  z = jnp.linspace(-5.0, 5.0, GRID)
  x = _flow_forward(params, z[:, None])
  expected = stats.norm.logpdf(np.asarray(z)) - np.log(np.asarray(_flow_slope(params, z), np.float64))
  np.testing.assert_allclose(_flow_log_prob(params, x), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind,seed,scale", FLOW_PARAM_SETS)
def test_flow1d_samples_follow_cdf_kolmogorov_smirnov(kind, seed, scale):
  del kind
  params = _random_params(FLOW, seed, scale)
  dist = models.GeneratorDistribution(FLOW, params)
  draws = np.asarray(dist.sample(jax.random.PRNGKey(seed + 100), 3000))[:, 0]
  cdf = lambda t: np.asarray(_flow_cdf(params, jnp.asarray(t, jnp.float32)[:, None]), np.float64)
  assert stats.kstest(draws, cdf).pvalue > 1e-3
  # The test has power: a cdf shifted by a tenth of the spread is rejected.
  shift = 0.1 * float(np.std(draws))
  assert stats.kstest(draws, lambda t: cdf(t - shift)).pvalue < 1e-3


@pytest.mark.parametrize("kind,seed,scale", FLOW_PARAM_SETS)
def test_flow1d_cdf_derivative_is_density(kind, seed, scale):
  del kind
  params = _random_params(FLOW, seed, scale)
  lo, hi = _bounds(FLOW, params)
  x = jnp.linspace(float(lo[0]) * 0.7, float(hi[0]) * 0.7, GRID)
  step = 1e-2
  finite_diff = (np.asarray(_flow_cdf(params, (x + step)[:, None]), np.float64)
                 - np.asarray(_flow_cdf(params, (x - step)[:, None]), np.float64)) / (2 * step)
  density = np.exp(np.asarray(_flow_log_prob(params, x[:, None]), np.float64))
  # Central differences err by step²·g‴/6 plus float32 rounding ~1e-7/step.
  np.testing.assert_allclose(finite_diff, density, rtol=2e-2, atol=2e-4)


@given(seed=st.integers(0, 2**16), scale=st.floats(0.0, 2.0),
       z=st.floats(-20.0, 20.0), gap=st.floats(1e-3, 10.0))
def test_flow1d_is_strictly_increasing(seed, scale, z, gap):
  params = _random_params(FLOW, seed, scale)
  slope = float(_flow_slope(params, jnp.array([z], jnp.float32))[0])
  base_slope = float(jax.nn.softplus(params["params"]["raw_a"]))
  assert slope >= base_slope > 0.0  # h′ = a + Σ cᵢwᵢ sech²(·) ≥ a
  # h(z + gap) − h(z) ≥ a·gap; float32 can resolve it only when that exceeds rounding of h (~1e-6·|h|).
  assume(base_slope * gap > 1e-4)
  pair = _flow_forward(params, jnp.array([[z], [z + gap]], jnp.float32))[:, 0]
  assert pair[1] > pair[0]


@given(seed=st.integers(0, 2**16), scale=st.floats(0.0, 2.0))
def test_flow1d_inverse_is_accurate_and_finite_in_tails(seed, scale):
  params = _random_params(FLOW, seed, scale)
  x = np.concatenate([[-1e4, -1e3], np.linspace(-50.0, 50.0, GRID - 4), [1e3, 1e4]])[:, None]
  x = jnp.asarray(x, jnp.float32)
  within = np.abs(np.asarray(x[:, 0])) <= 50.0
  roundtrip = np.asarray(_flow_forward(params, _flow_inverse(params, x)) - x)[within]
  # 1e-5 absolute, relaxed in proportion to float32 resolution of x where |x| > 5 (1e-4 at |x| = 50).
  tolerance = 1e-5 * np.maximum(1.0, np.abs(np.asarray(x))[within] / 5.0)
  assert np.all(np.abs(roundtrip) < tolerance)
  assert np.all(np.isfinite(np.asarray(_flow_log_prob(params, x))))
  cdf = np.asarray(_flow_cdf(params, x))
  assert np.all(np.isfinite(cdf)) and np.all(np.diff(cdf) >= 0) and cdf[0] < 1e-12 and cdf[-1] == 1.0


def test_flow1d_bounds_are_image_of_latent_box():
  params = _random_params(FLOW, 9, 1.0)
  lo, hi = _bounds(FLOW, params)
  ends = _flow_forward(params, jnp.array([[-8.5], [8.5]]))[:, 0]
  np.testing.assert_allclose([lo[0], hi[0]], ends, rtol=1e-6)
  mass_outside = np.asarray(_flow_cdf(params, jnp.array([[lo[0]]])))[0]
  assert mass_outside < 1e-12  # Φ(−8.5) ≈ 1e-17


def test_flow1d_gradients_are_implicit_derivatives():
  """d cdf/dx = g(x) and, since h shifts by b, d cdf/db = −g(x): both from the Newton-step trick."""
  params = _random_params(FLOW, 10, 1.0)
  x = jnp.linspace(-3.0, 3.0, GRID)[:, None]
  density = jnp.exp(_flow_log_prob(params, x))
  # cdf acts elementwise, so one forward-mode tangent gives every ∂cdf(xᵢ)/∂xᵢ (and ∂/∂b).
  d_dx = jax.jvp(lambda t: _flow_cdf(params, t), (x,), (jnp.ones_like(x),))[1]
  np.testing.assert_allclose(d_dx, density, rtol=1e-4, atol=1e-6)
  with_b = lambda b: {"params": {**params["params"], "b": b}}
  b = params["params"]["b"]
  d_db = jax.jvp(lambda v: _flow_cdf(with_b(v), x), (b,), (jnp.ones_like(b),))[1]
  np.testing.assert_allclose(d_db, -density, rtol=1e-4, atol=1e-6)


def test_flow1d_can_be_bimodal():
  """With a small base slope and one steep unit the flow puts two modes either side of the step."""
  params = _init(FLOW)
  raw = dict(params["params"])
  # Private on purpose: the flow's raw parameters are set through the same inverse the module's init uses.
  raw["raw_a"] = jnp.asarray(models._softplus_inverse(0.05))
  raw["raw_c"] = jnp.full((16,), models._softplus_inverse(1e-4)).at[0].set(models._softplus_inverse(2.0))
  raw["raw_w"] = jnp.full((16,), models._softplus_inverse(20.0))
  raw["d"] = jnp.zeros((16,))
  params = {"params": raw}
  x = jnp.linspace(-3.0, 3.0, GRID)[:, None]
  density = np.exp(np.asarray(_flow_log_prob(params, x)))
  peaks = np.flatnonzero((density[1:-1] > density[:-2]) & (density[1:-1] > density[2:]))
  assert len(peaks) == 2 and density[GRID // 2] < 0.01 * density[peaks].min()


# ---------------------------------------------------------------- RealNVP

NVP = models.RealNVP()
NVP3 = models.RealNVP(dim=3, num_layers=4, features=16)


@pytest.mark.parametrize("seed,scale", [(0, 0.0), (11, 0.05), (12, 0.1)])
def test_realnvp_log_prob_integrates_to_one_on_grid(seed, scale):
  params = _random_params(NVP, seed, scale)
  lo, hi = (np.asarray(b, np.float64) for b in _bounds(NVP, params))
  n = 800
  axes = [np.linspace(lo[i], hi[i], n) for i in range(2)]
  grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)
  log_density = _apply(NVP, params, jnp.asarray(grid, jnp.float32), "log_prob")
  density = np.exp(np.asarray(log_density, np.float64)).reshape(n, n)
  total = integrate.trapezoid(integrate.trapezoid(density, axes[1], axis=1), axes[0])
  assert abs(total - 1.0) < 1e-3
  # The bounds hold the mass: the density on the box's edge is negligible.
  edge = np.concatenate([density[0], density[-1], density[:, 0], density[:, -1]])
  assert edge.max() < 1e-6 * density.max()


@pytest.mark.parametrize("module,seed,scale", [(NVP, 13, 0.1), (NVP, 14, 0.2), (NVP3, 15, 0.4)],
                         ids=["2d-0.1", "2d-0.2", "3d-0.4"])
def test_realnvp_inverse_and_jacobian_determinant(module, seed, scale):
  params = _random_params(module, seed, scale)
  z = _normal(seed, (64, module.dim))
  x = _apply(module, params, z)
  np.testing.assert_allclose(_apply(module, params, x, "inverse"), z, atol=1e-4)
  _, log_abs_det = np.linalg.slogdet(np.asarray(_jacobians(module, params, z), np.float64))
  expected = stats.norm.logpdf(np.asarray(z, np.float64)).sum(axis=1) - log_abs_det
  assert np.std(log_abs_det) > 0.05  # the perturbed flow is far from a rigid shift
  np.testing.assert_allclose(_apply(module, params, x, "log_prob"), expected, rtol=1e-4, atol=1e-4)
  _, forward_log_det = _apply(module, params, z, "forward_and_log_det")
  np.testing.assert_allclose(forward_log_det, log_abs_det, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("module,seed,scale", [(NVP, 16, 0.1), (NVP3, 17, 0.4)], ids=["2d", "3d"])
def test_realnvp_bounds_hold_samples(module, seed, scale):
  params = _random_params(module, seed, scale)
  lo, hi = (np.asarray(b) for b in _bounds(module, params))
  draws = np.asarray(_apply(module, params, _normal(seed, (20000, module.dim))))
  assert np.all((draws > lo) & (draws < hi))
  # The box is that of the image of the latent sphere of radius r, where N(0, I) leaves 2Φ(−8.5) outside.
  radius = models.latent_radius(module.dim)
  assert radius == pytest.approx(stats.chi.isf(2 * stats.norm.sf(8.5), module.dim))
  if module.dim == 2:
    assert np.exp(-radius**2 / 2) == pytest.approx(2 * stats.norm.sf(8.5), rel=1e-6)  # χ₂ tail in closed form


# ---------------------------------------------------------------- GeneratorDistribution under jit and vmap

INVERTIBLE = [models.AffineGenerator(dim=1), models.AffineGenerator(dim=2), FLOW,
              models.RealNVP(num_layers=2, features=16)]


@pytest.mark.parametrize("module", INVERTIBLE, ids=lambda m: f"{type(m).__name__}{m.dim}")
def test_generator_distribution_jit_and_vmap_over_params(module):
  stacked = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *[_random_params(module, i, 0.3)
                                                                         for i in range(3)])
  batched = models.GeneratorDistribution(module, stacked)
  x = _normal(18, (16, module.dim)) * 2.0

  @jax.jit
  def evaluate(dist, key, x):
    out = {"log_prob": dist.log_prob(x), "sample": dist.sample(key, 8), "bounds": dist.bounds()}
    if dist.dim == 1:
      out["cdf"] = dist.cdf(x)
    return out

  keys = jax.random.split(jax.random.PRNGKey(19), 3)
  vmapped = jax.vmap(evaluate, in_axes=(0, 0, None))(batched, keys, x)
  for i in range(3):
    single = models.GeneratorDistribution(module, _random_params(module, i, 0.3))
    assert single.dim == module.dim and isinstance(single.dim, int)
    expected = evaluate(single, keys[i], x)
    np.testing.assert_allclose(vmapped["log_prob"][i], expected["log_prob"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(vmapped["sample"][i], expected["sample"], rtol=1e-5, atol=1e-5)
    for got, want in zip(vmapped["bounds"], expected["bounds"]):
      np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-5)
    if module.dim == 1:
      np.testing.assert_allclose(vmapped["cdf"][i], expected["cdf"], atol=1e-6)
  assert vmapped["log_prob"].shape == (3, 16) and vmapped["sample"].shape == (3, 8, module.dim)


# ---------------------------------------------------------------- gradients through __call__


@pytest.mark.parametrize("name,dim", [("mlp", 1), ("mlp", 2), ("affine", 2), ("flow1d", 1), ("realnvp", 2)])
def test_gradients_flow_through_generators(name, dim):
  gen = models.get_generator(name, dim=dim)
  z = jax.random.normal(jax.random.PRNGKey(20), (32, models.latent_dim(gen)))
  target = jnp.full((1, dim), 0.5)
  grad = jax.jit(jax.grad(lambda p: jnp.mean((gen.apply(p, z) - target) ** 2)))
  for params in (_init(gen), _random_params(gen, 21, 0.3)):
    grads = jax.tree_util.tree_leaves(grad(params))
    assert all(np.all(np.isfinite(g)) for g in grads)
    assert sum(float(jnp.sum(g**2)) for g in grads) > 0.0
  # Away from the identity initialisation every parameter tensor gets a gradient.
  assert all(float(jnp.max(jnp.abs(g))) > 0.0 for g in grads)
  # And the gradient w.r.t. the latent (for the engine's reparameterised losses) is finite and non-zero.
  dz = jax.jit(jax.grad(lambda v: jnp.sum(gen.apply(params, v) ** 2)))(z)
  assert np.all(np.isfinite(dz)) and float(jnp.abs(dz).max()) > 0.0


def test_gradients_flow_through_discriminators():
  x = _normal(22, (16, 2))
  for name in models.DISCRIMINATORS:
    disc = models.get_discriminator(name)
    params = disc.init(KEY, x)
    grads = jax.tree_util.tree_leaves(jax.grad(lambda p: jnp.mean(disc.apply(p, x) ** 2))(params))
    assert all(np.all(np.isfinite(g)) and float(jnp.abs(g).max()) > 0.0 for g in grads)


# ---------------------------------------------------------------- registries and helpers


def test_registries_and_helpers():
  assert models.GENERATORS == ("mlp", "affine", "flow1d", "realnvp", "point")
  assert models.DISCRIMINATORS == ("mlp", "linear")
  assert isinstance(models.get_generator("mlp", dim=3, latent_dim=5), models.MLPGenerator)
  assert models.latent_dim(models.get_generator("mlp", dim=3, latent_dim=5)) == 5
  assert models.latent_dim(models.get_generator("mlp", dim=3)) == 2
  assert models.latent_dim(models.get_generator("affine", dim=4)) == 4
  assert models.latent_dim(models.get_generator("flow1d", dim=1, num_units=3)) == 1
  assert models.latent_dim(models.get_generator("realnvp", dim=3)) == 3
  assert models.latent_dim(models.get_generator("point", dim=2)) == 2
  assert [models.is_invertible(models.get_generator(n, dim=1 if n == "flow1d" else 2))
          for n in models.GENERATORS] == [False, True, True, True, False]
  assert not models.is_invertible(models.MLPDiscriminator())
  assert models.get_discriminator("mlp", features=4).features == 4


# ---------------------------------------------------------------- every ValueError path


@pytest.mark.parametrize("build,match", [
    (lambda: models.get_generator("gan", dim=2), r"unknown generator 'gan'; valid names: mlp, affine, flow1d"),
    (lambda: models.get_discriminator("cnn"), r"unknown discriminator 'cnn'; valid names: mlp, linear"),
    (lambda: models.get_generator("flow1d", dim=2), r"dim must be 1, got dim = 2"),
    (lambda: models.get_generator("realnvp", dim=1), r"needs dim >= 2, got dim = 1"),
    (lambda: models.RealNVP(dim=1), r"needs dim >= 2"),
    (lambda: models.get_generator("affine", dim=0), r"dim must be a positive integer, got 0"),
    (lambda: models.get_generator("mlp", dim=2, features=0), r"features must be a positive integer, got 0"),
    (lambda: models.get_generator("mlp", dim=2, depth=-1), r"depth must be a positive integer, got -1"),
    (lambda: models.get_generator("mlp", dim=2, latent_dim=2.5), r"latent_dim must be a positive integer"),
    (lambda: models.MLPGenerator(out_dim=0), r"out_dim must be a positive integer"),
    (lambda: models.MLPDiscriminator(depth=0), r"depth must be a positive integer"),
    (lambda: models.get_generator("flow1d", dim=1, num_units=0), r"num_units must be a positive integer"),
    (lambda: models.get_generator("realnvp", dim=2, num_layers=0), r"num_layers must be a positive integer"),
    (lambda: models.get_generator("realnvp", dim=2, features=-3), r"features must be a positive integer"),
    (lambda: models.get_generator("mlp", dim=2, activation="swish"),
     r"unknown activation 'swish'; valid activations: elu, gelu, leaky_relu, relu, softplus, tanh"),
    (lambda: models.get_discriminator("mlp", activation="sigmoid"), r"unknown activation 'sigmoid'"),
    (lambda: models.get_generator("affine", dim=2, features=3), r"unknown argument\(s\) features .*allowed: none"),
    (lambda: models.get_generator("mlp", dim=2, widht=3),
     r"unknown argument\(s\) widht for MLPGenerator; allowed: activation, depth, features, latent_dim"),
    (lambda: models.get_discriminator("linear", features=3), r"allowed: none"),
    (lambda: models.latent_dim(models.MLPDiscriminator()), r"latent_dim needs a generator"),
    (lambda: models.GeneratorDistribution(models.MLPGenerator(out_dim=1), {}),
     r"needs an invertible generator .* got MLPGenerator"),
])
def test_construction_errors(build, match):
  with pytest.raises(ValueError, match=match):
    build()


def test_call_errors_are_raised_before_tracing():
  affine2 = models.GeneratorDistribution(models.AffineGenerator(dim=2), _init(models.AffineGenerator(dim=2)))
  with pytest.raises(ValueError, match=r"cdf is defined only for dim = 1, got dim = 2"):
    affine2.cdf(jnp.zeros((3, 2)))
  with pytest.raises(ValueError, match=r"cdf is defined only for dim = 1"):
    models.AffineGenerator(dim=2).apply(affine2.params, jnp.zeros((3, 2)), method="cdf")
  with pytest.raises(ValueError, match=r"x must have shape \(n, 2\), got shape \(3, 1\)"):
    affine2.log_prob(jnp.zeros((3, 1)))
  with pytest.raises(ValueError, match=r"x must have shape \(n, 2\), got shape \(3,\)"):
    jax.jit(lambda d, x: d.log_prob(x))(affine2, jnp.zeros((3,)))
  with pytest.raises(ValueError, match=r"n must be a positive integer, got 0"):
    affine2.sample(KEY, 0)
  flow = models.GeneratorDistribution(FLOW, _init(FLOW))
  with pytest.raises(ValueError, match=r"x must have shape \(n, 1\), got shape \(4,\)"):
    flow.cdf(jnp.zeros((4,)))
  gen = models.MLPGenerator(out_dim=2, latent_dim=3)
  with pytest.raises(ValueError, match=r"z must have shape \(n, 3\), got shape \(5, 2\)"):
    gen.init(KEY, jnp.zeros((5, 2)))
  with pytest.raises(ValueError, match=r"z must have shape \(n, 2\), got shape \(5, 3\)"):
    NVP.init(KEY, jnp.zeros((5, 3)))
  with pytest.raises(ValueError, match=r"x must have shape \(n, d\), got shape \(5,\)"):
    models.MLPDiscriminator().init(KEY, jnp.zeros((5,)))
  with pytest.raises(ValueError, match=r"x must have shape \(n, d\)"):
    models.LinearDiscriminator().init(KEY, jnp.zeros((5,)))


def test_point_mass_generator_ignores_the_latent():
  gen = models.get_generator("point", dim=2)
  params = gen.init(jax.random.PRNGKey(0), jnp.zeros((1, 2)))
  assert models.count_params(params) == 2
  params = {"params": {"theta": jnp.array([1.5, -2.0])}}
  x = gen.apply(params, jax.random.normal(jax.random.PRNGKey(1), (5, 2)))
  np.testing.assert_array_equal(x, np.tile([1.5, -2.0], (5, 1)))
  grad = jax.grad(lambda p: jnp.sum(gen.apply(p, jnp.ones((3, 2)))))(params)
  np.testing.assert_array_equal(grad["params"]["theta"], [3.0, 3.0])
