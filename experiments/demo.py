"""The main job: train several objectives on one target and compare their exact divergence trajectories.

  python experiments/demo.py --config=configs/demo.py --workdir=runs/demo

Writes per objective `WORKDIR/<objective>/` (metrics.jsonl, TensorBoard, checkpoints), and `WORKDIR/divergences.png`
(+ .pdf), `WORKDIR/densities.png` (+ .pdf), `WORKDIR/summary.txt`; prints the summary table.
"""
import sys

from absl import app
from absl import flags
from ml_collections import config_flags

from gan_jax import cli
from gan_jax import compare
from gan_jax import engine
from gan_jax import workdir
from gan_jax import writers

_CONFIG = config_flags.DEFINE_config_file("config", None, "Comparison config file.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Output directory.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  writers.quiet_library_logs()
  try:
    compare.validate(_CONFIG.value)
  except ValueError as e:
    cli.usage_error(e)  # exit status 2: nothing was written or compiled
  try:
    print(compare.run_demo(_CONFIG.value, _WORKDIR.value))
  except (engine.NonFiniteError, workdir.WorkdirBusyError, ValueError) as e:
    sys.exit(f"error: {e}")


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags)
