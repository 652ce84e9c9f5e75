"""Paper figures as functions returning matplotlib figures (no pyplot state; the caller saves or shows them).

Figures are built on `matplotlib.figure.Figure` with an explicit Agg canvas instead of pyplot: no global backend
switch (a notebook keeps its own), no figure registry to leak, and it renders headless. Every series differs by
line style or marker as well as colour, so the figures read in black and white.
"""
import math
from typing import TYPE_CHECKING

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

if TYPE_CHECKING:
  from gan_jax.nash import NashResults

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


def nash_figure(results: "NashResults") -> Figure:
  """Goodfellow et al. 2014, Thm. 1 and Prop. 1 in two panels.

  Left: V(D*, G_μ) for p = N(0, 1), g = N(μ, 1) (markers, computed from D*) on the curve −log 4 + 2·JSD(μ), with
  the minimum −log 4 and the saturation level 0 (JSD = log 2). Right: D*(x) = p/(p + g) for several μ, with the
  densities of p and g drawn faint.

  Args:
    results: from `nash.run_nash`.

  Returns:
    The figure.
  """
  fig, (left, right) = new_figure(ncols=2)

  rows = [r for r in results.theorem if r.target == "N(0,1)"]
  left.axhline(-math.log(4.0), color="0.4", linestyle="--", linewidth=1.0, label="−log 4 (minimum, g = p)")
  left.axhline(0.0, color="0.4", linestyle=":", linewidth=1.0, label="0 (JSD = log 2)")
  left.plot(results.curve_mu, results.curve_theorem, color="#1f77b4", linestyle="-", linewidth=1.5,
            label="−log 4 + 2·JSD(p‖g)")
  left.plot([r.mu for r in rows], [r.value for r in rows], linestyle="none", marker="o", markersize=6,
            markerfacecolor="white", markeredgecolor="black", label="V(D*, G) computed from D*")
  style_axes(left, "μ  (g = N(μ, 1), p = N(0, 1))", "value (nats)", "Theorem 1: V(D*, G) = −log 4 + 2·JSD",
             legend_loc="center right")

  c = results.curves
  right.fill_between(c.x, c.p, color="0.6", alpha=0.25, linewidth=0, label="p = N(0, 1) density")
  for i, mu in enumerate(c.mus):
    color, linestyle, _ = SERIES_STYLES[i % len(SERIES_STYLES)]
    right.plot(c.x, c.g[i], color=color, linestyle=linestyle, linewidth=0.8, alpha=0.35)
    right.plot(c.x, c.d_star[i], color=color, linestyle=linestyle, linewidth=1.6, label=f"D*(x), μ = {mu:g}")
  right.set_xlim(min(0.0, *c.mus) - 4.0, max(0.0, *c.mus) + 4.0)
  right.set_ylim(-0.02, 1.02)
  style_axes(right, "x", "D*(x) = p/(p + g)  (faint: densities)", "Proposition 1: optimal discriminator",
             legend_loc="upper right")
  return fig

