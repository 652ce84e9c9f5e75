"""Tests of the probe on runs: during training (`probe_every`), from a checkpoint, resume, images, bad input."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from gan_jax import config as config_lib
from gan_jax import probe
from gan_jax import probe_runs
from gan_jax import train
from gan_jax import writers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _rows(workdir):
  return writers.read_metrics(os.path.join(workdir, probe.PROBE_FILE))


def _assert_same_rows(a, b):
  """Row lists equal value for value, NaN equal to NaN (the skipped W1 estimates)."""
  assert len(a) == len(b)
  for x, y in zip(a, b):
    assert x.keys() == y.keys()
    for k in x:
      assert x[k] == y[k] or (isinstance(x[k], float) and np.isnan(x[k]) and np.isnan(y[k])), (k, x[k], y[k])


@pytest.fixture(scope="module")
def probed_run(tmp_path_factory):
  """A 2-seed toy run probed at every evaluation (steps 0, 2, 4), without the W1 critic (probe_test covers it)."""
  workdir = str(tmp_path_factory.mktemp("runs") / "probed")  # alone in its parent: a directory of one run
  config = config_lib.testing_config(num_seeds=2, probe_every=2)
  config.probe.w1 = False
  train.train_and_evaluate(config, workdir)
  return workdir


def test_probe_during_training_from_a_checkpoint_and_bad_steps(probed_run):
  # One test on the module's run: xdist would set the run up again on each worker that takes one of several.
  rows = _rows(probed_run)
  assert [(r["step"], r["seed"]) for r in rows] == [(s, seed) for s in (0, 2, 4) for seed in (0, 1)]
  metrics = {(r["step"], r["seed"]): r for r in writers.read_metrics(os.path.join(probed_run, "metrics.jsonl"))}
  for r in rows:
    assert r["js"] == metrics[(r["step"], r["seed"])]["js"]          # the exact value of the same step
    assert r["js_lower_bound"] == metrics[(r["step"], r["seed"])]["js_lower_bound"]
    for name in probe.ESTIMATES:
      if name == "w1":
        assert np.isnan(r["w1_probe"])
      else:
        assert np.isfinite(r[f"{name}_probe"]) and r[f"{name}_probe_stderr"] > 0
    # A tiny probe still sees the untrained generator: JS within 0.1 nats of exact (it is 0.3–0.5 here).
    assert r["js_probe"] == pytest.approx(r["js"], abs=0.1)

  # The probe of a checkpoint equals the probe taken during training at that step.
  during = [r for r in rows if r["step"] == 2]
  written = probe_runs.probe_run(probed_run, step=2)
  _assert_same_rows(written, during)
  # Re-probing a step replaces its rows: still one row per (step, seed), in order.
  _assert_same_rows(_rows(probed_run), rows)

  for step, needle in ((3, "step=3 was not saved in "), (-1, "step=-1 is invalid; allowed: a saved step")):
    with pytest.raises(ValueError, match=re.escape(needle)) as e:
      probe_runs.probe_run(probed_run, step=step)
    assert "\n" not in str(e.value)
  with pytest.raises(ValueError, match=re.escape("allowed: a saved step (2, 4)")):
    probe_runs.probe_run(probed_run, step=3)


@pytest.mark.slow  # the probe's keys derive from the state, whose resume is exact (engine tests); rows: here
def test_resumed_run_probes_exactly_as_an_uninterrupted_one(probed_run, tmp_path):
  config = config_lib.testing_config(num_seeds=2, probe_every=2, num_steps=2)
  config.probe.w1 = False
  train.train_and_evaluate(config, str(tmp_path))
  config.num_steps = 4
  train.train_and_evaluate(config, str(tmp_path))
  _assert_same_rows(_rows(str(tmp_path)), _rows(probed_run))


@pytest.mark.slow  # 30 s of compilation; `probe.estimates`, which it vmaps over replicas, is tested by default
def test_image_run_probe_writes_estimates(tmp_path):
  c = config_lib.image_config("digits")
  c.generator_kwargs = {"features": 8, "latent_dim": 16}
  c.discriminator_kwargs = {"features": 8, "normalization": "batch_norm"}
  c.batch_size, c.num_steps, c.eval_every, c.eval_samples, c.eval_classifier = 16, 2, 2, 64, False
  c.probe_every = 2
  c.probe.update(dict(num_critics=2, num_steps=100, batch_size=64, validate_every=50, num_test=256))
  train.train_and_evaluate(c, str(tmp_path))
  rows = _rows(str(tmp_path))
  assert [r["step"] for r in rows] == [0, 2]
  for r in rows:
    # An untrained DCGAN's images are far from the digits: the probe's JS is well above 0 and below log 2.
    assert 0.2 < r["js_probe"] <= np.log(2) + 3 * r["js_probe_stderr"]
    assert r["w1_probe"] > 0 and "fcd" not in r


def test_workdir_without_run_or_checkpoint_gives_one_line(tmp_path):
  with pytest.raises(ValueError, match="holds no training run; allowed: a run's directory"):
    probe_runs.run_dirs(str(tmp_path))
  writers.write_config(str(tmp_path), config_lib.testing_config())
  with pytest.raises(ValueError, match="no checkpoint in .*; train first"):
    probe_runs.probe_run(str(tmp_path))
  with pytest.raises(ValueError, match=re.escape("config.probe.num_critics=0 is invalid")):
    probe_runs.probe_run(str(tmp_path), overrides={"num_critics": 0})


def test_entry_point_rejects_bad_input_with_one_line(tmp_path):
  bad = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "probe.py"), f"--workdir={tmp_path}"],
                       capture_output=True, text=True, cwd=ROOT)
  assert bad.returncode == 2 and "holds no training run" in bad.stderr
  assert "Traceback" not in bad.stderr


@pytest.mark.slow  # its library call is test_probe_during_training_from_a_checkpoint_and_bad_steps
def test_entry_point_probes_a_directory_of_runs(probed_run):
  ok = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "probe.py"),
                       f"--workdir={os.path.dirname(probed_run)}", "--step=4", "--probe.num_critics=2"],
                      capture_output=True, text=True, cwd=ROOT)
  assert ok.returncode == 0, ok.stderr[-2000:]
  assert "wrote 2 rows to probe.jsonl" in ok.stdout and "js probe (exact)" in ok.stdout


def test_rows_without_metrics_name_each_replicas_objective(tmp_path):
  # A joint run (objective axis) probed before its step's metric rows exist: each row names its replica's objective.
  config = config_lib.testing_config()
  config.num_seeds = 2
  config.objective_axis.objectives = ("minimax", "wasserstein")
  rows = probe_runs.metrics_rows_at(config, str(tmp_path), step=0)
  assert [(r["objective"], r["seed"]) for r in rows] == [("minimax", 0), ("minimax", 1), ("wasserstein", 0),
                                                        ("wasserstein", 1)]


def test_the_table_names_the_objective_when_replicas_differ_in_it():
  row = lambda seed, objective: {"step": 10, "seed": seed, "objective": objective, "js": 0.1, "js_probe": 0.09,
                                 "js_probe_stderr": 0.01}
  one = probe_runs.format_rows([row(0, "minimax"), row(1, "minimax")]).splitlines()
  assert "objective" not in one[0] and len(one) == 3
  joint = probe_runs.format_rows([row(0, "minimax"), row(0, "wasserstein")]).splitlines()
  assert joint[0].split()[:3] == ["step", "seed", "objective"]
  assert joint[1].split()[:3] == ["10", "0", "minimax"] and joint[2].split()[:3] == ["10", "0", "wasserstein"]
