"""Ring of 8 Gaussians (PacGAN settings), MLP generator: KDE estimates, held-out discriminator estimates, modes.

Command:
  python experiments/train.py --config=configs/ring_2d.py --workdir=runs/ring_2d
"""
from gan_jax import config as config_lib


def get_config():
  return config_lib.toy_2d_config("ring", num_steps=10_000, eval_every=1000)
