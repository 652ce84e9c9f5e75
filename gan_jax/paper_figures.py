"""The figures of the papers behind the ablation, recomputed by the library: each returns (figure, data).

Every figure has a `compute_<name>(cfg) -> dict` (pure apart from training runs: numbers only, NumPy arrays and
floats) and a `<name>_figure(data) -> Figure`; `make_figure(name, config)` runs both and `write_figures` saves
`NAME.png`, `NAME.pdf` and `NAME.json` (the data). Tests check the numbers in `data`, never only the files.

- `nash`: Goodfellow et al. 2014, Prop. 1 / Thm. 1 (`nash.run_nash`, `figures.nash_figure`).
- `goodfellow_fig1`: Goodfellow et al. 2014, Fig. 1: data, generator and D at training stages, beside D*.
- `generator_costs`: Goodfellow 2016 (NIPS tutorial), Fig. 16: generator cost against D(G(z)).
- `gradient_vanishing`: Arjovsky & Bottou 2017, Figs. 2–3: generator gradients as D approaches optimality.
- `wgan_parallel_lines`: Arjovsky et al. 2017, Fig. 1: JS, KL and W1 on the parallel lines.
- `optimal_critic`: Arjovsky et al. 2017, Fig. 2: a saturated D* against an (almost) linear WGAN-GP critic.
- `dirac_gan`: Mescheder et al. 2018, Figs. 1–3: Dirac-GAN vector fields, trajectories and eigenvalues.
- `divergence_trajectories` (Fig. 7): exact JS, KL both ways and W1 against steps per objective, from a sweep
  directory: mean over (member, seed) runs ± 95% bootstrap CI (`summary.seed_statistics`).
- `mode_coverage` (Fig. 8): ring and grid samples per objective after a short training, with modes covered and %
  high quality (`metrics.mode_quality`, the VEEGAN / PacGAN protocol).

Training runs go through the engine (`train.build_gan`, `train.init_states`, `train.train_steps` /
`train.train_step`); a frozen player is an optimizer that outputs zero updates (`optax.set_to_zero`).
"""
import importlib.util
import json
import math
import os
import pathlib
import tempfile
from typing import Any, Callable

import flax
import jax
import jax.numpy as jnp
from jax.typing import ArrayLike
from matplotlib.figure import Figure
import ml_collections
import numpy as np
import optax

from gan_jax import config as config_lib
from gan_jax import dirac
from gan_jax import distributions
from gan_jax import divergences
from gan_jax import figures
from gan_jax import metrics
from gan_jax import models
from gan_jax import nash
from gan_jax import objectives
from gan_jax import summary
from gan_jax import sweep
from gan_jax import targets as targets_lib
from gan_jax import train

Array = jax.Array
Data = dict[str, Any]

_ROOT = pathlib.Path(__file__).resolve().parents[1]
LOG2 = math.log(2.0)

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


# --- configuration -------------------------------------------------------------------------------------------

def _nash_config() -> ml_collections.ConfigDict:
  """configs/nash.py, the Nash experiment's own config (one source of truth for its grid and μ's)."""
  path = _ROOT / "configs" / "nash.py"
  spec = importlib.util.spec_from_file_location("nash_config", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def default_config() -> ml_collections.ConfigDict:
  """One sub-config per figure: the settings behind the published-looking figures (about a minute in all on 2
  CPU cores). Override on the command line, e.g. `--config.optimal_critic.num_steps=4000`."""
  c = ml_collections.ConfigDict()
  c.nash = _nash_config()

  g = c.goodfellow_fig1 = ml_collections.ConfigDict()
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

  k = c.generator_costs = ml_collections.ConfigDict()
  k.num_points = 999                 # D(G(z)) grid on (0, 1), ends excluded.
  k.slope_at = (1e-3, 1e-2, 0.5)     # D(G(z)) values where slopes are reported.

  v = c.gradient_vanishing = ml_collections.ConfigDict()
  v.curve_thetas = tuple(np.round(np.geomspace(0.25, 10.0, 40), 4).tolist())
  v.published_thetas = (0.5, 1.0, 2.0, 4.0, 8.0)
  v.quadrature_panels = 512          # z ∈ [−12, 12], 16 Gauss–Legendre nodes per panel.
  v.theta = 8.0                      # the frozen generator N(θ, 1) of the trained-D panel: supports nearly apart.
  v.num_steps = 3000                 # discriminator steps from scratch.
  v.batch_size = 512
  v.d_learning_rate = 1e-3
  v.eval_latents = 1024              # fixed held-out latents for the gradient norms.
  v.seed = 0

  w = c.wgan_parallel_lines = ml_collections.ConfigDict()
  w.thetas = tuple(np.round(np.linspace(-1.0, 1.0, 41), 4).tolist())
  w.sample_thetas = (-1.0, -0.5, -0.2, 0.0, 0.2, 0.5, 1.0)
  w.num_samples = 2000               # per side, for the optimal-transport W1.
  w.seed = 0

  o = c.optimal_critic = ml_collections.ConfigDict()
  o.scale = 0.3                      # p = N(0, 0.3²), g = N(θ, 0.3²).
  o.theta = 3.0
  o.num_steps = 2000                 # critic steps with the generator frozen.
  o.batch_size = 256
  o.learning_rate = 1e-3
  o.gradient_penalty_weight = 10.0   # λ of Gulrajani et al. 2017.
  o.gap_sigmas = 2.0                 # the slope is fitted on [2σ, θ − 2σ], between the modes.
  o.seed = 0

  d = c.dirac_gan = ml_collections.ConfigDict()
  d.games = ("minimax", "non_saturating", "wgan", "wgan_gp", "r1")
  d.init = (1.0, 1.0)
  d.num_steps = 300
  d.learning_rate = 0.1
  d.grid_size = 15                   # quiver arrows per axis on [−2, 2]².
  d.gammas = tuple(np.round(np.linspace(0.0, 2.0, 21), 4).tolist())

  t = c.divergence_trajectories = ml_collections.ConfigDict()
  t.sweep_dir = ""                   # a finished sweep directory; "" runs `sweep_config` into `run_dir` first.
  t.sweep_config = "configs/sweeps/figures.py"   # relative to the repository root; `path:arg` allowed.
  t.run_dir = ""                     # "" = a fresh temporary directory (write_figures: WORKDIR/<name>_sweep).
  t.target = ""                      # "" = the sweep's only target.
  t.metrics = ("js", "kl_pg", "kl_gp", "w1")
  t.num_resamples = summary.NUM_RESAMPLES

  m = c.mode_coverage = ml_collections.ConfigDict()
  m.targets = ("ring", "grid")
  m.objectives = ("minimax", "non_saturating", "wgan_gp")
  m.num_steps = 2000
  m.batch_size = 256
  m.features = 128                   # MLP width and depth of both players.
  m.depth = 3
  m.learning_rate = 1e-3
  m.num_samples = 2500               # samples drawn, plotted and scored per panel.
  m.num_std = 3.0                    # the quality radius in σ (VEEGAN / PacGAN).
  m.seed = 0
  return c


def testing_config() -> ml_collections.ConfigDict:
  """`default_config` shrunk for tests: fewer steps and points, same checks."""
  c = default_config()
  c.goodfellow_fig1.stages = (100, 200, 400, 600)
  c.goodfellow_fig1.num_samples = 2048
  c.generator_costs.num_points = 199
  c.gradient_vanishing.curve_thetas = (0.5, 1.0, 2.0, 4.0, 8.0)
  c.gradient_vanishing.num_steps = 1500
  c.gradient_vanishing.eval_latents = 512
  c.wgan_parallel_lines.thetas = tuple(np.round(np.linspace(-1.0, 1.0, 11), 4).tolist())
  c.wgan_parallel_lines.sample_thetas = (-0.5, 0.0, 0.2, 1.0)
  c.wgan_parallel_lines.num_samples = 800
  c.optimal_critic.num_steps = 1500
  c.dirac_gan.grid_size = 7
  c.dirac_gan.gammas = (0.0, 0.5, 1.0, 2.0)
  c.divergence_trajectories.num_resamples = 2000
  c.mode_coverage.objectives = ("minimax", "non_saturating")
  c.mode_coverage.num_steps = 300
  c.mode_coverage.batch_size = 128
  c.mode_coverage.features = 32
  c.mode_coverage.depth = 2
  c.mode_coverage.num_samples = 1000
  return c


def _fail(field: str, value: Any, allowed: str) -> None:
  raise ValueError(f"config.{field}={value!r} is invalid; allowed: {allowed}")


def _positive_int(cfg: ml_collections.ConfigDict, prefix: str, *fields: str) -> None:
  for field in fields:
    value = cfg[field]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
      _fail(f"{prefix}.{field}", value, "an integer >= 1")


def _positive_float(cfg: ml_collections.ConfigDict, prefix: str, *fields: str) -> None:
  for field in fields:
    value = cfg[field]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
      _fail(f"{prefix}.{field}", value, "a finite number > 0")


def _engine_config(target: str, generator: str, objective: str, batch_size: int, seed: int,
                   g_lr: float, d_lr: float, **objective_kwargs: Any) -> ml_collections.ConfigDict:
  """A training config (base_config with the fields a figure sets); build_gan validates it."""
  c = config_lib.base_config()
  c.target, c.generator, c.objective = target, generator, objective
  c.objective_kwargs = ml_collections.ConfigDict(objective_kwargs)
  c.batch_size, c.seed = batch_size, seed
  c.optimizer_g.learning_rate = g_lr
  c.optimizer_d.learning_rate = d_lr
  return c


def _frozen_generator_state(gan: train.GAN, seed: int, loc: float, scale: float) -> train.TrainState:
  """A state (stacked over one seed) whose affine generator is N(loc, scale²), for `gan` with a frozen generator."""
  state = train.init_states(gan, np.array([seed]))
  g_params = {"params": {"loc": jnp.full((1, 1), loc, jnp.float32),
                         "log_scale": jnp.full((1, 1), math.log(scale), jnp.float32)}}
  return state.replace(g_params=g_params, ema_g_params=g_params, g_opt_state=jax.vmap(gan.g_tx.init)(g_params))


def _first(tree: Any) -> Any:
  return jax.tree.map(lambda x: x[0], tree)


# --- 1. nash ---------------------------------------------------------------------------------------------------

def compute_nash(cfg: ml_collections.ConfigDict) -> Data:
  """`nash.run_nash` (Goodfellow et al. 2014, Prop. 1 and Thm. 1); data = its tables plus the results object."""
  results = nash.run_nash(cfg)
  data = nash.results_to_dict(results, curves=False)
  data["_results"] = results  # not serialised; the figure function reads it.
  return data


def nash_figure(data: Data) -> Figure:
  """`figures.nash_figure` of the stored results."""
  return figures.nash_figure(data["_results"])


# --- 2. goodfellow_fig1 ----------------------------------------------------------------------------------------

def _check_goodfellow(cfg: ml_collections.ConfigDict) -> None:
  _positive_int(cfg, "goodfellow_fig1", "chunk", "batch_size", "num_samples")
  _positive_float(cfg, "goodfellow_fig1", "g_learning_rate", "d_learning_rate")
  stages = tuple(cfg.stages)
  if (not stages or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 or s % cfg.chunk for s in stages)
      or list(stages) != sorted(set(stages))):
    _fail("goodfellow_fig1.stages", stages, f"increasing positive multiples of chunk={cfg.chunk}")
  if cfg.generator not in ("affine", "flow1d"):
    _fail("goodfellow_fig1.generator", cfg.generator, "affine | flow1d (an invertible 1-D generator: D* needs g)")
  if cfg.objective not in ("minimax", "non_saturating", "maximum_likelihood"):
    _fail("goodfellow_fig1.objective", cfg.objective, "minimax | non_saturating | maximum_likelihood (D = σ(l))")


def compute_goodfellow_fig1(cfg: ml_collections.ConfigDict) -> Data:
  """Trains a 1-D GAN with the engine and snapshots it at `cfg.stages` (Goodfellow et al. 2014, Fig. 1).

  At each stage: the exact JSD(p‖g) (quadrature, `divergences.js`), D and D* = p/(p + g)
  (`divergences.optimal_discriminator`) on an x grid, and E_p|D − ½| and E_p|D − D*| on held-out data samples.

  Args:
    cfg: `default_config().goodfellow_fig1`.

  Returns:
    steps (s,), js (s,), mean_abs_d_half (s,), mean_abs_d_dstar (s,), g_loc/g_scale (s,) (affine only), x (n,),
    p (n,), g (s, n), d (s, n), d_star (s, n).

  Raises:
    ValueError: for an invalid field, before anything compiles.
  """
  _check_goodfellow(cfg)
  config = _engine_config(cfg.target, cfg.generator, cfg.objective, cfg.batch_size, cfg.seed,
                          cfg.g_learning_rate, cfg.d_learning_rate)
  gan = train.build_gan(config)
  target = targets_lib.get_target(cfg.target)
  if target.dim != 1:
    _fail("goodfellow_fig1.target", cfg.target, "a 1-D target (gaussian_1d | mixture_1d)")
  state = train.init_states(gan, np.array([cfg.seed]))
  chunk = jax.jit(jax.vmap(lambda s: train.train_steps(gan, target, s, cfg.chunk)[0]))

  lo, hi = (float(b[0]) for b in target.bounds())
  x = jnp.linspace(lo - 2.0, hi + 2.0, 600, dtype=jnp.float32)[:, None]
  held_out = target.sample(jax.random.fold_in(jax.random.PRNGKey(cfg.seed), 0xF161), cfg.num_samples)

  @jax.jit
  def snapshot(one):
    g = models.GeneratorDistribution(gan.generator, one.g_params)
    d_star = divergences.optimal_discriminator(target, g)
    d = lambda y: jax.nn.sigmoid(gan.discriminator.apply(one.d_params, y))
    return {"js": divergences.js(target, g).value, "g": jnp.exp(g.log_prob(x)), "d": d(x), "d_star": d_star(x),
            "mean_abs_d_half": jnp.mean(jnp.abs(d(held_out) - 0.5)),
            "mean_abs_d_dstar": jnp.mean(jnp.abs(d(held_out) - d_star(held_out)))}

  rows, step = [], 0
  for stage in cfg.stages:
    while step < stage:
      state, step = chunk(state), step + cfg.chunk
    one = _first(state)
    row = jax.device_get(snapshot(one))
    if cfg.generator == "affine":
      row["g_loc"] = float(one.g_params["params"]["loc"][0])
      row["g_scale"] = float(np.exp(one.g_params["params"]["log_scale"][0]))
    rows.append(row)
  data = {k: np.stack([np.asarray(r[k]) for r in rows]) for k in rows[0]}
  data.update(steps=np.asarray(cfg.stages), x=np.asarray(x[:, 0]), p=np.asarray(jnp.exp(target.log_prob(x))),
              target=cfg.target, objective=cfg.objective)
  return data


def goodfellow_fig1_figure(data: Data) -> Figure:
  """One panel per stage: p (dotted black), g (solid green), D (dashed blue) and D* (dash-dot red)."""
  steps = data["steps"]
  fig, axes = figures.new_figure(ncols=len(steps), panel_size=(3.4, 3.0))
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
    twin.set_ylabel("D(x)  (probability 'real')", fontsize=figures.FONT_SIZE - 1)
    twin.tick_params(labelsize=figures.FONT_SIZE - 1)
    title = f"step {int(steps[i])}: JSD = {float(data['js'][i]):.3f} nats"
    figures.style_axes(ax, "x", "density (1/unit of x)", title=title, legend_loc=None)
    if i == 0:
      handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
      ax.legend(handles=handles, fontsize=figures.FONT_SIZE - 2, frameon=False, loc="upper left")
  fig.suptitle(f"Goodfellow et al. 2014, Fig. 1: {data['objective']} GAN on {data['target']}: "
               "D → ½ as g → p", fontsize=figures.FONT_SIZE + 1)
  return fig


# --- 3. generator_costs ----------------------------------------------------------------------------------------

def _per_sample(loss: Callable[[Array], Array]) -> Callable[[Array], Array]:
  # The objectives average over a batch; one logit per call gives the per-sample cost.
  return jax.vmap(lambda l: loss(l[None]))


def compute_generator_costs(cfg: ml_collections.ConfigDict) -> Data:
  """Generator cost against D(G(z)) for the three costs (Goodfellow 2016 tutorial, Fig. 16).

  Each cost is `objectives.<name>_generator_loss` evaluated per sample on the logit l = σ⁻¹(D); its slopes are
  autodiff derivatives dcost/dl and dcost/dD = (dcost/dl)/(D(1 − D)).

  Args:
    cfg: `default_config().generator_costs`.

  Returns:
    d (n,), cost_<name> (n,), and at `slope_at`: slope_d_<name>, slope_logit_<name> (each (k,)).

  Raises:
    ValueError: for a bad grid size or a slope point outside (0, 1).
  """
  _positive_int(cfg, "generator_costs", "num_points")
  slope_at = tuple(cfg.slope_at)
  if not slope_at or not all(isinstance(s, (int, float)) and 0.0 < s < 1.0 for s in slope_at):
    _fail("generator_costs.slope_at", slope_at, "a non-empty tuple of numbers in (0, 1)")
  d = np.linspace(0.0, 1.0, cfg.num_points + 2)[1:-1]
  logit = lambda p: jnp.asarray(np.log(p) - np.log1p(-np.asarray(p)), jnp.float32)
  at = np.asarray(slope_at)
  data: Data = {"d": d, "slope_at": at}
  for name, loss in GENERATOR_COSTS.items():
    cost = _per_sample(loss)
    data[f"cost_{name}"] = np.asarray(cost(logit(d)))
    slope_logit = np.asarray(jax.vmap(jax.grad(lambda l: loss(l[None])))(logit(at)), np.float64)
    data[f"slope_logit_{name}"] = slope_logit
    data[f"slope_d_{name}"] = slope_logit / (at * (1.0 - at))
  return data


def generator_costs_figure(data: Data) -> Figure:
  """Goodfellow 2016, Fig. 16: cost against D(G(z)) on (0, 1)."""
  fig, (ax,) = figures.new_figure(panel_size=(4.6, 3.4))
  for (name, label), (colour, style, marker) in zip(COST_LABELS.items(), figures.SERIES_STYLES):
    ax.plot(data["d"], data[f"cost_{name}"], color=colour, linestyle=style, marker=marker,
            markevery=max(1, len(data["d"]) // 10), markersize=4, label=label)
  ax.set_ylim(-20.0, 7.0)
  ax.set_xlim(0.0, 1.0)
  figures.style_axes(ax, "D(G(z))  (discriminator's probability that a sample is real)",
                     "generator cost J(G) (nats per sample)", "Goodfellow 2016, Fig. 16: generator costs",
                     legend_loc="lower left")
  return fig


# --- 4. gradient_vanishing -------------------------------------------------------------------------------------

# REFERENCES.md: the minimax generator gradient with the optimal D for g = N(θ, 1), p = N(0, 1), i.e. 2·dJSD/dθ.
# Drawn as reference markers only; every curve is computed.
REFERENCE_MINIMAX_GRADIENTS = {0.5: 0.235, 1.0: 0.398, 2.0: 0.450, 4.0: 0.137, 8.0: 0.0004}

def _standard_normal_rule(panels: int) -> tuple[np.ndarray, np.ndarray]:
  """Nodes and weights of E_{z~N(0,1)} by composite Gauss–Legendre on [−12, 12] (outside: ~4e-33 of the mass)."""
  x, w = np.polynomial.legendre.leggauss(16)
  edges = np.linspace(-12.0, 12.0, panels + 1)
  half, mid = 0.5 * np.diff(edges), 0.5 * (edges[1:] + edges[:-1])
  z = (mid[:, None] + half[:, None] * x).ravel()
  weights = (half[:, None] * w).ravel() * np.exp(-0.5 * z**2) / math.sqrt(2.0 * math.pi)
  return z.astype(np.float32), weights.astype(np.float32)


def optimal_d_generator_gradient(theta: float, loss: Callable[[Array], Array], z: ArrayLike,
                                 weights: ArrayLike) -> Array:
  """∇ of E_z cost(D*(G(z))) in the generator's (loc, log_scale), with D* held fixed (Arjovsky & Bottou 2017).

  g = N(loc, e^{2·log_scale}) at loc = θ, log_scale = 0, against p = N(0, 1); D* = σ(log p − log g_θ) from
  `divergences.optimal_discriminator_logit`, frozen at θ, so the gradient flows only through the samples
  x = loc + e^{log_scale}·z. For the minimax cost its loc component is 2·dJSD/dθ (Goodfellow et al. 2014,
  Thm. 1 with the envelope theorem).

  Args:
    theta: the generator's mean.
    loss: a generator loss of `gan_jax.objectives` (batch of logits -> scalar).
    z: quadrature nodes (m,) of the standard normal.
    weights: their weights (m,), summing to ~1.

  Returns:
    (d/dloc, d/dlog_scale), shape (2,).
  """
  p = distributions.Gaussian(0.0, 1.0)
  logit = divergences.optimal_discriminator_logit(p, distributions.Gaussian(theta, 1.0))
  z = jnp.asarray(z, jnp.float32)
  per_sample = _per_sample(loss)

  def expected_cost(params):
    x = params[0] + jnp.exp(params[1]) * z
    return jnp.sum(jnp.asarray(weights) * per_sample(logit(x[:, None])))

  return jax.grad(expected_cost)(jnp.asarray([theta, 0.0], jnp.float32))


def _check_gradient_vanishing(cfg: ml_collections.ConfigDict) -> None:
  _positive_int(cfg, "gradient_vanishing", "quadrature_panels", "num_steps", "batch_size", "eval_latents")
  _positive_float(cfg, "gradient_vanishing", "theta", "d_learning_rate")
  for field in ("curve_thetas", "published_thetas"):
    values = tuple(cfg[field])
    if not values or not all(isinstance(t, (int, float)) and math.isfinite(t) for t in values):
      _fail(f"gradient_vanishing.{field}", values, "a non-empty tuple of finite numbers")


def compute_gradient_vanishing(cfg: ml_collections.ConfigDict) -> Data:
  """Generator gradients under the minimax and non-saturating costs as D approaches optimality.

  Exact part: g = N(θ, 1) against p = N(0, 1) with the optimal D* (`optimal_d_generator_gradient`), over θ; plus
  2·dJSD/dθ by autodiff through the quadrature of `divergences.js`. Trained part (Arjovsky & Bottou 2017,
  Figs. 2–3): the generator frozen at N(cfg.theta, 1), a fresh discriminator trained by the engine
  (`train.train_step`, logistic loss), and after every discriminator step the norm of the generator gradient
  (over loc and log_scale) of each cost on fixed held-out latents.

  Args:
    cfg: `default_config().gradient_vanishing`.

  Returns:
    thetas, minimax_exact, non_saturating_exact, two_djs_dtheta (each over curve_thetas); published_thetas and
    minimax_published_exact; steps (S,), minimax_norm (S,), non_saturating_norm (S,), and the optimal-D norms
    minimax_optimal_norm, non_saturating_optimal_norm at cfg.theta.

  Raises:
    ValueError: for an invalid field, before anything compiles.
  """
  _check_gradient_vanishing(cfg)
  z, w = _standard_normal_rule(cfg.quadrature_panels)
  costs = {"minimax": objectives.minimax_generator_loss, "non_saturating": objectives.non_saturating_generator_loss}
  grads = {name: jax.jit(lambda t, loss=loss: optimal_d_generator_gradient(t, loss, z, w)) for name, loss in
           costs.items()}
  two_djs = jax.jit(jax.grad(lambda t: 2.0 * divergences.js(distributions.Gaussian(0.0, 1.0),
                                                            distributions.Gaussian(t, 1.0)).value))
  thetas = np.asarray(cfg.curve_thetas, np.float32)
  data: Data = {"thetas": thetas, "published_thetas": np.asarray(cfg.published_thetas, np.float32)}
  for name, grad in grads.items():
    data[f"{name}_exact"] = np.asarray([float(grad(t)[0]) for t in thetas])
  data["minimax_published_exact"] = np.asarray([float(grads["minimax"](t)[0]) for t in cfg.published_thetas])
  data["two_djs_dtheta"] = np.asarray([float(two_djs(jnp.float32(t))) for t in thetas])
  for name, grad in grads.items():
    data[f"{name}_optimal_norm"] = float(jnp.linalg.norm(grad(cfg.theta)))

  # Trained discriminator, frozen generator: the engine's own step, with the generator's optimizer zeroed.
  config = _engine_config("gaussian_1d", "affine", "minimax", cfg.batch_size, cfg.seed, 1e-3,
                          cfg.d_learning_rate)
  gan = train.build_gan(config)._replace(g_tx=optax.set_to_zero())
  target = distributions.Gaussian(0.0, 1.0)
  state = _first(_frozen_generator_state(gan, cfg.seed, cfg.theta, 1.0))
  latents = jax.random.normal(jax.random.fold_in(jax.random.PRNGKey(cfg.seed), 0x6AD), (cfg.eval_latents, 1))

  def norms(g_params, d_params):
    out = {}
    for name, loss in costs.items():
      cost = lambda gp: loss(gan.discriminator.apply(d_params, gan.generator.apply(gp, latents)))
      out[name] = optax.tree.norm(jax.grad(cost)(g_params))
    return out

  def body(state, _):
    state, _ = train.train_step(gan, state, train.sample_real(gan, target, state))
    return state, norms(state.g_params, state.d_params)

  initial = norms(state.g_params, state.d_params)
  _, trace = jax.jit(lambda s: jax.lax.scan(body, s, None, length=cfg.num_steps))(state)
  data["steps"] = np.arange(cfg.num_steps + 1)
  for name in costs:
    data[f"{name}_norm"] = np.concatenate([[float(initial[name])], np.asarray(trace[name])])
  data["theta"] = float(cfg.theta)
  return data


def gradient_vanishing_figure(data: Data) -> Figure:
  """Left: gradients with the optimal D over θ (published values as markers). Right: Arjovsky & Bottou 2017,
  Figs. 2–3: gradient norms as a fresh discriminator trains against a frozen generator."""
  fig, (left, right) = figures.new_figure(ncols=2, panel_size=(4.6, 3.4))
  styles = figures.SERIES_STYLES
  left.plot(data["thetas"], np.abs(data["minimax_exact"]), color=styles[0][0], linestyle=styles[0][1],
            label="minimax log(1 − D*)")
  left.plot(data["thetas"], np.abs(data["non_saturating_exact"]), color=styles[1][0], linestyle=styles[1][1],
            label="non-saturating −log D*")
  left.plot(data["thetas"], np.abs(data["two_djs_dtheta"]), color=styles[2][0], linestyle="none",
            marker=styles[2][2], markersize=3, label="2·dJSD/dθ (quadrature)")
  published = REFERENCE_MINIMAX_GRADIENTS
  left.plot(list(published), list(published.values()), linestyle="none", marker="o", markerfacecolor="none",
            markeredgecolor="black", markersize=8, label="REFERENCES.md (minimax)")
  left.set_yscale("log")
  figures.style_axes(left, "θ  (g = N(θ, 1), p = N(0, 1))", "|∂ generator cost / ∂θ|  (nats per unit θ)",
                     "Optimal D*: the minimax gradient vanishes", legend_loc="lower left")

  steps = data["steps"][1:]
  every = max(1, len(steps) // 12)
  for name, label, (colour, style, marker), optimal_style in (
      ("minimax", "minimax log(1 − D)", styles[0], ":"),
      ("non_saturating", "non-saturating −log D", styles[1], "-.")):
    right.plot(steps, data[f"{name}_norm"][1:], color=colour, linestyle=style, marker=marker, markersize=3,
               markevery=every, linewidth=1.0, label=label)
    right.axhline(data[f"{name}_optimal_norm"], color=colour, linestyle=optimal_style, linewidth=1.0,
                  label=f"{name.replace('_', '-')} with D* (exact)")
  right.set_xscale("log")
  right.set_yscale("log")
  figures.style_axes(right, "discriminator steps (generator frozen at N(θ, 1), θ = "
                     f"{data['theta']:g})", "‖∇ generator cost‖ over (loc, log scale)",
                     "Arjovsky & Bottou 2017, Figs. 2–3", legend_loc="lower left")
  return fig



# --- 5. wgan_parallel_lines ------------------------------------------------------------------------------------

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


def compute_wgan_parallel_lines(cfg: ml_collections.ConfigDict) -> Data:
  """JS, KL and W1 between P₀ and P_θ on the parallel lines (Arjovsky et al. 2017, Example 1 / Fig. 1).

  Analytic values from `divergences` (`js`, `kl`, `w1` on `ParallelLines`), and a sample-based W1 at
  `sample_thetas` from `divergences.w1`'s optimal assignment between samples (`SampledOnly`).

  Args:
    cfg: `default_config().wgan_parallel_lines`.

  Returns:
    thetas, js, kl, w1 (over thetas); sample_thetas, w1_sample, w1_sample_stderr.

  Raises:
    ValueError: for an invalid field.
  """
  for field in ("thetas", "sample_thetas"):
    values = tuple(cfg[field])
    if not values or not all(isinstance(t, (int, float)) and math.isfinite(t) for t in values):
      _fail(f"wgan_parallel_lines.{field}", values, "a non-empty tuple of finite numbers")
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


def wgan_parallel_lines_figure(data: Data) -> Figure:
  """Arjovsky et al. 2017, Fig. 1: W1 is continuous in θ; JS jumps to log 2 and KL to +∞ off θ = 0."""
  fig, (left, right) = figures.new_figure(ncols=2)
  styles = figures.SERIES_STYLES
  left.plot(data["thetas"], data["w1"], color=styles[0][0], linestyle=styles[0][1], label="W1 (analytic) = |θ|")
  left.errorbar(data["sample_thetas"], data["w1_sample"], yerr=data["w1_sample_stderr"], color=styles[1][0],
                linestyle="none", marker=styles[1][2], markerfacecolor="white", markersize=6, capsize=2,
                label="W1 from samples (optimal transport)")
  figures.style_axes(left, "θ  (P_θ = (θ, Z), Z ~ U[0, 1])", "W1(P₀, P_θ)  (units of x)",
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
  figures.style_axes(right, "θ", "divergence (nats)", "JS and KL", legend_loc="center right")
  fig.suptitle("Arjovsky et al. 2017, Fig. 1: parallel lines", fontsize=figures.FONT_SIZE + 1)
  return fig


# --- 6. optimal_critic -----------------------------------------------------------------------------------------

def compute_optimal_critic(cfg: ml_collections.ConfigDict) -> Data:
  """The optimal GAN discriminator against a trained WGAN-GP critic on two Gaussians (Arjovsky et al. 2017, Fig. 2).

  p = N(0, σ²), g = N(θ, σ²). D* = σ(log p − log g) from `divergences.optimal_discriminator` and its input
  gradient at generator samples (autodiff). The critic: the engine's MLP discriminator trained on the 'wgan_gp'
  objective with the generator frozen at g; its slope is the least-squares fit of f on [2σ, θ − 2σ]. In 1-D the
  penalised critic objective is minimised pointwise at |f′| = 1 + (F_p − F_g)/(2λ q) with q the density of the
  interpolates; between far-apart modes F_p − F_g ≈ 1 and q ≈ 1/θ, so |f′| ≈ 1 + θ/(2λ) (`gp_slope`).

  Args:
    cfg: `default_config().optimal_critic`.

  Returns:
    x (n,), p, g, d_star, critic (n,); fake (m,) samples with d_star_grad_fake (m,); critic_slope,
    critic_intercept, gp_slope, gap (lo, hi), theta, scale.

  Raises:
    ValueError: for an invalid field, before anything compiles.
  """
  _positive_int(cfg, "optimal_critic", "num_steps", "batch_size")
  _positive_float(cfg, "optimal_critic", "scale", "theta", "learning_rate", "gap_sigmas")
  lo, hi = cfg.gap_sigmas * cfg.scale, cfg.theta - cfg.gap_sigmas * cfg.scale
  if not lo < hi:
    _fail("optimal_critic.theta", cfg.theta, f"> 2·gap_sigmas·scale = {2 * lo:g} (modes far apart)")
  p = distributions.Gaussian(0.0, cfg.scale)
  g = distributions.Gaussian(cfg.theta, cfg.scale)
  d_star = divergences.optimal_discriminator(p, g)
  fake = g.sample(jax.random.fold_in(jax.random.PRNGKey(cfg.seed), 0xFA4E), 512)
  d_star_grad = jax.vmap(jax.grad(lambda y: d_star(y[None, None])[0]))(fake[:, 0])

  config = _engine_config("gaussian_1d", "affine", "wgan_gp", cfg.batch_size, cfg.seed, 1e-3, cfg.learning_rate,
                          gradient_penalty_weight=cfg.gradient_penalty_weight)
  # Gulrajani et al. 2017 use Adam β1 = 0, β2 = 0.9; β1 = 0.5 settles faster here with the generator frozen.
  config.optimizer_d = config_lib.optimizer_config("adam", cfg.learning_rate, b1=0.5, b2=0.9)
  gan = train.build_gan(config)._replace(g_tx=optax.set_to_zero())
  state = _frozen_generator_state(gan, cfg.seed, cfg.theta, cfg.scale)
  state, _ = jax.jit(jax.vmap(lambda s: train.train_steps(gan, p, s, cfg.num_steps)))(state)
  critic = lambda y: gan.discriminator.apply(_first(state).d_params, y)

  x = jnp.linspace(-4.0 * cfg.scale - 1.0, cfg.theta + 4.0 * cfg.scale + 1.0, 500, dtype=jnp.float32)[:, None]
  gap = np.linspace(lo, hi, 100, dtype=np.float32)
  slope, intercept = np.polyfit(gap, np.asarray(critic(jnp.asarray(gap)[:, None]), np.float64), 1)
  return {
      "x": np.asarray(x[:, 0]), "p": np.asarray(jnp.exp(p.log_prob(x))), "g": np.asarray(jnp.exp(g.log_prob(x))),
      "d_star": np.asarray(d_star(x)), "critic": np.asarray(critic(x)),
      "fake": np.asarray(fake[:, 0]), "d_star_grad_fake": np.asarray(d_star_grad),
      "critic_slope": float(slope), "critic_intercept": float(intercept),
      "gp_slope": 1.0 + cfg.theta / (2.0 * cfg.gradient_penalty_weight),
      "gap": (float(lo), float(hi)), "theta": float(cfg.theta), "scale": float(cfg.scale),
  }


def optimal_critic_figure(data: Data) -> Figure:
  """Left: densities and the saturated D*. Right: the WGAN-GP critic and its fitted line between the modes."""
  fig, (left, right) = figures.new_figure(ncols=2)
  x = data["x"]
  for ax in (left, right):
    ax.fill_between(x, data["p"] / data["p"].max(), color="0.55", alpha=0.3, linewidth=0,
                    label="p = N(0, σ²) (scaled)")
    ax.fill_between(x, data["g"] / data["g"].max(), color="#2ca02c", alpha=0.25, linewidth=0, hatch="//",
                    label="g = N(θ, σ²) (scaled)")
  left.plot(x, data["d_star"], color="#d62728", linestyle="--", linewidth=1.6, label="D*(x) = p/(p + g)")
  max_grad = float(np.max(np.abs(data["d_star_grad_fake"])))
  figures.style_axes(left, "x", "D*(x)  /  scaled density",
                     f"GAN: D* saturates (max |D*′| on g: {max_grad:.1e})", legend_loc="center right")
  right.plot(x, data["critic"], color="#1f77b4", linestyle="-", linewidth=1.6, label="WGAN-GP critic f(x)")
  lo, hi = data["gap"]
  inside = (x >= lo) & (x <= hi)
  right.plot(x[inside], data["critic_slope"] * x[inside] + data["critic_intercept"], color="#000000",
             linestyle=":", marker="o", markevery=12, markersize=3,
             label=f"fit on the gap: slope {data['critic_slope']:.2f}")
  figures.style_axes(right, "x", "critic value  /  scaled density", "WGAN-GP: critic nearly linear, |f′| ≈ 1",
                     legend_loc="upper right")
  fig.suptitle(f"Arjovsky et al. 2017, Fig. 2: θ = {data['theta']:g}, σ = {data['scale']:g}",
               fontsize=figures.FONT_SIZE + 1)
  return fig


# --- 9. dirac_gan ----------------------------------------------------------------------------------------------

def compute_dirac_gan(cfg: ml_collections.ConfigDict) -> Data:
  """Dirac-GAN vector fields, trajectories and Jacobian eigenvalues (Mescheder et al. 2018), via `gan_jax.dirac`.

  Args:
    cfg: `default_config().dirac_gan`.

  Returns:
    grid (k,); per game: field_<game> (k, k, 2), path_<game>_<mode> (T + 1, 2), norm_<game>_<mode> (T + 1,),
    eig_<game> (2,) complex (not for wgan_gp); gammas, r1_eig_jacobian (G, 2) and r1_eig_closed_form (G, 2).

  Raises:
    ValueError: for an unknown game or invalid field.
  """
  for game in cfg.games:
    dirac.get_game(game)
  _positive_int(cfg, "dirac_gan", "num_steps", "grid_size")
  _positive_float(cfg, "dirac_gan", "learning_rate")
  gammas = tuple(cfg.gammas)
  if not all(isinstance(gm, (int, float)) and math.isfinite(gm) and gm >= 0 for gm in gammas):
    _fail("dirac_gan.gammas", gammas, "a tuple of finite numbers >= 0")
  grid = np.linspace(-2.0, 2.0, cfg.grid_size)
  data: Data = {"grid": grid, "games": tuple(cfg.games), "init": np.asarray(cfg.init, np.float64)}
  for name in cfg.games:
    game = dirac.get_game(name)
    data[f"field_{name}"] = np.asarray(dirac.vector_field_on_grid(game, grid, grid))
    for mode in dirac.MODES:
      path = np.asarray(dirac.simulate(game, cfg.init, num_steps=cfg.num_steps, learning_rate=cfg.learning_rate,
                                       mode=mode))
      data[f"path_{name}_{mode}"] = path
      data[f"norm_{name}_{mode}"] = np.linalg.norm(path, axis=1)
    if game.objective != "wgan_gp":
      data[f"eig_{name}"] = dirac.equilibrium_eigenvalues(game)
  data["gammas"] = np.asarray(gammas, np.float64)
  data["r1_eig_jacobian"] = np.stack(
      [dirac.equilibrium_eigenvalues(dirac.DiracGame("minimax", r1_weight=float(gm))) for gm in gammas])
  data["r1_eig_closed_form"] = np.stack([dirac.r1_eigenvalues(gm) for gm in gammas])
  return data


def _dirac_title(name: str) -> str:
  game = dirac.get_game(name)
  return {"minimax": "minimax GAN", "non_saturating": "non-saturating GAN",
          "wgan": f"WGAN (|ψ| ≤ {game.weight_clip:g})", "wgan_gp": f"WGAN-GP (λ = {game.gradient_penalty_weight:g})",
          "r1": f"GAN + R1 (γ = {game.r1_weight:g})"}.get(name, name)


def dirac_gan_figure(data: Data) -> Figure:
  """One panel per game (vector field + simultaneous and alternating trajectories), then the R1 eigenvalues."""
  games = data["games"]
  ncols = 3
  nrows = math.ceil((len(games) + 1) / ncols)
  fig, axes = figures.new_figure(ncols=ncols, nrows=nrows, panel_size=(3.4, 3.2))
  grid = data["grid"]
  tt, pp = np.meshgrid(grid, grid)
  for ax, name in zip(axes, games):
    field = data[f"field_{name}"]
    # Unit arrows: the field's direction; its size (→ 0 at the equilibrium) would hide the rotation.
    length = np.maximum(np.linalg.norm(field, axis=-1, keepdims=True), 1e-12)
    ax.quiver(tt, pp, field[..., 0] / length[..., 0], field[..., 1] / length[..., 0], color="0.6", angles="xy",
              width=0.004, scale=22)
    for mode, (colour, style, marker) in zip(dirac.MODES, figures.SERIES_STYLES):
      path = data[f"path_{name}_{mode}"]
      ax.plot(path[:, 0], path[:, 1], color=colour, linestyle=style, marker=marker, markevery=max(1, len(path) // 8),
              markersize=3, linewidth=1.0, label=f"{mode} GD")
    ax.plot([0.0], [0.0], marker="*", color="#d62728", markersize=9, linestyle="none", label="equilibrium")
    ax.set_xlim(grid[0] - 0.3, grid[-1] + 0.3)
    ax.set_ylim(grid[0] - 0.3, grid[-1] + 0.3)
    figures.style_axes(ax, "θ (generator's atom)", "ψ (discriminator slope)", _dirac_title(name),
                       legend_loc=None)
  fig.legend(handles=axes[0].get_legend_handles_labels()[0], loc="outside lower center", ncols=3,
             fontsize=figures.FONT_SIZE - 1, frameon=False)
  ax = axes[len(games)]
  gammas = data["gammas"]
  closed = data["r1_eig_closed_form"]
  jac = data["r1_eig_jacobian"]
  styles = figures.SERIES_STYLES
  ax.plot(gammas, closed.real.max(axis=1), color=styles[0][0], linestyle=styles[0][1], label="max Re λ (closed form)")
  ax.plot(gammas, np.abs(closed.imag).max(axis=1), color=styles[1][0], linestyle=styles[1][1],
          label="|Im λ| (closed form)")
  ax.plot(gammas, jac.real.max(axis=1), linestyle="none", marker="o", color=styles[0][0], markerfacecolor="white",
          label="max Re λ (jacfwd)")
  ax.plot(gammas, np.abs(jac.imag).max(axis=1), linestyle="none", marker="s", color=styles[1][0],
          markerfacecolor="white", label="|Im λ| (jacfwd)")
  ax.axvline(1.0, color="0.5", linestyle=":", linewidth=0.8)
  figures.style_axes(ax, "R1 weight γ", "eigenvalue of ∂v at (0, 0) (1/time)",
                     "R1: λ = −γ/2 ± √(γ²/4 − 1/4)", legend_loc="lower left")
  for extra in axes[len(games) + 1:]:
    extra.set_visible(False)
  fig.suptitle("Mescheder et al. 2018: the Dirac-GAN", fontsize=figures.FONT_SIZE + 1)
  return fig


# --- 7. divergence_trajectories --------------------------------------------------------------------------------

def _load_base_config(config_path: str) -> ml_collections.ConfigDict:
  """`get_config(arg)` of a sweep config file given as `path` or `path:arg` (as for --config)."""
  path, *arg = config_path.split(":", 1)
  if not os.path.isfile(path):
    raise ValueError(f"sweep config file {path!r} does not exist")
  spec = importlib.util.spec_from_file_location("figure_sweep_config", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(*arg)


def _run_figure_sweep(cfg: ml_collections.ConfigDict) -> str:
  """Runs (or resumes: finished members are skipped) `cfg.sweep_config` into `cfg.run_dir`; returns the dir."""
  path, *arg = cfg.sweep_config.split(":", 1)
  path = path if os.path.isabs(path) else str(_ROOT / path)
  config_path = ":".join([path, *arg])
  workdir = cfg.run_dir or tempfile.mkdtemp(prefix="gan_jax_divergence_trajectories_")
  sweep.run_file(config_path, _load_base_config(config_path), workdir)
  return workdir


def _finite_float(value: Any) -> float:
  """A results-table cell as a float; NaN for a missing or non-numeric cell."""
  try:
    return float(value)
  except (TypeError, ValueError):
    return math.nan


def compute_divergence_trajectories(cfg: ml_collections.ConfigDict) -> Data:
  """Divergences against training steps per objective, over the finished members of a sweep.

  Rows come from `summary.results_table` (each member's metrics.jsonl), finished members only, for one target.
  Members are grouped by the objective they trained (members differing in other overrides are pooled), and
  every (member, seed) is one run. At each step: the mean over the runs' finite values and the 95% percentile
  bootstrap CI of that mean (`summary.seed_statistics`, seeded, so reproducible).

  Args:
    cfg: `default_config().divergence_trajectories`.

  Returns:
    sweep_dir, target, objectives (tuple, sweep order), metrics (those logged), members {objective: [ids]},
    num_runs {objective: int}, curves {objective: {metric: {steps, mean, ci_low, ci_high, n}}} (arrays (s,)).

  Raises:
    ValueError: for an invalid field, a directory holding no sweep, no finished member, or an ambiguous or
      absent target.
  """
  _positive_int(cfg, "divergence_trajectories", "num_resamples")
  unknown = [m for m in cfg.metrics if m not in summary.DIVERGENCES]
  if not cfg.metrics or unknown:
    _fail("divergence_trajectories.metrics", tuple(cfg.metrics), f"a non-empty subset of {summary.DIVERGENCES}")
  workdir = cfg.sweep_dir or _run_figure_sweep(cfg)
  sweep_info = summary.read_sweep(workdir)  # one-line ValueError for a directory holding no sweep
  _, rows = summary.results_table(workdir)
  rows = [r for r in rows if r["status"] == "done"]
  if not rows:
    raise ValueError(f"no member of the sweep in {workdir!r} has finished ({len(sweep_info['members'])} members)")
  targets = sorted({str(r.get("target")) for r in rows})
  target = cfg.target or (targets[0] if len(targets) == 1 else "")
  if target not in targets:
    _fail("divergence_trajectories.target", cfg.target, f"one of the sweep's targets: {', '.join(targets)}")
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
      stats = [summary.seed_statistics(v, num_resamples=cfg.num_resamples) for v in values]
      curves[objective][metric] = {"steps": steps, **{k: np.array([s[k] for s in stats], float)
                                                      for k in ("mean", "ci_low", "ci_high", "n")}}
  return {"sweep_dir": workdir, "target": target, "objectives": objectives, "metrics": present,
          "members": members, "num_runs": num_runs, "curves": curves}


def divergence_trajectories_figure(data: Data) -> Figure:
  """One panel per metric: the mean over runs per objective, its 95% bootstrap CI as a band."""
  fig, axes = figures.new_figure(ncols=len(data["metrics"]), panel_size=(3.6, 3.0))
  for ax, metric in zip(axes, data["metrics"]):
    means = []
    for objective, (colour, style, marker) in zip(data["objectives"], figures.SERIES_STYLES):
      c = data["curves"][objective][metric]
      ax.plot(c["steps"], c["mean"], color=colour, linestyle=style, marker=marker, markersize=3,
              label=f"{objective} ({data['num_runs'][objective]} runs)")
      ax.fill_between(c["steps"], c["ci_low"], c["ci_high"], color=colour, alpha=0.15, linewidth=0)
      means.append(c["mean"][np.isfinite(c["mean"])])
    # KL and W1 can span orders of magnitude over a long run (JS is bounded by log 2): log scale only then.
    means = np.concatenate(means)
    if metric != "js" and means.size and means.min() > 0 and means.max() > 10 * means.min():
      ax.set_yscale("log")
    label = figures.DIVERGENCE_LABELS.get(metric, metric)
    figures.style_axes(ax, "generator step", label, title=label)
  fig.suptitle(f"Exact divergences on {data['target']}: mean over seeds ± 95% bootstrap CI",
               fontsize=figures.FONT_SIZE + 1)
  return fig


# --- 8. mode_coverage ------------------------------------------------------------------------------------------

def compute_mode_coverage(cfg: ml_collections.ConfigDict) -> Data:
  """Trains an MLP GAN per (target, objective) with the engine and scores its samples (VEEGAN / PacGAN protocol).

  Scores: `metrics.mode_quality` against the target's modes (σ = its per-mode scale): modes covered and the
  fraction of high-quality samples (within `num_std`·σ of the nearest mode). The target's own samples are scored
  the same way, as the 'data' column (all modes covered, ≈ `metrics.high_quality_ceiling(2)`).

  Args:
    cfg: `default_config().mode_coverage`.

  Returns:
    targets, objectives, num_std, high_quality_ceiling; per target t: locs_<t> (k, 2), scale_<t> (k,),
    num_modes_<t>; per t and column c (an objective or 'data'): samples_<t>_<c> (n, 2), modes_covered_<t>_<c>
    (int), high_quality_<t>_<c> (fraction in [0, 1]).

  Raises:
    ValueError: for an invalid field (an unknown target or objective included), before anything trains.
  """
  _positive_int(cfg, "mode_coverage", "num_steps", "batch_size", "features", "depth", "num_samples")
  _positive_float(cfg, "mode_coverage", "learning_rate", "num_std")
  if not cfg.targets or not cfg.objectives:
    _fail("mode_coverage.targets", (tuple(cfg.targets), tuple(cfg.objectives)), "non-empty targets and objectives")
  data: Data = {"targets": tuple(cfg.targets), "objectives": tuple(cfg.objectives), "num_std": float(cfg.num_std),
                "high_quality_ceiling": metrics.high_quality_ceiling(2, cfg.num_std)}
  configs = {}
  for t in cfg.targets:
    if t not in ("ring", "grid"):
      _fail("mode_coverage.targets", tuple(cfg.targets), "ring | grid (2-D mixtures with modes)")
    for o in cfg.objectives:
      c = _engine_config(t, "mlp", o, cfg.batch_size, cfg.seed, cfg.learning_rate, cfg.learning_rate)
      c.generator_kwargs = ml_collections.ConfigDict(dict(features=cfg.features, depth=cfg.depth))
      c.discriminator_kwargs = ml_collections.ConfigDict(dict(features=cfg.features, depth=cfg.depth))
      # PacGAN / VEEGAN toy settings: Adam with β1 = 0.5.
      c.optimizer_g = config_lib.optimizer_config("adam", cfg.learning_rate, b1=0.5, b2=0.999)
      c.optimizer_d = config_lib.optimizer_config("adam", cfg.learning_rate, b1=0.5, b2=0.999)
      configs[t, o] = c
  gans = {k: train.build_gan(c) for k, c in configs.items()}  # validates every run before any trains

  key = jax.random.PRNGKey(cfg.seed)
  for t in cfg.targets:
    target = targets_lib.get_target(t)
    locs, scale = np.asarray(target.locs), np.asarray(target.scales)[:, 0]
    data.update({f"locs_{t}": locs, f"scale_{t}": scale, f"num_modes_{t}": int(locs.shape[0])})
    columns = {"data": np.asarray(target.sample(jax.random.fold_in(key, 0xDA7A), cfg.num_samples))}
    for o in cfg.objectives:
      gan = gans[t, o]
      state = train.init_states(gan, np.array([cfg.seed]))
      state = jax.jit(jax.vmap(lambda s, gan=gan, target=target: train.train_steps(gan, target, s,
                                                                                    cfg.num_steps)[0]))(state)
      columns[o] = np.asarray(gan.generate(_first(state).g_params, jax.random.fold_in(key, 0x5A3B), cfg.num_samples))
    for name, samples in columns.items():
      q = metrics.mode_quality(samples, locs, scale, num_std=cfg.num_std)
      data[f"samples_{t}_{name}"] = samples
      data[f"modes_covered_{t}_{name}"] = int(q["modes_covered"])
      data[f"high_quality_{t}_{name}"] = float(q["high_quality"])
  return data


def mode_coverage_figure(data: Data) -> Figure:
  """Rows: targets; columns: the target's own samples, then one per objective; the scores in the titles."""
  names = ("data",) + data["objectives"]
  fig, axes = figures.new_figure(ncols=len(names), nrows=len(data["targets"]), panel_size=(3.0, 3.0))
  for row, t in enumerate(data["targets"]):
    locs = data[f"locs_{t}"]
    pad = 0.25 * float(np.ptp(locs[:, 0]))
    for col, name in enumerate(names):
      ax = axes[row * len(names) + col]
      samples = data[f"samples_{t}_{name}"]
      ax.scatter(samples[:, 0], samples[:, 1], s=2, color="#d62728" if name != "data" else "0.4", marker=".",
                 label="samples" if name != "data" else "data samples")
      ax.plot(locs[:, 0], locs[:, 1], linestyle="none", marker="+", color="#000000", markersize=7, label="modes")
      ax.set_xlim(locs[:, 0].min() - pad, locs[:, 0].max() + pad)
      ax.set_ylim(locs[:, 1].min() - pad, locs[:, 1].max() + pad)
      ax.set_aspect("equal")
      title = (f"{t}, {name}\n{data[f'modes_covered_{t}_{name}']}/{data[f'num_modes_{t}']} modes covered, "
               f"{100 * data[f'high_quality_{t}_{name}']:.1f}% HQ")
      figures.style_axes(ax, "x₁", "x₂", title=title, legend_loc="upper right" if col == 0 else None)
  fig.suptitle(f"Mode coverage (VEEGAN / PacGAN): HQ = within {data['num_std']:g}σ of the nearest mode "
               f"(target ceiling {100 * data['high_quality_ceiling']:.1f}%)", fontsize=figures.FONT_SIZE + 1)
  return fig


# --- registry and output ---------------------------------------------------------------------------------------

FIGURES: dict[str, tuple[Callable[[ml_collections.ConfigDict], Data], Callable[[Data], Figure]]] = {
    "nash": (compute_nash, nash_figure),
    "goodfellow_fig1": (compute_goodfellow_fig1, goodfellow_fig1_figure),
    "generator_costs": (compute_generator_costs, generator_costs_figure),
    "gradient_vanishing": (compute_gradient_vanishing, gradient_vanishing_figure),
    "wgan_parallel_lines": (compute_wgan_parallel_lines, wgan_parallel_lines_figure),
    "optimal_critic": (compute_optimal_critic, optimal_critic_figure),
    "dirac_gan": (compute_dirac_gan, dirac_gan_figure),
    "divergence_trajectories": (compute_divergence_trajectories, divergence_trajectories_figure),
    "mode_coverage": (compute_mode_coverage, mode_coverage_figure),
}


def figure_names(name: str) -> tuple[str, ...]:
  """The figures `name` selects: itself, or every figure for 'all'.

  Raises:
    ValueError: for an unknown name (the message lists the valid ones).
  """
  if name == "all":
    return tuple(FIGURES)
  if name not in FIGURES:
    raise ValueError(f"unknown figure {name!r}; valid names: {', '.join(FIGURES)}, all")
  return (name,)


def make_figure(name: str, config: ml_collections.ConfigDict | None = None) -> tuple[Figure, Data]:
  """Computes figure `name` and draws it.

  Args:
    name: a key of `FIGURES`.
    config: a `default_config()`-shaped config (default: `default_config()`); only `config[name]` is read.

  Returns:
    (figure, data): data holds every number the figure shows.

  Raises:
    ValueError: for an unknown name or an invalid field of `config[name]`.
  """
  if name == "all":
    raise ValueError("make_figure draws one figure; use write_figures for 'all'")
  figure_names(name)
  config = default_config() if config is None else config
  compute, draw = FIGURES[name]
  data = compute(config[name])
  return draw(data), data


def _plain(value: Any) -> Any:
  """JSON-ready copy: arrays to lists, complex to [re, im]; private keys (leading '_') dropped."""
  if isinstance(value, dict):
    return {k: _plain(v) for k, v in value.items() if not str(k).startswith("_")}
  if isinstance(value, (list, tuple)):
    return [_plain(v) for v in value]
  if isinstance(value, np.ndarray):
    if np.iscomplexobj(value):
      return _plain(np.stack([value.real, value.imag], axis=-1))
    return value.tolist()
  if isinstance(value, (np.generic, jax.Array)):
    return _plain(np.asarray(value).item()) if np.ndim(value) == 0 else _plain(np.asarray(value))
  if isinstance(value, complex):
    return [value.real, value.imag]
  return value


def write_figures(name: str, workdir: str, config: ml_collections.ConfigDict | None = None) -> dict[str, Data]:
  """Computes and writes WORKDIR/NAME.png, NAME.pdf and NAME.json (the data) for `name` or 'all'.

  Args:
    name: a key of `FIGURES`, or 'all'.
    workdir: output directory (created if missing).
    config: a `default_config()`-shaped config (default: `default_config()`).

  Returns:
    name -> data, for each figure written.

  Raises:
    ValueError: for an unknown name or an invalid field, before any file is written.
  """
  names = figure_names(name)
  config = (default_config() if config is None else config).copy_and_resolve_references()
  out = {}
  for n in names:
    # A figure that runs its own sweep keeps it beside its output, so a second call resumes instead of retraining.
    if "run_dir" in config[n] and not config[n].run_dir:
      config[n].run_dir = os.path.join(workdir, f"{n}_sweep")
    fig, data = make_figure(n, config)
    figures.save(fig, os.path.join(workdir, n))
    with open(os.path.join(workdir, f"{n}.json"), "w") as f:
      json.dump(_plain(data), f)
    out[n] = data
  return out
