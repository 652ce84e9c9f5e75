"""Statistics over seeds: one value per seed in, mean, spread and a bootstrap interval of the mean out.

The one place seeds are summarised (`compare`'s demo table, `summary`'s sweep tables, figure 7's bands), so every
table and figure reads the same numbers. Over the finite values: n, mean, the sample standard deviation (ddof=1:
undefined, so NaN, for a single seed) and a percentile-bootstrap confidence interval of the mean (`NUM_RESAMPLES`
resamples of the seeds with replacement from a NumPy generator seeded with `BOOTSTRAP_SEED`, so the interval is
reproducible; NaN for fewer than two seeds) beside the Student-t interval of the mean. With few seeds (3-5) the
bootstrap interval is too narrow (it cannot see tails the seeds did not sample); the t-interval is the one the
sweep tables show.
"""
import math
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike
import scipy.special

NUM_RESAMPLES = 10_000
CONFIDENCE = 0.95
BOOTSTRAP_SEED = 0


def finite(values: ArrayLike) -> np.ndarray:
  """The finite entries of `values` as a 1-D float64 array (NaN and ±inf dropped)."""
  x = np.asarray(values, np.float64).ravel()
  return x[np.isfinite(x)]


def bootstrap_ci(values: ArrayLike, *, confidence: float = CONFIDENCE, num_resamples: int = NUM_RESAMPLES,
                 seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
  """Percentile-bootstrap confidence interval of the mean (Efron & Tibshirani 1993, Sec. 13.3).

  Args:
    values: one value per seed (non-finite values are dropped).
    confidence: the interval's nominal coverage, in (0, 1).
    num_resamples: bootstrap resamples (each draws len(values) values with replacement).
    seed: seed of the NumPy generator (fixed: the same values give the same interval).

  Returns:
    (low, high): the (1 − confidence)/2 and (1 + confidence)/2 quantiles of the resampled means; (nan, nan) for
    fewer than two finite values (one seed says nothing about spread).

  Raises:
    ValueError: for a confidence outside (0, 1) or num_resamples < 1.
  """
  if not 0.0 < confidence < 1.0:
    raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
  if isinstance(num_resamples, bool) or not isinstance(num_resamples, (int, np.integer)) or num_resamples < 1:
    raise ValueError(f"num_resamples must be an integer >= 1, got {num_resamples!r}")
  x = finite(values)
  if x.size < 2:
    return math.nan, math.nan
  rng = np.random.default_rng(seed)
  means = x[rng.integers(0, x.size, size=(int(num_resamples), x.size))].mean(axis=1)
  alpha = 1.0 - confidence
  low, high = np.quantile(means, [alpha / 2, 1.0 - alpha / 2])
  return float(low), float(high)


def t_interval(values: ArrayLike, *, confidence: float = CONFIDENCE) -> tuple[float, float]:
  """Student-t confidence interval of the mean: mean ± t_{(1+c)/2, n−1}·s/√n (s the ddof=1 standard deviation).

  Args:
    values: one value per seed (non-finite values are dropped).
    confidence: the interval's coverage under normality, in (0, 1).

  Returns:
    (low, high); (nan, nan) for fewer than two finite values.

  Raises:
    ValueError: for a confidence outside (0, 1).
  """
  if not 0.0 < confidence < 1.0:
    raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
  x = finite(values)
  if x.size < 2:
    return math.nan, math.nan
  # The Student-t quantile as scipy.stats.t.ppf computes it (stdtrit), without importing scipy.stats (~0.4 s).
  t = float(scipy.special.stdtrit(x.size - 1, 0.5 + confidence / 2))
  half = t * float(x.std(ddof=1)) / math.sqrt(x.size)
  return float(x.mean()) - half, float(x.mean()) + half


def seed_statistics(values: ArrayLike, *, confidence: float = CONFIDENCE, num_resamples: int = NUM_RESAMPLES,
                    seed: int = BOOTSTRAP_SEED) -> dict[str, float]:
  """n, mean, std and bootstrap CI of the finite values, one value per seed.

  Args:
    values: one value per seed (non-finite values are dropped; `n` counts the rest).
    confidence: coverage of the bootstrap interval, in (0, 1).
    num_resamples: bootstrap resamples.
    seed: seed of the bootstrap's NumPy generator.

  Returns:
    {"n": int, "mean", "std" (sample, ddof=1), "ci_low", "ci_high" (bootstrap), "t_low", "t_high" (Student-t)}:
    mean NaN for no finite value; the others NaN for fewer than two (a sample standard deviation of one value is
    undefined, not zero).

  Raises:
    ValueError: for a confidence outside (0, 1) or num_resamples < 1.
  """
  x = finite(values)
  low, high = bootstrap_ci(x, confidence=confidence, num_resamples=num_resamples, seed=seed)
  return {
      "n": int(x.size),
      "mean": float(x.mean()) if x.size else math.nan,
      "std": float(x.std(ddof=1)) if x.size > 1 else math.nan,
      "ci_low": low,
      "ci_high": high,
      **dict(zip(("t_low", "t_high"), t_interval(x, confidence=confidence))),
  }


def trajectories(rows: Sequence[dict], metric: str) -> tuple[np.ndarray, np.ndarray]:
  """One metric against steps, per seed, from metric rows (as in `metrics.jsonl`: dicts with `step` and `seed`).

  Args:
    rows: metric rows, one per (seed, step), in any order.
    metric: the key to read.

  Returns:
    (steps (s,) ascending, values (s, num_seeds)): seeds in ascending order, NaN where a seed did not log it.
  """
  steps = sorted({r["step"] for r in rows if metric in r})
  seeds = sorted({r["seed"] for r in rows})
  table = {(r["step"], r["seed"]): r.get(metric, np.nan) for r in rows}
  return np.array(steps), np.array([[table.get((s, seed), np.nan) for seed in seeds] for s in steps], float)
