"""Nash figure: Goodfellow et al. 2014, Prop. 1 and Thm. 1 (`gan_jax.nash` computes, this module draws and saves).

`run_and_save(config, workdir)` is the `make nash` job (experiments/nash_equilibrium.py): the tables, the figure
and the numbers as JSON.
"""
import json
import math
import os

from matplotlib.figure import Figure
import ml_collections

from gan_jax import nash
from gan_jax import plotting
from gan_jax.paper_figures import common


def default_config() -> ml_collections.ConfigDict:
  """The Nash experiment's own config (`nash.default_config`: one source of truth for its grid and μ's)."""
  return nash.default_config()


def testing_config() -> ml_collections.ConfigDict:
  """The default: the whole derivation takes a few seconds on a CPU."""
  return default_config()


def compute(cfg: ml_collections.ConfigDict) -> common.Data:
  """`nash.run_nash` (Goodfellow et al. 2014, Prop. 1 and Thm. 1); data = its tables plus the results object."""
  results = nash.run_nash(cfg)
  data = nash.results_to_dict(results, curves=False)
  data["_results"] = results  # not serialised; the figure function reads it.
  return data


def figure(data: common.Data) -> Figure:
  """`nash_figure` of the stored results."""
  return nash_figure(data["_results"])


def nash_figure(results: nash.NashResults) -> Figure:
  """Goodfellow et al. 2014, Thm. 1 and Prop. 1 in two panels.

  Left: V(D*, G_μ) for p = N(0, 1), g = N(μ, 1) (markers, computed from D*) on the curve −log 4 + 2·JSD(μ), with
  the minimum −log 4 and the saturation level 0 (JSD = log 2). Right: D*(x) = p/(p + g) for several μ, with the
  densities of p and g drawn faint.

  Args:
    results: from `nash.run_nash`.

  Returns:
    The figure.
  """
  fig, (left, right) = plotting.new_figure(ncols=2)

  rows = [r for r in results.theorem if r.target == "N(0,1)"]
  left.axhline(-math.log(4.0), color="0.4", linestyle="--", linewidth=1.0, label="−log 4 (minimum, g = p)")
  left.axhline(0.0, color="0.4", linestyle=":", linewidth=1.0, label="0 (JSD = log 2)")
  left.plot(results.curve_mu, results.curve_theorem, color="#1f77b4", linestyle="-", linewidth=1.5,
            label="−log 4 + 2·JSD(p‖g)")
  left.plot([r.mu for r in rows], [r.value for r in rows], linestyle="none", marker="o", markersize=6,
            markerfacecolor="white", markeredgecolor="black", label="V(D*, G) computed from D*")
  plotting.style_axes(left, "μ  (g = N(μ, 1), p = N(0, 1))", "value (nats)",
                      "Theorem 1: V(D*, G) = −log 4 + 2·JSD", legend_loc="center right")

  c = results.curves
  right.fill_between(c.x, c.p, color="0.6", alpha=0.25, linewidth=0, label="p = N(0, 1) density")
  for i, mu in enumerate(c.mus):
    color, linestyle, _ = plotting.SERIES_STYLES[i % len(plotting.SERIES_STYLES)]
    right.plot(c.x, c.g[i], color=color, linestyle=linestyle, linewidth=0.8, alpha=0.35)
    right.plot(c.x, c.d_star[i], color=color, linestyle=linestyle, linewidth=1.6, label=f"D*(x), μ = {mu:g}")
  right.set_xlim(min(0.0, *c.mus) - 4.0, max(0.0, *c.mus) + 4.0)
  right.set_ylim(-0.02, 1.02)
  plotting.style_axes(right, "x", "D*(x) = p/(p + g)  (faint: densities)", "Proposition 1: optimal discriminator",
                      legend_loc="upper right")
  return fig


def run_and_save(config: ml_collections.ConfigDict, workdir: str) -> str:
  """Runs `nash.run_nash` and writes nash.png, nash.pdf, nash_table.txt and nash.json into `workdir`.

  nash.json holds the config and every table number (not the D* curves, which the figure shows).

  Args:
    config: see `nash.default_config`.
    workdir: output directory (created if missing).

  Returns:
    The text table (as in nash_table.txt).

  Raises:
    ValueError: for an invalid config, before any computation or file is written.
  """
  results = nash.run_nash(config)
  text = nash.format_table(results)
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, "nash_table.txt"), "w") as f:
    f.write(text)
  with open(os.path.join(workdir, "nash.json"), "w") as f:
    json.dump({"config": config.to_dict(), "results": nash.results_to_dict(results, curves=False)}, f, indent=1)
  fig = nash_figure(results)
  for ext in ("png", "pdf"):
    fig.savefig(os.path.join(workdir, f"nash.{ext}"), dpi=150, bbox_inches="tight")
  return text
