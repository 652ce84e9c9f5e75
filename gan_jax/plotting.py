"""Plotting in the house style: figures as functions returning matplotlib figures (no pyplot state).

Figures are built on `matplotlib.figure.Figure` with an explicit Agg canvas instead of pyplot: no global backend
switch (a notebook keeps its own), no figure registry to leak, and it renders headless. Every series differs by
line style or marker as well as colour, so the figures read in black and white.

Infrastructure: this module draws what the lower layers compute (distributions, players, divergences, statistics
over seeds); the paper figures (`gan_jax.paper_figures`) and the demo (`gan_jax.compare`) build on it. It imports
matplotlib at the top, so callers that may not draw import it lazily.
"""
import os

import jax
import jax.numpy as jnp
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
import numpy as np

from gan_jax import divergences
from gan_jax import models
from gan_jax import stats

# Shared style: (colour, line style, marker) per series, distinguishable without colour.
SERIES_STYLES: tuple[tuple[str, str, str], ...] = (
    ("#000000", "-", "o"),
    ("#1f77b4", "--", "s"),
    ("#d62728", "-.", "^"),
    ("#2ca02c", ":", "D"),
    ("#9467bd", (0, (5, 1, 1, 1, 1, 1)), "v"),
    ("#8c564b", (0, (1, 1)), "x"),
)
FONT_SIZE = 9.0


def new_figure(ncols: int = 1, nrows: int = 1, panel_size: tuple[float, float] = (4.2, 3.2)
               ) -> tuple[Figure, list[Axes]]:
  """A figure with an Agg canvas and a grid of panels in the house style.

  Args:
    ncols: panels per row.
    nrows: rows of panels.
    panel_size: (width, height) of one panel in inches.

  Returns:
    (figure, flat list of axes, row-major).
  """
  fig = Figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows), layout="constrained")
  FigureCanvasAgg(fig)
  axes = fig.subplots(nrows, ncols, squeeze=False)
  return fig, [ax for row in axes for ax in row]


def style_axes(ax: Axes, xlabel: str, ylabel: str, title: str | None = None, legend_loc: str | None = "best"
               ) -> None:
  """Labels, light grid, and a legend (if any series is labelled; none if legend_loc is None), house style."""
  ax.set_xlabel(xlabel, fontsize=FONT_SIZE)
  ax.set_ylabel(ylabel, fontsize=FONT_SIZE)
  if title:
    ax.set_title(title, fontsize=FONT_SIZE + 1)
  ax.tick_params(labelsize=FONT_SIZE - 1)
  ax.grid(True, color="0.85", linewidth=0.6)
  if legend_loc is not None and ax.get_legend_handles_labels()[0]:
    ax.legend(loc=legend_loc, fontsize=FONT_SIZE - 1, frameon=False)


def save(fig: Figure, path: str, formats: tuple[str, ...] = ("png", "pdf")) -> list[str]:
  """Writes `fig` as `path.<format>` for each format; returns the paths."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  paths = [f"{path}.{fmt}" for fmt in formats]
  for p in paths:
    fig.savefig(p, dpi=150)
  return paths


DIVERGENCE_LABELS = {
    "js": "JSD(p‖g) [nats]",
    "kl_pg": "KL(p‖g) [nats]",
    "kl_gp": "KL(g‖p) [nats]",
    "w1": "W1(p, g)",
    "js_kde": "JSD(p‖ĝ_KDE) [nats]",
    "d_vs_dstar": "mean |D − D*|",
}


def divergence_trajectories_figure(rows_by_objective: dict, metrics: tuple[str, ...] = ("js", "kl_pg", "kl_gp", "w1")
                                   ) -> Figure:
  """Exact divergences against training steps, one line per objective: mean over seeds, band = min–max.

  Args:
    rows_by_objective: objective name -> metric rows (as in `metrics.jsonl`, one per (seed, step)).
    metrics: the metric keys to plot, one panel each (those missing from every row are skipped).

  Returns:
    The figure.
  """
  present = [m for m in metrics if any(m in r for rows in rows_by_objective.values() for r in rows)]
  fig, axes = new_figure(ncols=len(present))
  for ax, metric in zip(axes, present):
    for (objective, rows), (colour, style, marker) in zip(rows_by_objective.items(), SERIES_STYLES):
      steps, values = stats.trajectories(rows, metric)
      if not steps.size:
        continue
      num_seeds = values.shape[1]
      ax.plot(steps, np.nanmean(values, axis=1), color=colour, linestyle=style, marker=marker, markersize=3,
              label=f"{objective} ({num_seeds} seeds)")
      ax.fill_between(steps, np.nanmin(values, axis=1), np.nanmax(values, axis=1), color=colour, alpha=0.15,
                      linewidth=0)
    if metric in ("kl_pg", "kl_gp", "w1"):
      ax.set_yscale("log")
    style_axes(ax, "generator step", DIVERGENCE_LABELS.get(metric, metric), title=DIVERGENCE_LABELS.get(metric))
  return fig


def density_panel(ax: Axes, gan, target, state, seed_index: int = 0, title: str | None = None) -> None:
  """1-D: target and generator densities with D and D* (Goodfellow et al. 2014, Fig. 1); 2-D: samples.

  Args:
    ax: the panel.
    gan: the run's static spec (`engine.GAN`).
    target: the data distribution.
    state: a `TrainState` stacked over seeds.
    seed_index: which replica to draw.
    title: panel title.
  """
  if target.dim == 2:
    one = jax.tree.map(lambda x: x[seed_index], state)
    real = np.asarray(target.sample(jax.random.PRNGKey(0), 2000))
    fake = np.asarray(gan.players.sample(one.g_params, jax.random.PRNGKey(1), 2000))
    ax.scatter(real[:, 0], real[:, 1], s=2, color="0.6", marker=".", label="data")
    ax.scatter(fake[:, 0], fake[:, 1], s=2, color="#d62728", marker="x", linewidths=0.5, label="generator")
    style_axes(ax, "x₁", "x₂", title=title)
    return
  lo, hi = (float(v[0]) for v in target.bounds())
  invertible = models.is_invertible(gan.players.generator)
  x = np.linspace(lo - 1.0, hi + 1.0, 600, dtype=np.float32)[:, None]
  curves = jax.tree.map(np.asarray, _density_curves(gan, target, state, seed_index, x, invertible))
  if gan.objective.probability is not None:
    curves["d"] = np.asarray(gan.objective.probability(curves["d"]))
  ax.plot(x[:, 0], curves["p"], color="#000000", linestyle="-", label="data p(x)")
  if invertible:
    ax.plot(x[:, 0], curves["g"], color="#2ca02c", linestyle="-.", label="generator g(x)")
  else:
    ax.hist(curves["fake"], bins=120, range=(float(x[0, 0]), float(x[-1, 0])), density=True, histtype="step",
            color="#2ca02c", label="generator (histogram)")
  twin = ax.twinx()
  if gan.objective.probability is not None:
    twin.plot(x[:, 0], curves["d"], color="#1f77b4", linestyle="--", label="D(x)")
    if invertible:
      twin.plot(x[:, 0], curves["d_star"], color="#d62728", linestyle=":", label="D*(x)")
    twin.axhline(0.5, color="0.6", linewidth=0.6)
    twin.set_ylim(0.0, 1.0)
    twin.set_ylabel("D(x)", fontsize=FONT_SIZE)
  else:
    twin.plot(x[:, 0], curves["d"], color="#1f77b4", linestyle="--", label="critic f(x)")
    twin.set_ylabel("critic value", fontsize=FONT_SIZE)
  twin.tick_params(labelsize=FONT_SIZE - 1)
  style_axes(ax, "x", "density", title=title, legend_loc=None)
  handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
  ax.legend(handles=handles, fontsize=FONT_SIZE - 2, frameon=False, loc="upper left")


def _density_curves(gan, target, state, seed_index: int, x: np.ndarray, invertible: bool) -> dict:
  """A 1-D panel's curves of replica `seed_index` at points x (n, 1), computed in one compiled program.

  Op by op, the flow's inverse and densities would compile some fifty small programs per process. D's raw
  outputs: the program does not depend on the objective, so the panels of a comparison share one compilation (the
  persistent compilation cache finds it for the second objective).
  """
  def curves(state, x):
    one = jax.tree.map(lambda v: v[seed_index], state)
    out = {"p": jnp.exp(target.log_prob(x))}
    out["d"] = gan.players.discriminator.apply(one.d_params, x)
    if invertible:
      g = models.GeneratorDistribution(gan.players.generator, one.g_params)
      out["g"] = jnp.exp(g.log_prob(x))
      out["d_star"] = divergences.optimal_discriminator(target, g)(x)
    else:
      out["fake"] = gan.players.sample(one.g_params, jax.random.PRNGKey(1), 20_000)[:, 0]
    return out
  return jax.jit(curves)(state, x)


def densities_figure(target, runs: dict) -> Figure:
  """One `density_panel` per run (seed 0 of each).

  Args:
    target: the data distribution.
    runs: name -> (gan, state stacked over seeds).

  Returns:
    The figure.
  """
  fig, axes = new_figure(ncols=len(runs))
  for ax, (name, (gan, state)) in zip(axes, runs.items()):
    density_panel(ax, gan, target, state, title=name)
  return fig
