"""Named data distributions that configs refer to by `config.target`."""
from typing import Any, Callable

from gan_jax import distributions

TARGETS: dict[str, Callable[[], Any]] = {
    # A shifted, narrower Gaussian: even the affine generator must move and shrink to fit it.
    "gaussian_1d": lambda: distributions.Gaussian(2.0, 0.5),
    # Bimodal 1-D target: an affine (Gaussian) generator must choose between mode-covering and mode-seeking
    # (the f-GAN Gaussian-fit-to-mixture experiment, Nowozin et al. 2016 Sec. 4).
    "mixture_1d": lambda: distributions.GaussianMixture(
        locs=[[-2.0], [2.0]], scales=[[0.5], [0.5]], weights=[0.5, 0.5]),
    "gaussian_2d": lambda: distributions.Gaussian([1.0, -1.0], [0.5, 1.0]),
    # PacGAN / VEEGAN toy targets (Lin et al. 2018; Srivastava et al. 2017).
    # The Dirac-GAN's data (Mescheder et al. 2018): a point mass at 0; no density, so only the
    # discriminator-based estimates are logged.
    "dirac": lambda: distributions.PointMass(0.0),
    "ring": distributions.ring,
    "grid": distributions.grid,
}


def get_target(name: str) -> Any:
  """Returns the target distribution registered as `name`.

  Raises:
    ValueError: for an unknown name; the message lists the valid ones.
  """
  if name not in TARGETS:
    raise ValueError(f"unknown target {name!r}; valid targets: {', '.join(sorted(TARGETS))}")
  return TARGETS[name]()
