"""Tests for the f-GAN table (gan_jax.f_divergences) against float64 NumPy, scipy quad and closed forms."""
import math

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
from hypothesis import given

from gan_jax import distributions as D
from gan_jax import divergences
from gan_jax import f_divergences as F

ROWS = sorted(F.F_DIVERGENCES)
LOG2 = math.log(2.0)

# The generators f of Nowozin et al. 2016, Table 1, written again in float64 (an independent transcription).
F64 = {
    "kl": lambda u: u * np.log(u),
    "reverse_kl": lambda u: -np.log(u),
    "pearson": lambda u: (u - 1.0) ** 2,
    "hellinger": lambda u: (np.sqrt(u) - 1.0) ** 2,
    "js": lambda u: -(u + 1.0) * np.log((1.0 + u) / 2.0) + u * np.log(u),
    "gan": lambda u: u * np.log(u) - (u + 1.0) * np.log(u + 1.0),
}
# Table 2, column f′(1): the optimal critic value where p = q.
F_PRIME_AT_1 = {"kl": 1.0, "reverse_kl": -1.0, "pearson": 0.0, "hellinger": 0.0, "js": 0.0, "gan": -LOG2}
# Raw outputs v* with g_f(v*) = f′(p/q), as functions of the log-ratio r = log p − log q.
V_STAR = {
    "kl": lambda r: 1.0 + r,
    "reverse_kl": lambda r: r,
    "pearson": lambda r: 2.0 * np.expm1(r),
    "hellinger": lambda r: 0.5 * r,
    "js": lambda r: r,
    "gan": lambda r: r,
}
# Goodfellow et al. 2014 pair p = N(0, 1), q = N(μ, 1): golden JSD by scipy quad (REFERENCES.md).
GOLDEN_JSD = {0.5: 0.030311, 1.0: 0.111421, 2.0: 0.336831}


def _logpdf(m, s):
  return lambda x: -0.5 * ((x - m) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)


def divergence_by_quad(name, p, q):
  """∫ q f(p/q) dx in float64 by scipy.integrate.quad, with p, q given as (loc, scale)."""
  lp, lq = _logpdf(*p), _logpdf(*q)

  def integrand(x):
    u = math.exp(lp(x) - lq(x))
    return math.exp(lq(x)) * F64[name](u)

  return scipy.integrate.quad(integrand, -30, 30, limit=400, epsabs=1e-11, epsrel=1e-11)[0]


def bound_at_optimal_critic(name, p, q):
  """∫ p·T − q·f*(T) dx with T = f′(p/q) from the table (float32 JAX), integrated in float64 (Simpson)."""
  row = F.get_f_divergence(name)
  x = np.linspace(-10.0, 10.0, 20_001)
  lp, lq = _logpdf(*p)(x), _logpdf(*q)(x)
  t = row.f_prime(jnp.exp(jnp.asarray(lp - lq, jnp.float32)))
  with np.errstate(invalid="ignore", over="ignore"):
    integrand = np.exp(lp) * np.asarray(t, np.float64) - np.exp(lq) * np.asarray(row.conjugate(t), np.float64)
  # Far out, float32 f′(p/q) can saturate (2u/(1+u) rounds to 2 and the js conjugate is +inf, times a
  # density ~1e-15); only those non-finite points are dropped.
  integrand = np.where(np.isfinite(integrand), integrand, 0.0)
  return scipy.integrate.simpson(integrand, x=x)


@pytest.mark.parametrize("name", ROWS)
def test_f_at_one_and_derivative_match_table_2(name):
  row = F.get_f_divergence(name)
  assert row.name == name
  # f(1) = 0 makes D_f(p‖p) = 0; the GAN row's f (Nowozin et al. 2016, Table 1) has f(1) = −log 4 instead,
  # which is why its divergence is 2·JSD − log 4, equal to −log 4 at p = q.
  expected = -2 * LOG2 if name == "gan" else 0.0
  assert abs(float(row.f(jnp.float32(1.0))) - expected) < 1e-6
  assert abs(float(row.f_prime(jnp.float32(1.0))) - F_PRIME_AT_1[name]) < 1e-6


@pytest.mark.parametrize("name", ROWS)
@given(u=st.floats(0.05, 20.0))
def test_f_and_f_prime_match_float64(name, u):
  row = F.get_f_divergence(name)
  np.testing.assert_allclose(row.f(jnp.float32(u)), F64[name](u), rtol=1e-5, atol=1e-6)
  h = 1e-6 * u
  slope = (F64[name](u + h) - F64[name](u - h)) / (2 * h)
  np.testing.assert_allclose(row.f_prime(jnp.float32(u)), slope, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ROWS)
@given(u=st.floats(0.05, 20.0))
def test_fenchel_young_equality(name, u):
  # f*(f′(u)) = u·f′(u) − f(u): the supremum defining f* is attained at u.
  row = F.get_f_divergence(name)
  slope = (F64[name](u * (1 + 1e-7)) - F64[name](u * (1 - 1e-7))) / (2e-7 * u)
  expected = u * slope - F64[name](u)
  np.testing.assert_allclose(row.conjugate(row.f_prime(jnp.float32(u))), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ROWS)
@given(v=st.floats(-6.0, 6.0), u=st.floats(0.05, 20.0))
def test_fenchel_young_inequality_on_the_activation_range(name, v, u):
  # g_f maps every raw output into dom f*, where f*(t) ≥ t·u − f(u) for all u > 0.
  row = F.get_f_divergence(name)
  t = row.activation(jnp.float32(v))
  conj = float(row.conjugate(t))
  assert np.isfinite(conj)
  assert conj >= float(t) * u - F64[name](u) - 1e-4 * max(1.0, abs(conj))


PAIRS = [((0.0, 1.0), (0.5, 1.3)), ((0.3, 0.8), (-0.4, 1.1))]


@pytest.mark.parametrize("name", ROWS)
@pytest.mark.parametrize("p,q", PAIRS)
def test_bound_at_optimal_critic_equals_divergence_by_quad(name, p, q):
  truth = divergence_by_quad(name, p, q)
  assert abs(bound_at_optimal_critic(name, p, q) - truth) < 1e-6 * max(1.0, abs(truth))


def test_quad_truth_matches_closed_forms():
  (m1, s1), (m2, s2) = PAIRS[0]
  kl = math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
  reverse = math.log(s1 / s2) + (s2**2 + (m1 - m2) ** 2) / (2 * s1**2) - 0.5
  # Bhattacharyya coefficient of two Gaussians; ∫ (√p − √q)² = 2 − 2·BC.
  bc = math.sqrt(2 * s1 * s2 / (s1**2 + s2**2)) * math.exp(-((m1 - m2) ** 2) / (4 * (s1**2 + s2**2)))
  # ∫ p²/q for Gaussians: a Gaussian integral with precision a = 2/s1² − 1/s2².
  a = 2 / s1**2 - 1 / s2**2
  b = 2 * m1 / s1**2 - m2 / s2**2
  c = m1**2 / s1**2 - m2**2 / (2 * s2**2)
  p2_over_q = s2 / (s1**2 * math.sqrt(2 * math.pi)) * math.sqrt(2 * math.pi / a) * math.exp(b**2 / (2 * a) - c)
  for name, value in [("kl", kl), ("reverse_kl", reverse), ("hellinger", 2 - 2 * bc), ("pearson", p2_over_q - 1)]:
    assert divergence_by_quad(name, *PAIRS[0]) == pytest.approx(value, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("mu,jsd", sorted(GOLDEN_JSD.items()))
def test_js_row_is_two_jsd_and_gan_row_is_two_jsd_minus_log4(mu, jsd):
  p, q = (0.0, 1.0), (mu, 1.0)
  for name, expected in [("js", 2 * jsd), ("gan", 2 * jsd - 2 * LOG2)]:
    assert abs(divergence_by_quad(name, p, q) - expected) < 2e-6
    assert abs(bound_at_optimal_critic(name, p, q) - expected) < 2e-6
  # And the same through the exact JSD of divergences.py.
  exact = float(divergences.js(D.Gaussian(0.0, 1.0), D.Gaussian(mu, 1.0)).value)
  assert abs(divergence_by_quad("js", p, q) - 2 * exact) < 2e-6


@pytest.mark.parametrize("name", ROWS)
def test_f_lower_bound_at_optimal_critic_on_samples(name):
  p, q = D.Gaussian(0.0, 1.0), D.Gaussian(0.5, 1.3)
  n = 100_000
  x, y = p.sample(jax.random.key(1), n), q.sample(jax.random.key(2), n)
  log_ratio = lambda z: np.asarray(p.log_prob(z) - q.log_prob(z), np.float64)
  v_real, v_fake = V_STAR[name](log_ratio(x)), V_STAR[name](log_ratio(y))
  row = F.get_f_divergence(name)
  # v* really is the optimal critic: g_f(v*) = f′(p/q).
  np.testing.assert_allclose(row.activation(jnp.asarray(v_real[:100], jnp.float32)),
                             row.f_prime(jnp.exp(jnp.asarray(log_ratio(x[:100]), jnp.float32))), rtol=1e-4,
                             atol=1e-5)
  t_real = np.asarray(row.activation(jnp.asarray(v_real, jnp.float32)), np.float64)
  conj_fake = np.asarray(row.conjugate(row.activation(jnp.asarray(v_fake, jnp.float32))), np.float64)
  se = math.sqrt(t_real.var() / n + conj_fake.var() / n)
  est = float(jax.jit(divergences.f_lower_bound, static_argnums=0)(name, v_real, v_fake))
  truth = divergence_by_quad(name, (0.0, 1.0), (0.5, 1.3))
  assert abs(est - truth) < 4 * se
  # A poorer critic (outputs shrunk toward the value at p = q) gives a smaller bound.
  v0 = V_STAR[name](0.0)
  worse = float(divergences.f_lower_bound(name, v0 + 0.5 * (v_real - v0), v0 + 0.5 * (v_fake - v0)))
  assert worse < truth


def test_unknown_name_lists_valid_ones():
  with pytest.raises(ValueError, match=r"unknown f-divergence 'tv'; valid names: gan, hellinger, js, kl, "
                                       r"pearson, reverse_kl"):
    F.get_f_divergence("tv")
