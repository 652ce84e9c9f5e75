"""Tests of the comparison: the objectives as one program (`joint_config`) with each objective's lone-run files."""
import os
import sys

import jax
import numpy as np
import pytest

from gan_jax import compare
from gan_jax import config as config_lib
from gan_jax import train
from gan_jax import writers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "configs"))
import demo as demo_config  # noqa: E402  pylint: disable=g-import-not-at-top


def test_joint_config_puts_the_overrides_on_the_objective_axis():
  config = demo_config.get_config()
  config.overrides.wasserstein.objective_kwargs = {**config.objective_kwargs.to_dict(), "weight_clip": 0.02}
  joint = compare.joint_config(config)
  axis = joint.objective_axis
  assert (axis.objectives, axis.n_critic, axis.weight_clip) == (
      ("minimax", "non_saturating", "wasserstein"), (1, 1, 5), (None, None, 0.02))
  assert joint.objective == "minimax" and joint.n_critic == 1
  assert not any(f in joint for f in ("objectives", "overrides", "joint_objectives"))
  assert "joint_objectives" not in compare.objective_config(config, "minimax")


def test_objectives_that_differ_in_more_than_the_axis_train_alone():
  config = demo_config.get_config()
  config.overrides.wasserstein.optimizer_d = config_lib.optimizer_config("rmsprop", 5e-5)
  assert compare.joint_config(config) is None
  config.objectives = ("wasserstein",)
  assert compare.joint_config(config) is None  # one objective: nothing to put side by side


def _shrunk(**overrides):
  config = demo_config.get_config()
  config.update({**dict(num_steps=4, eval_every=2, checkpoint_every=2, num_seeds=2, batch_size=32, eval_samples=256,
                        eval_kde_samples=0), **overrides})
  return config


def _rows(workdir, objective):
  return writers.read_metrics(os.path.join(workdir, objective, writers.METRICS_FILE))


@pytest.mark.slow  # ~60 s cold: the joint program, three lone ones, a resumed joint run
def test_objectives_in_one_program_write_what_each_alone_writes(tmp_path):
  joint_dir, lone_dir, resumed_dir = (str(tmp_path / d) for d in ("joint", "lone", "resumed"))
  compare.run_objectives(_shrunk(), joint_dir)
  compare.run_objectives(_shrunk(joint_objectives=False), lone_dir)
  compare.run_objectives(_shrunk(num_steps=2), resumed_dir)  # interrupted after step 2 ...
  compare.run_objectives(_shrunk(), resumed_dir)  # ... and resumed: the same rows as never interrupted
  for objective in demo_config.get_config().objectives:
    joint, lone = _rows(joint_dir, objective), _rows(lone_dir, objective)
    assert _rows(resumed_dir, objective) == joint
    assert [r.keys() for r in joint] == [r.keys() for r in lone]
    for row, lone_row in zip(joint, lone):
      for name, value in lone_row.items():
        if isinstance(value, float):
          np.testing.assert_allclose(row[name], value, rtol=1e-5, atol=1e-6, err_msg=f"{objective} {name}")
    # Each objective's directory restores with its own config, as its lone run's does.
    config = compare.objective_config(_shrunk(), objective)
    _, _, state, step = train.load_latest(config, os.path.join(joint_dir, objective))
    _, _, lone_state, lone_step = train.load_latest(config, os.path.join(lone_dir, objective))
    assert step == lone_step == 4
    for x, y in zip(jax.tree.leaves(state), jax.tree.leaves(lone_state)):
      np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)
