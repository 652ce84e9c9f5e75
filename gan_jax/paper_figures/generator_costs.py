"""Goodfellow 2016 (NIPS tutorial), Fig. 16: generator cost against D(G(z)), from the engine's own losses."""
from typing import Callable

import jax
import jax.numpy as jnp
from matplotlib.figure import Figure
import ml_collections
import numpy as np

from gan_jax import objectives
from gan_jax import plotting
from gan_jax.paper_figures import common

Array = jax.Array
Data = common.Data

# Goodfellow 2016, Fig. 16: the three generator costs, each a per-sample function of the logit σ⁻¹(D(G(z))).
GENERATOR_COSTS: dict[str, Callable[[Array], Array]] = {
    "minimax": objectives.minimax_generator_loss,
    "non_saturating": objectives.non_saturating_generator_loss,
    "maximum_likelihood": objectives.maximum_likelihood_generator_loss,
}
COST_LABELS = {
    "minimax": "minimax  log(1 − D)",
    "non_saturating": "non-saturating  −log D",
    "maximum_likelihood": "maximum likelihood  −½·exp(σ⁻¹(D))",
}


def default_config() -> ml_collections.ConfigDict:
  """The settings behind the published-looking figure."""
  k = ml_collections.ConfigDict()
  k.num_points = 999                 # D(G(z)) grid on (0, 1), ends excluded.
  k.slope_at = (1e-3, 1e-2, 0.5)     # D(G(z)) values where slopes are reported.
  return k


def testing_config() -> ml_collections.ConfigDict:
  """`default_config` with a coarser grid."""
  k = default_config()
  k.num_points = 199
  return k


def compute(cfg: ml_collections.ConfigDict) -> Data:
  """Generator cost against D(G(z)) for the three costs (Goodfellow 2016 tutorial, Fig. 16).

  Each cost is `objectives.<name>_generator_loss` evaluated per sample on the logit l = σ⁻¹(D); its slopes are
  autodiff derivatives dcost/dl and dcost/dD = (dcost/dl)/(D(1 − D)).

  Args:
    cfg: `default_config()`.

  Returns:
    d (n,), cost_<name> (n,), and at `slope_at`: slope_d_<name>, slope_logit_<name> (each (k,)).

  Raises:
    ValueError: for a bad grid size or a slope point outside (0, 1).
  """
  common.check_positive_int(cfg, "generator_costs", "num_points")
  slope_at = tuple(cfg.slope_at)
  if not slope_at or not all(isinstance(s, (int, float)) and 0.0 < s < 1.0 for s in slope_at):
    common.fail("generator_costs.slope_at", slope_at, "a non-empty tuple of numbers in (0, 1)")
  d = np.linspace(0.0, 1.0, cfg.num_points + 2)[1:-1]
  logit = lambda p: jnp.asarray(np.log(p) - np.log1p(-np.asarray(p)), jnp.float32)
  at = np.asarray(slope_at)
  data: Data = {"d": d, "slope_at": at}
  for name, loss in GENERATOR_COSTS.items():
    cost = common.per_sample(loss)
    data[f"cost_{name}"] = np.asarray(cost(logit(d)))
    slope_logit = np.asarray(jax.vmap(jax.grad(lambda l: loss(l[None])))(logit(at)), np.float64)
    data[f"slope_logit_{name}"] = slope_logit
    data[f"slope_d_{name}"] = slope_logit / (at * (1.0 - at))
  return data


def figure(data: Data) -> Figure:
  """Goodfellow 2016, Fig. 16: cost against D(G(z)) on (0, 1)."""
  fig, (ax,) = plotting.new_figure(panel_size=(4.6, 3.4))
  for (name, label), (colour, style, marker) in zip(COST_LABELS.items(), plotting.SERIES_STYLES):
    ax.plot(data["d"], data[f"cost_{name}"], color=colour, linestyle=style, marker=marker,
            markevery=max(1, len(data["d"]) // 10), markersize=4, label=label)
  ax.set_ylim(-20.0, 7.0)
  ax.set_xlim(0.0, 1.0)
  plotting.style_axes(ax, "D(G(z))  (discriminator's probability that a sample is real)",
                      "generator cost J(G) (nats per sample)", "Goodfellow 2016, Fig. 16: generator costs",
                      legend_loc="lower left")
  return fig
