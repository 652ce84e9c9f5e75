"""Runs a sweep: every member of a config file's `get_sweep()` grid, resumably, into one sweep directory.

  python experiments/sweep.py --config=configs/sweeps/objectives.py --workdir=runs/sweep_objectives
  python experiments/sweep.py ... --processes=2                          # two local worker processes
  python experiments/sweep.py ... --nopack                # each member its own program (default: packed lrs)
  python experiments/sweep.py ... --shard_index=$SLURM_ARRAY_TASK_ID --num_shards=16   # one task of a job array
  python experiments/sweep.py ... --launcher=submitit --slurm_partition=gpu --gpus_per_task=1 --timeout_min=120

`--config.field=value` overrides the base config of every member. Re-running skips finished members and resumes
the others; see gan_jax/sweep.py for the grid syntax, the directory layout, locks and the SLURM recipe. Summarise
with experiments/summarize.py.
"""
import sys

from absl import app
from absl import flags
from ml_collections import config_flags

from gan_jax import cli
from gan_jax import launch
from gan_jax import writers

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Sweep config file: get_config() (base config) and get_sweep().", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Sweep directory.")
_SHARD_INDEX = flags.DEFINE_integer("shard_index", 0, "Run members shard_index, shard_index + num_shards, ...")
_NUM_SHARDS = flags.DEFINE_integer("num_shards", 1, "Number of shards (e.g. SLURM array tasks).")
_PROCESSES = flags.DEFINE_integer("processes", 1, "Local worker processes.")
_PACK = flags.DEFINE_bool("pack", True, "Train members that differ only in learning rates (vmappable fields) and, on "
                          "distribution targets, objectives as one program; --nopack trains each member alone.")
_RETRY_FAILED = flags.DEFINE_bool("retry_failed", False, "Run members that failed before again.")
_STALE_AFTER_S = flags.DEFINE_float("stale_after_s", 600.0, "Age of a lock's heartbeat after which it is stale.")
_LAUNCHER = flags.DEFINE_enum("launcher", "local", ["local", "submitit"],
                              "local: worker processes here; submitit: one job array (SLURM, else local processes).")
_CLUSTER = flags.DEFINE_string("submitit_cluster", None, "Force submitit's backend: slurm | local | debug.")
_PARTITION = flags.DEFINE_string("slurm_partition", None, "SLURM partition of the array tasks.")
_TIMEOUT_MIN = flags.DEFINE_integer("timeout_min", 60, "Time limit of one task (a task requeued past it resumes).")
_GPUS = flags.DEFINE_integer("gpus_per_task", 0, "GPUs per array task.")
_CPUS = flags.DEFINE_integer("cpus_per_task", 1, "CPUs per array task.")
_PARALLELISM = flags.DEFINE_integer("array_parallelism", 16, "Array tasks running at once.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  writers.quiet_library_logs()
  try:
    report = launch.run_file(
        flags.FLAGS["config"].config_filename, _CONFIG.value, _WORKDIR.value, launcher=_LAUNCHER.value,
        executor_options=dict(cluster=_CLUSTER.value, partition=_PARTITION.value, timeout_min=_TIMEOUT_MIN.value,
                              gpus_per_task=_GPUS.value, cpus_per_task=_CPUS.value,
                              array_parallelism=_PARALLELISM.value),
        shard_index=_SHARD_INDEX.value, num_shards=_NUM_SHARDS.value, processes=_PROCESSES.value,
        pack=_PACK.value, retry_failed=_RETRY_FAILED.value, stale_after_s=_STALE_AFTER_S.value)
  except (ValueError, OSError) as e:
    cli.usage_error(e)  # exit status 2: bad input, nothing ran
  print(report.format())
  if failure := report.failure_line():  # a batch scheduler must see the sweep fail (SLURM takes exit 0 as success)
    sys.exit(f"error: {failure}")


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags)
