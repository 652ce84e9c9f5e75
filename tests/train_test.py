"""Tests of the task registry and `train_and_evaluate`: a run's outputs, resume after kill -9, one-line errors."""
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from gan_jax import checkpoint
from gan_jax import config as config_lib
from gan_jax import players
from gan_jax import toy_task
from gan_jax import train
from gan_jax import workdir
from gan_jax import writers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_config = config_lib.testing_config


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


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
  """(workdir, final rows) of one finished tiny run, shared: compiling its programs is most of a test's time."""
  path = tmp_path_factory.mktemp("finished_run")
  return path, train.train_and_evaluate(_config(num_seeds=2), str(path))


def test_train_and_evaluate_writes_outputs(finished_run, tmp_path):
  run_dir, rows = finished_run
  assert [r["seed"] for r in rows] == [0, 1]
  for name in ("config.json", "metrics.jsonl", "tensorboard", "checkpoints"):
    assert (run_dir / name).exists(), name
  for key in ("js", "kl_pg", "kl_gp", "w1", "v_opt", "js_kde", "js_lower_bound", "kl_pg_plugin", "d_vs_dstar",
              "v_gap", "g_loss", "d_loss"):
    assert key in rows[-1], key
  manager = checkpoint.create_manager(str(run_dir / "checkpoints"))
  assert checkpoint.latest_step(manager) == 4
  timing = writers.read_timing(str(run_dir))
  assert (timing["start_step"], timing["end_step"]) == (0, 4)
  assert {"init", "train", "evaluate", "checkpoint"} <= set(timing["phases_s"])
  assert all(v > 0 for v in timing["phases_s"].values())
  assert sum(timing["phases_s"].values()) <= timing["wall_s"]
  gan, target, state, step = train.load_latest(_config(num_seeds=2), str(run_dir))
  assert step == 4 and state.step.tolist() == [4, 4] and target.dim == gan.players.data_dim == 1
  with pytest.raises(ValueError, match="no checkpoint in"):
    train.load_latest(_config(), str(tmp_path / "empty"))


def test_config_chooses_its_task_by_name():
  assert train.task_name(_config()) == "toy" and train.TASKS["toy"] is toy_task
  image = config_lib.image_config("digits")
  assert train.task_name(image) == "image" and train.is_image_config(image)
  assert isinstance(train.build_gan(_config()).players, players.ToyPlayers)
  assert isinstance(train.build_gan(image).players, players.ImagePlayers)
  with pytest.raises(ValueError, match="^config.dataset='nope' is invalid; allowed: "):
    train.build_gan(config_lib.image_config("nope"))


def _rows_by_key(path):
  rows = writers.read_metrics(str(path))
  keys = [(r["step"], r["seed"]) for r in rows]
  assert len(keys) == len(set(keys)), "duplicated metric rows"
  return {k: r for k, r in zip(keys, rows)}


@pytest.mark.slow  # ~85 s cold: three processes compile; image_task_test checks in-process resume by default
def test_resume_after_kill_9_is_bit_identical(tmp_path):
  # The affine generator without KDE compiles fastest: three processes compile this run.
  overrides = ["--config.num_steps=120", "--config.eval_every=4", "--config.checkpoint_every=4",
               "--config.num_seeds=2", "--config.generator=affine", "--config.generator_kwargs={}",
               "--config.eval_kde_samples=0"]
  killed = tmp_path / "killed"
  cmd = [sys.executable, os.path.join(ROOT, "experiments", "train.py"),
         f"--config={os.path.join(ROOT, 'configs', 'testing.py')}", f"--workdir={killed}", *overrides]
  proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  ckpt_dir = killed / "checkpoints"
  deadline = time.time() + 120
  while time.time() < deadline and proc.poll() is None:
    steps = [int(d) for d in os.listdir(ckpt_dir) if d.isdigit()] if ckpt_dir.exists() else []
    if steps and max(steps) >= 12:
      break
    time.sleep(0.01)
  assert proc.poll() is None, "the run finished before it could be killed; make it longer"
  os.kill(proc.pid, signal.SIGKILL)
  proc.wait()
  assert proc.returncode == -signal.SIGKILL
  partial = writers.read_metrics(str(killed / "metrics.jsonl"))
  assert max(r["step"] for r in partial) < 120

  _run_train(killed, *overrides, check=True)
  reference = tmp_path / "reference"
  _run_train(reference, *overrides, check=True)

  resumed, expected = _rows_by_key(killed / "metrics.jsonl"), _rows_by_key(reference / "metrics.jsonl")
  assert resumed.keys() == expected.keys()
  assert len(expected) == 2 * (120 // 4 + 1)
  for key, row in expected.items():
    for name, value in row.items():
      assert resumed[key][name] == value or (np.isnan(value) and np.isnan(resumed[key][name])), (key, name)


def test_damaged_latest_checkpoint_resumes_from_the_previous_one(finished_run, tmp_path):
  config = _config(num_seeds=2)
  assert (config.num_steps, config.checkpoint_every) == (4, 2)  # checkpoints 2 and 4: the previous one exists
  damaged = tmp_path / "damaged"
  shutil.copytree(finished_run[0], damaged)  # a copy: the shared run stays intact for the other tests
  uninterrupted = _rows_by_key(damaged / "metrics.jsonl")  # the reference: what the run logged before the damage
  (damaged / "checkpoints" / "4" / "_CHECKPOINT_METADATA").unlink()
  for p in (damaged / "checkpoints" / "4" / "default").rglob("*_METADATA"):
    p.unlink()
  rows = train.train_and_evaluate(config, str(damaged))  # resumes from step 2, trains steps 3 and 4 again
  assert rows[0]["step"] == 4
  assert _rows_by_key(damaged / "metrics.jsonl") == uninterrupted
  manager = checkpoint.create_manager(str(damaged / "checkpoints"))
  assert manager.all_steps() == [2, 4]


@pytest.mark.slow  # ~20 s (three processes); workdir_test and cli_test check the same errors in-process
def test_entry_point_refuses_a_busy_or_foreign_workdir_in_one_line(tmp_path):
  assert _run_train(tmp_path / "w", "--config.num_steps=2", check=True).returncode == 0
  proc = _run_train(tmp_path / "w", "--config.num_steps=2", "--config.batch_size=16")
  assert proc.returncode != 0 and "Traceback" not in proc.stderr
  assert proc.stderr.strip().splitlines()[-1].startswith(f"error: workdir {str(tmp_path / 'w')!r} holds another run: ")
  with workdir.exclusive(str(tmp_path / "w")):
    proc = _run_train(tmp_path / "w", "--config.num_steps=2")
  assert proc.returncode != 0 and "Traceback" not in proc.stderr
  assert proc.stderr.strip().splitlines()[-1].startswith(f"error: workdir {str(tmp_path / 'w')!r} is in use by pid ")


def _set(config, dotted, value):
  *parents, leaf = dotted.split(".")
  for p in parents:
    config = config[p]
  config[leaf] = value


# (field, bad value, what the one line must start with): every one refused by build_gan before anything compiles.
BAD_VALUES = [
    ("objective", "nope", "config.objective='nope' is invalid; allowed: "),
    ("target", "moon", "config.target='moon' is invalid"),
    ("generator", "gru", "config.generator='gru' is invalid"),
    ("discriminator", "cnn", "config.discriminator='cnn' is invalid"),
    ("num_steps", 0, "config.num_steps=0 is invalid; allowed: an integer >= 1"),
    ("batch_size", -4, "config.batch_size=-4 is invalid"),
    ("eval_every", 0, "config.eval_every=0 is invalid"),
    ("eval_samples", 0, "config.eval_samples=0 is invalid"),
    ("n_critic", 0, "config.n_critic=0 is invalid"),
    ("num_seeds", 0, "config.num_seeds=0 is invalid"),
    ("seed", -1, "config.seed=-1 is invalid"),
    ("update_mode", "sideways", "config.update_mode='sideways' is invalid"),
    ("r1_weight", -1.0, "config.r1_weight=-1.0 is invalid"),
    ("r2_weight", -0.5, "config.r2_weight=-0.5 is invalid"),
    ("ema_decay", 1.0, "config.ema_decay=1.0 is invalid; allowed: a number in [0, 1)"),
    ("checkpoint_every", -1, "config.checkpoint_every=-1 is invalid"),
    ("keep_checkpoints", 0, "config.keep_checkpoints=0 is invalid; allowed: an integer >= 1"),
    ("eval_mc_samples", 0, "config.eval_mc_samples=0 is invalid; allowed: an integer >= 2"),
    ("eval_kde_samples", -1, "config.eval_kde_samples=-1 is invalid"),
    ("eval_w1_samples", -5, "config.eval_w1_samples=-5 is invalid"),
    ("optimizer_g.name", "adamax", "config.optimizer_g.name='adamax' is invalid"),
    ("optimizer_d.learning_rate", 0.0, "config.optimizer_d.learning_rate=0.0 is invalid"),
    ("optimizer_g.learning_rate", -1e-3, "config.optimizer_g.learning_rate=-0.001 is invalid"),
    ("objective_kwargs.real_target", 1.5, "config.objective_kwargs={'real_target': 1.5} is invalid"),
    ("objective_kwargs.weight_clip", -0.01, "config.objective_kwargs={'weight_clip': -0.01} is invalid"),
    ("objective_kwargs.gradient_penalty_weight", -1.0, "config.objective_kwargs={'gradient_penalty_weight': -1.0}"),
    ("objective_kwargs.fgan_generator", "sideways", "config.objective_kwargs={'fgan_generator': 'sideways'}"),
    ("discriminator_kwargs.features", 0, "config.discriminator_kwargs: "),
    ("generator_kwargs.num_units", 0, "config.generator_kwargs: "),
    ("vmap_hparams.g_learning_rate", (1e-3, -1.0), "config.vmap_hparams.g_learning_rate=(0.001, -1.0) is invalid"),
    ("vmap_hparams.d_learning_rate", (0.0,), "config.vmap_hparams.d_learning_rate=(0.0,) is invalid"),
    ("vmap_hparams.r1_weight", (1.0, -2.0), "config.vmap_hparams.r1_weight=(1.0, -2.0) is invalid"),
    ("vmap_hparams.real_target", (0.9, 1.2), "config.vmap_hparams.real_target=(0.9, 1.2) is invalid"),
    ("vmap_hparams.g_learning_rate", ("a",), "config.vmap_hparams.g_learning_rate=('a',) is invalid"),
    ("parallel.layout", "pipeline", "config.parallel.layout='pipeline' is invalid"),
    ("parallel.num_devices", 99, "config.parallel.num_devices=99 is invalid"),
    ("parallel.num_devices", -1, "config.parallel.num_devices=-1 is invalid"),
    ("n_critic", -2, "config.n_critic=-2 is invalid"),
    ("eval_samples", -3, "config.eval_samples=-3 is invalid"),
    ("objective_kwargs.real_target", 0.0, "config.objective_kwargs={'real_target': 0.0} is invalid"),
    ("vmap_hparams.r2_weight", (float("inf"),), "config.vmap_hparams.r2_weight=(inf,) is invalid"),
]


@pytest.mark.parametrize("field, value, needle", BAD_VALUES)
def test_bad_values_are_one_line_naming_field_value_and_allowed(field, value, needle, tmp_path):
  config = _config()
  _set(config, field, value)
  with pytest.raises(ValueError) as err:
    train.build_gan(config)
  message = str(err.value)
  assert message.startswith(needle) and "\n" not in message, message
  assert not os.listdir(tmp_path)  # nothing is written: build_gan runs before any file


def test_simultaneous_updates_with_several_critic_steps_are_refused():
  with pytest.raises(ValueError, match=r"^config.n_critic=3 is invalid; allowed: 1 with update_mode='simultaneous'"):
    train.build_gan(_config(n_critic=3, update_mode="simultaneous"))
