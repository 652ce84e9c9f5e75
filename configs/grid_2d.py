"""Grid of 25 Gaussians (PacGAN settings), MLP generator: mode coverage and KDE estimates.

Command:
  python experiments/train.py --config=configs/grid_2d.py --workdir=runs/grid_2d
"""
from gan_jax import config as config_lib


def get_config():
  c = config_lib.base_config()
  c.target = "grid"
  c.generator = "mlp"
  c.generator_kwargs.features = 128
  c.generator_kwargs.depth = 3
  c.discriminator_kwargs.features = 128
  c.discriminator_kwargs.depth = 3
  c.optimizer_g = config_lib.optimizer_config("adam", 1e-4, b1=0.5, b2=0.999)
  c.optimizer_d = config_lib.optimizer_config("adam", 1e-4, b1=0.5, b2=0.999)
  c.num_steps = 20_000
  c.eval_every = 2000
  return c
