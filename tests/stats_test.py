"""Tests of gan_jax/stats.py: seed statistics and the percentile bootstrap against NumPy, SciPy and exact answers."""
import itertools
import math

from hypothesis import given
from hypothesis import strategies as st
import numpy as np
import pytest
from scipy import stats as scipy_stats

from gan_jax import stats

finite_floats = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


# -------------------------------------------------------------------------------------------------- golden values


def test_seed_statistics_golden_values():
  s = stats.seed_statistics([1.0, 2.0, 3.0, 4.0])
  assert (s["n"], s["mean"]) == (4, 2.5)
  assert s["std"] == pytest.approx(math.sqrt(5.0 / 3.0), rel=1e-15)  # sum of squares 5, ddof=1
  assert s["std"] == pytest.approx(np.std([1.0, 2.0, 3.0, 4.0], ddof=1), rel=1e-15)
  assert s["std"] == pytest.approx(scipy_stats.tstd([1.0, 2.0, 3.0, 4.0]), rel=1e-15)
  assert s["ci_low"] <= s["mean"] <= s["ci_high"]


def test_one_seed_has_an_undefined_spread():
  # A sample standard deviation needs two values: NaN, not 0.0 (NumPy's ddof=1 on one value is NaN too).
  s = stats.seed_statistics([0.3])
  assert (s["n"], s["mean"]) == (1, 0.3)
  assert math.isnan(s["std"]) and math.isnan(s["ci_low"]) and math.isnan(s["ci_high"])
  with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
    assert math.isnan(np.std([0.3], ddof=1))


def test_no_finite_value():
  s = stats.seed_statistics([math.nan, math.inf, -math.inf])
  assert s["n"] == 0 and all(math.isnan(s[k]) for k in ("mean", "std", "ci_low", "ci_high"))
  assert all(math.isnan(v) for v in stats.seed_statistics([]).values() if isinstance(v, float))


def test_non_finite_values_are_dropped_and_not_counted():
  s = stats.seed_statistics([1.0, math.inf, 3.0, math.nan])
  assert (s["n"], s["mean"]) == (2, 2.0)
  assert s["std"] == pytest.approx(math.sqrt(2.0))


def test_bootstrap_ci_matches_scipy_percentile_bootstrap():
  x = np.random.default_rng(4).gamma(2.0, 1.0, size=30)
  low, high = stats.bootstrap_ci(x, num_resamples=50_000)
  ref = scipy_stats.bootstrap((x,), np.mean, confidence_level=0.95, n_resamples=50_000, method="percentile",
                              random_state=np.random.default_rng(5)).confidence_interval
  half = 0.5 * (ref.high - ref.low)
  # Two independent Monte Carlo estimates of the same quantiles: agree to a few percent of the half-width.
  assert low == pytest.approx(ref.low, abs=0.03 * half)
  assert high == pytest.approx(ref.high, abs=0.03 * half)


def test_bootstrap_ci_of_a_constant_is_degenerate():
  low, high = stats.bootstrap_ci([0.25] * 5)
  assert low == high == 0.25
  s = stats.seed_statistics([0.25] * 5)
  assert (s["n"], s["mean"], s["std"]) == (5, 0.25, 0.0)


def test_bootstrap_ci_of_two_values_by_hand():
  # Resampled means of {0, 1} are 0, 1/2, 1 with probabilities 1/4, 1/2, 1/4: the 2.5% and 97.5% quantiles are 0
  # and 1 (each tail has 25% >> 2.5% of the mass).
  assert stats.bootstrap_ci([0.0, 1.0]) == (0.0, 1.0)
  s = stats.seed_statistics([0.0, 1.0])
  assert s["mean"] == 0.5
  assert s["std"] == pytest.approx(math.sqrt(0.5))  # sample std: sqrt(((-.5)² + .5²) / 1)


def test_bootstrap_quantiles_match_the_exact_bootstrap_distribution():
  # The bootstrap distribution of the mean of 5 values is the 5^5 equally likely resamples: enumerate them.
  values = np.array([0.0, 1.0, 3.0, 7.0, 15.0])
  exact = np.sort([np.mean(t) for t in itertools.product(values, repeat=5)])
  exact_low, exact_high = exact[int(0.025 * exact.size)], exact[int(np.ceil(0.975 * exact.size)) - 1]
  low, high = stats.bootstrap_ci(values, num_resamples=200_000)
  step = 1.0 / 5  # neighbouring support points of the mean are (a multiple of) 0.2 apart
  assert abs(low - exact_low) <= step + 1e-9
  assert abs(high - exact_high) <= step + 1e-9


def test_bootstrap_ci_agrees_with_normal_theory_on_a_large_sample():
  x = np.random.default_rng(1).normal(3.0, 2.0, size=4000)
  half = scipy_stats.norm.ppf(0.975) * x.std(ddof=1) / math.sqrt(x.size)
  low, high = stats.bootstrap_ci(x)
  assert low == pytest.approx(x.mean() - half, abs=0.05 * half)
  assert high == pytest.approx(x.mean() + half, abs=0.05 * half)


def test_bootstrap_ci_covers_the_true_mean_about_95_percent_of_the_time():
  rng = np.random.default_rng(2)
  covered = 0
  for i in range(300):
    sample = rng.normal(1.0, 1.0, 50)
    low, high = stats.bootstrap_ci(sample, num_resamples=2000, seed=i)
    covered += low <= 1.0 <= high
  # Percentile bootstrap at n = 50 covers ~0.94; binomial sd over 300 draws is ~0.013.
  assert 0.89 <= covered / 300 <= 0.99


def test_bootstrap_is_reproducible_and_drops_nan():
  x = list(np.random.default_rng(3).uniform(size=8)) + [np.nan]
  assert stats.bootstrap_ci(x) == stats.bootstrap_ci(x[:8])
  assert stats.bootstrap_ci(x, seed=1, num_resamples=100) != stats.bootstrap_ci(x, seed=2, num_resamples=100)
  s = stats.seed_statistics(x)
  assert s["n"] == 8 and s["mean"] == pytest.approx(np.mean(x[:8])) and s["std"] == pytest.approx(np.std(x[:8], ddof=1))


def test_one_seed_has_no_spread():
  s = stats.seed_statistics([0.3])
  assert s["mean"] == 0.3 and math.isnan(s["std"]) and math.isnan(s["ci_low"]) and math.isnan(s["ci_high"])


@pytest.mark.parametrize("kwargs", [{"confidence": 1.0}, {"confidence": 0.0}, {"num_resamples": 0}])
def test_bootstrap_rejects_bad_arguments(kwargs):
  with pytest.raises(ValueError):
    stats.bootstrap_ci([1.0, 2.0], **kwargs)


def test_trajectories_table():
  rows = [{"step": 0, "seed": 1, "js": 0.5}, {"step": 0, "seed": 0, "js": 0.6}, {"step": 2, "seed": 0, "js": 0.1}]
  steps, values = stats.trajectories(rows, "js")
  np.testing.assert_array_equal(steps, [0, 2])
  np.testing.assert_array_equal(values, [[0.6, 0.5], [0.1, np.nan]])


# ------------------------------------------------------------------------------------------------ properties


@given(st.lists(finite_floats, min_size=2, max_size=12))
def test_mean_and_std_are_numpys(values):
  s = stats.seed_statistics(values, num_resamples=200)
  x = np.asarray(values)
  assert s["n"] == x.size
  assert s["mean"] == pytest.approx(x.mean(), rel=1e-12, abs=1e-9)
  assert s["std"] == pytest.approx(x.std(ddof=1), rel=1e-9, abs=1e-9)


@given(st.lists(finite_floats, min_size=2, max_size=12))
def test_interval_lies_within_the_values(values):
  low, high = stats.bootstrap_ci(values, num_resamples=200)
  tol = 1e-9 * (1.0 + max(abs(v) for v in values))
  assert min(values) - tol <= low <= high <= max(values) + tol


@given(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=10), st.floats(0.1, 10.0), st.floats(-100.0, 100.0))
def test_interval_is_affine_equivariant(values, scale, shift):
  # Same seed, same resampled indices: the interval of a·x + b is a·(interval of x) + b.
  low, high = stats.bootstrap_ci(values, num_resamples=200)
  low2, high2 = stats.bootstrap_ci([scale * v + shift for v in values], num_resamples=200)
  tol = 1e-9 * (1.0 + scale * max(abs(v) for v in values) + abs(shift))
  assert low2 == pytest.approx(scale * low + shift, abs=tol)
  assert high2 == pytest.approx(scale * high + shift, abs=tol)


@pytest.mark.parametrize("values", [[0.1, 0.3, 0.2], [1.0, 5.0], [2.0, 2.5, -1.0, 0.0, 7.0]])
def test_t_interval_matches_scipy(values):
  low, high = stats.t_interval(values + [float("nan")], confidence=0.9)
  ref = scipy_stats.t.interval(0.9, len(values) - 1, loc=np.mean(values), scale=scipy_stats.sem(values))
  np.testing.assert_allclose((low, high), ref, rtol=1e-12)
  s = stats.seed_statistics(values, confidence=0.9, num_resamples=200)
  assert (s["t_low"], s["t_high"]) == (low, high)
  # With three seeds the bootstrap interval is the narrower one (why the sweep tables show the t-interval).
  if len(values) == 3:
    assert s["ci_high"] - s["ci_low"] < high - low


def test_t_interval_needs_two_seeds():
  assert all(math.isnan(v) for v in stats.t_interval([1.0]))
  with pytest.raises(ValueError, match="confidence must be in"):
    stats.t_interval([1.0, 2.0], confidence=1.0)
