"""Goodfellow et al. 2014, Prop. 1 and Thm. 1 as numbers: the `make demo` job (CPU, a few seconds).

Run:
  .venv/bin/python experiments/nash_equilibrium.py --config=configs/nash.py --workdir=runs/demo

Override any field, e.g. `--config.mus='(0.0, 1.0, 3.0)' --config.grid_size=4001`.
"""
import ml_collections


def get_config() -> ml_collections.ConfigDict:
  """Returns the default Nash-equilibrium config."""
  config = ml_collections.ConfigDict()
  # Thm. 1 table: p = N(0, 1) (and the mixture below) against g = N(μ, 1).
  config.mus = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)
  # Bimodal target of the f-GAN mixture experiment (Nowozin et al. 2016, Sec. 4): 0.5 N(−2, 0.5) + 0.5 N(2, 0.5).
  config.mixture = ml_collections.ConfigDict()
  config.mixture.locs = (-2.0, 2.0)
  config.mixture.scales = (0.5, 0.5)
  config.mixture.weights = (0.5, 0.5)

  # x grid for Prop. 1 (pointwise and perturbation quadrature) and the D* plots; it must hold every density to
  # 8 standard deviations (checked).
  config.x_min = -8.0
  config.x_max = 16.0
  config.grid_size = 2001
  # Points of the y ∈ (0, 1) grid for the pointwise argmax; float32 resolves the flat peak only to ~2e-4.
  config.y_grid_size = 1001

  # Prop. 1 perturbation: p = N(0, 1), g = N(perturbation_mu, 1), D = D* + ε·h.
  config.perturbation_mu = 1.0
  config.epsilons = (-0.1, -0.01, 0.01, 0.1)

  # JSD → log 2: Gaussian shifts, and Arjovsky et al. 2017's parallel lines P0 vs Pθ.
  config.saturation_mus = (4.0, 8.0, 16.0, 32.0, 50.0)
  config.parallel_lines_thetas = (0.0, 0.1, 1.0)

  # Figure: points of the dense −log 4 + 2·JSD(μ) curve, and the μ of the D* curves.
  config.curve_points = 41
  config.figure_mus = (0.0, 1.0, 2.0, 4.0)
  return config
