"""Trains a GAN and logs exact and estimated divergences beside D*.

  python experiments/train.py --config=configs/mixture_1d.py --workdir=runs/mixture_1d \
      --config.objective=wasserstein --config.seed=3

Re-running the same command on the same workdir resumes from the latest checkpoint.

Several hosts: start the same command on every host with `--distributed` (SLURM, Open MPI and Cloud TPU are
auto-detected) or with `--coordinator_address=HOST:PORT --num_processes=N --process_id=I`; see the README.
"""
import sys

from absl import app
from absl import flags
from ml_collections import config_flags

from gan_jax import cli
from gan_jax import engine
from gan_jax import parallel
from gan_jax import train
from gan_jax import workdir
from gan_jax import writers

_CONFIG = config_flags.DEFINE_config_file("config", None, "Training config file.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for metrics, checkpoints and plots.")
_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "Start JAX's multi-host runtime (cluster auto-detected).")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None, "HOST:PORT of process 0 (implies --distributed).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Number of processes (with --coordinator_address).")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's index (with --coordinator_address).")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  writers.quiet_library_logs()
  try:
    if _DISTRIBUTED.value or _COORDINATOR.value:
      parallel.initialize_distributed(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
    train.build_gan(_CONFIG.value)  # Validates every field before anything compiles.
  except ValueError as e:
    cli.usage_error(e)  # exit status 2: nothing was written or compiled
  try:
    train.train_and_evaluate(_CONFIG.value, _WORKDIR.value)
  # ValueError: data or metric classifier missing, or the workdir holds another run.
  except (engine.NonFiniteError, workdir.WorkdirBusyError, ValueError) as e:
    sys.exit(f"error: {e}")


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags)
