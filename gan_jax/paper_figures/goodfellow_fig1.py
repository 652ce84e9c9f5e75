"""Goodfellow et al. 2014, Fig. 1: data, generator and D at training stages, beside D* = p/(p + g).

A 1-D GAN trained by the engine (`train.build_gan`, `engine.init_states`, `toy_task.train_steps`) with an invertible
generator, so the exact JSD and D* are known at every stage.
"""
import jax
import jax.numpy as jnp
from matplotlib.figure import Figure
import ml_collections
import numpy as np

from gan_jax import divergences
from gan_jax import engine
from gan_jax import models
from gan_jax import plotting
from gan_jax import targets as targets_lib
from gan_jax import toy_task
from gan_jax import train
from gan_jax.paper_figures import common

Data = common.Data


def default_config() -> ml_collections.ConfigDict:
  """The settings behind the published-looking figure."""
  g = ml_collections.ConfigDict()
  g.target = "gaussian_1d"           # N(2, 0.5²): the generator starts at N(0, 1), off the data.
  g.generator = "affine"             # invertible: its exact density gives the exact JS and D* at every stage.
  g.objective = "non_saturating"
  g.stages = (100, 200, 400, 1000)   # generator steps at which to snapshot; multiples of chunk.
  g.chunk = 100
  g.batch_size = 256
  g.g_learning_rate = 1e-2
  g.d_learning_rate = 5e-3
  g.num_samples = 4096               # data samples behind E_p|D − ½| and E_p|D − D*|.
  g.seed = 0
  return g


def testing_config() -> ml_collections.ConfigDict:
  """`default_config` shrunk for tests: fewer steps and samples, same checks."""
  g = default_config()
  g.stages = (100, 200, 400, 600)
  g.num_samples = 2048
  return g


def _check_goodfellow(cfg: ml_collections.ConfigDict) -> None:
  common.check_positive_int(cfg, "goodfellow_fig1", "chunk", "batch_size", "num_samples")
  common.check_positive_float(cfg, "goodfellow_fig1", "g_learning_rate", "d_learning_rate")
  stages = tuple(cfg.stages)
  if (not stages or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 or s % cfg.chunk for s in stages)
      or list(stages) != sorted(set(stages))):
    common.fail("goodfellow_fig1.stages", stages, f"increasing positive multiples of chunk={cfg.chunk}")
  if cfg.generator not in ("affine", "flow1d"):
    common.fail("goodfellow_fig1.generator", cfg.generator, "affine | flow1d (an invertible 1-D generator: D* needs g)")
  if cfg.objective not in ("minimax", "non_saturating", "maximum_likelihood"):
    common.fail("goodfellow_fig1.objective", cfg.objective, "minimax | non_saturating | maximum_likelihood (D = σ(l))")


def compute(cfg: ml_collections.ConfigDict) -> Data:
  """Trains a 1-D GAN with the engine and snapshots it at `cfg.stages` (Goodfellow et al. 2014, Fig. 1).

  At each stage: the exact JSD(p‖g) (quadrature, `divergences.js`), D and D* = p/(p + g)
  (`divergences.optimal_discriminator`) on an x grid, and E_p|D − ½| and E_p|D − D*| on held-out data samples.

  Args:
    cfg: `default_config()`.

  Returns:
    steps (s,), js (s,), mean_abs_d_half (s,), mean_abs_d_dstar (s,), g_loc/g_scale (s,) (affine only), x (n,),
    p (n,), g (s, n), d (s, n), d_star (s, n).

  Raises:
    ValueError: for an invalid field, before anything compiles.
  """
  _check_goodfellow(cfg)
  config = common.engine_config(cfg.target, cfg.generator, cfg.objective, cfg.batch_size, cfg.seed,
                                cfg.g_learning_rate, cfg.d_learning_rate)
  gan = train.build_gan(config)
  target = targets_lib.get_target(cfg.target)
  if target.dim != 1:
    common.fail("goodfellow_fig1.target", cfg.target, "a 1-D target (gaussian_1d | mixture_1d)")
  state = engine.init_states(gan, np.array([cfg.seed]))
  chunk = jax.jit(jax.vmap(lambda s: toy_task.train_steps(gan, target, s, cfg.chunk)[0]))

  lo, hi = (float(b[0]) for b in target.bounds())
  x = jnp.linspace(lo - 2.0, hi + 2.0, 600, dtype=jnp.float32)[:, None]
  held_out = target.sample(jax.random.fold_in(jax.random.PRNGKey(cfg.seed), 0xF161), cfg.num_samples)

  @jax.jit
  def snapshot(one):
    g = models.GeneratorDistribution(gan.players.generator, one.g_params)
    d_star = divergences.optimal_discriminator(target, g)
    d = lambda y: jax.nn.sigmoid(gan.players.discriminator.apply(one.d_params, y))
    return {"js": divergences.js(target, g).value, "g": jnp.exp(g.log_prob(x)), "d": d(x), "d_star": d_star(x),
            "mean_abs_d_half": jnp.mean(jnp.abs(d(held_out) - 0.5)),
            "mean_abs_d_dstar": jnp.mean(jnp.abs(d(held_out) - d_star(held_out)))}

  rows, step = [], 0
  for stage in cfg.stages:
    while step < stage:
      state, step = chunk(state), step + cfg.chunk
    one = common.first(state)
    row = jax.device_get(snapshot(one))
    if cfg.generator == "affine":
      row["g_loc"] = float(one.g_params["params"]["loc"][0])
      row["g_scale"] = float(np.exp(one.g_params["params"]["log_scale"][0]))
    rows.append(row)
  data = {k: np.stack([np.asarray(r[k]) for r in rows]) for k in rows[0]}
  data.update(steps=np.asarray(cfg.stages), x=np.asarray(x[:, 0]), p=np.asarray(jnp.exp(target.log_prob(x))),
              target=cfg.target, objective=cfg.objective)
  return data


def figure(data: Data) -> Figure:
  """One panel per stage: p (dotted black), g (solid green), D (dashed blue) and D* (dash-dot red)."""
  steps = data["steps"]
  fig, axes = plotting.new_figure(ncols=len(steps), panel_size=(3.4, 3.0))
  x = data["x"]
  top = 1.1 * max(float(np.max(data["p"])), float(np.max(data["g"])))
  for i, ax in enumerate(axes):
    ax.plot(x, data["p"], color="#000000", linestyle=":", linewidth=1.6, label="data p(x)")
    ax.plot(x, data["g"][i], color="#2ca02c", linestyle="-", linewidth=1.4, label="generator g(x)")
    ax.set_ylim(0.0, top)
    twin = ax.twinx()
    twin.plot(x, data["d"][i], color="#1f77b4", linestyle="--", linewidth=1.4, label="D(x)")
    twin.plot(x, data["d_star"][i], color="#d62728", linestyle="-.", linewidth=1.0, marker="|", markevery=40,
              label="D*(x) = p/(p + g)")
    twin.axhline(0.5, color="0.6", linewidth=0.6)
    twin.set_ylim(0.0, 1.0)
    twin.set_ylabel("D(x)  (probability 'real')", fontsize=plotting.FONT_SIZE - 1)
    twin.tick_params(labelsize=plotting.FONT_SIZE - 1)
    title = f"step {int(steps[i])}: JSD = {float(data['js'][i]):.3f} nats"
    plotting.style_axes(ax, "x", "density (1/unit of x)", title=title, legend_loc=None)
    if i == 0:
      handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
      ax.legend(handles=handles, fontsize=plotting.FONT_SIZE - 2, frameon=False, loc="upper left")
  fig.suptitle(f"Goodfellow et al. 2014, Fig. 1: {data['objective']} GAN on {data['target']}: "
               "D → ½ as g → p", fontsize=plotting.FONT_SIZE + 1)
  return fig
