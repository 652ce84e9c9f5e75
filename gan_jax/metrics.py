"""Toy-target quality metrics and a Gaussian kernel density estimate.

`mode_quality` follows the VEEGAN / PacGAN protocol for the ring and grid targets (Srivastava et al. 2017,
Sec. 5.1; Lin et al. 2018, Sec. 5): a generated sample is *high quality* if it lies within `num_std`·σ of its
nearest mode, and a mode is *covered* if it is the nearest mode of at least one high-quality sample. Even the true
target does not reach 100 % high quality: `high_quality_ceiling` gives the share of an isotropic Gaussian mode's
mass inside the radius (≈ 98.9 % in 2-D at 3σ).

`kde` returns a `distributions.GaussianMixture`, so a fitted density has the same `log_prob` / `sample` as the
targets. Everything here except `high_quality_ceiling` is pure JAX with static shapes, so the training engine can
call it under `jax.jit` and `jax.vmap` over seeds.
"""
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import scipy.special

from gan_jax import distributions

ArrayLike = jax.typing.ArrayLike


def _is_concrete(x: Any) -> bool:
  # Value checks need concrete numbers; under jit/vmap they are skipped so the functions stay traceable.
  return not isinstance(x, jax.core.Tracer)


def _check_samples(samples: jax.Array, name: str = "samples") -> None:
  if samples.ndim != 2:
    raise ValueError(f"{name} must be 2-D (n, d); got shape {samples.shape}")
  if samples.shape[0] == 0 or samples.shape[1] == 0:
    raise ValueError(f"{name} must have n >= 1 rows and d >= 1 columns; got shape {samples.shape}")


def _check_positive(x: Any, name: str) -> None:
  if _is_concrete(x):
    value = np.asarray(x)
    if not np.all(value > 0):  # Also rejects NaN.
      raise ValueError(f"{name} must be > 0; got {value.tolist()}")


def mode_quality(
    samples: ArrayLike,
    locs: ArrayLike,
    scale: float | ArrayLike,
    *,
    num_std: float = 3.0,
) -> dict[str, jax.Array]:
  """Mode coverage and sample quality of generated samples against a mixture's modes.

  The VEEGAN / PacGAN protocol (Srivastava et al. 2017; Lin et al. 2018): each sample is assigned to its nearest
  mode in Euclidean distance; it is high quality if that distance is at most `num_std`·σ of that mode.

  Args:
    samples: generated samples, shape (n, d).
    locs: the mode centres, shape (k, d).
    scale: the modes' isotropic standard deviation σ: a scalar shared by all modes, or shape (k,) for one σ per
      mode. For a `GaussianMixture` with per-dimension scales of shape (k, d) pass one column, e.g.
      `scales[:, 0]`.
    num_std: the quality radius in units of σ (3 in both papers).

  Returns:
    A dict of scalars:
      'modes_covered': int32, the number of modes that are the nearest mode of at least one high-quality sample,
        in [0, k].
      'high_quality': float32, the fraction of samples that are high quality, in [0, 1]. For samples from the
        target itself its expectation is `high_quality_ceiling(d, num_std)`, not 1.
      'mode_hist_entropy': float32, the entropy in nats of the histogram of nearest modes over the high-quality
        samples, in [0, log k]: log k when they spread evenly over all modes, 0 when they sit in one mode or when
        no sample is high quality.

  Raises:
    ValueError: if `samples` or `locs` is not 2-D, their dimensions differ, `scale` has a shape other than () or
      (k,), or (for concrete values) `scale` or `num_std` is not positive.
  """
  samples = jnp.asarray(samples, jnp.float32)
  locs = jnp.asarray(locs, jnp.float32)
  scale = jnp.asarray(scale, jnp.float32)
  _check_samples(samples)
  _check_samples(locs, "locs")
  if samples.shape[1] != locs.shape[1]:
    raise ValueError(f"samples have dimension {samples.shape[1]} but locs have dimension {locs.shape[1]}; "
                     "they must match")
  k = locs.shape[0]
  if scale.shape not in ((), (k,)):
    raise ValueError(f"scale must be a scalar or have shape ({k},) (one per mode); got shape {scale.shape}")
  _check_positive(scale, "scale")
  _check_positive(num_std, "num_std")

  # Direct differences, not |x|² − 2x·μ + |μ|²: the expansion cancels badly at σ = 0.01 (the PacGAN ring).
  dist = jnp.linalg.norm(samples[:, None, :] - locs[None, :, :], axis=-1)  # (n, k)
  nearest = jnp.argmin(dist, axis=1)
  nearest_dist = jnp.take_along_axis(dist, nearest[:, None], axis=1)[:, 0]
  radius = num_std * jnp.broadcast_to(scale, (k,))[nearest]
  is_high = nearest_dist <= radius  # NaN samples compare False: never high quality.

  counts = jnp.zeros((k,), jnp.float32).at[nearest].add(is_high.astype(jnp.float32))
  total = counts.sum()
  probs = counts / jnp.maximum(total, 1.0)
  safe = jnp.where(probs > 0, probs, 1.0)
  entropy = -jnp.sum(jnp.where(probs > 0, probs * jnp.log(safe), 0.0))
  return {
      "modes_covered": jnp.sum(counts > 0).astype(jnp.int32),
      "high_quality": jnp.mean(is_high.astype(jnp.float32)),
      "mode_hist_entropy": entropy.astype(jnp.float32),
  }


def high_quality_ceiling(dim: int, num_std: float = 3.0) -> float:
  """The fraction of an isotropic Gaussian's mass within `num_std` standard deviations of its mean.

  |x − μ|/σ follows a chi distribution with `dim` degrees of freedom, so this is its CDF at `num_std`,
  P(dim/2, num_std²/2) with P the regularised lower incomplete gamma function. In 2-D it is 1 − e^(−num_std²/2)
  (≈ 0.98889 at 3σ): the best '% high quality' any generator can score on the ring or grid targets in expectation.
  Not jittable (returns a Python float); `dim` and `num_std` are configuration constants.

  Args:
    dim: the dimension d >= 1.
    num_std: the radius in units of σ, > 0.

  Returns:
    The ceiling, a float in (0, 1].

  Raises:
    ValueError: if `dim` is not a positive integer or `num_std` is not positive.
  """
  if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
    raise ValueError(f"dim must be a positive integer; got {dim!r}")
  if not num_std > 0:
    raise ValueError(f"num_std must be > 0; got {num_std!r}")
  return float(scipy.special.gammainc(dim / 2.0, num_std**2 / 2.0))


def kde(samples: ArrayLike, bandwidth: float | ArrayLike | None = None) -> distributions.GaussianMixture:
  """A Gaussian kernel density estimate: an equal-weight mixture with one diagonal Gaussian per sample.

  Args:
    samples: the data, shape (n, d).
    bandwidth: the kernel standard deviation (an absolute length, not scipy's multiplicative factor): a scalar,
      or shape (d,) for one per dimension. None uses Scott's rule per dimension, n^(−1/(d+4)) · std (ddof=1),
      which is scipy.stats.gaussian_kde(bw_method='scott') with its covariance restricted to the diagonal (the
      two coincide in 1-D).

  Returns:
    A `GaussianMixture` with locs = samples (n, d), scales (n, d) and weights 1/n.

  Raises:
    ValueError: if `samples` is not 2-D, `bandwidth` has a shape other than () or (d,), the default bandwidth is
      asked for with fewer than 2 samples, or (for concrete values) the bandwidth is not positive, e.g. because a
      dimension of the samples has zero spread.
  """
  samples = jnp.asarray(samples, jnp.float32)
  _check_samples(samples)
  n, d = samples.shape
  if bandwidth is None:
    if n < 2:
      raise ValueError(f"the default (Scott) bandwidth needs n >= 2 samples; got n = {n}")
    # Scott 1992 rule of thumb, as scipy.stats.gaussian_kde.scotts_factor: n^(−1/(d+4)).
    bandwidth = n ** (-1.0 / (d + 4)) * jnp.std(samples, axis=0, ddof=1)
    name = "the Scott bandwidth n^(-1/(d+4))·std (per dimension)"
  else:
    bandwidth = jnp.asarray(bandwidth, jnp.float32)
    if bandwidth.shape not in ((), (d,)):
      raise ValueError(f"bandwidth must be a scalar or have shape ({d},); got shape {bandwidth.shape}")
    name = "bandwidth"
  _check_positive(bandwidth, name)
  scales = jnp.broadcast_to(bandwidth, (n, d))
  return distributions.GaussianMixture(locs=samples, scales=scales, weights=np.full(n, 1.0 / n))
