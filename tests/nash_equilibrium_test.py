"""End-to-end test of experiments/nash_equilibrium.py (the `make demo` command) in a temporary workdir."""
import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from gan_jax import nash

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_config():
  spec = importlib.util.spec_from_file_location("nash_config", ROOT / "configs" / "nash.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def run_entry_point(*args):
  env = {**os.environ, "JAX_PLATFORMS": "cpu"}
  return subprocess.run([sys.executable, "experiments/nash_equilibrium.py", "--config=configs/nash.py", *args],
                        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("demo")
  return run_entry_point(f"--workdir={workdir}"), workdir


def test_demo_writes_figure_table_and_json(demo):
  proc, workdir = demo
  assert proc.returncode == 0, proc.stderr
  assert (workdir / "nash.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  assert (workdir / "nash.pdf").read_bytes()[:5] == b"%PDF-"
  assert (workdir / "nash.png").stat().st_size > 10_000
  # What it prints is what it writes.
  assert proc.stdout == (workdir / "nash_table.txt").read_text()


def test_demo_numbers_match_the_library(demo):
  proc, workdir = demo
  config = load_config()
  data = json.loads((workdir / "nash.json").read_text())
  assert data["config"] == json.loads(json.dumps(config.to_dict()))
  expected = nash.results_to_dict(nash.run_nash(config), curves=False)
  got = data["results"]
  assert got.keys() == expected.keys()
  for section in ("pointwise", "perturbation", "theorem", "minimum", "saturation"):
    assert len(got[section]) == len(expected[section]), section
    for row, want in zip(got[section], expected[section]):
      for key, value in want.items():
        if isinstance(value, float):
          assert row[key] == pytest.approx(value, abs=1e-6), (section, key, row)
        else:
          assert row[key] == value, (section, key)
  np.testing.assert_allclose(got["curve_theorem"], expected["curve_theorem"], atol=1e-6)
  # The printed Theorem 1 table carries the same numbers: the last five columns of each row.
  section = proc.stdout.split("Theorem 1:")[1].split("\n\n")[0].splitlines()[3:]
  assert len(section) == len(got["theorem"])
  for line, row in zip(section, got["theorem"]):
    printed = [float(v) for v in line.split()[-5:]]
    want = [row[k] for k in ("mu", "jsd", "value", "theorem", "difference")]
    np.testing.assert_allclose(printed, want, rtol=1e-5, atol=1e-6, err_msg=line)


def test_bad_config_is_one_error_line(tmp_path):
  # Validation runs before any compilation; the other invalid fields are covered in nash_test.py.
  proc = run_entry_point(f"--workdir={tmp_path / 'run'}", "--config.grid_size=-3")
  assert proc.returncode != 0
  assert "Traceback" not in proc.stderr
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1, proc.stderr
  assert "error" in lines[0] and "grid_size" in lines[0]
  assert proc.stdout == ""
  assert not (tmp_path / "run").exists()
