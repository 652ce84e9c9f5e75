"""The main job end to end (`make demo`'s command) on a shrunk config, with a relative workdir as the Makefile uses."""
import os
import subprocess
import sys

from gan_jax import compare
from gan_jax import writers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Two of the demo's three objectives (each compiles its own programs): the saturating one and the critic with its
# own n_critic; non-saturating differs from minimax only in the generator's loss.
OBJECTIVES = ("minimax", "wasserstein")
SHRINK = ["--config.num_steps=4", "--config.eval_every=2", "--config.checkpoint_every=2", "--config.num_seeds=2",
          "--config.batch_size=32", "--config.eval_samples=256", "--config.eval_kde_samples=0"]


def _demo(cwd, *extra):
  cmd = [sys.executable, os.path.join(ROOT, "experiments", "demo.py"),
         f"--config={os.path.join(ROOT, 'configs', 'demo.py')}", "--workdir=runs/demo", *SHRINK, *extra]
  return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)


def test_demo_writes_summary_figures_and_per_objective_runs(tmp_path):
  proc = _demo(tmp_path, f"--config.objectives={OBJECTIVES!r}")
  assert proc.returncode == 0, proc.stderr[-3000:]
  out = tmp_path / "runs" / "demo"
  for name in ("summary.txt", "divergences.png", "divergences.pdf", "densities.png", "densities.pdf"):
    assert (out / name).exists(), name
  rows = {o: writers.read_metrics(str(out / o / "metrics.jsonl")) for o in OBJECTIVES}
  # The printed table is the summary of what the runs logged, recomputed here from metrics.jsonl.
  expected = compare.format_summary(compare.summarize(rows))
  assert expected in proc.stdout
  assert (out / "summary.txt").read_text().strip() == expected.strip()
  assert all(len(r) == 2 * 3 for r in rows.values())  # 2 seeds × evaluations at steps 0, 2, 4
  # The config's parallel.cpu_devices = 3 was applied before JAX started: its 4 replicas on the 2 of the 3 CPU
  # devices that divide them (one device if the CPU had not been split).
  assert "4 replica(s) on 2 device(s) (layout 'replicas')" in proc.stderr


def test_demo_bad_override_is_one_line(tmp_path):
  proc = _demo(tmp_path, "--config.objectives=()")
  assert proc.returncode != 0
  assert "Traceback" not in proc.stderr
  assert proc.stderr.strip().splitlines()[-1].startswith("error: config.objectives=")
