"""Tests for gan_jax.divergences against closed forms, scipy quadrature and the papers' numbers."""
import itertools
import math

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.special
import scipy.stats
from hypothesis import given
from jax.scipy.special import ndtr

from gan_jax import distributions as D
from gan_jax import divergences as V

LOG2, LOG4 = math.log(2.0), math.log(4.0)
KEY = jax.random.key(0)
# Goodfellow et al. 2014 pair p = N(0, 1), g = N(μ, 1): (μ, JSD, V(D*, G)) by scipy quad (REFERENCES.md).
GOLDEN = [(0.5, 0.030311, -1.325672), (1.0, 0.111421, -1.163451), (2.0, 0.336831, -0.712633)]


# --- float64 references by scipy.integrate.quad on scipy.stats densities -------------------------------------

def _quad(f, lo, hi, points=()):
  pts = sorted(t for t in points if lo < t < hi)
  return scipy.integrate.quad(f, lo, hi, points=pts or None, limit=400, epsabs=1e-10, epsrel=1e-10)[0]


def _term(lp, lq):
  """e^lp·(lp − lq) with 0·log 0 = 0: log space, so a far tail where one density underflows stays exact."""
  return math.exp(lp) * (lp - lq) if lp > -np.inf else 0.0


def ref_js(logpdf_p, logpdf_g, lo, hi, points=()):
  def f(x):
    a, b = logpdf_p(x), logpdf_g(x)
    m = np.logaddexp(a, b) - LOG2
    return 0.5 * _term(a, m) + 0.5 * _term(b, m)
  return _quad(f, lo, hi, points)


def ref_kl(logpdf_p, logpdf_g, lo, hi, points=()):
  return _quad(lambda x: _term(logpdf_p(x), logpdf_g(x)), lo, hi, points)


def ref_v(logpdf_p, logpdf_g, lo, hi, points=()):
  def f(x):
    a, b = logpdf_p(x), logpdf_g(x)
    s = np.logaddexp(a, b)
    return _term(a, s) + _term(b, s)  # p log D* + g log(1 − D*), D* = p/(p + g)
  return _quad(f, lo, hi, points)


def ref_w1(cdf_p, cdf_g, lo, hi, points=()):
  return _quad(lambda x: abs(cdf_p(x) - cdf_g(x)), lo, hi, points)


def kl_gauss(m1, s1, m2, s2):
  """KL(N(m1, s1²) ‖ N(m2, s2²)), summed over axes (REFERENCES.md closed form)."""
  m1, s1, m2, s2 = map(np.asarray, (m1, s1, m2, s2))
  return float(np.sum(np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5))


def norm_pdf(m, s):
  """Log density of N(m, s²) in float64 (plain math: scipy.stats costs ~50 µs a call inside quad)."""
  c = -math.log(s) - 0.5 * math.log(2 * math.pi)
  return lambda x: c - 0.5 * ((x - m) / s) ** 2


def mix_pdf(locs, scales, weights):
  """Log density of a 1-D Gaussian mixture in float64, by a max-shifted logsumexp."""
  comps = [(math.log(w), norm_pdf(m, s)) for m, s, w in zip(locs, scales, weights) if w > 0]

  def logpdf(x):
    terms = [lw + f(x) for lw, f in comps]
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))
  return logpdf


def unif_pdf(lo, hi):
  """Log density of U[lo, hi] in float64."""
  return lambda x: -math.log(hi - lo) if lo <= x <= hi else -np.inf


def mix_cdf(locs, scales, weights):
  comps = [scipy.stats.norm(m, s) for m, s in zip(locs, scales)]
  return lambda x: sum(w * c.cdf(x) for w, c in zip(weights, comps))


def test_reference_densities_match_scipy_stats():
  xs = np.linspace(-30, 30, 61)
  np.testing.assert_allclose([norm_pdf(0.3, 1.4)(x) for x in xs], scipy.stats.norm(0.3, 1.4).logpdf(xs), rtol=1e-13)
  locs, scales, weights = MIX
  ref = scipy.special.logsumexp([scipy.stats.norm(m, s).logpdf(xs) for m, s in zip(locs, scales)], axis=0,
                                b=np.asarray(weights)[:, None])
  np.testing.assert_allclose([mix_pdf(*MIX)(x) for x in xs], ref, rtol=1e-13)
  np.testing.assert_allclose([unif_pdf(-1, 2)(x) for x in xs], scipy.stats.uniform(-1, 3).logpdf(xs), rtol=1e-13)


MIX = ([-2.0, 1.5], [0.5, 0.3], [0.3, 0.7])


def mixture_1d():
  locs, scales, weights = MIX
  return D.GaussianMixture([[m] for m in locs], [[s] for s in scales], weights)


# --- golden numbers -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("mu,jsd,v_opt", GOLDEN)
def test_golden_numbers(mu, jsd, v_opt):
  p, g = D.Gaussian(0.0, 1.0), D.Gaussian(mu, 1.0)
  # The table itself, recomputed in float64.
  assert abs(ref_js(norm_pdf(0, 1), norm_pdf(mu, 1), -20, 20) - jsd) < 5e-7
  assert abs(ref_v(norm_pdf(0, 1), norm_pdf(mu, 1), -20, 20) - v_opt) < 5e-7
  est_js, est_v = V.js(p, g), V.value_at_optimum(p, g)
  assert abs(float(est_js.value) - jsd) < 1e-5
  assert abs(float(est_v.value) - v_opt) < 1e-5
  assert est_js.method == est_v.method == "quadrature" and est_js.num_samples == 0
  assert float(est_js.stderr) == 0.0


# --- 1-D quadrature against scipy quad ----------------------------------------------------------------------

CASES_1D = {
    "mixture_vs_gaussian": (mixture_1d, lambda: D.Gaussian(0.3, 1.4), mix_pdf(*MIX), norm_pdf(0.3, 1.4),
                            mix_cdf(*MIX), scipy.stats.norm(0.3, 1.4).cdf, (-2.0, 1.5)),
    "gaussian_vs_mixture": (lambda: D.Gaussian(0.3, 1.4), mixture_1d, norm_pdf(0.3, 1.4), mix_pdf(*MIX),
                            scipy.stats.norm(0.3, 1.4).cdf, mix_cdf(*MIX), (-2.0, 1.5)),
    "uniform_vs_gaussian": (lambda: D.Uniform(-1.0, 2.0), lambda: D.Gaussian(0.5, 1.0),
                            unif_pdf(-1.0, 2.0), norm_pdf(0.5, 1.0), scipy.stats.uniform(-1, 3).cdf,
                            scipy.stats.norm(0.5, 1.0).cdf, (-1.0, 2.0)),
    "uniform_vs_wider_uniform": (lambda: D.Uniform(0.0, 1.0), lambda: D.Uniform(-0.5, 3.0),
                                 unif_pdf(0.0, 1.0), unif_pdf(-0.5, 3.0),
                                 scipy.stats.uniform(0, 1).cdf, scipy.stats.uniform(-0.5, 3.5).cdf,
                                 (-0.5, 0.0, 1.0, 3.0)),
    "narrow_modes_vs_gaussian": (
        lambda: D.GaussianMixture([[-4.0], [0.0], [4.0]], [[0.05]] * 3, [0.25, 0.5, 0.25]),
        lambda: D.Gaussian(0.0, 2.0), mix_pdf([-4, 0, 4], [0.05] * 3, [0.25, 0.5, 0.25]), norm_pdf(0.0, 2.0),
        mix_cdf([-4, 0, 4], [0.05] * 3, [0.25, 0.5, 0.25]), scipy.stats.norm(0, 2).cdf, (-4.0, 0.0, 4.0)),
}


@pytest.mark.parametrize("name", sorted(CASES_1D))
def test_1d_quadrature_matches_scipy_quad(name):
  make_p, make_g, pdf_p, pdf_g, cdf_p, cdf_g, points = CASES_1D[name]
  p, g = make_p(), make_g()
  args = (pdf_p, pdf_g, -25.0, 25.0, points)
  # Accuracy target 1e-6 absolute (float32 sums of 12k terms).
  assert abs(float(V.js(p, g).value) - ref_js(*args)) < 1e-6
  assert abs(float(V.value_at_optimum(p, g).value) - ref_v(*args)) < 1e-6
  assert abs(float(V.w1(p, g).value) - ref_w1(cdf_p, cdf_g, -25.0, 25.0, points)) < 1e-6
  kl_est = V.kl(p, g)
  if name == "gaussian_vs_mixture" or name.startswith("mixture") or name.startswith("narrow"):
    assert kl_est.method == "quadrature"
    assert abs(float(kl_est.value) - ref_kl(*args)) < 2e-6 * max(1.0, float(kl_est.value))
  elif name == "uniform_vs_wider_uniform":
    np.testing.assert_allclose(kl_est.value, math.log(3.5), rtol=1e-6)
    assert ref_kl(*args) == pytest.approx(math.log(3.5), rel=1e-9)
  else:  # Uniform p inside a Gaussian g: finite.
    assert abs(float(kl_est.value) - ref_kl(*args)) < 1e-6


def test_kl_infinite_where_p_has_mass_and_g_none():
  assert V.kl(D.Uniform(-0.5, 3.0), D.Uniform(0.0, 1.0)).value == np.inf
  assert V.kl(D.Uniform(0.0, 2.0), D.Uniform(1.0, 3.0)).value == np.inf
  est = V.kl(D.Gaussian(0.0, 1.0), D.Uniform(-20.0, 20.0))  # the Gaussian's tails reach past the box
  assert est.value == np.inf and est.method == "analytic"
  assert np.isfinite(V.kl(D.Uniform(-20.0, 20.0), D.Gaussian(0.0, 1.0)).value)


# --- KL of Gaussians ----------------------------------------------------------------------------------------

@given(m1=st.floats(-3, 3), s1=st.floats(0.2, 3), m2=st.floats(-3, 3), s2=st.floats(0.2, 3))
def test_kl_gaussians_closed_form_and_quadrature(m1, s1, m2, s2):
  truth = kl_gauss(m1, s1, m2, s2)
  est = V.kl(D.Gaussian(m1, s1), D.Gaussian(m2, s2))
  assert est.method == "closed_form"
  assert abs(float(est.value) - truth) < 1e-5 * max(1.0, truth)
  # A one-component mixture takes the quadrature path: an independent route to the same number.
  one = D.GaussianMixture([[m1]], [[s1]], [1.0])
  quad = V.kl(one, D.GaussianMixture([[m2]], [[s2]], [1.0]))
  assert quad.method == "quadrature"
  assert abs(float(quad.value) - truth) < 2e-6 * max(1.0, truth)


def test_kl_closed_form_matches_scipy_quad_in_several_dims():
  m1, s1, m2, s2 = [0.0, 1.0, -1.0], [1.0, 0.5, 2.0], [0.5, 0.0, 0.0], [1.5, 1.0, 1.0]
  per_axis = [ref_kl(norm_pdf(a, b), norm_pdf(c, d), -30, 30) for a, b, c, d in zip(m1, s1, m2, s2)]
  np.testing.assert_allclose(V.kl(D.Gaussian(m1, s1), D.Gaussian(m2, s2)).value, sum(per_axis), rtol=1e-6)


# --- Goodfellow Theorem 1 -----------------------------------------------------------------------------------

@pytest.mark.parametrize("mu", [0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0])
def test_value_at_optimum_is_two_jsd_minus_log4(mu):
  p, g = D.Gaussian(0.0, 1.0), D.Gaussian(mu, 1.0)
  np.testing.assert_allclose(V.value_at_optimum(p, g).value, -LOG4 + 2 * V.js(p, g).value, atol=1e-6)


def test_value_at_optimum_is_two_jsd_minus_log4_for_mixture_and_uniform():
  for p, g in [(mixture_1d(), D.Gaussian(0.3, 1.4)), (D.Uniform(-1.0, 2.0), mixture_1d())]:
    np.testing.assert_allclose(V.value_at_optimum(p, g).value, -LOG4 + 2 * V.js(p, g).value, atol=1e-6)


# --- properties ---------------------------------------------------------------------------------------------

gaussians = st.builds(D.Gaussian, st.floats(-6, 6), st.floats(0.1, 4))
mixtures = st.builds(
    lambda a, b, s, t, w: D.GaussianMixture([[a], [b]], [[s], [t]], [w, 1.0 - w]),
    st.floats(-5, 5), st.floats(-5, 5), st.floats(0.1, 3), st.floats(0.1, 3), st.floats(0.0, 1.0))
dists_1d = st.one_of(gaussians, mixtures)


@given(p=dists_1d, g=dists_1d)
def test_js_bounded_symmetric_and_kl_nonnegative(p, g):
  a, b = float(V.js(p, g).value), float(V.js(g, p).value)
  assert -1e-6 <= a <= LOG2 + 1e-6
  assert abs(a - b) < 1e-6
  assert float(V.kl(p, g).value) >= -1e-6 and float(V.kl(g, p).value) >= -1e-6
  v = float(V.value_at_optimum(p, g).value)
  # V(D*, G) = 2·JSD − log 4 in float32 (an ulp at 1.386 is 1.2e-7): p ≈ g has put V 1.3e-6 below −log 4.
  assert -LOG4 - 3e-6 <= v <= 1e-6


def _assert_same_estimates(together, alone):
  for name, estimate in alone.items():
    assert together[name].method == estimate.method, name
    np.testing.assert_allclose(together[name].value, estimate.value, rtol=1e-6, atol=1e-7, err_msg=name)
    np.testing.assert_allclose(together[name].stderr, estimate.stderr, rtol=1e-6, atol=1e-7, err_msg=name)


@given(p=dists_1d, g=dists_1d)
def test_js_kl_and_value_equal_the_four_functions(p, g):
  # 1-D: one shared grid; Gaussian pairs and full support against a box keep their closed forms.
  _assert_same_estimates(V.js_kl_and_value(p, g), {
      "js": V.js(p, g), "kl_pg": V.kl(p, g), "kl_gp": V.kl(g, p), "v_opt": V.value_at_optimum(p, g)})


@pytest.mark.parametrize("p,g", [
    (D.Gaussian([0.0, 0.0], [1.0, 1.0]), D.Gaussian([0.5, -0.5], [1.0, 2.0])),
    (D.ring(), D.Gaussian([0.0, 0.0], [1.0, 1.0])),
    (D.PointMass([0.0]), D.Gaussian(0.0, 1.0)),
    (D.ParallelLines(0.0), D.ParallelLines(0.5)),
])
def test_js_kl_and_value_elsewhere_use_the_documented_keys(p, g):
  k_js, k_pg, k_gp = jax.random.split(KEY, 3)
  k_v = jax.random.fold_in(KEY, 7)
  n = 2000
  _assert_same_estimates(V.js_kl_and_value(p, g, key=KEY, num_samples=n), {
      "js": V.js(p, g, key=k_js, num_samples=n), "kl_pg": V.kl(p, g, key=k_pg, num_samples=n),
      "kl_gp": V.kl(g, p, key=k_gp, num_samples=n), "v_opt": V.value_at_optimum(p, g, key=k_v, num_samples=n)})


def test_js_kl_and_value_needs_a_key_for_monte_carlo():
  with pytest.raises(ValueError, match="key"):
    V.js_kl_and_value(D.ring(), D.Gaussian([0.0, 0.0], [1.0, 1.0]))


@given(p=dists_1d)
def test_divergences_vanish_for_identical_arguments(p):
  assert abs(float(V.js(p, p).value)) < 1e-6
  assert abs(float(V.kl(p, p).value)) < 1e-6
  assert abs(float(V.w1(p, p).value)) < 1e-6
  # float32 quadrature of V ≈ −1.386 (an ulp is 1.2e-7): 1.4e-6 off has been seen (narrow mixture components).
  assert abs(float(V.value_at_optimum(p, p).value) + LOG4) < 3e-6
  x = jnp.linspace(-10, 10, 101)[:, None]
  np.testing.assert_allclose(V.optimal_discriminator(p, p)(x), 0.5)


@given(mu=st.floats(-4, 4).filter(lambda m: abs(m) > 0.05), s=st.floats(0.3, 3), x=st.floats(-6, 6))
def test_optimal_discriminator_in_unit_interval_and_half_where_densities_meet(mu, s, x):
  p, g = D.Gaussian(0.0, s), D.Gaussian(mu, s)
  d = V.optimal_discriminator(p, g)
  val = float(d(jnp.asarray([[x]]))[0])
  ref_logit = scipy.stats.norm.logpdf(x, 0, s) - scipy.stats.norm.logpdf(x, mu, s)
  assert 0.0 <= val <= 1.0
  if abs(ref_logit) < 15:  # beyond, σ(logit) rounds to 0 or 1 in float32
    assert 0.0 < val < 1.0
  assert abs(val - scipy.special.expit(ref_logit)) < 1e-5
  # Equal scales: the densities cross at μ/2.
  assert abs(float(d(jnp.asarray([[mu / 2]]))[0]) - 0.5) < 1e-6
  np.testing.assert_allclose(V.optimal_discriminator_logit(p, g)(jnp.asarray([[x]])), ref_logit,
                             rtol=1e-5, atol=1e-4)


def test_far_apart_distributions_give_no_nan():
  p, g = D.Gaussian(0.0, 1.0), D.Gaussian(50.0, 1.0)
  assert abs(float(V.js(p, g).value) - LOG2) < 1e-6
  assert abs(float(V.value_at_optimum(p, g).value)) < 1e-6
  np.testing.assert_allclose(V.kl(p, g).value, 1250.0, rtol=1e-6)
  np.testing.assert_allclose(V.w1(p, g).value, 50.0, rtol=1e-6)
  x = jnp.linspace(-60, 110, 401)[:, None]
  d = V.optimal_discriminator(p, g)(x)
  assert np.all(np.isfinite(d)) and np.all((d >= 0) & (d <= 1))
  # Far from both, the densities underflow in float32 but the log-space D* still orders them.
  np.testing.assert_allclose(V.optimal_discriminator(p, g)(jnp.asarray([[-60.0], [110.0]])), [1.0, 0.0])
  u, w = D.Uniform(0.0, 1.0), D.Uniform(2.0, 3.0)  # disjoint supports: log p = log g = −inf between them
  assert abs(float(V.js(u, w).value) - LOG2) < 1e-6
  np.testing.assert_allclose(V.optimal_discriminator(u, w)(jnp.asarray([[1.5], [0.5], [2.5]])), [0.5, 1.0, 0.0])


# --- W1 -----------------------------------------------------------------------------------------------------

@given(m1=st.floats(-5, 5), m2=st.floats(-5, 5), s=st.floats(0.1, 3))
def test_w1_equal_scale_gaussians_is_mean_shift(m1, m2, s):
  est = V.w1(D.Gaussian(m1, s), D.Gaussian(m2, s))
  assert abs(float(est.value) - abs(m1 - m2)) < 1e-5 * max(1.0, abs(m1 - m2))


def test_w1_matches_scipy_wasserstein_distance_on_big_samples():
  p, g = mixture_1d(), D.Uniform(-1.0, 2.0)
  n = 200_000
  x, y = np.asarray(p.sample(jax.random.key(1), n))[:, 0], np.asarray(g.sample(jax.random.key(2), n))[:, 0]
  sampled = scipy.stats.wasserstein_distance(x, y)
  # Empirical W1 fluctuates (and is biased up) at ~1/√n ≈ 0.002; 0.01 is a generous margin.
  assert abs(float(V.w1(p, g).value) - sampled) < 0.01


def test_w1_point_mass_against_gaussian_closed_form():
  a, m, s = 0.3, -0.2, 1.3
  delta = a - m
  # E|X − a| for X ~ N(m, s²): folded-normal mean.
  truth = (s * math.sqrt(2 / math.pi) * math.exp(-delta**2 / (2 * s**2))
           + delta * (1 - 2 * scipy.stats.norm.cdf(-delta / s)))
  np.testing.assert_allclose(V.w1(D.PointMass(a), D.Gaussian(m, s)).value, truth, atol=1e-6)


def test_w1_2d_optimal_transport_gaussians():
  shift = 3.0
  p, g = D.Gaussian([0.0, 0.0], 1.0), D.Gaussian([shift, 0.0], 1.0)
  est = V.w1(p, g, key=KEY)
  assert est.method == "optimal_transport" and est.num_samples == 2000
  # Truth: W1 of a translation family is the shift. Empirical OT is biased upward (joint convexity), and the
  # bias is small next to the shift.
  assert float(est.value) > shift - 4 * float(est.stderr)
  assert float(est.value) < shift + 0.15
  assert 0 < float(est.stderr) < 0.1


def test_w1_2d_point_mass_against_segment_is_unbiased():
  # Every assignment to a point mass costs the same, so the sample W1 is unbiased: ∫₀¹ √(θ² + z²) dz.
  theta = 0.7
  truth = _quad(lambda z: math.hypot(theta, z), 0.0, 1.0)
  est = V.w1(D.PointMass([0.0, 0.0]), D.ParallelLines(theta), key=KEY, num_samples=2000)
  assert abs(float(est.value) - truth) < 4 * float(est.stderr)


def test_assignment_cost_matches_brute_force():
  rng = np.random.default_rng(0)
  x, y = rng.normal(size=(6, 2)), rng.normal(size=(6, 2)) + 1.0
  brute = min(np.mean(np.linalg.norm(x - y[list(perm)], axis=-1)) for perm in itertools.permutations(range(6)))
  assert V._assignment_cost(x, y) == pytest.approx(brute, rel=1e-12)


# --- Monte Carlo in 2-D -------------------------------------------------------------------------------------

def _within(est, truth, k=4.0):
  assert est.method == "monte_carlo"
  assert 0 < float(est.stderr)
  assert abs(float(est.value) - truth) < k * float(est.stderr), (est, truth)


def test_2d_monte_carlo_kl_gaussians_against_closed_form():
  m1, s1, m2, s2 = [0.0, 1.0], [1.0, 0.5], [0.5, 0.0], [1.5, 1.0]
  # One-component mixtures are not dispatched to the closed form: this exercises the Monte Carlo path.
  p = D.GaussianMixture([m1], [s1], [1.0])
  g = D.GaussianMixture([m2], [s2], [1.0])
  est = V.kl(p, g, key=KEY, num_samples=50_000)
  assert est.num_samples == 50_000
  _within(est, kl_gauss(m1, s1, m2, s2))
  assert V.kl(D.Gaussian(m1, s1), D.Gaussian(m2, s2)).method == "closed_form"


def test_2d_monte_carlo_js_and_value_of_a_product_mixture():
  # Separable: p = mix(x₁)·N(x₂; 0, 1) and g = N(x₁; 0.3, 1.4)·N(x₂; 0, 1) share the x₂ factor, and
  # f-divergences ignore a common independent factor, so the 2-D JSD is the 1-D one.
  locs, scales, weights = MIX
  p = D.GaussianMixture([[m, 0.0] for m in locs], [[s, 1.0] for s in scales], weights)
  g = D.Gaussian([0.3, 0.0], [1.4, 1.0])
  truth = ref_js(mix_pdf(*MIX), norm_pdf(0.3, 1.4), -25, 25, (-2.0, 1.5))
  js_est = V.js(p, g, key=KEY, num_samples=50_000)
  _within(js_est, truth)
  _within(V.value_at_optimum(p, g, key=jax.random.key(1), num_samples=50_000), -LOG4 + 2 * truth)
  _within(V.kl(p, g, key=jax.random.key(2), num_samples=50_000),
          ref_kl(mix_pdf(*MIX), norm_pdf(0.3, 1.4), -25, 25, (-2.0, 1.5)))


def test_2d_monte_carlo_js_by_dblquad():
  # A genuinely 2-D pair (correlated means, different scales per axis), truth by scipy.integrate.dblquad.
  p = D.GaussianMixture([[-1.0, -1.0], [1.0, 1.0]], [[0.6, 0.6], [0.6, 0.6]], [0.5, 0.5])
  g = D.Gaussian([0.0, 0.5], [1.0, 0.8])
  npdf = lambda t, m, s: math.exp(-0.5 * ((t - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))
  pdf_p = lambda x, y: 0.5 * (npdf(x, -1, .6) * npdf(y, -1, .6) + npdf(x, 1, .6) * npdf(y, 1, .6))
  pdf_g = lambda x, y: npdf(x, 0, 1) * npdf(y, 0.5, 0.8)

  def integrand(y, x):
    a, b = math.log(pdf_p(x, y)), math.log(pdf_g(x, y))  # > 0 on [−6, 6]²
    m = np.logaddexp(a, b) - LOG2
    return 0.5 * _term(a, m) + 0.5 * _term(b, m)

  # The Monte Carlo standard error is ~1e-3: 1e-7 on the truth is plenty.
  truth = scipy.integrate.dblquad(integrand, -6, 6, -6, 6, epsabs=1e-7, epsrel=1e-7)[0]
  _within(V.js(p, g, key=KEY, num_samples=50_000), truth)
  np.testing.assert_allclose(V.js(p, p, key=KEY).value, 0.0, atol=1e-7)


# --- analytic cases (Arjovsky et al. 2017, Fig. 1) ----------------------------------------------------------

@pytest.mark.parametrize("theta", [0.0, 0.3, -2.0])
def test_parallel_lines(theta):
  p0, pt = D.ParallelLines(0.0), D.ParallelLines(theta)
  disjoint = theta != 0
  np.testing.assert_allclose(V.js(p0, pt).value, LOG2 if disjoint else 0.0)
  assert float(V.kl(p0, pt).value) == (np.inf if disjoint else 0.0)
  np.testing.assert_allclose(V.value_at_optimum(p0, pt).value, 0.0 if disjoint else -LOG4)
  np.testing.assert_allclose(V.w1(p0, pt).value, abs(theta))
  assert V.js(p0, pt).method == V.w1(p0, pt).method == "analytic"


def test_singular_cases_under_jit_and_against_densities():
  f = jax.jit(jax.vmap(lambda t: (V.js(D.ParallelLines(0.0), D.ParallelLines(t)).value,
                                  V.w1(D.ParallelLines(0.0), D.ParallelLines(t)).value)))
  js_v, w1_v = f(jnp.asarray([0.0, 0.5, -1.5]))
  np.testing.assert_allclose(js_v, [0.0, LOG2, LOG2])
  np.testing.assert_allclose(w1_v, [0.0, 0.5, 1.5])
  a, b = D.PointMass([0.0, 0.0]), D.PointMass([3.0, 4.0])
  np.testing.assert_allclose(V.w1(a, b).value, 5.0)
  assert float(V.js(a, b).value) == pytest.approx(LOG2) and float(V.js(a, a).value) == 0.0
  assert float(V.kl(a, a).value) == 0.0 and float(V.kl(a, b).value) == np.inf
  # A singular measure against one with a density: mutually singular.
  gauss = D.Gaussian([0.0, 0.0], 1.0)
  assert float(V.js(a, gauss).value) == pytest.approx(LOG2)
  assert float(V.kl(gauss, a).value) == np.inf and float(V.kl(a, gauss).value) == np.inf
  assert float(V.value_at_optimum(D.ParallelLines(0.0), gauss).value) == 0.0


# --- jit, vmap, grad, duck-typed distributions --------------------------------------------------------------

def test_jit_vmap_over_gaussian_locs_equals_per_item():
  p = D.Gaussian(0.0, 1.0)
  mus = jnp.asarray([-1.0, 0.0, 0.5, 2.0, 7.0])
  batched = jax.jit(jax.vmap(lambda m: (V.js(p, D.Gaussian(m, 1.3)), V.kl(p, D.Gaussian(m, 1.3)),
                                        V.value_at_optimum(p, D.Gaussian(m, 1.3)),
                                        V.w1(p, D.Gaussian(m, 1.3)))))(mus)
  for i, m in enumerate(np.asarray(mus)):
    g = D.Gaussian(float(m), 1.3)
    for est, single in zip(batched, (V.js(p, g), V.kl(p, g), V.value_at_optimum(p, g), V.w1(p, g))):
      np.testing.assert_allclose(est.value[i], single.value, atol=1e-6)
  # A stacked batch of distributions, vmapped with an in_axes tree of the same structure.
  gs = jax.tree.map(lambda *x: jnp.stack(x), *[D.GaussianMixture([[float(m)]], [[1.3]], [1.0]) for m in mus])
  in_axes = jax.tree.map(lambda _: 0, gs)
  kl_b = jax.jit(jax.vmap(lambda g: V.kl(p, g), in_axes=(in_axes,)))(gs)
  np.testing.assert_allclose(kl_b.value, [kl_gauss(0, 1, float(m), 1.3) for m in mus], rtol=2e-6, atol=1e-6)


def test_jit_vmap_over_keys_in_2d():
  p, g = D.Gaussian([0.0, 0.0], 1.0), D.GaussianMixture([[1.0, 0.0]], [[1.0, 1.0]], [1.0])
  keys = jax.random.split(KEY, 2)
  out = jax.jit(jax.vmap(lambda k: V.js(p, g, key=k, num_samples=4000)))(keys)
  for i in range(2):
    np.testing.assert_allclose(out.value[i], V.js(p, g, key=keys[i], num_samples=4000).value, atol=1e-6)


def test_minimax_generator_gradient_matches_references():
  # REFERENCES.md: for g = N(θ, 1) against N(0, 1) the minimax generator gradient is 2·dJSD/dθ.
  p = D.Gaussian(0.0, 1.0)
  grad = jax.grad(lambda t: 2 * V.js(p, D.Gaussian(t, 1.0)).value)
  for theta, ref in [(0.5, 0.235), (1.0, 0.398), (2.0, 0.450), (4.0, 0.137), (8.0, 0.0004)]:
    assert abs(float(grad(theta)) - ref) < 5e-4 * max(1.0, ref / 0.1)
    # And against a central difference of the float64 quad JSD.
    h = 1e-3
    fd = (ref_js(norm_pdf(0, 1), norm_pdf(theta + h, 1), -30, 40) -
          ref_js(norm_pdf(0, 1), norm_pdf(theta - h, 1), -30, 40)) / h
    assert abs(float(grad(theta)) - fd) < 2e-5


@jax.tree_util.register_pytree_node_class
class _FlowWithoutCdf:
  """A duck-typed generator distribution x = shift + e^{log_scale}·z, z ~ N(0, 1): not a built-in class."""

  def __init__(self, shift, log_scale):
    self.shift, self.log_scale = shift, log_scale

  def tree_flatten(self):
    return (self.shift, self.log_scale), None

  @classmethod
  def tree_unflatten(cls, _, children):
    return cls(*children)

  dim = 1

  def sample(self, key, n):
    return self.shift + jnp.exp(self.log_scale) * jax.random.normal(key, (n, 1))

  def log_prob(self, x):
    z = (x[:, 0] - self.shift) * jnp.exp(-self.log_scale)
    return -0.5 * z**2 - 0.5 * math.log(2 * math.pi) - self.log_scale

  def bounds(self):
    s = jnp.exp(self.log_scale)
    return jnp.reshape(self.shift - 8.5 * s, (1,)), jnp.reshape(self.shift + 8.5 * s, (1,))


@jax.tree_util.register_pytree_node_class
class _AffineFlow(_FlowWithoutCdf):
  """The same flow with its cdf: the full protocol."""

  def cdf(self, x):
    return ndtr((x[:, 0] - self.shift) * jnp.exp(-self.log_scale))


def test_duck_typed_generator_distribution_works_everywhere():
  p = mixture_1d()
  flow = _AffineFlow(jnp.asarray(0.3), jnp.asarray(math.log(1.4)))
  twin = D.Gaussian(0.3, 1.4)
  for fn in (V.js, V.value_at_optimum, V.w1):
    np.testing.assert_allclose(fn(p, flow).value, fn(p, twin).value, atol=1e-6)
  np.testing.assert_allclose(V.kl(flow, p).value, V.kl(twin, p).value, atol=2e-6)
  np.testing.assert_allclose(V.kl(flow, twin).value, 0.0, atol=1e-6)
  vals = jax.jit(jax.vmap(lambda s: V.js(p, _AffineFlow(s, jnp.asarray(0.0))).value))(jnp.asarray([0.0, 1.0]))
  np.testing.assert_allclose(vals, [V.js(p, D.Gaussian(s, 1.0)).value for s in (0.0, 1.0)], atol=1e-6)


# --- estimates from a discriminator's outputs ---------------------------------------------------------------

def test_tv_lower_bound_is_tight_at_the_hinge_optimum_and_below_elsewhere():
  # N(0, 1) against N(μ, 1): TV = 2Φ(μ/2) − 1 (closed form); the hinge optimum sign(p − g) = +1 left of μ/2.
  mu, n = 1.5, 400_000
  x = np.random.default_rng(0).normal(0.0, 1.0, n)
  y = np.random.default_rng(1).normal(mu, 1.0, n)
  tv = 2 * scipy.stats.norm.cdf(mu / 2) - 1
  d_star = lambda t: np.where(t < mu / 2, 3.0, -3.0)  # clipped to ±1 inside the bound
  assert abs(float(V.tv_lower_bound(d_star(x), d_star(y))) - tv) < 4 / math.sqrt(n)
  # Any other critic, e.g. a tempered one, lies below by more than the noise.
  soft = lambda t: np.tanh(mu / 2 - t)
  assert float(V.tv_lower_bound(soft(x), soft(y))) < tv - 10 / math.sqrt(n)


def test_least_squares_optimum_read_as_a_probability_gives_the_js_bound():
  # LSGAN's D* = p/(p + g): its log-odds are the logistic D*'s, so the bound reaches JSD.
  p, g = D.Gaussian(0.0, 1.0), D.Gaussian(1.0, 1.5)
  n = 200_000
  x, y = p.sample(jax.random.key(3), n), g.sample(jax.random.key(4), n)
  prob = lambda t: np.asarray(V.optimal_discriminator(p, g)(t), np.float64)
  jsd = float(V.js(p, g).value)
  bound = float(V.js_lower_bound(V.logits_of_probabilities(prob(x)), V.logits_of_probabilities(prob(y))))
  assert abs(bound - jsd) < 0.01, (bound, jsd)
  # Outputs outside (0, 1) are clipped to [ε, 1 − ε] (float32 rounds 1 − ε: ±log(1/ε) to 2%).
  np.testing.assert_allclose(V.logits_of_probabilities(jnp.asarray([0.5, 0.75, 2.0, -1.0])),
                             [0.0, math.log(3.0), -math.log(1e-6), math.log(1e-6)], rtol=0.02, atol=1e-6)

def test_logit_estimates_match_numpy_under_jit():
  rng = np.random.default_rng(0)
  real, fake = rng.normal(1.0, 2.0, 300), rng.normal(-0.5, 1.5, 200)
  log_sig = lambda t: -np.logaddexp(0.0, -t)
  v_ref = log_sig(real).mean() + log_sig(-fake).mean()
  np.testing.assert_allclose(jax.jit(V.value_from_logits)(real, fake), v_ref, rtol=1e-5)
  np.testing.assert_allclose(jax.jit(V.js_lower_bound)(real, fake), LOG2 + 0.5 * v_ref, rtol=1e-5)
  np.testing.assert_allclose(jax.jit(V.kl_pg_plugin)(real), real.mean(), rtol=1e-5)
  np.testing.assert_allclose(jax.jit(V.kl_gp_plugin)(fake), -fake.mean(), rtol=1e-5)
  # Extreme logits stay finite (log σ written stably).
  assert np.isfinite(V.value_from_logits(jnp.asarray([-200.0]), jnp.asarray([200.0])))


def test_logit_estimates_at_the_optimal_discriminator():
  p, g = D.Gaussian(0.0, 1.0), D.Gaussian(1.0, 1.5)
  n = 200_000
  x, y = p.sample(jax.random.key(1), n), g.sample(jax.random.key(2), n)
  logit = V.optimal_discriminator_logit(p, g)
  lr, lf = np.asarray(logit(x), np.float64), np.asarray(logit(y), np.float64)
  log_sig = lambda t: -np.logaddexp(0.0, -t)
  se_v = math.sqrt(log_sig(lr).var() / n + log_sig(-lf).var() / n)
  jsd = V.js(p, g).value
  assert abs(float(V.js_lower_bound(lr, lf)) - float(jsd)) < 4 * 0.5 * se_v
  assert abs(float(V.kl_pg_plugin(lr)) - kl_gauss(0, 1, 1, 1.5)) < 4 * lr.std() / math.sqrt(n)
  assert abs(float(V.kl_gp_plugin(lf)) - kl_gauss(1, 1.5, 0, 1)) < 4 * lf.std() / math.sqrt(n)
  # A worse discriminator (tempered logits): its bound falls below JSD by more than the noise.
  assert float(V.js_lower_bound(0.3 * lr, 0.3 * lf)) < float(jsd) - 4 * se_v


# --- validation ---------------------------------------------------------------------------------------------

P1, P2 = D.Gaussian(0.0, 1.0), D.Gaussian([0.0, 0.0], 1.0)


@pytest.mark.parametrize("call,match", [
    (lambda: V.js(P1, P2), r"p and g must have the same dim, got p.dim = 1 and g.dim = 2"),
    (lambda: V.kl(P2, P1), r"same dim, got p.dim = 2 and g.dim = 1"),
    (lambda: V.value_at_optimum(P1, P2), r"same dim"),
    (lambda: V.w1(P1, P2), r"same dim"),
    (lambda: V.optimal_discriminator(P1, P2), r"same dim"),
    (lambda: V.optimal_discriminator_logit(P1, P2), r"same dim"),
    (lambda: V.js(P1, "not a distribution"), r"g must be a distribution"),
    (lambda: V.js(P2, P2), r"js in dim = 2 >= 2 is a Monte Carlo estimate: pass key=.*got key=None"),
    (lambda: V.kl(P2, D.grid()), r"kl in dim = 2 .* key=None"),
    (lambda: V.value_at_optimum(P2, P2), r"value_at_optimum in dim = 2 .* key=None"),
    (lambda: V.w1(P2, D.grid()), r"w1 in dim = 2 .* key=None"),
    (lambda: V.js(P1, P1, num_samples=1), r"num_samples must be a Python int >= 2, got 1"),
    (lambda: V.kl(P1, P1, num_samples=10.0), r"num_samples must be a Python int >= 2, got 10.0"),
    (lambda: V.w1(P1, P1, num_samples=7), r"num_samples must be a Python int >= 8, got 7"),
    (lambda: V.optimal_discriminator(P1, D.PointMass(0.0)), r"needs densities, but g is a PointMass"),
    (lambda: V.optimal_discriminator(P1, P1)(jnp.asarray([[0.0], [np.nan]])),
     r"x must be finite, got nan at index \(1, 0\)"),
    (lambda: V.optimal_discriminator(P1, P1)(jnp.zeros((3, 2))), r"x must have shape \(n, 1\)"),
    (lambda: V.value_from_logits(jnp.asarray([0.0, np.inf]), jnp.zeros(2)),
     r"real_logits must be finite, got inf at index \(1,\)"),
    (lambda: V.value_from_logits(jnp.zeros(2), jnp.asarray([np.nan])), r"fake_logits must be finite, got nan"),
    (lambda: V.js_lower_bound(jnp.zeros((2, 1)), jnp.zeros(2)),
     r"real_logits must have shape \(n,\) with n >= 1, got shape \(2, 1\)"),
    (lambda: V.kl_pg_plugin(jnp.zeros(0)), r"real_logits must have shape \(n,\) with n >= 1, got shape \(0,\)"),
    (lambda: V.kl_gp_plugin(jnp.asarray([-np.inf])), r"fake_logits must be finite"),
    (lambda: V.f_lower_bound("tv", jnp.zeros(2), jnp.zeros(2)), r"unknown f-divergence 'tv'; valid names"),
    (lambda: V.f_lower_bound("kl", jnp.asarray([np.nan]), jnp.zeros(2)), r"real_outputs must be finite"),
    (lambda: V.f_lower_bound("kl", jnp.zeros(2), jnp.zeros(())), r"fake_outputs must have shape \(n,\)"),
])
def test_bad_inputs_raise_value_error(call, match):
  with pytest.raises(ValueError, match=match):
    call()


def test_w1_1d_needs_a_cdf():
  with pytest.raises(ValueError, match=r"w1 in 1-D needs a cdf, but g \(_FlowWithoutCdf\) has none"):
    V.w1(P1, _FlowWithoutCdf(jnp.asarray(0.0), jnp.asarray(0.0)))
  # Every other divergence needs only log_prob.
  np.testing.assert_allclose(V.js(P1, _FlowWithoutCdf(jnp.asarray(0.0), jnp.asarray(0.0))).value, 0.0, atol=1e-6)


def test_validation_skips_tracers():
  # Under jit the logits are traced: no value check, and non-finite values flow through as NaN/inf.
  out = jax.jit(V.kl_pg_plugin)(jnp.asarray([np.inf, 0.0]))
  assert out == np.inf


def test_w1_from_samples_of_a_translate_is_the_shift_exactly():
  # Kantorovich with the linear test function bounds W1 below by ‖E x − E y‖ = ‖s‖; the identity coupling attains it.
  x = jax.random.normal(jax.random.PRNGKey(0), (400, 2))
  shift = jnp.array([0.3, -0.4])
  est = jax.jit(V.w1_from_samples)(x, x + shift)
  assert est.method == "optimal_transport" and est.num_samples == 400
  np.testing.assert_allclose(est.value, 0.5, rtol=1e-5)
  np.testing.assert_allclose(est.stderr, 0.0, atol=1e-5)


def test_w1_from_samples_rejects_mismatched_shapes():
  with pytest.raises(ValueError, match="equal shape"):
    V.w1_from_samples(jnp.zeros((10, 2)), jnp.zeros((12, 2)))
