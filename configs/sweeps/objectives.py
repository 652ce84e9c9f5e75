"""Ablation: objective × learning rate × n_critic × target, 3 seeds per member trained together (36 members).

Command:
  python experiments/sweep.py --config=configs/sweeps/objectives.py --workdir=runs/sweep_objectives
  python experiments/summarize.py --workdir=runs/sweep_objectives
Shrunk for a quick local check (2 members, 20 steps): --config=configs/sweeps/objectives.py:runlocal

How to write a sweep (the one way; see gan_jax/sweep.py): `get_config()` returns the base training config, and
`get_sweep()` a `sweep.Sweep(grid, seeds)`. The grid is built with `sweep.product` / `sweep.zip_` over dicts of
dotted config field -> list of values: in `product` a dict is the product of its keys, in `zip_` the zip of its keys;
either also takes grids (lists of override dicts), and grids concatenate with `+`. Seeds (consecutive) are not
overrides: each member trains them together in one vmapped program.
"""
from gan_jax import config as config_lib
from gan_jax import sweep


def get_config(arg: str = ""):
  c = config_lib.base_config()
  c.target = "mixture_1d"
  c.generator = "flow1d"
  c.generator_kwargs.num_units = 8
  c.discriminator_kwargs.features = 64
  c.discriminator_kwargs.depth = 2
  c.batch_size = 256
  c.num_steps = 1500
  c.eval_every = 150
  c.checkpoint_every = 750
  c.eval_samples = 4096
  c.eval_kde_samples = 500
  c.plot_every = 0
  c.optimizer_g = config_lib.optimizer_config("adam", 1e-3, b1=0.5, b2=0.999)
  c.optimizer_d = config_lib.optimizer_config("adam", 1e-3, b1=0.5, b2=0.999)
  if arg == "runlocal":
    c.num_steps, c.eval_every, c.checkpoint_every, c.batch_size = 20, 10, 10, 64
  elif arg:
    raise ValueError(f"unknown config argument {arg!r}; allowed: runlocal")
  return c


def get_sweep(arg: str = ""):
  if arg == "runlocal":
    return sweep.Sweep(grid=sweep.product({"objective": ["minimax", "non_saturating"]}), seeds=2)
  return sweep.Sweep(
      grid=sweep.product(
          {"target": ["mixture_1d", "gaussian_1d"],
           "objective": ["minimax", "non_saturating", "wasserstein"],
           "n_critic": [1, 5]},
          # Both players share one learning rate: zipped, not crossed.
          sweep.zip_({"optimizer_g.learning_rate": [3e-4, 1e-3, 3e-3],
                      "optimizer_d.learning_rate": [3e-4, 1e-3, 3e-3]})),
      seeds=range(3))
