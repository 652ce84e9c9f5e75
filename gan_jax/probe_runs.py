"""The divergence probe on a finished (or running) run: `experiments/probe.py --workdir=RUN [--step=N]`.

Restores the run's checkpoint at a step (the latest by default), trains the probe's fresh critics against each
replica's frozen generator (`toy_task.probe` / `image_task.probe_for`, all replicas as one program) and writes
one row per replica to `RUN/probe.jsonl` (`probe.rows`: the estimates beside the exact divergences and the
training discriminator's bounds of the same step, read from `RUN/metrics.jsonl`). Rows of the same step that the
file already holds are replaced, so re-probing a step does not duplicate it.
"""
import json
import os
from typing import Any

import ml_collections

from gan_jax import engine
from gan_jax import parallel
from gan_jax import probe
from gan_jax import train
from gan_jax import writers


def _spec_config(config: ml_collections.ConfigDict, overrides: dict[str, Any] | None) -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict(config.to_dict())
  fields = dict(config.get("probe") or probe.spec_fields())
  fields.update(overrides or {})
  config.probe = ml_collections.ConfigDict(fields)
  return config


def metrics_rows_at(config: ml_collections.ConfigDict, workdir: str, step: int) -> list[dict]:
  """The run's metrics rows of `step`, one per replica in replica order; identification columns only if absent."""
  replicas = parallel.replicas_of(config)
  path = os.path.join(workdir, writers.METRICS_FILE)
  rows = [r for r in writers.read_metrics(path) if r.get("step") == step] if os.path.exists(path) else []
  if len(rows) == replicas.size:
    return rows
  target = config.get("dataset") or config.get("target")
  return [{"step": step, "seed": int(seed), "objective": engine.objective_of(config, replicas, i), "target": target,
           "generator": config.generator, **{k: float(v[i]) for k, v in replicas.hparams.items()}}
          for i, seed in enumerate(replicas.seeds)]


def run_dirs(workdir: str) -> list[str]:
  """`workdir` if it is a run's directory (it holds config.json), else the run directories directly inside it.

  Raises:
    ValueError: `workdir` is neither.
  """
  if os.path.exists(os.path.join(workdir, writers.CONFIG_FILE)):
    return [workdir]
  inside = sorted(os.path.join(workdir, d) for d in os.listdir(workdir)) if os.path.isdir(workdir) else []
  runs = [d for d in inside if os.path.exists(os.path.join(d, writers.CONFIG_FILE))]
  if not runs:
    raise ValueError(f"workdir={workdir!r} holds no training run; allowed: a run's directory (with config.json) "
                     "or a directory of runs")
  return runs


def probe_run(workdir: str, step: int | None = None, overrides: dict[str, Any] | None = None) -> list[dict]:
  """Probes a run's checkpoint and writes its rows to `workdir/probe.jsonl`.

  Args:
    workdir: a training run's directory (config.json, checkpoints/).
    step: a saved step; None = the latest checkpoint.
    overrides: `probe.ProbeSpec` fields that replace the run's `config.probe`.

  Returns:
    The rows written, one per replica.

  Raises:
    ValueError: no run in `workdir`, no checkpoint, a step that was not saved, or a bad probe field; before any
      compilation.
  """
  if not os.path.isdir(workdir):
    raise ValueError(f"workdir={workdir!r} is not a directory; allowed: a training run's directory")
  config = _spec_config(writers.read_config(workdir), overrides)
  spec = probe.spec_from_config(config.probe)
  if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
    raise ValueError(f"step={step!r} is invalid; allowed: a saved step (an integer >= 0)")
  gan, target, state, step = train.load_latest(config, workdir, step)
  if train.task_name(config) == "image_to_image":
    from gan_jax import translation_task  # the image probes load the dataset
    estimates = translation_task.probe_for(config, gan)(state)
  elif train.is_image_config(config):
    from gan_jax import image_task
    estimates = image_task.probe_for(config, gan)(state)
  else:
    from gan_jax import toy_task
    estimates = toy_task.probe(gan, target, spec)(state)
  replicas = parallel.replicas_of(config)
  rows = probe.rows(metrics_rows_at(config, workdir, step), estimates, keep=tuple(replicas.hparams))
  path = os.path.join(workdir, probe.PROBE_FILE)
  kept = [r for r in writers.read_metrics(path) if r.get("step") != step] if os.path.exists(path) else []
  # One atomic rewrite (stable sort: replicas stay in order), so a kill leaves the old file or the new one.
  lines = (json.dumps(r, allow_nan=True) + "\n" for r in sorted(kept + rows, key=lambda r: r["step"]))
  writers.atomic_write(path, "".join(lines).encode("utf-8"))
  return rows


def format_rows(rows: list[dict]) -> str:
  """A plain-text table of probe rows: per replica, each estimate ± 1.96·stderr beside the exact value."""
  names = [n for n in ("js", "kl_pg", "kl_gp", "w1") if f"{n}_probe" in rows[0]]
  # A joint run's replicas share seeds across objectives: name the objective when there are several.
  by_objective = len({r.get("objective") for r in rows}) > 1
  header = ["step", "seed"] + (["objective"] if by_objective else []) + [f"{n} probe (exact)" for n in names]
  lines = []
  for r in rows:
    cells = [str(r["step"]), str(r["seed"])] + ([str(r.get("objective"))] if by_objective else [])
    for n in names:
      exact = f" ({r[n]:.4f})" if n in r else ""
      cells.append(f"{r[n + '_probe']:.4f} ± {probe.Z95 * r[n + '_probe_stderr']:.4f}{exact}")
    lines.append(cells)
  widths = [max(len(c) for c in column) for column in zip(header, *lines)]
  return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in [header] + lines)
