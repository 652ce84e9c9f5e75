"""Tests for gan_jax/nash.py: Goodfellow et al. 2014, Prop. 1 and Thm. 1, against quad and published numbers."""
import importlib.util
import json
import math
import pathlib

import hypothesis.extra.numpy as hnp
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate
from scipy import special
from scipy import stats

from gan_jax import distributions
from gan_jax import nash

ROOT = pathlib.Path(__file__).resolve().parents[1]
LOG_4 = math.log(4.0)

# REFERENCES.md (quad), p = N(0, 1), g = N(μ, 1): μ -> (JSD, V(D*, G)).
GOLDEN = {0.5: (0.030311, -1.325672), 1.0: (0.111421, -1.163451), 2.0: (0.336831, -0.712633)}


def load_config():
  spec = importlib.util.spec_from_file_location("nash_config", ROOT / "configs" / "nash.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


@pytest.fixture(scope="module")
def config():
  return load_config()


@pytest.fixture(scope="module")
def results(config):
  return nash.run_nash(config)


def quad_jsd_and_value(log_p, log_g, lo, hi, points):
  """JSD(p‖g) and V(D*, G) = ∫ p log D* + g log(1 − D*) in float64 by scipy.integrate.quad."""
  def terms(x):
    lp, lg = log_p(x), log_g(x)
    lm = np.logaddexp(lp, lg)  # log(p + g)
    return np.exp(lp) * (lp - lm) + np.exp(lg) * (lg - lm)
  value = sum(integrate.quad(terms, a, b, limit=200, epsabs=1e-12, epsrel=1e-12)[0]
              for a, b in zip([lo, *points], [*points, hi]))
  # JSD = ½[KL(p‖m) + KL(g‖m)], m = (p + g)/2, integrated on its own: the check must not lean on Thm. 1.
  def jsd_terms(x):
    lp, lg = log_p(x), log_g(x)
    lm = np.logaddexp(lp, lg) - math.log(2.0)
    return 0.5 * (np.exp(lp) * (lp - lm) + np.exp(lg) * (lg - lm))
  jsd = sum(integrate.quad(jsd_terms, a, b, limit=200, epsabs=1e-12, epsrel=1e-12)[0]
            for a, b in zip([lo, *points], [*points, hi]))
  return jsd, value


def mixture_log_prob(config):
  m = config.mixture
  return lambda x: special.logsumexp(
      [math.log(w) + stats.norm.logpdf(x, l, s) for l, s, w in zip(m.locs, m.scales, m.weights)], axis=0)


# ------------------------------------------------------------------------------------------------ Theorem 1.


@pytest.mark.parametrize("mu", sorted(GOLDEN))
def test_golden_numbers(results, mu):
  (row,) = [r for r in results.theorem if r.target == "N(0,1)" and r.mu == mu]
  jsd, value = GOLDEN[mu]
  assert abs(row.jsd - jsd) < 1e-5
  assert abs(row.value - value) < 1e-5


def test_theorem_1_every_row(results, config):
  assert len(results.theorem) == 2 * len(config.mus)
  for row in results.theorem:
    # Both sides from the row's independent V(D*, G) and JSD; the row's own columns must agree with them.
    assert abs(row.value - (-LOG_4 + 2.0 * row.jsd)) < 1e-5, row
    assert row.theorem == pytest.approx(-LOG_4 + 2.0 * row.jsd, abs=1e-7)
    assert row.difference == pytest.approx(row.value - row.theorem, abs=1e-7)
    assert 0.0 <= row.jsd <= math.log(2.0) + 1e-6
    assert -LOG_4 - 1e-6 <= row.value <= 1e-6


def test_gaussian_rows_match_quad(results):
  for row in (r for r in results.theorem if r.target == "N(0,1)"):
    jsd, value = quad_jsd_and_value(lambda x: stats.norm.logpdf(x), lambda x, m=row.mu: stats.norm.logpdf(x, m),
                                    -12.0, row.mu + 12.0, sorted({0.0, row.mu / 2, row.mu}))
    assert abs(row.jsd - jsd) < 1e-5, (row, jsd)
    assert abs(row.value - value) < 1e-5, (row, value)


def test_mixture_rows_match_quad(results, config):
  log_p = mixture_log_prob(config)
  rows = [r for r in results.theorem if r.target != "N(0,1)"]
  assert [r.mu for r in rows] == list(config.mus)
  for row in rows:
    points = sorted({*config.mixture.locs, row.mu})
    jsd, value = quad_jsd_and_value(log_p, lambda x, m=row.mu: stats.norm.logpdf(x, m), -14.0, row.mu + 12.0,
                                    points)
    assert abs(row.jsd - jsd) < 1e-5, (row, jsd)
    assert abs(row.value - value) < 1e-5, (row, value)


def test_global_minimum(results):
  assert len(results.minimum) == 2
  for row in results.minimum:
    assert row.max_abs_d_minus_half <= 1e-7, row
    assert abs(row.value - (-LOG_4)) < 1e-6, row
    assert abs(row.jsd) < 1e-6, row
  # And the table's μ = 0 row is the same minimum.
  (row,) = [r for r in results.theorem if r.target == "N(0,1)" and r.mu == 0.0]
  assert abs(row.value + LOG_4) < 1e-6


def test_saturation(results, config):
  gaussian = [r for r in results.saturation if r.family == "gaussian"]
  assert [r.param for r in gaussian] == list(config.saturation_mus)
  assert all(math.isfinite(r.jsd) for r in results.saturation)
  jsds = [r.jsd for r in gaussian]
  assert all(b >= a - 1e-6 for a, b in zip(jsds, jsds[1:])), jsds
  (far,) = [r for r in gaussian if r.param == 50.0]
  assert abs(far.jsd - math.log(2.0)) < 1e-5
  assert far.gap == pytest.approx(math.log(2.0) - far.jsd, abs=1e-9)
  # μ = 4 against quad: the approach to log 2 is measured, not assumed.
  (mid,) = [r for r in gaussian if r.param == 4.0]
  jsd, _ = quad_jsd_and_value(lambda x: stats.norm.logpdf(x), lambda x: stats.norm.logpdf(x, 4.0), -12.0, 16.0,
                              [0.0, 2.0, 4.0])
  assert abs(mid.jsd - jsd) < 1e-5
  # Arjovsky et al. 2017, Example 1: JS(P0, Pθ) = log 2 for θ ≠ 0, 0 at θ = 0.
  lines = [r for r in results.saturation if r.family == "parallel_lines"]
  assert [r.param for r in lines] == list(config.parallel_lines_thetas)
  for r in lines:
    assert r.jsd == pytest.approx(math.log(2.0) if r.param != 0 else 0.0, abs=1e-7), r


# ------------------------------------------------------------------------------------------------ Proposition 1.


@given(
    a=hnp.arrays(np.float64, 16, elements=st.floats(-14.0, 14.0)).map(np.exp),
    b=hnp.arrays(np.float64, 16, elements=st.floats(-14.0, 14.0)).map(np.exp),
)
def test_pointwise_argmax_within_grid_spacing(a, b):
  num_y = 1001
  argmax, ratio = nash.pointwise_argmax(a, b, num_y)
  expected = a / (a + b)
  np.testing.assert_allclose(np.asarray(ratio), expected, rtol=1e-5, atol=1e-7)
  assert np.all(np.abs(np.asarray(argmax) - expected) <= 1.0 / num_y + 1e-6)


def test_pointwise_argmax_edges():
  # Midpoints (k + 1/2)/11 include 1/2; a = 0 or b = 0 puts the peak at the end of the grid.
  argmax, ratio = nash.pointwise_argmax(jnp.array([0.0, 1.0, 2.0]), jnp.array([1.0, 0.0, 2.0]), 11)
  np.testing.assert_allclose(ratio, [0.0, 1.0, 0.5])
  np.testing.assert_allclose(argmax, [0.5 / 11, 10.5 / 11, 0.5], atol=1e-6)


@pytest.mark.parametrize("a, b, num_y", [
    (np.ones(3), np.ones(4), 10),
    (np.ones((2, 2)), np.ones((2, 2)), 10),
    (np.ones(3), np.ones(3), 1),
])
def test_pointwise_argmax_rejects_bad_input(a, b, num_y):
  with pytest.raises(ValueError):
    nash.pointwise_argmax(a, b, num_y)


def test_pointwise_rows(results, config):
  assert len(results.pointwise) == 2 * len(config.mus)
  for row in results.pointwise:
    assert row.grid_spacing == 1.0 / config.y_grid_size
    assert row.max_abs_error <= row.grid_spacing, row


def test_every_perturbation_lowers_value(results, config):
  assert len(results.perturbation) == len(nash.PERTURBATIONS) * len(config.epsilons)
  for row in results.perturbation:
    assert row.delta < 0.0, row
    assert row.value == pytest.approx(results.perturbation_value + row.delta, abs=2e-6)
  # The unperturbed quadrature is Thm. 1's V(D*, G) for μ = 1 (REFERENCES.md).
  assert config.perturbation_mu == 1.0
  assert abs(results.perturbation_value - GOLDEN[1.0][1]) < 1e-5


@pytest.mark.parametrize("center", [-2.0, 0.5])
def test_perturbation_is_second_order(config, center):
  """ΔV ≈ −½ε² ∫ h² (p + g)³/(p g) dx: the Hessian of y ↦ p log y + g log(1 − y) at D* (quad, float64)."""
  h = lambda x: np.exp(-2.0 * (x - center) ** 2)
  p, g = stats.norm(0.0, 1.0).pdf, stats.norm(1.0, 1.0).pdf
  curvature = integrate.quad(lambda x: h(x) ** 2 * (p(x) + g(x)) ** 3 / (p(x) * g(x)), -8.0, 9.0, limit=200)[0]
  eps = 0.01
  x = np.linspace(config.x_min, config.x_max, config.grid_size)
  _, rows = nash.perturbation_table(distributions.Gaussian(0.0, 1.0), distributions.Gaussian(1.0, 1.0), x,
                                    [eps, -eps], {"bump": lambda x: jnp.exp(-2.0 * (x - center) ** 2)})
  # The odd (ε³) terms cancel in the ±ε average.
  mean_delta = 0.5 * (rows[0].delta + rows[1].delta)
  assert mean_delta == pytest.approx(-0.5 * eps**2 * curvature, rel=1e-2)


# ------------------------------------------------------------------------------------------------ Config, output.


@pytest.mark.parametrize("field, value, message", [
    ("grid_size", -3, "grid_size"),
    ("grid_size", 2, "grid_size"),
    ("y_grid_size", 1, "y_grid_size"),
    ("x_max", -9.0, "x_min"),
    ("x_max", 5.0, "cover"),
    ("mus", (), "mus"),
    ("epsilons", (0.0, 0.1), "epsilons"),
    ("saturation_mus", (float("nan"),), "saturation_mus"),
    ("curve_points", 1, "curve_points"),
])
def test_bad_config_raises(config, field, value, message):
  bad = config.copy_and_resolve_references()
  bad[field] = value
  with pytest.raises(ValueError, match=message):
    nash.run_nash(bad)


def test_bad_mixture_raises(config):
  bad = config.copy_and_resolve_references()
  bad.mixture.weights = (0.5, 0.6)
  with pytest.raises(ValueError, match="weights"):
    nash.run_nash(bad)


def test_format_table_shows_the_numbers(results):
  text = nash.format_table(results)
  for row in results.theorem:
    assert f"{row.jsd:.6f}" in text and f"{row.value:.6f}" in text
  for jsd, value in GOLDEN.values():
    assert f"{jsd:.6f}" in text and f"{value:.6f}" in text
  assert "Proposition 1" in text and "Theorem 1" in text and "Saturation" in text


def test_results_to_dict_round_trips_through_json(results):
  data = json.loads(json.dumps(nash.results_to_dict(results)))
  assert [r["value"] for r in data["theorem"]] == [r.value for r in results.theorem]
  assert np.allclose(data["curves"]["d_star"], results.curves.d_star)
  # The dense curve passes through the table's Gaussian rows where their μ lie on it.
  on_curve = 0
  for row in (r for r in results.theorem if r.target == "N(0,1)"):
    hits = np.flatnonzero(np.isclose(results.curve_mu, row.mu, atol=1e-9))
    if hits.size:
      on_curve += 1
      assert results.curve_theorem[hits[0]] == pytest.approx(row.theorem, abs=1e-6)
  assert on_curve >= 2
