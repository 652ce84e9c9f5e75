"""Tests for gan_jax.metrics against closed forms, scipy and NumPy hand computations."""
import math

import hypothesis
import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.special
import scipy.stats

from gan_jax import distributions
from gan_jax import metrics

N_SAMPLES = 2500  # the VEEGAN / PacGAN protocol


def _ring_locs(n_modes=8, radius=1.0):
  angles = 2 * np.pi * np.arange(n_modes) / n_modes
  return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _grid_locs():
  axis = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
  return np.array([[x, y] for x in axis for y in axis])


def _mode_quality_reference(samples, locs, scale, num_std):
  """Loop-by-loop NumPy version of the protocol, in float64."""
  samples, locs = np.asarray(samples, np.float64), np.asarray(locs, np.float64)
  scale = np.broadcast_to(np.asarray(scale, np.float64), (len(locs),))
  counts = np.zeros(len(locs))
  high = 0
  for x in samples:
    dists = [math.sqrt(sum((xi - mi) ** 2 for xi, mi in zip(x, m))) for m in locs]
    j = int(np.argmin(dists))
    if dists[j] <= num_std * scale[j]:
      high += 1
      counts[j] += 1
  probs = counts[counts > 0] / max(counts.sum(), 1)
  entropy = float(-np.sum(probs * np.log(probs)))
  return int((counts > 0).sum()), high / len(samples), entropy


# ---------------------------------------------------------------------------------------------------------------
# high_quality_ceiling


@pytest.mark.parametrize("dim", [1, 2, 3, 5, 10])
@pytest.mark.parametrize("num_std", [0.5, 1.0, 2.0, 3.0])
def test_ceiling_is_chi_cdf(dim, num_std):
  # |z| ~ chi(dim), so P(|z| <= r) = P(chi² <= r²).
  expected = scipy.stats.chi2.cdf(num_std**2, df=dim)
  assert metrics.high_quality_ceiling(dim, num_std) == pytest.approx(expected, rel=1e-10)


def test_ceiling_closed_forms():
  # 2-D: the Rayleigh CDF 1 − exp(−r²/2); 1-D: erf(r/√2); 3-D: Maxwell CDF.
  assert metrics.high_quality_ceiling(2) == pytest.approx(1 - math.exp(-4.5), rel=1e-12)
  assert metrics.high_quality_ceiling(2) == pytest.approx(0.98889, abs=5e-6)
  assert metrics.high_quality_ceiling(1, 3.0) == pytest.approx(math.erf(3 / math.sqrt(2)), rel=1e-12)
  r = 2.0
  maxwell = math.erf(r / math.sqrt(2)) - math.sqrt(2 / math.pi) * r * math.exp(-r * r / 2)
  assert metrics.high_quality_ceiling(3, r) == pytest.approx(maxwell, rel=1e-12)


def test_ceiling_monte_carlo():
  z = np.random.default_rng(0).standard_normal((200_000, 4))
  frac = np.mean(np.linalg.norm(z, axis=1) <= 2.0)
  c = metrics.high_quality_ceiling(4, 2.0)
  assert abs(frac - c) < 4 * math.sqrt(c * (1 - c) / len(z))


@pytest.mark.parametrize("dim, num_std", [(0, 3.0), (-1, 3.0), (2.5, 3.0), (True, 3.0), (2, 0.0), (2, -1.0)])
def test_ceiling_rejects_bad_input(dim, num_std):
  with pytest.raises(ValueError):
    metrics.high_quality_ceiling(dim, num_std)


# ---------------------------------------------------------------------------------------------------------------
# mode_quality


@pytest.mark.parametrize("name, make, locs, sigma", [
    ("ring", distributions.ring, _ring_locs(), 0.01),
    ("grid", distributions.grid, _grid_locs(), 0.05),
])
def test_true_target_reaches_the_ceiling(name, make, locs, sigma):
  target = make()
  samples = target.sample(jax.random.key(1), N_SAMPLES)
  quality = jax.jit(metrics.mode_quality)(samples, locs, sigma)
  assert int(quality["modes_covered"]) == len(locs), name
  c = metrics.high_quality_ceiling(2, 3.0)
  band = 4 * math.sqrt(c * (1 - c) / N_SAMPLES)  # binomial 4-sigma
  assert abs(float(quality["high_quality"]) - c) < band, name
  # Equal-weight modes: the histogram of 2,500 samples is near uniform, entropy close to log k.
  assert float(quality["mode_hist_entropy"]) == pytest.approx(math.log(len(locs)), abs=0.02), name
  expected = _mode_quality_reference(np.asarray(samples), locs, sigma, 3.0)
  assert int(quality["modes_covered"]) == expected[0]
  assert float(quality["high_quality"]) == pytest.approx(expected[1], abs=1e-6)
  assert float(quality["mode_hist_entropy"]) == pytest.approx(expected[2], abs=1e-5)


def test_vmapped_over_seeds_under_jit():
  locs = _ring_locs()
  target = distributions.ring()
  keys = jax.random.split(jax.random.key(2), 3)
  samples = jax.vmap(lambda k: target.sample(k, 500))(keys)
  batched = jax.jit(jax.vmap(lambda s: metrics.mode_quality(s, locs, jnp.float32(0.01))))(samples)
  assert batched["modes_covered"].shape == (3,)
  assert batched["modes_covered"].dtype == jnp.int32
  for i in range(3):
    expected = _mode_quality_reference(np.asarray(samples[i]), locs, 0.01, 3.0)
    assert int(batched["modes_covered"][i]) == expected[0]
    assert float(batched["high_quality"][i]) == pytest.approx(expected[1], abs=1e-6)


def test_all_samples_at_one_mode():
  locs = _grid_locs()
  noise = 0.01 * np.random.default_rng(3).standard_normal((N_SAMPLES, 2))
  samples = locs[7] + noise  # within 3σ = 0.15 of mode 7 up to ~15σ of the noise: all high quality
  quality = metrics.mode_quality(samples, locs, 0.05)
  assert int(quality["modes_covered"]) == 1
  assert float(quality["high_quality"]) == 1.0
  assert float(quality["mode_hist_entropy"]) == 0.0


def test_samples_far_from_every_mode():
  samples = np.full((N_SAMPLES, 2), 0.5)  # 0.5 from the nearest ring mode: 50σ away
  samples += 1e-3 * np.random.default_rng(4).standard_normal(samples.shape)
  quality = metrics.mode_quality(samples, _ring_locs(), 0.01)
  assert int(quality["modes_covered"]) == 0
  assert float(quality["high_quality"]) == 0.0
  assert float(quality["mode_hist_entropy"]) == 0.0


def test_hand_built_example():
  locs = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]
  samples = [
      [0.5, 0.0],   # mode 0, distance 0.5: high quality
      [3.0, 0.0],   # mode 0, distance exactly 3σ: high quality (the radius is inclusive)
      [3.1, 0.0],   # mode 0, distance 3.1: not high quality
      [10.0, 2.0],  # mode 1, distance 2: high quality
      [5.2, 0.0],   # mode 1, distance 4.8: not high quality
      [0.0, 20.0],  # mode 2, distance 10: not high quality
  ]
  quality = metrics.mode_quality(samples, locs, 1.0)
  assert int(quality["modes_covered"]) == 2
  assert float(quality["high_quality"]) == pytest.approx(3 / 6)
  # Histogram of the 3 high-quality samples: [2, 1, 0].
  p = np.array([2 / 3, 1 / 3])
  assert float(quality["mode_hist_entropy"]) == pytest.approx(-np.sum(p * np.log(p)), rel=1e-6)

  # One σ per mode (1, 2, 6): radii 3, 6, 18 admit the samples at distances 4.8 and 10 too.
  quality = metrics.mode_quality(samples, locs, np.array([1.0, 2.0, 6.0]))
  assert int(quality["modes_covered"]) == 3
  assert float(quality["high_quality"]) == pytest.approx(5 / 6)
  p = np.array([2 / 5, 2 / 5, 1 / 5])
  assert float(quality["mode_hist_entropy"]) == pytest.approx(-np.sum(p * np.log(p)), rel=1e-6)

  # A wider radius admits the sample at 3.1 as well.
  quality = metrics.mode_quality(samples, locs, 1.0, num_std=3.2)
  assert float(quality["high_quality"]) == pytest.approx(4 / 6)


@st.composite
def _mode_problems(draw):
  # Few distinct shapes: each new one costs a compilation (~0.25 s); shape edge cases are tested above.
  d = draw(st.integers(1, 2))
  k = draw(st.sampled_from([1, 4]))
  n = 12
  # Integer coordinates and half-integer σ: distances are exact square roots, so float32 and the float64
  # reference agree on every comparison.
  ints = st.integers(-6, 6)
  samples = draw(hnp.arrays(np.float32, (n, d), elements=ints))
  locs = draw(hnp.arrays(np.float32, (k, d), elements=ints))
  per_mode = draw(st.booleans())
  halves = st.integers(1, 8).map(lambda i: i / 2)
  scale = draw(hnp.arrays(np.float32, (k,), elements=halves)) if per_mode else np.float32(draw(halves))
  num_std = draw(st.sampled_from([1.0, 2.0, 3.0]))
  return samples, locs, scale, num_std


@hypothesis.given(_mode_problems())
def test_matches_reference_and_stays_in_range(problem):
  samples, locs, scale, num_std = problem
  quality = metrics.mode_quality(samples, locs, scale, num_std=num_std)
  k = len(locs)
  assert 0 <= int(quality["modes_covered"]) <= k
  assert 0.0 <= float(quality["high_quality"]) <= 1.0
  assert -1e-6 <= float(quality["mode_hist_entropy"]) <= math.log(k) + 1e-5
  covered, high, entropy = _mode_quality_reference(samples, locs, scale, num_std)
  assert int(quality["modes_covered"]) == covered
  assert float(quality["high_quality"]) == pytest.approx(high, abs=1e-6)
  assert float(quality["mode_hist_entropy"]) == pytest.approx(entropy, abs=1e-5)


@pytest.mark.parametrize("samples, locs, scale, num_std", [
    (np.zeros(5), np.zeros((3, 2)), 1.0, 3.0),               # samples 1-D
    (np.zeros((2, 5, 2)), np.zeros((3, 2)), 1.0, 3.0),       # samples 3-D
    (np.zeros((5, 2)), np.zeros(2), 1.0, 3.0),               # locs 1-D
    (np.zeros((5, 2)), np.zeros((3, 3)), 1.0, 3.0),          # dimension mismatch
    (np.zeros((0, 2)), np.zeros((3, 2)), 1.0, 3.0),          # no samples
    (np.zeros((5, 2)), np.zeros((3, 2)), 0.0, 3.0),          # σ = 0
    (np.zeros((5, 2)), np.zeros((3, 2)), -1.0, 3.0),         # σ < 0
    (np.zeros((5, 2)), np.zeros((3, 2)), [1.0, 0.0, 1.0], 3.0),  # one σ = 0
    (np.zeros((5, 2)), np.zeros((3, 2)), np.ones(2), 3.0),   # wrong number of σ
    (np.zeros((5, 2)), np.zeros((3, 2)), np.ones((3, 2)), 3.0),  # per-dimension σ
    (np.zeros((5, 2)), np.zeros((3, 2)), 1.0, 0.0),          # num_std = 0
])
def test_mode_quality_rejects_bad_input(samples, locs, scale, num_std):
  with pytest.raises(ValueError):
    metrics.mode_quality(samples, locs, scale, num_std=num_std)


# ---------------------------------------------------------------------------------------------------------------
# kde


def _diag_kde_log_density(samples, x, h):
  """NumPy log-density of an equal-weight diagonal Gaussian KDE, in float64."""
  z = (x[:, None, :] - samples[None, :, :]) / h  # (m, n, d)
  log_k = np.sum(-0.5 * z**2 - np.log(h) - 0.5 * np.log(2 * np.pi), axis=-1)
  return scipy.special.logsumexp(log_k, axis=1) - np.log(len(samples))


def test_kde_matches_scipy_in_1d():
  samples = np.random.default_rng(5).normal(1.0, 2.0, size=(300, 1)).astype(np.float32)
  x = np.linspace(-6.0, 8.0, 57, dtype=np.float32)[:, None]
  log_p = jax.jit(lambda s, q: metrics.kde(s).log_prob(q))(samples, x)
  reference = scipy.stats.gaussian_kde(samples.T.astype(np.float64), bw_method="scott").logpdf(x.T)
  np.testing.assert_allclose(np.asarray(log_p), reference, atol=1e-4)


def test_kde_scott_bandwidth_matches_scipy():
  rng = np.random.default_rng(6)
  for d in (1, 2, 3):
    samples = rng.normal(size=(200, d)) * np.arange(1, d + 1)
    scipy_kde = scipy.stats.gaussian_kde(samples.T, bw_method="scott")
    mixture = metrics.kde(samples.astype(np.float32))
    # scipy's kernel covariance is the sample covariance times factor²; its diagonal is our per-dim σ².
    np.testing.assert_allclose(np.asarray(mixture.scales), np.broadcast_to(
        np.sqrt(np.diag(scipy_kde.covariance)), (200, d)), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(mixture.locs), samples, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(mixture.weights), np.full(200, 1 / 200), rtol=1e-6)


def test_kde_matches_diagonal_reference_in_2d():
  rng = np.random.default_rng(7)
  samples = (rng.normal(size=(250, 2)) * [0.5, 3.0] + [1.0, -2.0]).astype(np.float32)
  x = (rng.normal(size=(40, 2)) * [1.0, 4.0]).astype(np.float32)
  log_p = jax.jit(lambda s, q: metrics.kde(s).log_prob(q))(samples, x)
  h = len(samples) ** (-1 / 6) * samples.astype(np.float64).std(axis=0, ddof=1)
  np.testing.assert_allclose(np.asarray(log_p), _diag_kde_log_density(samples.astype(np.float64), x, h),
                             atol=1e-4)


@pytest.mark.parametrize("bandwidth", [0.3, np.array([0.2, 0.7])])
def test_kde_explicit_bandwidth(bandwidth):
  rng = np.random.default_rng(8)
  samples = rng.normal(size=(100, 2)).astype(np.float32)
  x = rng.normal(size=(30, 2)).astype(np.float32)
  log_p = metrics.kde(samples, bandwidth).log_prob(x)
  h = np.broadcast_to(np.asarray(bandwidth, np.float64), (2,))
  np.testing.assert_allclose(np.asarray(log_p), _diag_kde_log_density(samples.astype(np.float64), x, h),
                             atol=1e-4)


def test_kde_integrates_to_one_in_1d():
  samples = np.random.default_rng(9).standard_normal((40, 1)).astype(np.float32)
  mixture = metrics.kde(samples)
  log_prob = jax.jit(mixture.log_prob)
  h = float(mixture.scales[0, 0])
  lo, hi = samples.min() - 12 * h, samples.max() + 12 * h
  total, _ = scipy.integrate.quad(
      lambda t: float(jnp.exp(log_prob(jnp.full((1, 1), t, jnp.float32))[0])), lo, hi, limit=200)
  assert total == pytest.approx(1.0, abs=1e-4)


def test_kde_bandwidth_traced_under_jit():
  samples = np.random.default_rng(10).standard_normal((50, 2)).astype(np.float32)
  x = samples[:5]
  jitted = jax.jit(lambda s, b, q: metrics.kde(s, b).log_prob(q))(samples, jnp.float32(0.4), x)
  eager = metrics.kde(samples, 0.4).log_prob(x)
  np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), rtol=1e-6)


@pytest.mark.parametrize("samples, bandwidth", [
    (np.zeros(10), None),                    # 1-D samples
    (np.zeros((2, 10, 1)), None),            # 3-D samples
    (np.zeros((0, 1)), 1.0),                 # no samples
    (np.ones((1, 2)), None),                 # Scott's rule needs n >= 2
    (np.ones((10, 2)), None),                # zero spread: Scott bandwidth 0
    (np.arange(20.0).reshape(10, 2), 0.0),   # zero bandwidth
    (np.arange(20.0).reshape(10, 2), -0.5),  # negative bandwidth
    (np.arange(20.0).reshape(10, 2), [0.5, 0.0]),
    (np.arange(20.0).reshape(10, 2), np.ones(3)),  # wrong number of bandwidths
])
def test_kde_rejects_bad_input(samples, bandwidth):
  with pytest.raises(ValueError):
    metrics.kde(samples, bandwidth)
