"""1-D bimodal mixture, monotone-flow generator with an exact density: JS, KL both ways, W1 and D* all exact.

Command:
  python experiments/train.py --config=configs/mixture_1d.py --workdir=runs/mixture_1d
Compare objectives with e.g. `--config.objective=minimax` or `--config.objective=wasserstein`.
"""
from gan_jax import config as config_lib


def get_config():
  c = config_lib.base_config()
  c.target = "mixture_1d"
  c.generator = "flow1d"
  c.generator_kwargs.num_units = 16
  c.num_steps = 2000
  c.eval_every = 200
  return c
