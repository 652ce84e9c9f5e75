"""Ring of 8 Gaussians (PacGAN settings), MLP generator: KDE estimates, held-out discriminator estimates, modes.

Command:
  python experiments/train.py --config=configs/ring_2d.py --workdir=runs/ring_2d
"""
from gan_jax import config as config_lib


def get_config():
  c = config_lib.base_config()
  c.target = "ring"
  c.generator = "mlp"
  c.generator_kwargs.features = 128
  c.generator_kwargs.depth = 3
  c.discriminator_kwargs.features = 128
  c.discriminator_kwargs.depth = 3
  c.optimizer_g = config_lib.optimizer_config("adam", 1e-4, b1=0.5, b2=0.999)
  c.optimizer_d = config_lib.optimizer_config("adam", 1e-4, b1=0.5, b2=0.999)
  c.num_steps = 10_000
  c.eval_every = 1000
  return c
