"""Tests of the entry points' flag parsing: a bad flag is one `error:` line with exit status 2."""
import os
import subprocess
import sys

import pytest

from gan_jax import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTING = os.path.join(ROOT, "configs", "testing.py")


@pytest.mark.parametrize("override, needle", [
    ("--config.foo=1", "--config.foo=1: config has no field 'foo'; its fields: batch_size, "),
    ("--config.optimizer_g.foo=1", "config.optimizer_g has no field 'foo'; its fields: b1, b2, learning_rate, name"),
    ("--config.objective_kwargs.nope=0.9", "config.objective_kwargs has no field 'nope'; its fields: fgan_generator"),
    ("--config.num_steps.x=1", "config.num_steps has no field 'x'; its fields: none (not a sub-config)"),
])
def test_unknown_override_names_the_field_and_the_fields_there(override, needle):
  message = cli.unknown_override(["prog", f"--config={TESTING}", override, "--config.num_seeds=2"])
  assert needle in message and "\n" not in message


def test_known_overrides_and_a_missing_file():
  assert cli.unknown_override(["prog", f"--config={TESTING}", "--config.optimizer_g.b1=0.1"]) is None
  assert cli.unknown_override(["prog", "--workdir=x"]) is None
  assert "does not exist" in cli.unknown_override(["prog", "--config=nope.py", "--config.a=1"])


def test_usage_error_is_one_line_and_status_2(capsys):
  with pytest.raises(SystemExit) as exit_:
    cli.usage_error("first\n  second")
  assert exit_.value.code == 2
  assert capsys.readouterr().err == "error: first second\n"


@pytest.mark.parametrize("args", [
    [f"--config={TESTING}", "--config.foo=1", "--workdir=WORKDIR"],
    ["--config=configs/nope.py", "--workdir=WORKDIR"],
    [f"--config={TESTING}", "--config.batch_size=abc", "--workdir=WORKDIR"],
    [f"--config={TESTING}", "--workdir=/proc/gan_jax_run"],
])
def test_entry_point_flag_errors_exit_2_without_traceback(args, tmp_path):
  args = [a.replace("WORKDIR", str(tmp_path / "w")) for a in args]
  proc = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "train.py"), *args],
                        cwd=ROOT, capture_output=True, text=True)
  assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
  assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
  assert not (tmp_path / "w").exists()


def test_workdir_problems_are_found_without_creating_anything(tmp_path):
  assert cli.workdir_problem(str(tmp_path / "new" / "deeper")) is None
  assert not (tmp_path / "new").exists() and os.listdir(tmp_path) == []
  (tmp_path / "file").write_text("x")
  assert "is a file, not a directory" in cli.workdir_problem(str(tmp_path / "file" / "run"))
  assert "cannot create directories in '/proc'" in cli.workdir_problem("/proc/gan_jax_run")
