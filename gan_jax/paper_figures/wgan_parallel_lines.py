"""Arjovsky et al. 2017, Fig. 1: JS, KL and W1 between the parallel lines P₀ and P_θ."""
import math
from typing import Any

import flax
import jax
from matplotlib.figure import Figure
import ml_collections
import numpy as np

from gan_jax import distributions
from gan_jax import divergences
from gan_jax import plotting
from gan_jax.paper_figures import common

Array = jax.Array
Data = common.Data
LOG2 = math.log(2.0)


def default_config() -> ml_collections.ConfigDict:
  """The settings behind the published-looking figure."""
  w = ml_collections.ConfigDict()
  w.thetas = tuple(np.round(np.linspace(-1.0, 1.0, 41), 4).tolist())
  w.sample_thetas = (-1.0, -0.5, -0.2, 0.0, 0.2, 0.5, 1.0)
  w.num_samples = 2000               # per side, for the optimal-transport W1.
  w.seed = 0
  return w


def testing_config() -> ml_collections.ConfigDict:
  """`default_config` shrunk for tests: fewer θ's and samples."""
  w = default_config()
  w.thetas = tuple(np.round(np.linspace(-1.0, 1.0, 11), 4).tolist())
  w.sample_thetas = (-0.5, 0.0, 0.2, 1.0)
  w.num_samples = 800
  return w


@flax.struct.dataclass
class SampledOnly:
  """A distribution seen only through its sampler: makes `divergences.w1` take its optimal-transport path.

  A pytree (the wrapped distribution is its child), so it passes through `divergences`' jitted functions.

  Attributes:
    base: the wrapped distribution (any object with `dim`, `sample`, `bounds`).
  """
  base: Any

  @property
  def dim(self) -> int:
    return self.base.dim

  def sample(self, key: Array, n: int) -> Array:
    return self.base.sample(key, n)

  def bounds(self) -> tuple[Array, Array]:
    return self.base.bounds()


def compute(cfg: ml_collections.ConfigDict) -> Data:
  """JS, KL and W1 between P₀ and P_θ on the parallel lines (Arjovsky et al. 2017, Example 1 / Fig. 1).

  Analytic values from `divergences` (`js`, `kl`, `w1` on `ParallelLines`), and a sample-based W1 at
  `sample_thetas` from `divergences.w1`'s optimal assignment between samples (`SampledOnly`).

  Args:
    cfg: `default_config()`.

  Returns:
    thetas, js, kl, w1 (over thetas); sample_thetas, w1_sample, w1_sample_stderr.

  Raises:
    ValueError: for an invalid field.
  """
  for field in ("thetas", "sample_thetas"):
    values = tuple(cfg[field])
    if not values or not all(isinstance(t, (int, float)) and math.isfinite(t) for t in values):
      common.fail(f"wgan_parallel_lines.{field}", values, "a non-empty tuple of finite numbers")
  p0 = distributions.ParallelLines(0.0)
  lines = [distributions.ParallelLines(t) for t in cfg.thetas]
  data: Data = {"thetas": np.asarray(cfg.thetas, np.float64)}
  for name, fn in (("js", divergences.js), ("kl", divergences.kl), ("w1", divergences.w1)):
    data[name] = np.asarray([float(fn(p0, q).value) for q in lines])
  key = jax.random.PRNGKey(cfg.seed)
  samples = [divergences.w1(SampledOnly(p0), SampledOnly(distributions.ParallelLines(t)),
                            key=jax.random.fold_in(key, i), num_samples=cfg.num_samples)
             for i, t in enumerate(cfg.sample_thetas)]
  data["sample_thetas"] = np.asarray(cfg.sample_thetas, np.float64)
  data["w1_sample"] = np.asarray([float(e.value) for e in samples])
  data["w1_sample_stderr"] = np.asarray([float(e.stderr) for e in samples])
  return data


def figure(data: Data) -> Figure:
  """Arjovsky et al. 2017, Fig. 1: W1 is continuous in θ; JS jumps to log 2 and KL to +∞ off θ = 0."""
  fig, (left, right) = plotting.new_figure(ncols=2)
  styles = plotting.SERIES_STYLES
  left.plot(data["thetas"], data["w1"], color=styles[0][0], linestyle=styles[0][1], label="W1 (analytic) = |θ|")
  left.errorbar(data["sample_thetas"], data["w1_sample"], yerr=data["w1_sample_stderr"], color=styles[1][0],
                linestyle="none", marker=styles[1][2], markerfacecolor="white", markersize=6, capsize=2,
                label="W1 from samples (optimal transport)")
  plotting.style_axes(left, "θ  (P_θ = (θ, Z), Z ~ U[0, 1])", "W1(P₀, P_θ)  (units of x)",
                      "Wasserstein-1", legend_loc="upper center")
  right.axhline(LOG2, color="0.4", linestyle="--", linewidth=0.8, label="log 2")
  finite = np.isfinite(data["kl"])
  ceiling = 1.0
  right.plot(data["thetas"][finite], data["kl"][finite], color=styles[3][0], linestyle="none",
             marker=styles[3][2], markersize=5, label="KL(P₀‖P_θ) (finite: θ = 0)")
  right.plot(data["thetas"][~finite], np.full((~finite).sum(), ceiling), color=styles[3][0], linestyle="none",
             marker="*", markersize=6, label="KL = +∞ (drawn at the top edge)")
  # JS last: its θ = 0 marker sits on KL's.
  right.plot(data["thetas"], data["js"], color=styles[2][0], linestyle="none", marker=styles[2][2], markersize=4,
             label="JSD(P₀‖P_θ)")
  right.set_ylim(-0.05, ceiling + 0.05)
  plotting.style_axes(right, "θ", "divergence (nats)", "JS and KL", legend_loc="center right")
  fig.suptitle("Arjovsky et al. 2017, Fig. 1: parallel lines", fontsize=plotting.FONT_SIZE + 1)
  return fig
