"""Sweeps beyond one machine: the members as one submitit job array (SLURM on a cluster, local processes elsewhere).

`submit` prepares the sweep directory exactly as `sweep.run` does, then submits one array task per member
(`executor.map_array`, at most `slurm_array_parallelism` running at once). Each task is a `MemberTask`: it runs its
member through `sweep.run_members`, so the O_EXCL member locks, done/failed records and resume work as for local
workers. The task is checkpointable: when SLURM preempts it or it reaches its time limit, submitit calls
`MemberTask.checkpoint` and requeues the same call, which resumes the member from its latest Orbax checkpoint
(a stale lock of the killed task is taken over after its heartbeat stops). submitit is an extra
(`pip install -e '.[slurm]'`), imported only when a launch needs it.
"""
import os
from typing import Any

import ml_collections

from gan_jax import summary
from gan_jax import sweep as sweep_lib

LAUNCHERS = ("local", "submitit")


class MemberTask:
  """One array task: trains one sweep member (resuming it when requeued)."""

  def __init__(self, workdir: str, retry_failed: bool = False, stale_after_s: float = 600.0):
    self.workdir = workdir
    self.retry_failed = retry_failed
    self.stale_after_s = stale_after_s

  def __call__(self, member: sweep_lib.Member) -> dict[str, str]:
    return sweep_lib.run_members([member], self.workdir, self.retry_failed, self.stale_after_s)

  def checkpoint(self, member: sweep_lib.Member) -> Any:
    """submitit's requeue hook: the same call again; the member resumes from its Orbax checkpoint."""
    import submitit  # pylint: disable=g-import-not-at-top  (an extra)
    return submitit.helpers.DelayedSubmission(self, member)


def make_executor(folder: str, *, cluster: str | None = None, partition: str | None = None, timeout_min: int = 60,
                  gpus_per_task: int = 0, cpus_per_task: int = 1, array_parallelism: int = 16) -> Any:
  """A submitit executor: SLURM where `sbatch` exists, else local processes (`cluster` forces one: 'slurm',
  'local' or 'debug', the last running tasks in this process).

  Raises:
    ValueError: for a non-positive time limit, CPU count or array parallelism, or negative GPUs.
  """
  for name, value, low in (("timeout_min", timeout_min, 1), ("cpus_per_task", cpus_per_task, 1),
                           ("array_parallelism", array_parallelism, 1), ("gpus_per_task", gpus_per_task, 0)):
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
      raise ValueError(f"{name}={value!r} is invalid; allowed: an integer >= {low}")
  import submitit  # pylint: disable=g-import-not-at-top  (an extra)
  executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
  params = dict(timeout_min=timeout_min, cpus_per_task=cpus_per_task, gpus_per_node=gpus_per_task,
                slurm_array_parallelism=array_parallelism, name="gan_jax_sweep")
  if partition:
    params["slurm_partition"] = partition
  executor.update_parameters(**params)
  return executor


def submit(config: ml_collections.ConfigDict, sweep: sweep_lib.Sweep, workdir: str, executor: Any, *,
           shard_index: int = 0, num_shards: int = 1, retry_failed: bool = False, stale_after_s: float = 600.0,
           config_path: str | None = None) -> sweep_lib.Report:
  """Runs this shard's members as one job array on `executor`, waits for them, and collects the results.

  A task that dies without a record (a job killed for good) counts as failed; the member keeps its checkpoints,
  and submitting again resumes it.

  Raises:
    ValueError: for an invalid sweep or shard, or a workdir holding another sweep, before anything is submitted.
  """
  mine = sweep_lib.prepare(config, sweep, workdir, shard_index=shard_index, num_shards=num_shards,
                           stale_after_s=stale_after_s, config_path=config_path)
  jobs = executor.map_array(MemberTask(os.path.abspath(workdir), retry_failed, stale_after_s), mine)
  outcomes = {}
  for member, job in zip(mine, jobs):
    try:
      outcomes.update(job.result())
    except Exception:  # pylint: disable=broad-except  (the task itself died: its own error is in submitit's logs)
      outcomes[member.id] = "failed"
  return sweep_lib.Report(workdir, outcomes, summary.write_results(workdir))


def run_file(config_path: str, config: ml_collections.ConfigDict, workdir: str, *, launcher: str = "local",
             executor_options: dict[str, Any] | None = None, processes: int = 1, pack: bool = True,
             **kwargs: Any) -> sweep_lib.Report:
  """Runs the sweep of a config file (`get_sweep()`) with the named launcher.

  Args:
    config_path: the config file, as given to --config (`:arg` allowed).
    config: its base config (with command-line overrides).
    workdir: the sweep directory.
    launcher: 'local' (this process and `processes` − 1 spawned workers, `sweep.run`) or 'submitit' (a job
      array, `submit`; its executor from `make_executor(folder, **executor_options)`, the folder defaulting to
      WORKDIR/submitit).
    executor_options: `make_executor`'s keyword arguments (submitit only).
    processes: local worker processes (local only).
    pack: train members that differ only in learning rates (and other vmappable fields) as one program (local
      only: a submitit array task trains one member).
    **kwargs: shard_index, num_shards, retry_failed, stale_after_s.

  Raises:
    ValueError: for an unknown launcher or anything `sweep.run` / `submit` refuse, before anything trains.
  """
  if launcher not in LAUNCHERS:
    raise ValueError(f"launcher={launcher!r} is invalid; allowed: {' | '.join(LAUNCHERS)}")
  if launcher == "local":
    return sweep_lib.run_file(config_path, config, workdir, processes=processes, pack=pack, **kwargs)
  options = dict(executor_options or {})
  folder = options.pop("folder", None) or os.path.join(workdir, "submitit")
  executor = make_executor(folder, **options)
  return submit(config, sweep_lib.load_sweep(config_path), workdir, executor, config_path=config_path, **kwargs)
