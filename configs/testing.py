"""A tiny config for tests: a few steps of every part of the engine in seconds.

Command:
  python experiments/train.py --config=configs/testing.py --workdir=/tmp/gan_jax_testing
"""
from gan_jax import config as config_lib


def get_config():
  c = config_lib.base_config()
  c.target = "mixture_1d"
  c.generator = "flow1d"
  c.generator_kwargs.num_units = 4
  c.discriminator_kwargs.features = 16
  c.discriminator_kwargs.depth = 1
  c.batch_size = 32
  c.num_steps = 4
  c.eval_every = 2
  c.eval_samples = 256
  c.eval_mc_samples = 1000
  c.eval_kde_samples = 100
  c.checkpoint_every = 2
  c.plot_every = 0
  return c
