"""Tests of the task registry and `train_and_evaluate`: outputs of a run, the entry point's one-line errors."""
import os
import subprocess
import sys

import pytest

from gan_jax import checkpoint
from gan_jax import config as config_lib
from gan_jax import engine
from gan_jax import players
from gan_jax import toy_task
from gan_jax import train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "configs"))
import testing as testing_config  # noqa: E402  pylint: disable=g-import-not-at-top


def _config(**overrides):
  c = testing_config.get_config()
  for k, v in overrides.items():
    c[k] = v
  return c




def _run_train(workdir, *overrides, check=False):
  cmd = [sys.executable, os.path.join(ROOT, "experiments", "train.py"),
         f"--config={os.path.join(ROOT, 'configs', 'testing.py')}", f"--workdir={workdir}", *overrides]
  return subprocess.run(cmd, capture_output=True, text=True, check=check, cwd=ROOT)


def test_entry_point_bad_override_is_one_line(tmp_path):
  proc = _run_train(tmp_path / "w", "--config.objective=nope")
  assert proc.returncode != 0
  assert "Traceback" not in proc.stderr
  assert proc.stderr.strip().splitlines()[-1].startswith("error: config.objective='nope' is invalid; allowed:")
  assert not (tmp_path / "w" / "checkpoints").exists()


def test_train_and_evaluate_writes_outputs(tmp_path):
  rows = train.train_and_evaluate(_config(num_seeds=2), str(tmp_path))
  assert [r["seed"] for r in rows] == [0, 1]
  for name in ("config.json", "metrics.jsonl", "tensorboard", "checkpoints"):
    assert (tmp_path / name).exists(), name
  for key in ("js", "kl_pg", "kl_gp", "w1", "v_opt", "js_kde", "js_lower_bound", "kl_pg_plugin", "d_vs_dstar",
              "v_gap", "g_loss", "d_loss"):
    assert key in rows[-1], key
  manager = checkpoint.create_manager(str(tmp_path / "checkpoints"))
  assert checkpoint.latest_step(manager) == 4


def test_config_chooses_its_task_by_name():
  assert train.task_name(_config()) == "toy" and train.TASKS["toy"] is toy_task
  image = config_lib.image_config("digits")
  assert train.task_name(image) == "image" and train.is_image_config(image)
  assert isinstance(train.build_gan(_config()).players, players.ToyPlayers)
  assert isinstance(train.build_gan(image).players, players.ImagePlayers)
  with pytest.raises(ValueError, match="^config.dataset='nope' is invalid; allowed: "):
    train.build_gan(config_lib.image_config("nope"))


def test_load_latest_restores_what_train_and_evaluate_saved(tmp_path):
  rows = train.train_and_evaluate(_config(num_steps=2, eval_every=2), str(tmp_path))
  gan, target, state, step = train.load_latest(_config(num_steps=2, eval_every=2), str(tmp_path))
  assert step == 2 and int(state.step[0]) == 2 and target.dim == gan.players.data_dim == 1
  assert [r["seed"] for r in rows] == list(engine.seeds_of(_config()))
  with pytest.raises(ValueError, match="no checkpoint in"):
    train.load_latest(_config(), str(tmp_path / "empty"))
