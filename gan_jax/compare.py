"""Train one config under several objectives and compare their divergence trajectories (the main demo job).

With `config.joint_objectives`, the objectives train side by side in one program (`config.objective_axis`: one
compile for the whole comparison) in WORKDIR/objectives/, whenever their configs differ only in the objective, its
n_critic and its weight clip; each objective's directory then gets what its lone run writes (config.json, its rows,
a checkpoint of its replicas at the last step), with the same numbers. Otherwise each objective trains alone.
"""
import copy
import json
import math
import os
from typing import Sequence

from absl import logging
import ml_collections

from gan_jax import checkpoint
from gan_jax import config as config_lib
from gan_jax import engine
from gan_jax import parallel
from gan_jax import probe
from gan_jax import stats
from gan_jax import sweep
from gan_jax import targets
from gan_jax import train
from gan_jax import workdir as workdir_lib
from gan_jax import writers

SUMMARY_METRICS = ("js", "kl_pg", "kl_gp", "w1", "d_vs_dstar", "js_lower_bound")
# Where the objectives trained together keep their run (resumable like any run).
JOINT_DIR = "objectives"
# Comparison fields that are not training fields.
_COMPARISON_FIELDS = ("objectives", "overrides", "joint_objectives")


def objective_config(config: ml_collections.ConfigDict, objective: str) -> ml_collections.ConfigDict:
  """The training config of one objective: `config` with `objective` set and `config.overrides[objective]` applied.

  Raises:
    ValueError: for an override naming a field the config does not have.
  """
  overrides = config.get("overrides", ml_collections.ConfigDict()).get(objective, {})
  c = sweep.apply_overrides(config, {"objective": objective, **overrides}, where=f"config.overrides.{objective}")
  with c.unlocked():
    for extra in _COMPARISON_FIELDS:
      if extra in c:
        del c[extra]
  return c


def validate(config: ml_collections.ConfigDict) -> None:
  """Checks the comparison config and every objective's training config before anything compiles."""
  if not config.get("objectives"):
    raise ValueError(f"config.objectives={config.get('objectives')!r} is invalid; allowed: a non-empty list of "
                     "objective names")
  for objective in config.objectives:
    train.validate_config(objective_config(config, objective))


def joint_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict | None:
  """The config that trains every objective of the comparison in one program (`config.objective_axis`).

  Returns:
    The first objective's config with the objective axis set, or None when the objectives' configs differ in more
    than the objective, n_critic and the weight clip (or the axis would not validate): they then train alone.
  """
  configs = [objective_config(config, o) for o in config.objectives]
  first = configs[0]
  if len(set(config.objectives)) < 2 or len(set(config.objectives)) < len(configs) or parallel.objective_axis(first):
    return None
  axis_fields = lambda c: (c.objective, c.n_critic, c.objective_kwargs.get("weight_clip"))

  def without_axis_fields(c):
    c = copy.deepcopy(c)
    c.objective, c.n_critic = first.objective, first.n_critic
    c.objective_kwargs.weight_clip = first.objective_kwargs.get("weight_clip")
    return c.to_dict()
  if any(without_axis_fields(c) != first.to_dict() for c in configs[1:]):
    logging.info("The objectives' configs differ in more than objective, n_critic and weight clip: each trains alone.")
    return None
  joint = copy.deepcopy(first)
  names, n_critics, clips = zip(*(axis_fields(c) for c in configs))
  joint.objective_axis.objectives, joint.objective_axis.n_critic = names, n_critics
  joint.objective_axis.weight_clip = clips
  try:
    train.validate_config(joint)
    engine.validate_replicas(joint)
  except ValueError as e:
    logging.info("The objectives cannot train in one program (%s): each trains alone.", e)
    return None
  return joint


def _split_joint(config: ml_collections.ConfigDict, joint: ml_collections.ConfigDict, workdir: str
                 ) -> dict[str, engine.TrainState]:
  """Writes each objective's directory from the finished joint run, as its lone run would have written it.

  Per objective: config.json (its own config), metrics.jsonl and probe.jsonl (its replicas' rows), a checkpoint of
  its replicas at the final step (`train.load_latest` restores it with the objective's config).

  Returns:
    Per objective, the state of its replicas at the final step (what its checkpoint holds).

  Raises:
    ValueError: an objective's directory holds another run (`workdir.check_resumable`).
  """
  joint_dir = os.path.join(workdir, JOINT_DIR)
  replicas = parallel.replicas_of(joint)
  files = {name: writers.read_metrics(os.path.join(joint_dir, name))
           for name in (writers.METRICS_FILE, probe.PROBE_FILE) if os.path.exists(os.path.join(joint_dir, name))}
  _, _, state, step = train.load_latest(joint, joint_dir)
  states, managers = {}, []
  for j, objective in enumerate(config.objectives):
    c = objective_config(config, objective)
    path = os.path.join(workdir, objective)
    workdir_lib.check_resumable(path, c, config_lib.defaults_for(c))
    writers.write_config(path, c)
    for name, rows in files.items():
      lines = "".join(json.dumps(r, allow_nan=True) + "\n" for r in rows if r["objective"] == objective)
      writers.atomic_write(os.path.join(path, name), lines.encode())
    manager = checkpoint.create_manager(os.path.join(path, "checkpoints"), max_to_keep=c.get("keep_checkpoints", 3))
    if step in manager.all_steps():
      manager.delete(step)  # an earlier split's, or a lone run's of the same config: replaced by this run's
    states[objective] = engine.objective_alone(state, (replicas.objectives == j).nonzero()[0])
    checkpoint.save(manager, step, states[objective])  # asynchronous: the objectives' saves overlap
    managers.append(manager)
    if os.path.exists(os.path.join(path, writers.TIMING_FILE)):
      os.unlink(os.path.join(path, writers.TIMING_FILE))  # a lone run's: this run's time is in the joint directory
  for manager in managers:
    manager.close()  # waits for its save
  return states


def run_objectives(config: ml_collections.ConfigDict, workdir: str) -> dict[str, list[dict]]:
  """Trains `config` under each of `config.objectives` into `workdir/<objective>`, resuming finished work.

  With `config.joint_objectives`, in one program when they can (`joint_config`; the run in `workdir/objectives`).

  Returns:
    Every metric row, per objective.
  """
  return _train_objectives(config, workdir)[0]


def _train_objectives(config: ml_collections.ConfigDict, workdir: str
                      ) -> tuple[dict[str, list[dict]], dict[str, engine.TrainState]]:
  """`run_objectives`, and the final states the joint run already holds (none when each trained alone)."""
  validate(config)
  joint = joint_config(config) if config.get("joint_objectives", False) else None
  states = {}
  if joint is not None:
    train.train_and_evaluate(joint, os.path.join(workdir, JOINT_DIR))
    states = _split_joint(config, joint, workdir)
  else:
    for objective in config.objectives:
      train.train_and_evaluate(objective_config(config, objective), os.path.join(workdir, objective))
  rows = {o: writers.read_metrics(os.path.join(workdir, o, writers.METRICS_FILE)) for o in config.objectives}
  return rows, states


def summarize(rows_by_objective: dict[str, list[dict]],
              metrics: Sequence[str] = SUMMARY_METRICS) -> list[dict]:
  """Final value of each metric per objective over seeds (`stats.seed_statistics`).

  Returns:
    One dict per objective: `objective`, `step`, `num_seeds`, and `<metric>_mean`, `<metric>_std` (ddof=1; NaN
    for one seed) and `<metric>_n` (seeds with a finite value) for each metric present in its rows.
  """
  summary = []
  for objective, rows in rows_by_objective.items():
    final_step = max(r["step"] for r in rows)
    final = [r for r in rows if r["step"] == final_step]
    entry = {"objective": objective, "step": final_step, "num_seeds": len(final)}
    for m in metrics:
      values = [r[m] for r in final if m in r]
      if values:
        s = stats.seed_statistics(values)
        entry[m + "_mean"], entry[m + "_std"], entry[m + "_n"] = s["mean"], s["std"], s["n"]
    summary.append(entry)
  return summary


def format_mean_std(entry: dict, metric: str) -> str:
  """`mean ± std` of one metric of a `summarize` entry; the mean alone without a spread (one seed), and the
  number of seeds behind it when some seeds' values were not finite."""
  mean, std, n = entry[metric + "_mean"], entry[metric + "_std"], entry.get(metric + "_n", entry["num_seeds"])
  text = f"{mean:.4f}" + (f" ± {std:.4f}" if math.isfinite(std) else "")
  return text + (f" (n={n})" if n != entry["num_seeds"] else "")


def format_summary(summary: Sequence[dict], metrics: Sequence[str] = SUMMARY_METRICS) -> str:
  """A fixed-width text table of `summarize`'s output (mean ± std over seeds)."""
  present = [m for m in metrics if any(m + "_mean" in s for s in summary)]
  header = ["objective", "step", "seeds"] + present
  lines = [header]
  for s in summary:
    cells = [s["objective"], str(s["step"]), str(s["num_seeds"])]
    for m in present:
      cells.append(format_mean_std(s, m) if m + "_mean" in s else "—")
    lines.append(cells)
  widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
  out = ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
  out.insert(1, "  ".join("-" * w for w in widths))
  return "\n".join(out)


def run_demo(config: ml_collections.ConfigDict, workdir: str) -> str:
  """Runs `run_objectives`, writes the comparison figures and summary table, and returns the table."""
  from gan_jax import plotting  # pylint: disable=g-import-not-at-top  (matplotlib only when figures are drawn)
  clock = writers.PhaseClock()
  # The training's own split is in WORKDIR/objectives/timing.json (joint), else WORKDIR/<objective>/timing.json.
  with clock.phase("objectives"):
    rows, final = _train_objectives(config, workdir)
  with clock.phase("figures"):
    states = {}
    for objective in config.objectives:
      c = objective_config(config, objective)
      if objective in final:  # the joint run's state, as the objective's checkpoint holds it
        gan, target, state = train.build_gan(c), targets.get_target(c.target), final[objective]
      else:
        gan, target, state, _ = train.load_latest(c, os.path.join(workdir, objective))
      states[objective] = (gan, state)
    plotting.save(plotting.divergence_trajectories_figure(rows), os.path.join(workdir, "divergences"))
    plotting.save(plotting.densities_figure(target, states), os.path.join(workdir, "densities"))
  table = format_summary(summarize(rows))
  with open(os.path.join(workdir, "summary.txt"), "w") as f:
    f.write(table + "\n")
  writers.write_timing(workdir, clock.record())
  return table
