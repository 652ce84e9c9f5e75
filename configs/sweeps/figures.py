"""A tiny objective ablation for figure 7 and notebooks/ablation.ipynb: 2 objectives × 3 seeds, seconds on a CPU.

Command:
  python experiments/sweep.py --config=configs/sweeps/figures.py --workdir=/tmp/gan_jax_sweep_figures
The base config is configs/sweeps/testing.py's (flow1d generator on mixture_1d) with a few more steps, so the
divergence trajectories have more than two points; 3 seeds, so the bootstrap intervals have a spread.
"""
from gan_jax import config as config_lib
from gan_jax import sweep


def get_config(arg: str = ""):
  del arg
  c = config_lib.testing_config()
  c.num_steps = 20
  c.eval_every = 5
  c.checkpoint_every = 20
  return c


def get_sweep(arg: str = ""):
  del arg
  return sweep.Sweep(grid=sweep.product({"objective": ["minimax", "non_saturating"]}), seeds=3)
