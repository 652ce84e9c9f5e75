"""Tests of the submitit launcher: a sweep as a job array, run in-process (debug) and as local processes (slow)."""
import csv
import json
import os

import pytest

from gan_jax import config as config_lib
from gan_jax import launch
from gan_jax import summary
from gan_jax import sweep
from gan_jax import writers

pytest.importorskip("submitit")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTING_SWEEP = os.path.join(ROOT, "configs", "sweeps", "testing.py")


def _submit(tmp_path, cluster):
  executor = launch.make_executor(str(tmp_path / "submitit"), cluster=cluster, timeout_min=10)
  config = config_lib.load_config_file(TESTING_SWEEP)
  return launch.submit(config, sweep.load_sweep(TESTING_SWEEP), str(tmp_path / "sweep"), executor,
                       config_path=TESTING_SWEEP)


def _check_complete(report, tmp_path):
  assert len(report.outcomes) == 2 and set(report.outcomes.values()) == {"done"}
  with open(tmp_path / "sweep" / summary.RESULTS_CSV) as f:
    assert len(list(csv.DictReader(f))) == 2 * 2 * 3  # 2 members × 2 seeds × evaluations at steps 0, 2, 4


def test_job_array_runs_every_member_once_and_resubmitting_skips_them(tmp_path):
  config = config_lib.load_config_file(TESTING_SWEEP)
  report = launch.run_file(TESTING_SWEEP, config, str(tmp_path / "sweep"), launcher="submitit",
                           executor_options=dict(cluster="debug", folder=str(tmp_path / "submitit")))
  _check_complete(report, tmp_path)
  again = _submit(tmp_path, "debug")
  assert set(again.outcomes.values()) == {"skipped_done"}


def test_checkpoint_requeues_the_same_member():
  config = config_lib.load_config_file(TESTING_SWEEP)
  member = sweep.expand(config, sweep.load_sweep(TESTING_SWEEP))[0]
  task = launch.MemberTask("/tmp/w", retry_failed=True, stale_after_s=5.0)
  delayed = task.checkpoint(member)
  assert delayed.args == (member,) and delayed.function is task


@pytest.mark.parametrize("kwargs, needle", [({"timeout_min": 0}, "timeout_min=0"), ({"gpus_per_task": -1}, "gpus"),
                                            ({"array_parallelism": 0}, "array_parallelism=0")])
def test_bad_executor_parameters_are_one_line(tmp_path, kwargs, needle):
  with pytest.raises(ValueError, match=needle):
    launch.make_executor(str(tmp_path), cluster="debug", **kwargs)


@pytest.mark.slow  # ~40 s cold: each member runs in its own submitit process
def test_local_processes_run_the_array(tmp_path):
  _check_complete(_submit(tmp_path, "local"), tmp_path)


def test_run_file_refuses_an_unknown_launcher(tmp_path):
  config = config_lib.load_config_file(TESTING_SWEEP)
  with pytest.raises(ValueError, match=r"^launcher='slurm' is invalid; allowed: local \| submitit$"):
    launch.run_file(TESTING_SWEEP, config, str(tmp_path), launcher="slurm")



@pytest.mark.slow  # ~4 min: a member longer than submitit's 1-minute local time limit, and the same run uninterrupted
def test_a_task_past_its_time_limit_is_requeued_and_resumes_bit_identical(tmp_path):
  config = config_lib.load_config_file(TESTING_SWEEP)
  # Long enough (~2 min at ~2 ms a step) to outlive the 1-minute time limit.
  config.num_steps, config.batch_size, config.eval_kde_samples = 60000, 2048, 0
  config.eval_every = config.checkpoint_every = 5000
  grid = sweep.Sweep(grid=sweep.product({"objective": ["non_saturating"]}), seeds=1)
  executor = launch.make_executor(str(tmp_path / "submitit"), cluster="local", timeout_min=1)
  report = launch.submit(config, grid, str(tmp_path / "requeued"), executor)
  (member_id, outcome), = report.outcomes.items()
  assert outcome == "done"
  requeued = summary.member_dir(str(tmp_path / "requeued"), member_id)
  with open(os.path.join(requeued, summary.EVENTS_FILE)) as f:
    events = [json.loads(line)["event"] for line in f]
  assert events[0] == "start" and events[-1] == "done" and "interrupted" in events, events
  sweep.run(config, grid, str(tmp_path / "straight"))
  straight = summary.member_dir(str(tmp_path / "straight"), member_id)
  assert writers.read_metrics(os.path.join(requeued, "metrics.jsonl")) == writers.read_metrics(
      os.path.join(straight, "metrics.jsonl"))
