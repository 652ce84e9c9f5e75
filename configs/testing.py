"""A tiny config for tests: a few steps of every part of the engine in seconds.

Command:
  python experiments/train.py --config=configs/testing.py --workdir=/tmp/gan_jax_testing
"""
from gan_jax import config as config_lib


def get_config():
  return config_lib.testing_config()
