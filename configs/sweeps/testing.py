"""A tiny sweep for tests (configs/testing.py sizes: 4 steps, batch 32): 2 members × 2 seeds, in seconds.

Command:
  python experiments/sweep.py --config=configs/sweeps/testing.py --workdir=/tmp/gan_jax_sweep_testing
Variants (`--config=configs/sweeps/testing.py:VARIANT`): `nan` adds a member whose SGD learning rate of 1e30 makes
the engine raise `NonFiniteError`; `four` has 4 members that differ only in `checkpoint_every` (one compiled
program for all, for the concurrency test); `lrs` has 3 members that differ only in zipped learning rates (one
packed program, `sweep.plan_packs`), `objectives` 4 members of 2 objectives × 2 n_critic (one packed program with an
objective axis), `lrs_nan` 2 such members, one diverging (adam at 1e30); `bad_field` and
`bad_value` are invalid sweeps.
"""
from gan_jax import config as config_lib
from gan_jax import sweep


def get_config(arg: str = ""):
  del arg  # the variants differ only in their sweep
  return config_lib.testing_config()


def get_sweep(arg: str = ""):
  grid = sweep.product({"objective": ["non_saturating"], "checkpoint_every": [2, 4]})
  if arg == "nan":
    grid += [{"optimizer_g": config_lib.optimizer_config("sgd", 1e30),
              "optimizer_d": config_lib.optimizer_config("sgd", 1e30)}]
  elif arg == "four":
    grid = sweep.product({"checkpoint_every": [1, 2, 3, 4]})
  elif arg == "lrs":
    grid = sweep.zip_({"optimizer_g.learning_rate": [1e-3, 3e-3, 1e-2],
                       "optimizer_d.learning_rate": [2e-3, 6e-3, 2e-2]})
  elif arg == "objectives":
    grid = sweep.product({"objective": ["minimax", "wasserstein"], "n_critic": [1, 2]})
  elif arg == "lrs_nan":
    grid = sweep.zip_({"optimizer_g.learning_rate": [1e-3, 1e30], "optimizer_d.learning_rate": [2e-3, 1e30]})
  elif arg == "bad_field":
    grid = sweep.product({"objective": ["minimax"], "optimizer_g.learnin_rate": [1e-3]})
  elif arg == "bad_value":
    grid = sweep.product({"objective": ["minimax", "no_such_objective"]})
  elif arg:
    raise ValueError(f"unknown sweep variant {arg!r}; allowed: nan, four, lrs, objectives, lrs_nan, bad_field, "
                     "bad_value")
  return sweep.Sweep(grid=grid, seeds=2)
