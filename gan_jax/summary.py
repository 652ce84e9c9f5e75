"""Sweep results: the sweep directory's layout, its tidy results table, and per-member statistics over seeds.

`gan_jax.sweep` writes a sweep directory; this module only reads it (and writes the tables derived from it):

  DIR/sweep.json                    the expanded sweep: member ids and overrides, seeds (marks DIR as a sweep)
  DIR/members/<id>/                 the member's training workdir (config.json, metrics.jsonl, checkpoints/)
  DIR/members/<id>/member.json      its overrides and full config
  DIR/members/<id>/done.json        written when it finished: its final metric rows
  DIR/members/<id>/error.json       written when it failed: the exception's type, message and traceback
  DIR/members/<id>/lock             held while a worker runs it (see `gan_jax.sweep`)
  DIR/members/<id>/events.jsonl     one line per start / finish / failure, with host and pid
  DIR/results.csv (+ .parquet)      tidy: one row per (member, seed, step), overrides and metrics as columns
  DIR/summary.md, summary.csv, ranking.csv   written by `summarize`

Statistics are over seeds, by `gan_jax.stats.seed_statistics`: mean, sample standard deviation (ddof=1; NaN with one
seed) and a percentile-bootstrap 95% confidence interval of the mean (10,000 resamples, seeded: reproducible).

"Final" is a seed's value at the member's last evaluated step; "best" is the best value over all its evaluations
(step 0 included): the lowest for divergences and distances (FCD), the highest for the image metrics where more is
better (`HIGHER_IS_BETTER`: precision, recall, coverage, accuracies), none for what the training discriminator
estimates (`WITHOUT_BEST`). Members are grouped by what they model: the dataset of an image run, else the
distribution target.
"""
import csv
import io
import json
import math
import os
from typing import Any, Sequence

import numpy as np

from gan_jax import stats
from gan_jax import writers

SWEEP_FILE = "sweep.json"
MEMBERS_DIR = "members"
MEMBER_FILE = "member.json"
DONE_FILE = "done.json"
ERROR_FILE = "error.json"
LOCK_FILE = "lock"
EVENTS_FILE = "events.jsonl"
RESULTS_CSV = "results.csv"
RESULTS_PARQUET = "results.parquet"
SUMMARY_MD = "summary.md"
SUMMARY_CSV = "summary.csv"
RANKING_CSV = "ranking.csv"

# Exact divergences, then the KDE and optimal-transport estimates (whichever a member logged).
DIVERGENCES = ("js", "kl_pg", "kl_gp", "w1", "js_kde", "kl_pg_kde", "kl_gp_kde", "w1_ot")
# Image runs' classifier metrics (`image_metrics.evaluate_features`, `image_task`), summarised by default when logged.
IMAGE_METRICS = ("fcd", "classifier_score", "precision", "recall", "density", "coverage", "conditional_accuracy",
                 "info_class_accuracy")
# Image-to-image runs (`translation_task`): reconstruction quality and the classifier's accuracy on the outputs.
TRANSLATION_METRICS = ("psnr", "ssim", "l1", "accuracy", "accuracy_ab", "accuracy_ba", "fcd_ab", "fcd_ba", "cycle_a",
                       "cycle_b")
HIGHER_IS_BETTER = frozenset({"classifier_score", "precision", "recall", "density", "coverage",
                              "conditional_accuracy", "info_class_accuracy", "info_accuracy", "psnr", "ssim",
                              "accuracy", "accuracy_ab", "accuracy_ba"})
# What the training discriminator says about the divergence (`evaluation.discriminator_estimates`, per
# discriminator `_a` / `_b` in translation runs): a stronger D raises it and a better G lowers it, so neither end
# of its trajectory is "best" (its lowest is usually the untrained D of step 0). Their best is left empty.
WITHOUT_BEST = frozenset({"v_d", "js_lower_bound", "kl_pg_plugin", "kl_gp_plugin", "tv_lower_bound", "f_lower_bound",
                          "w1_critic"})
STATUSES = ("done", "failed", "running", "pending")


def has_best(metric: str) -> bool:
  """Whether a best value over evaluations means something for `metric` (not for `WITHOUT_BEST`)."""
  return metric not in WITHOUT_BEST and metric.removesuffix("_a").removesuffix("_b") not in WITHOUT_BEST


def higher_is_better(metric: str) -> bool:
  """Whether a larger value of `metric` is better (`HIGHER_IS_BETTER`); divergences and distances: lower."""
  return metric in HIGHER_IS_BETTER


def modelled(config: dict) -> tuple[str, str]:
  """What a member's run models: ("dataset", name) for an image run, else ("target", name)."""
  if config.get("dataset"):
    return "dataset", str(config["dataset"])
  return "target", str(config.get("target") or "?")


def member_dir(workdir: str, member_id: str) -> str:
  """The directory of one member (its training workdir)."""
  return os.path.join(workdir, MEMBERS_DIR, member_id)


def read_sweep(workdir: str) -> dict:
  """Reads `DIR/sweep.json`.

  Returns:
    {"members": [{"id", "overrides"}, ...], "seed": int, "num_seeds": int, ...}.

  Raises:
    ValueError: if `workdir` holds no sweep.
  """
  path = os.path.join(workdir, SWEEP_FILE)
  if not os.path.isfile(path):
    raise ValueError(f"{workdir!r} is not a sweep directory (no {SWEEP_FILE}); run experiments/sweep.py first")
  with open(path) as f:
    try:
      return json.load(f)
    except ValueError as e:
      raise ValueError(f"{path} is not valid JSON ({e})") from None


def member_status(path: str) -> str:
  """'done', 'failed', 'running' (a worker holds its lock) or 'pending', from the files in a member directory."""
  if os.path.exists(os.path.join(path, DONE_FILE)):
    return "done"
  if os.path.exists(os.path.join(path, ERROR_FILE)):
    return "failed"
  if os.path.exists(os.path.join(path, LOCK_FILE)):
    return "running"
  return "pending"


def read_json(path: str) -> Any:
  """A JSON file's content, or None when it is missing (a partial file cannot exist: they are written atomically)."""
  try:
    with open(path) as f:
      return json.load(f)
  except FileNotFoundError:
    return None


def _field(config: dict, dotted: str) -> Any:
  value = config
  for part in dotted.split("."):
    if not isinstance(value, dict) or part not in value:
      return None
    value = value[part]
  return value


def _cell(value: Any) -> Any:
  """Tuples / lists / dicts as JSON text, so that every column holds scalars."""
  return json.dumps(value) if isinstance(value, (list, tuple, dict)) else value


def results_table(workdir: str) -> tuple[list[str], list[dict]]:
  """The tidy results of a sweep: one row per (member, seed, step) logged so far.

  Columns: `member`, `status`, every overridden field (dotted name; the member's config value where another member
  overrides it and this one does not), then every logged metric (`step`, `seed`, `objective`, ..., divergences).

  Returns:
    (columns, rows), rows in sweep order, then seed, then step.

  Raises:
    ValueError: if `workdir` holds no sweep.
  """
  sweep = read_sweep(workdir)
  override_columns = sorted({k for m in sweep["members"] for k in m["overrides"]})
  columns = ["member", "status"] + override_columns
  metric_columns, rows = [], []
  for member in sweep["members"]:
    path = member_dir(workdir, member["id"])
    metrics_path = os.path.join(path, writers.METRICS_FILE)
    if not os.path.exists(metrics_path):
      continue
    info = read_json(os.path.join(path, MEMBER_FILE)) or {"config": {}}
    fixed = {"member": member["id"], "status": member_status(path)}
    for column in override_columns:
      value = member["overrides"].get(column, _field(info["config"], column))
      fixed[column] = _cell(value)
    metric_rows = sorted(writers.read_metrics(metrics_path), key=lambda r: (r["seed"], r["step"]))
    for row in metric_rows:
      for key in row:
        if key not in fixed and key not in metric_columns:
          metric_columns.append(key)
      rows.append({**fixed, **{k: _cell(v) for k, v in row.items() if k not in fixed}})
  head = [c for c in ("step", "seed") if c in metric_columns]
  columns += head + [c for c in metric_columns if c not in head]
  return columns, rows


def _status_fingerprint(workdir: str, sweep: dict) -> tuple[str, ...]:
  return tuple(member_status(member_dir(workdir, m["id"])) for m in sweep["members"])


def _write_csv(path: str, columns: Sequence[str], rows: Sequence[dict]) -> None:
  text = io.StringIO()
  out = csv.DictWriter(text, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
  out.writeheader()
  out.writerows(rows)
  # Atomic replace: concurrent workers and readers never see a half-written table.
  writers.atomic_write(path, text.getvalue().encode("utf-8"))


def _write_parquet(path: str, columns: Sequence[str], rows: Sequence[dict]) -> None:
  """The results table as Parquet through pyarrow (no pandas), written atomically; mixed-type columns as strings."""
  import pyarrow as pa  # pylint: disable=g-import-not-at-top  (only when results are collected)
  from pyarrow import parquet as pq  # pylint: disable=g-import-not-at-top

  arrays = []
  for column in columns:
    values = [row.get(column) for row in rows]
    try:
      arrays.append(pa.array(values))
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # e.g. an override column holding numbers and strings
      arrays.append(pa.array([None if v is None else str(v) for v in values], pa.string()))
  tmp = f"{path}.{os.getpid()}.tmp"
  pq.write_table(pa.Table.from_arrays(arrays, names=list(columns)), tmp)
  os.replace(tmp, path)


def write_results(workdir: str, max_attempts: int = 5) -> list[str]:
  """Collects `results_table` into DIR/results.csv and DIR/results.parquet (the same table).

  Safe with several workers collecting at once: each writes a complete table atomically, then checks that no
  member finished or failed while it was reading; if one did, its table may have replaced a more complete one, so it
  collects again. The last write therefore holds every member finished before it.

  Args:
    workdir: the sweep directory.
    max_attempts: collections before giving up on a still-changing sweep (the last table is still complete up to
      its own start).

  Returns:
    The paths written.

  Raises:
    ValueError: if `workdir` holds no sweep.
  """
  sweep = read_sweep(workdir)
  for _ in range(max_attempts):
    before = _status_fingerprint(workdir, sweep)
    columns, rows = results_table(workdir)
    paths = [os.path.join(workdir, RESULTS_CSV), os.path.join(workdir, RESULTS_PARQUET)]
    _write_csv(paths[0], columns, rows)
    _write_parquet(paths[1], columns, rows)
    if _status_fingerprint(workdir, sweep) == before:
      break
  return paths


def member_statistics(rows: Sequence[dict], metrics: Sequence[str], **bootstrap_kwargs) -> list[dict]:
  """Final and best value of each metric over seeds, for one member's metric rows.

  Returns:
    One dict per (metric present in rows, kind in ("final", "best")): metric, kind, step (the final step), and
    `stats.seed_statistics`' n, mean, std, ci_low, ci_high. "best" is each seed's lowest value over evaluations,
    its highest for `HIGHER_IS_BETTER` metrics, and empty (n = 0, NaN) for the discriminator's estimates
    (`WITHOUT_BEST`).
  """
  out = []
  for metric in metrics:
    steps, values = stats.trajectories(rows, metric)
    if not steps.size:
      continue
    pick = np.nanmax if higher_is_better(metric) else np.nanmin
    with np.errstate(all="ignore"):
      best = np.array([pick(c) if np.isfinite(c).any() and has_best(metric) else np.nan for c in values.T])
    for kind, per_seed in (("final", values[-1]), ("best", best)):
      out.append({"metric": metric, "kind": kind, "step": int(steps[-1]),
                  **stats.seed_statistics(per_seed, **bootstrap_kwargs)})
  return out


def _format_number(x: float) -> str:
  return "—" if not math.isfinite(x) else f"{x:.4g}"


def _mean_std(s: dict) -> str:
  return _format_number(s["mean"]) + ("" if not math.isfinite(s["std"]) else f" ± {_format_number(s['std'])}")


def _ci(s: dict) -> str:
  """The Student-t interval (with 3-5 seeds the bootstrap one is too narrow; both are in the CSVs)."""
  return "—" if not math.isfinite(s["t_low"]) else f"[{_format_number(s['t_low'])}, {_format_number(s['t_high'])}]"


def _markdown_table(header: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
  out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
  out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in line) + " |" for line in lines]
  return "\n".join(out)


def _overrides_text(overrides: dict) -> str:
  return ", ".join(f"{k}={v}" for k, v in sorted(overrides.items())) or "(base config)"


def summarize(workdir: str, metrics: Sequence[str] | None = None, rank_by: str | None = None) -> str:
  """Statistics over seeds per member, and a ranking per target or dataset, written into the sweep directory.

  Writes DIR/summary.csv (one row per member, metric and kind: final / best), DIR/ranking.csv (per target or
  dataset, in its `target` column: finished members ordered by the final mean of `rank_by`, best first; NaN last)
  and DIR/summary.md (both, as Markdown, plus the failed members and their errors). Also refreshes DIR/results.csv.

  Args:
    workdir: a sweep directory.
    metrics: metrics to summarise; None = every metric of `DIVERGENCES` and `IMAGE_METRICS` the members logged.
    rank_by: the metric to rank by (its final mean over seeds; lower is better, higher for `HIGHER_IS_BETTER`);
      None = `js`, else `fcd` (image runs), else `fcd_ab` (unpaired translation).

  Returns:
    The Markdown text.

  Raises:
    ValueError: if `workdir` holds no sweep, a requested metric (or `rank_by`) was logged by no member, or no
      member has finished.
  """
  sweep = read_sweep(workdir)
  write_results(workdir)
  members, logged = [], set()
  for m in sweep["members"]:
    path = member_dir(workdir, m["id"])
    status = member_status(path)
    rows = []
    if status == "done":
      rows = writers.read_metrics(os.path.join(path, writers.METRICS_FILE))
      logged.update(k for r in rows for k, v in r.items() if isinstance(v, (int, float)))
    info = read_json(os.path.join(path, MEMBER_FILE)) or {"config": {}}
    kind, name = modelled(info["config"])
    members.append({"id": m["id"], "overrides": m["overrides"], "status": status, "rows": rows,
                    "target": name, "modelled": kind, "path": path})
  done = [m for m in members if m["status"] == "done"]
  if not done:
    counts = ", ".join(f"{sum(m['status'] == s for m in members)} {s}" for s in STATUSES)
    raise ValueError(f"no member of the sweep in {workdir!r} has finished yet ({counts})")
  if rank_by is None:
    rank_by = next((m for m in ("js", "fcd", "fcd_ab") if m in logged), "js")
  if metrics is None:
    metrics = [m for m in DIVERGENCES + IMAGE_METRICS + TRANSLATION_METRICS if m in logged]
  metrics = list(dict.fromkeys(list(metrics) + [rank_by]))
  for metric in metrics:
    if metric not in logged:
      raise ValueError(f"metric {metric!r} was logged by no finished member; logged: "
                       f"{', '.join(sorted(logged - {'step', 'seed'}))}")

  stats_rows = []
  for m in done:
    m["stats"] = {(s["metric"], s["kind"]): s for s in member_statistics(m["rows"], metrics)}
    for s in m["stats"].values():
      stats_rows.append({"member": m["id"], "target": m["target"], **m["overrides"], **s})
  override_keys = sorted({k for m in done for k in m["overrides"]})
  stat_columns = ["member", "target"] + override_keys + ["metric", "kind", "step", "n", "mean", "std", "ci_low",
                                                         "ci_high", "t_low", "t_high"]
  _write_csv(os.path.join(workdir, SUMMARY_CSV), stat_columns, [{k: _cell(v) for k, v in r.items()}
                                                                for r in stats_rows])

  sign = -1.0 if higher_is_better(rank_by) else 1.0

  def rank_key(m):
    mean = m["stats"].get((rank_by, "final"), {"mean": math.nan})["mean"]
    return (not math.isfinite(mean), sign * mean if math.isfinite(mean) else 0.0, m["id"])

  nan_stats = {"n": 0, "mean": math.nan, "std": math.nan, "ci_low": math.nan, "ci_high": math.nan,
               "t_low": math.nan, "t_high": math.nan}
  ranking_rows, sections = [], []
  counts = ", ".join(f"{sum(m['status'] == s for m in members)} {s}" for s in STATUSES)
  sections.append(
      f"# Sweep summary: {workdir}\n\n{len(members)} members: {counts}. Over seeds: mean ± std (ddof=1) and the "
      f"{stats.CONFIDENCE:.0%} Student-t CI of the mean (summary.csv and ranking.csv also give the percentile-"
      f"bootstrap CI, {stats.NUM_RESAMPLES} resamples, seed {stats.BOOTSTRAP_SEED}: too narrow with 3-5 seeds). "
      "Final = last evaluation; best = lowest over evaluations (highest for "
      f"{', '.join(sorted(HIGHER_IS_BETTER & set(metrics))) or 'metrics where more is better'}).")
  order = "higher" if higher_is_better(rank_by) else "lower"
  for target in sorted({m["target"] for m in done}):
    ranked = sorted((m for m in done if m["target"] == target), key=rank_key)
    kind = ranked[0]["modelled"]
    lines = []
    for rank, m in enumerate(ranked, start=1):
      final = m["stats"].get((rank_by, "final"), nan_stats)
      best = m["stats"].get((rank_by, "best"), nan_stats)
      ranking_rows.append({"target": target, "rank": rank, "member": m["id"], "metric": rank_by,
                           **{f"final_{k}": v for k, v in final.items()}, **{f"best_{k}": v for k, v in best.items()}})
      lines.append([str(rank), m["id"], _overrides_text(m["overrides"]), str(final["n"]), _mean_std(final),
                    _ci(final), _mean_std(best), _ci(best)])
    sections.append(f"## Ranking for {kind} {target}, by final {rank_by} ({order} is better)\n\n" + _markdown_table(
        ["rank", "member", "overrides", "seeds", f"final {rank_by}", "95% CI", f"best {rank_by}", "95% CI"], lines))
  ranking_columns = ["target", "rank", "member", "metric"] + [f"{kind}_{k}" for kind in ("final", "best")
                                                                for k in nan_stats]
  _write_csv(os.path.join(workdir, RANKING_CSV), ranking_columns, ranking_rows)

  lines = []
  for m in done:
    for metric in metrics:
      if (metric, "final") in m["stats"]:
        final, best = m["stats"][(metric, "final")], m["stats"][(metric, "best")]
        lines.append([m["id"], metric, str(final["step"]), _mean_std(final), _ci(final), _mean_std(best), _ci(best)])
  sections.append("## Final and best values per member\n\n" + _markdown_table(
      ["member", "metric", "final step", "final", "95% CI", "best", "95% CI"], lines))
  failed = [m for m in members if m["status"] == "failed"]
  if failed:
    lines = []
    for m in failed:
      error = read_json(os.path.join(m["path"], ERROR_FILE)) or {}
      lines.append([m["id"], f"{error.get('type', '?')}: {error.get('message', '?')}"])
    sections.append("## Failed members\n\n" + _markdown_table(["member", "error"], lines))
  text = "\n\n".join(sections) + "\n"
  writers.atomic_write(os.path.join(workdir, SUMMARY_MD), text.encode("utf-8"))
  return text
