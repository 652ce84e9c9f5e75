"""Grid of 25 Gaussians (PacGAN settings), MLP generator: mode coverage and KDE estimates.

Command:
  python experiments/train.py --config=configs/grid_2d.py --workdir=runs/grid_2d
"""
from gan_jax import config as config_lib


def get_config():
  return config_lib.toy_2d_config("grid", num_steps=20_000, eval_every=2000)
