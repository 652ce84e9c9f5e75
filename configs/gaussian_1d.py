"""1-D Gaussian target, affine generator: every divergence exact; the simplest learning check.

Command:
  python experiments/train.py --config=configs/gaussian_1d.py --workdir=runs/gaussian_1d
"""
from gan_jax import config as config_lib


def get_config():
  c = config_lib.base_config()
  c.target = "gaussian_1d"
  c.generator = "affine"
  c.objective = "non_saturating"
  c.num_steps = 1000
  c.eval_every = 100
  return c
