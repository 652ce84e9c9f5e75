"""Figure 7: exact JS, KL both ways and W1 against steps per objective, over the finished members of a sweep.

Mean over (member, seed) runs ± 95% bootstrap CI (`stats.seed_statistics`). With no sweep directory given, the
figure first runs its own tiny sweep (`sweep_base_config` × `figure_sweep`: 2 objectives × 3 seeds, seconds on a
CPU), which `configs/sweeps/figures.py` also exposes to experiments/sweep.py and the notebooks.
"""
import math
import tempfile
from typing import Any

from matplotlib.figure import Figure
import ml_collections
import numpy as np

from gan_jax import config as config_lib
from gan_jax import plotting
from gan_jax import stats
from gan_jax import summary
from gan_jax import sweep
from gan_jax.paper_figures import common

Data = common.Data


def default_config() -> ml_collections.ConfigDict:
  """The settings behind the published-looking figure."""
  t = ml_collections.ConfigDict()
  t.sweep_dir = ""                   # a finished sweep directory; "" runs the sweep below into `run_dir` first.
  t.sweep_config = ""                # "" = the built-in `figure_sweep`; else a sweep config file (`path.py[:arg]`).
  t.run_dir = ""                     # "" = a fresh temporary directory (write_figures: WORKDIR/<name>_sweep).
  t.target = ""                      # "" = the sweep's only target.
  t.metrics = ("js", "kl_pg", "kl_gp", "w1")
  t.num_resamples = stats.NUM_RESAMPLES
  return t


def testing_config() -> ml_collections.ConfigDict:
  """`default_config` with fewer bootstrap resamples."""
  t = default_config()
  t.num_resamples = 2000
  return t


def sweep_base_config() -> ml_collections.ConfigDict:
  """The base training config of the figure's own sweep: the testing config with a few more steps.

  More steps than `config_lib.testing_config` so that the divergence trajectories have more than two points.
  """
  c = config_lib.testing_config()
  c.num_steps = 20
  c.eval_every = 5
  c.checkpoint_every = 20
  return c


def figure_sweep() -> sweep.Sweep:
  """The figure's own sweep: minimax and non-saturating, 3 seeds each (so the bootstrap intervals have a spread)."""
  return sweep.Sweep(grid=sweep.product({"objective": ["minimax", "non_saturating"]}), seeds=3)


def run_figure_sweep(cfg: ml_collections.ConfigDict) -> str:
  """Runs (or resumes: finished members are skipped) the figure's sweep into `cfg.run_dir`; returns the directory.

  Args:
    cfg: `default_config()`: `sweep_config` "" for the built-in sweep, else a sweep config file (`path.py[:arg]`,
      relative to the working directory).

  Returns:
    The sweep directory (`cfg.run_dir`, or a fresh temporary directory when it is "").
  """
  workdir = cfg.run_dir or tempfile.mkdtemp(prefix="gan_jax_divergence_trajectories_")
  if cfg.sweep_config:
    sweep.run_file(cfg.sweep_config, config_lib.load_config_file(cfg.sweep_config), workdir)
  else:
    sweep.run(sweep_base_config(), figure_sweep(), workdir)
  return workdir


def _finite_float(value: Any) -> float:
  """A results-table cell as a float; NaN for a missing or non-numeric cell."""
  try:
    return float(value)
  except (TypeError, ValueError):
    return math.nan


def compute(cfg: ml_collections.ConfigDict) -> Data:
  """Divergences against training steps per objective, over the finished members of a sweep.

  Rows come from `summary.results_table` (each member's metrics.jsonl), finished members only, for one target.
  Members are grouped by the objective they trained (members differing in other overrides are pooled), and
  every (member, seed) is one run. At each step: the mean over the runs' finite values and the 95% percentile
  bootstrap CI of that mean (`stats.seed_statistics`, seeded, so reproducible).

  Args:
    cfg: `default_config()`.

  Returns:
    sweep_dir, target, objectives (tuple, sweep order), metrics (those logged), members {objective: [ids]},
    num_runs {objective: int}, curves {objective: {metric: {steps, mean, ci_low, ci_high, n}}} (arrays (s,)).

  Raises:
    ValueError: for an invalid field, a directory holding no sweep, no finished member, or an ambiguous or
      absent target.
  """
  common.check_positive_int(cfg, "divergence_trajectories", "num_resamples")
  unknown = [m for m in cfg.metrics if m not in summary.DIVERGENCES]
  if not cfg.metrics or unknown:
    common.fail("divergence_trajectories.metrics", tuple(cfg.metrics), f"a non-empty subset of {summary.DIVERGENCES}")
  workdir = cfg.sweep_dir or run_figure_sweep(cfg)
  sweep_info = summary.read_sweep(workdir)  # one-line ValueError for a directory holding no sweep
  _, rows = summary.results_table(workdir)
  rows = [r for r in rows if r["status"] == "done"]
  if not rows:
    raise ValueError(f"no member of the sweep in {workdir!r} has finished ({len(sweep_info['members'])} members)")
  targets = sorted({str(r.get("target")) for r in rows})
  target = cfg.target or (targets[0] if len(targets) == 1 else "")
  if target not in targets:
    common.fail("divergence_trajectories.target", cfg.target, f"one of the sweep's targets: {', '.join(targets)}")
  rows = [r for r in rows if str(r.get("target")) == target]

  objectives = tuple(dict.fromkeys(r["objective"] for r in rows))
  present = tuple(m for m in cfg.metrics if any(m in r for r in rows))
  curves, members, num_runs = {}, {}, {}
  for objective in objectives:
    group = [r for r in rows if r["objective"] == objective]
    runs = sorted({(r["member"], r["seed"]) for r in group})
    members[objective] = sorted({r["member"] for r in group})
    num_runs[objective] = len(runs)
    column = {run: i for i, run in enumerate(runs)}
    curves[objective] = {}
    for metric in present:
      steps = np.array(sorted({r["step"] for r in group if metric in r}), np.int64)
      row_of = {s: i for i, s in enumerate(steps.tolist())}
      values = np.full((steps.size, len(runs)), np.nan)
      for r in group:
        if metric in r:
          values[row_of[r["step"]], column[(r["member"], r["seed"])]] = _finite_float(r[metric])
      per_step = [stats.seed_statistics(v, num_resamples=cfg.num_resamples) for v in values]
      curves[objective][metric] = {"steps": steps, **{k: np.array([s[k] for s in per_step], float)
                                                      for k in ("mean", "ci_low", "ci_high", "n")}}
  return {"sweep_dir": workdir, "target": target, "objectives": objectives, "metrics": present,
          "members": members, "num_runs": num_runs, "curves": curves}


def figure(data: Data) -> Figure:
  """One panel per metric: the mean over runs per objective, its 95% bootstrap CI as a band."""
  fig, axes = plotting.new_figure(ncols=len(data["metrics"]), panel_size=(3.6, 3.0))
  for ax, metric in zip(axes, data["metrics"]):
    means = []
    for objective, (colour, style, marker) in zip(data["objectives"], plotting.SERIES_STYLES):
      c = data["curves"][objective][metric]
      ax.plot(c["steps"], c["mean"], color=colour, linestyle=style, marker=marker, markersize=3,
              label=f"{objective} ({data['num_runs'][objective]} runs)")
      ax.fill_between(c["steps"], c["ci_low"], c["ci_high"], color=colour, alpha=0.15, linewidth=0)
      means.append(c["mean"][np.isfinite(c["mean"])])
    # KL and W1 can span orders of magnitude over a long run (JS is bounded by log 2): log scale only then.
    means = np.concatenate(means)
    if metric != "js" and means.size and means.min() > 0 and means.max() > 10 * means.min():
      ax.set_yscale("log")
    label = plotting.DIVERGENCE_LABELS.get(metric, metric)
    plotting.style_axes(ax, "generator step", label, title=label)
  fig.suptitle(f"Exact divergences on {data['target']}: mean over seeds ± 95% bootstrap CI",
               fontsize=plotting.FONT_SIZE + 1)
  return fig
