"""Goodfellow et al. 2014, Prop. 1 and Thm. 1 as numbers: the `make demo` job (CPU, a few seconds).

Run:
  .venv/bin/python experiments/nash_equilibrium.py --config=configs/nash.py --workdir=runs/demo

Override any field, e.g. `--config.mus='(0.0, 1.0, 3.0)' --config.grid_size=4001`. The fields and their defaults
live in the library (`gan_jax.nash.default_config`), so an installed package has them without this checkout.
"""
import ml_collections

from gan_jax import nash


def get_config() -> ml_collections.ConfigDict:
  """Returns the default Nash-equilibrium config."""
  return nash.default_config()
