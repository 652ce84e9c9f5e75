"""Tests of workdir ownership: one live run per workdir, and resuming only the run the workdir holds."""
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from gan_jax import config as config_lib
from gan_jax import train
from gan_jax import workdir
from gan_jax import writers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_second_holder_is_refused_naming_pid_and_host(tmp_path):
  with workdir.exclusive(str(tmp_path)):
    with pytest.raises(workdir.WorkdirBusyError,
                       match=rf"^workdir .* is in use by pid {os.getpid()} on host {socket.gethostname()}; "):
      with workdir.exclusive(str(tmp_path)):
        pass
  with workdir.exclusive(str(tmp_path)):  # released at the end of the block
    pass


def test_lock_dies_with_its_process(tmp_path):
  # A process that holds the lock and is killed -9 leaves no stale lock behind.
  code = ("import sys, time; from gan_jax import workdir\n"
          "with workdir.exclusive(sys.argv[1]):\n  print('held', flush=True); time.sleep(60)")
  proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
  assert proc.stdout.readline().strip() == "held"
  with pytest.raises(workdir.WorkdirBusyError, match=f"pid {proc.pid} "):
    with workdir.exclusive(str(tmp_path)):
      pass
  proc.kill()
  proc.wait()
  deadline = time.time() + 10
  while True:
    try:
      with workdir.exclusive(str(tmp_path)):
        break
    except workdir.WorkdirBusyError:
      assert time.time() < deadline
      time.sleep(0.05)


def test_training_refuses_a_workdir_another_run_holds(tmp_path):
  with workdir.exclusive(str(tmp_path)):
    with pytest.raises(workdir.WorkdirBusyError):
      train.train_and_evaluate(config_lib.testing_config(), str(tmp_path))
  assert not os.path.exists(tmp_path / "metrics.jsonl") and not os.path.exists(tmp_path / "config.json")


def test_changed_config_is_refused_before_anything_is_written(tmp_path):
  config = config_lib.testing_config(num_steps=2)
  train.train_and_evaluate(config, str(tmp_path))
  before = {name: (tmp_path / name).read_bytes() for name in ("config.json", "metrics.jsonl")}
  changed = config_lib.testing_config(num_steps=2, objective="minimax", batch_size=16)
  with pytest.raises(ValueError) as err:
    train.train_and_evaluate(changed, str(tmp_path))
  message = str(err.value)
  assert "\n" not in message and message.startswith(f"workdir {str(tmp_path)!r} holds another run: ")
  assert "batch_size: 32 -> 16" in message and "objective: 'non_saturating' -> 'minimax'" in message
  assert {name: (tmp_path / name).read_bytes() for name in before} == before
  # The fields that may change on resume do: a longer run of the same config continues it.
  rows = train.train_and_evaluate(config_lib.testing_config(num_steps=4, eval_every=1), str(tmp_path))
  assert rows[0]["step"] == 4
  assert json.loads((tmp_path / "config.json").read_text())["num_steps"] == 4


def test_a_field_added_to_the_code_after_the_run_started_resumes_at_its_default():
  config = config_lib.image_config("digits")
  saved = json.loads(json.dumps(config.to_dict(), default=writers.json_default))
  del saved["latent_prior"]  # config.json written before the field existed
  defaults = config_lib.defaults_for(config)
  assert workdir.differing_fields(saved, config, defaults) == []
  assert workdir.differing_fields(saved, config) == ["latent_prior: '<unset>' -> 'normal'"]
  config.latent_prior = "uniform"  # not what the run did
  assert workdir.differing_fields(saved, config, defaults) == ["latent_prior: '<unset>' -> 'uniform'"]
  # A field the run had and the new config lacks is still a difference.
  saved["removed_field"] = 1
  assert workdir.differing_fields(saved, config_lib.image_config("digits"), defaults) == [
      "removed_field: 1 -> '<unset>'"]


def test_differing_fields_compare_what_config_json_stores():
  config = config_lib.testing_config()
  saved = json.loads(json.dumps(config.to_dict(), default=writers.json_default))  # tuples became lists
  assert workdir.differing_fields(saved, config) == []
  config.optimizer_d.learning_rate = 1.0
  config.num_steps = 10 ** 6
  assert workdir.differing_fields(saved, config) == ["optimizer_d.learning_rate: 0.001 -> 1.0"]
  # Where the replicas run (devices, layout) may change on resume: the same computation, placed elsewhere.
  config.parallel.cpu_devices, config.parallel.layout = 3, "replicas"
  assert workdir.differing_fields(saved, config) == ["optimizer_d.learning_rate: 0.001 -> 1.0"]
