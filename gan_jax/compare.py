"""Train one config under several objectives and compare their divergence trajectories (the main demo job)."""
import math
import os
from typing import Sequence

import ml_collections

from gan_jax import stats
from gan_jax import sweep
from gan_jax import train
from gan_jax import writers

SUMMARY_METRICS = ("js", "kl_pg", "kl_gp", "w1", "d_vs_dstar", "js_lower_bound")


def objective_config(config: ml_collections.ConfigDict, objective: str) -> ml_collections.ConfigDict:
  """The training config of one objective: `config` with `objective` set and `config.overrides[objective]` applied.

  Raises:
    ValueError: for an override naming a field the config does not have.
  """
  overrides = config.get("overrides", ml_collections.ConfigDict()).get(objective, {})
  c = sweep.apply_overrides(config, {"objective": objective, **overrides}, where=f"config.overrides.{objective}")
  with c.unlocked():
    for extra in ("objectives", "overrides"):
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


def run_objectives(config: ml_collections.ConfigDict, workdir: str) -> dict[str, list[dict]]:
  """Trains `config` under each of `config.objectives` into `workdir/<objective>`, resuming finished work.

  Returns:
    Every metric row, per objective.
  """
  validate(config)
  rows = {}
  for objective in config.objectives:
    member_dir = os.path.join(workdir, objective)
    train.train_and_evaluate(objective_config(config, objective), member_dir)
    rows[objective] = writers.read_metrics(os.path.join(member_dir, "metrics.jsonl"))
  return rows


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
  with clock.phase("objectives"):  # each objective's own split is in WORKDIR/<objective>/timing.json
    rows = run_objectives(config, workdir)
  with clock.phase("figures"):
    states = {}
    for objective in config.objectives:
      gan, target, state, _ = train.load_latest(objective_config(config, objective),
                                                os.path.join(workdir, objective))
      states[objective] = (gan, state)
    plotting.save(plotting.divergence_trajectories_figure(rows), os.path.join(workdir, "divergences"))
    plotting.save(plotting.densities_figure(target, states), os.path.join(workdir, "densities"))
  table = format_summary(summarize(rows))
  with open(os.path.join(workdir, "summary.txt"), "w") as f:
    f.write(table + "\n")
  writers.write_timing(workdir, clock.record())
  return table
