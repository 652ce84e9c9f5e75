"""Tests for gan_jax.distributions: densities and cdfs against scipy.stats, samplers, pytrees, validation."""
import itertools

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.special
import scipy.stats
from hypothesis import given

from gan_jax import distributions as D

KEY = jax.random.key(0)
MIX_LOCS = [[-2.0, 0.5], [1.5, -1.0], [0.0, 3.0]]
MIX_SCALES = [[0.5, 1.0], [0.3, 0.4], [2.0, 0.7]]
MIX_WEIGHTS = [0.2, 0.5, 0.3]


def _mixture_logpdf_ref(x, locs, scales, weights):
  """float64 log density of a diagonal mixture from scipy.stats."""
  comp = scipy.stats.norm.logpdf(x[:, None, :], np.asarray(locs), np.asarray(scales)).sum(-1)
  return scipy.special.logsumexp(comp, b=np.asarray(weights), axis=-1)


# --- densities and cdfs -------------------------------------------------------------------------------------

@given(loc=st.floats(-5, 5), scale=st.floats(0.05, 5), x=st.floats(-10, 10))
def test_gaussian_log_prob_and_cdf_match_scipy(loc, scale, x):
  g = D.Gaussian(loc, scale)
  xs = jnp.asarray([[x]])
  np.testing.assert_allclose(g.log_prob(xs)[0], scipy.stats.norm.logpdf(x, loc, scale), rtol=1e-5, atol=1e-4)
  np.testing.assert_allclose(g.cdf(xs)[0], scipy.stats.norm.cdf(x, loc, scale), atol=1e-6)


def test_gaussian_diagonal_log_prob_is_sum_over_axes_under_jit():
  g = D.Gaussian([0.5, -1.0, 2.0], [1.0, 0.3, 2.5])
  x = np.random.default_rng(0).normal(size=(50, 3))
  ref = scipy.stats.norm.logpdf(x, [0.5, -1.0, 2.0], [1.0, 0.3, 2.5]).sum(-1)
  np.testing.assert_allclose(jax.jit(lambda d, x: d.log_prob(x))(g, x), ref, rtol=1e-5, atol=1e-5)


def test_mixture_log_prob_matches_scipy_and_survives_far_points():
  m = D.GaussianMixture(MIX_LOCS, MIX_SCALES, MIX_WEIGHTS)
  x = np.concatenate([np.random.default_rng(1).normal(size=(50, 2)) * 3, [[200.0, -300.0]]])
  ref = _mixture_logpdf_ref(x, MIX_LOCS, MIX_SCALES, MIX_WEIGHTS)
  np.testing.assert_allclose(m.log_prob(x), ref, rtol=1e-5)
  assert np.all(np.isfinite(m.log_prob(x)))


def test_mixture_isotropic_scales_broadcast():
  m = D.GaussianMixture([[0.0, 0.0], [1.0, 1.0]], [0.5, 2.0], [0.5, 0.5])
  np.testing.assert_array_equal(m.scales, [[0.5, 0.5], [2.0, 2.0]])


def test_mixture_1d_density_integrates_to_one_and_cdf_matches_scipy():
  m = D.GaussianMixture([[-2.0], [1.5]], [[0.5], [0.3]], [0.3, 0.7])
  grid = np.linspace(-8.0, 8.0, 16_001)
  total = scipy.integrate.simpson(np.exp(np.asarray(m.log_prob(grid[:, None]), np.float64)), x=grid)
  assert abs(total - 1.0) < 1e-6
  xs = np.array([-3.0, -2.0, 0.0, 1.5, 2.0])
  ref = 0.3 * scipy.stats.norm.cdf(xs, -2, 0.5) + 0.7 * scipy.stats.norm.cdf(xs, 1.5, 0.3)
  np.testing.assert_allclose(m.cdf(xs[:, None]), ref, atol=1e-6)


def test_uniform_log_prob_and_cdf_match_scipy():
  u = D.Uniform(-1.0, 2.0)
  xs = np.array([-1.5, -1.0, 0.0, 1.99, 2.0, 2.5])
  ref = scipy.stats.uniform.logpdf(xs, -1.0, 3.0)
  np.testing.assert_allclose(u.log_prob(xs[:, None]), ref, rtol=1e-6)
  np.testing.assert_allclose(u.cdf(xs[:, None]), scipy.stats.uniform.cdf(xs, -1.0, 3.0), atol=1e-7)
  box = D.Uniform([0.0, -1.0], [2.0, 3.0])
  np.testing.assert_allclose(box.log_prob(jnp.asarray([[1.0, 0.0], [3.0, 0.0]])), [-np.log(8.0), -np.inf])


def test_point_mass_cdf_is_a_step():
  np.testing.assert_array_equal(D.PointMass(0.3).cdf(jnp.asarray([[0.0], [0.3], [1.0]])), [0.0, 1.0, 1.0])


# --- samplers -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dist,cdf", [
    (D.Gaussian(0.5, 2.0), lambda x: scipy.stats.norm.cdf(x, 0.5, 2.0)),
    (D.GaussianMixture([[-2.0], [1.5]], [[0.5], [0.3]], [0.3, 0.7]),
     lambda x: 0.3 * scipy.stats.norm.cdf(x, -2, 0.5) + 0.7 * scipy.stats.norm.cdf(x, 1.5, 0.3)),
    (D.Uniform(-1.0, 2.0), lambda x: scipy.stats.uniform.cdf(x, -1.0, 3.0)),
])
def test_1d_samples_pass_kolmogorov_smirnov(dist, cdf):
  x = np.asarray(dist.sample(KEY, 20_000))
  assert x.shape == (20_000, 1)
  # Fixed key: deterministic; a wrong sampler (e.g. scale² for scale) gives p ≈ 0.
  assert scipy.stats.kstest(x[:, 0], cdf).pvalue > 1e-3


def test_mixture_2d_sample_moments():
  m = D.GaussianMixture(MIX_LOCS, MIX_SCALES, MIX_WEIGHTS)
  n = 100_000
  x = np.asarray(m.sample(KEY, n), np.float64)
  w, mu, s = np.asarray(MIX_WEIGHTS)[:, None], np.asarray(MIX_LOCS), np.asarray(MIX_SCALES)
  mean = (w * mu).sum(0)
  var = (w * (s**2 + mu**2)).sum(0) - mean**2
  assert np.all(np.abs(x.mean(0) - mean) < 5 * np.sqrt(var / n))
  np.testing.assert_allclose(x.var(0), var, rtol=0.03)


def test_singular_samplers():
  np.testing.assert_array_equal(D.PointMass([1.0, -2.0]).sample(KEY, 3), [[1.0, -2.0]] * 3)
  x = np.asarray(D.ParallelLines(0.7).sample(KEY, 10_000))
  assert x.shape == (10_000, 2)
  np.testing.assert_allclose(x[:, 0], 0.7)
  assert x[:, 1].min() >= 0 and x[:, 1].max() <= 1
  assert scipy.stats.kstest(x[:, 1], "uniform").pvalue > 1e-3


# --- bounds -------------------------------------------------------------------------------------------------

def test_bounds_hold_all_but_1e_12_of_the_mass():
  g = D.Gaussian([0.5, -1.0], [2.0, 0.1])
  lo, hi = g.bounds()
  outside = scipy.stats.norm.cdf(lo, [0.5, -1.0], [2.0, 0.1]) + scipy.stats.norm.sf(hi, [0.5, -1.0], [2.0, 0.1])
  assert np.all(outside < 1e-12) and lo.shape == hi.shape == (2,)
  m = D.GaussianMixture([[-2.0], [1.5]], [[0.5], [3.0]], [0.3, 0.7])
  lo, hi = m.bounds()
  outside = (0.3 * (scipy.stats.norm.cdf(lo[0], -2, 0.5) + scipy.stats.norm.sf(hi[0], -2, 0.5))
             + 0.7 * (scipy.stats.norm.cdf(lo[0], 1.5, 3.0) + scipy.stats.norm.sf(hi[0], 1.5, 3.0)))
  assert outside < 1e-12
  np.testing.assert_allclose(D.Uniform([0.0, 1.0], [1.0, 3.0]).bounds(), [[0.0, 1.0], [1.0, 3.0]])
  np.testing.assert_allclose(D.ParallelLines(0.4).bounds(), [[0.4, 0.0], [0.4, 1.0]])
  np.testing.assert_allclose(D.PointMass(2.0).bounds(), [[2.0], [2.0]])


# --- PacGAN / VEEGAN targets --------------------------------------------------------------------------------

def test_ring_matches_pacgan_setting():
  r = D.ring()
  assert r.dim == 2 and r.locs.shape == (8, 2)
  angles = np.arctan2(r.locs[:, 1], r.locs[:, 0]) % (2 * np.pi)
  np.testing.assert_allclose(np.sort(angles), 2 * np.pi * np.arange(8) / 8, atol=1e-6)
  np.testing.assert_allclose(np.linalg.norm(r.locs, axis=-1), 1.0, rtol=1e-6)
  np.testing.assert_allclose(r.scales, 0.01)
  np.testing.assert_allclose(r.weights, 1 / 8)


def test_grid_matches_pacgan_setting():
  g = D.grid()
  assert g.locs.shape == (25, 2)
  expected = set(itertools.product([-4.0, -2.0, 0.0, 2.0, 4.0], repeat=2))
  assert {tuple(map(float, row)) for row in np.asarray(g.locs)} == expected
  np.testing.assert_allclose(g.scales, 0.05)
  np.testing.assert_allclose(g.weights, 1 / 25, rtol=1e-6)


# --- pytrees, jit, vmap -------------------------------------------------------------------------------------

ALL = [D.Gaussian([0.0, 1.0], 1.0), D.GaussianMixture(MIX_LOCS, MIX_SCALES, MIX_WEIGHTS), D.Uniform(0.0, 1.0),
       D.PointMass(1.0), D.ParallelLines(0.5)]


@pytest.mark.parametrize("dist", ALL, ids=lambda d: type(d).__name__)
def test_unflatten_accepts_non_array_leaves_and_jit_round_trips(dist):
  sentinel = object()
  for leaf in (None, 0, sentinel):
    other = jax.tree.map(lambda _: leaf, dist)  # what vmap in_axes trees do
    assert all(getattr(other, f) is leaf for f in type(dist)._fields)
  back = jax.jit(lambda d: d)(dist)
  assert type(back) is type(dist) and back.dim == dist.dim
  np.testing.assert_array_equal(jax.tree.leaves(back)[0], jax.tree.leaves(dist)[0])


def test_immutable():
  with pytest.raises(AttributeError, match="immutable"):
    D.Gaussian(0.0, 1.0).loc = 1.0


def test_scalars_give_dim_1_and_shapes():
  g = D.Gaussian(0.0, 1.0)
  assert g.dim == 1 and g.loc.shape == (1,) and g.scale.shape == (1,)
  assert D.Gaussian([0.0, 1.0, 2.0], 2.0).scale.shape == (3,)
  assert D.Uniform(0.0, [1.0, 2.0]).dim == 2
  assert D.ParallelLines(0.0).dim == 2 and D.PointMass([1.0, 2.0]).dim == 2
  assert g.sample(KEY, 5).shape == (5, 1) and g.log_prob(jnp.zeros((5, 1))).shape == (5,)
  assert g.loc.dtype == jnp.float32


def test_vmap_over_stacked_parameters_and_construction_under_jit():
  gs = jax.tree.map(lambda *x: jnp.stack(x), *[D.Gaussian(m, 1.0) for m in (0.0, 1.0, 2.0)])
  x = jnp.asarray([[0.5]])
  out = jax.vmap(lambda d: d.log_prob(x)[0], in_axes=(jax.tree.map(lambda _: 0, gs),))(gs)
  np.testing.assert_allclose(out, scipy.stats.norm.logpdf(0.5, [0.0, 1.0, 2.0]), rtol=1e-6)
  # Traced parameters skip value checks (a traced scale cannot be inspected) but keep shape checks.
  built = jax.jit(lambda m, s: D.Gaussian(m, s).log_prob(x))(jnp.asarray(1.0), jnp.asarray(2.0))
  np.testing.assert_allclose(built, scipy.stats.norm.logpdf([0.5], 1.0, 2.0), rtol=1e-6)
  jax.jit(lambda s: D.Gaussian(0.0, s).loc)(jnp.asarray(-1.0))  # no concrete value: no check
  with pytest.raises(ValueError, match="loc and scale must have the same shape"):
    jax.jit(lambda m: D.Gaussian(m, jnp.ones(3)).loc)(jnp.zeros(2))


# --- validation ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("build,match", [
    (lambda: D.Gaussian(0.0, 0.0), r"Gaussian: scale must be > 0 everywhere, got 0\."),
    (lambda: D.Gaussian(0.0, [1.0, -2.0]), r"scale must be > 0 everywhere, got \[ 1. -2.\]"),
    (lambda: D.Gaussian(np.nan, 1.0), r"Gaussian: loc must be finite, got nan"),
    (lambda: D.Gaussian(0.0, np.inf), r"scale must be finite, got inf"),
    (lambda: D.Gaussian([0.0, 1.0], [1.0, 1.0, 1.0]), r"loc and scale must have the same shape, got \(2,\)"),
    (lambda: D.Gaussian([[0.0]], 1.0), r"loc must be a scalar or shape \(d,\), got shape \(1, 1\)"),
    (lambda: D.Gaussian("a", 1.0), r"loc must be a real array, got 'a'"),
    (lambda: D.GaussianMixture([[0.0], [1.0]], [[1.0], [1.0]], [0.5, 0.6]),
     r"weights must sum to 1 \(within 1e-6\), got sum 1.1"),
    (lambda: D.GaussianMixture([[0.0], [1.0]], [[1.0], [1.0]], [1.5, -0.5]),
     r"weights must be >= 0, got \[ 1.5 -0.5\]"),
    (lambda: D.GaussianMixture(np.zeros((0, 1)), np.ones((0, 1)), np.ones(0)),
     r"locs must have shape \(k, d\) with k, d >= 1, got \(0, 1\)"),
    (lambda: D.GaussianMixture([[0.0], [1.0]], [[1.0], [0.0]], [0.5, 0.5]), r"scales must be > 0"),
    (lambda: D.GaussianMixture([[0.0], [1.0]], [[1.0], [1.0]], [0.5, np.nan]), r"weights must be finite"),
    (lambda: D.GaussianMixture([[0.0], [np.inf]], [[1.0], [1.0]], [0.5, 0.5]), r"locs must be finite"),
    (lambda: D.GaussianMixture([0.0, 1.0], [1.0, 1.0], [0.5, 0.5]), r"locs must be shape \(k, d\), got shape \(2,\)"),
    (lambda: D.GaussianMixture([[0.0], [1.0]], [[1.0, 1.0]] * 2, [0.5, 0.5]),
     r"scales must have shape \(2, 1\) or \(2,\) to match locs \(2, 1\), got \(2, 2\)"),
    (lambda: D.GaussianMixture([[0.0], [1.0]], [[1.0], [1.0]], [1.0]),
     r"weights must have shape \(2,\) to match locs \(2, 1\), got \(1,\)"),
    (lambda: D.Uniform(1.0, 1.0), r"Uniform: high must be > low everywhere, got low=\[1.\], high=\[1.\]"),
    (lambda: D.Uniform([0.0, 0.0], [1.0, 1.0, 1.0]), r"low and high must have the same shape"),
    (lambda: D.Uniform(-np.inf, 0.0), r"low must be finite, got -inf"),
    (lambda: D.PointMass(np.nan), r"PointMass: loc must be finite, got nan"),
    (lambda: D.ParallelLines([0.0, 1.0]), r"ParallelLines: theta must be a scalar, got shape \(2,\)"),
    (lambda: D.ParallelLines(np.inf), r"theta must be finite, got inf"),
    (lambda: D.ring(n_modes=0), r"n_modes must be a positive integer, got 0"),
    (lambda: D.ring(radius=-1.0), r"radius must be a finite number > 0, got -1.0"),
    (lambda: D.ring(scale=0.0), r"scale must be a finite number > 0, got 0.0"),
    (lambda: D.grid(n=2.5), r"n must be a positive integer, got 2.5"),
    (lambda: D.grid(spacing=np.nan), r"spacing must be a finite number > 0, got nan"),
    (lambda: D.grid(scale=True), r"scale must be a finite number > 0, got True"),
])
def test_bad_parameters_raise_value_error(build, match):
  with pytest.raises(ValueError, match=match):
    build()


@pytest.mark.parametrize("call,match", [
    (lambda: D.Gaussian(0.0, 1.0).sample(KEY, 0), r"n must be a positive Python int .* got 0"),
    (lambda: D.Uniform(0.0, 1.0).sample(KEY, 2.0), r"n must be a positive Python int .* got 2.0"),
    (lambda: D.Gaussian(0.0, 1.0).log_prob(jnp.zeros((3, 2))), r"x must have shape \(n, 1\), got shape \(3, 2\)"),
    (lambda: D.Gaussian([0.0, 0.0], 1.0).log_prob(jnp.zeros(2)), r"x must have shape \(n, 2\), got shape \(2,\)"),
    (lambda: D.Gaussian([0.0, 0.0], 1.0).cdf(jnp.zeros((1, 2))),
     r"Gaussian.cdf is defined only for dim = 1, got dim = 2"),
    (lambda: D.grid().cdf(jnp.zeros((1, 2))), r"GaussianMixture.cdf is defined only for dim = 1"),
    (lambda: D.Uniform([0.0, 0.0], 1.0).cdf(jnp.zeros((1, 2))), r"Uniform.cdf is defined only for dim = 1"),
    (lambda: D.PointMass(0.0).log_prob(jnp.zeros((1, 1))), r"PointMass has no density"),
    (lambda: D.ParallelLines(0.0).log_prob(jnp.zeros((1, 2))), r"ParallelLines has no density"),
])
def test_bad_method_arguments_raise_value_error(call, match):
  with pytest.raises(ValueError, match=match):
    call()
