"""Arjovsky & Bottou 2017, Figs. 2–3: generator gradients as the discriminator approaches optimality."""
import math
from typing import Callable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike
from matplotlib.figure import Figure
import ml_collections
import numpy as np
import optax

from gan_jax import distributions
from gan_jax import divergences
from gan_jax import engine
from gan_jax import objectives
from gan_jax import plotting
from gan_jax import toy_task
from gan_jax import train
from gan_jax.paper_figures import common

Array = jax.Array
Data = common.Data


def default_config() -> ml_collections.ConfigDict:
  """The settings behind the published-looking figure."""
  v = ml_collections.ConfigDict()
  v.curve_thetas = tuple(np.round(np.geomspace(0.25, 10.0, 40), 4).tolist())
  v.published_thetas = (0.5, 1.0, 2.0, 4.0, 8.0)
  v.quadrature_panels = 512          # z ∈ [−12, 12], 16 Gauss–Legendre nodes per panel.
  v.theta = 8.0                      # the frozen generator N(θ, 1) of the trained-D panel: supports nearly apart.
  v.num_steps = 3000                 # discriminator steps from scratch.
  v.batch_size = 512
  v.d_learning_rate = 1e-3
  v.eval_latents = 1024              # fixed held-out latents for the gradient norms.
  v.seed = 0
  return v


def testing_config() -> ml_collections.ConfigDict:
  """`default_config` shrunk for tests: fewer θ's, steps and latents, same checks."""
  v = default_config()
  v.curve_thetas = (0.5, 1.0, 2.0, 4.0, 8.0)
  v.num_steps = 1500
  v.eval_latents = 512
  return v


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
  per_sample = common.per_sample(loss)

  def expected_cost(params):
    x = params[0] + jnp.exp(params[1]) * z
    return jnp.sum(jnp.asarray(weights) * per_sample(logit(x[:, None])))

  return jax.grad(expected_cost)(jnp.asarray([theta, 0.0], jnp.float32))


def _check_gradient_vanishing(cfg: ml_collections.ConfigDict) -> None:
  common.check_positive_int(cfg, "gradient_vanishing", "quadrature_panels", "num_steps", "batch_size", "eval_latents")
  common.check_positive_float(cfg, "gradient_vanishing", "theta", "d_learning_rate")
  for field in ("curve_thetas", "published_thetas"):
    values = tuple(cfg[field])
    if not values or not all(isinstance(t, (int, float)) and math.isfinite(t) for t in values):
      common.fail(f"gradient_vanishing.{field}", values, "a non-empty tuple of finite numbers")


def compute(cfg: ml_collections.ConfigDict) -> Data:
  """Generator gradients under the minimax and non-saturating costs as D approaches optimality.

  Exact part: g = N(θ, 1) against p = N(0, 1) with the optimal D* (`optimal_d_generator_gradient`), over θ; plus
  2·dJSD/dθ by autodiff through the quadrature of `divergences.js`. Trained part (Arjovsky & Bottou 2017,
  Figs. 2–3): the generator frozen at N(cfg.theta, 1), a fresh discriminator trained by the engine
  (`engine.train_step`, logistic loss), and after every discriminator step the norm of the generator gradient
  (over loc and log_scale) of each cost on fixed held-out latents.

  Args:
    cfg: `default_config()`.

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
  config = common.engine_config("gaussian_1d", "affine", "minimax", cfg.batch_size, cfg.seed, 1e-3,
                                cfg.d_learning_rate)
  gan = train.build_gan(config)._replace(g_tx=optax.set_to_zero())
  target = distributions.Gaussian(0.0, 1.0)
  state = common.first(common.frozen_generator_state(gan, cfg.seed, cfg.theta, 1.0))
  latents = jax.random.normal(jax.random.fold_in(jax.random.PRNGKey(cfg.seed), 0x6AD), (cfg.eval_latents, 1))

  def norms(g_params, d_params):
    out = {}
    for name, loss in costs.items():
      cost = lambda gp: loss(gan.players.discriminator.apply(d_params, gan.players.generator.apply(gp, latents)))
      out[name] = optax.tree.norm(jax.grad(cost)(g_params))
    return out

  def body(state, _):
    state, _ = engine.train_step(gan, state, toy_task.sample_real(gan, target, state))
    return state, norms(state.g_params, state.d_params)

  initial = norms(state.g_params, state.d_params)
  _, trace = jax.jit(lambda s: jax.lax.scan(body, s, None, length=cfg.num_steps))(state)
  data["steps"] = np.arange(cfg.num_steps + 1)
  for name in costs:
    data[f"{name}_norm"] = np.concatenate([[float(initial[name])], np.asarray(trace[name])])
  data["theta"] = float(cfg.theta)
  return data


def figure(data: Data) -> Figure:
  """Left: gradients with the optimal D over θ (published values as markers). Right: Arjovsky & Bottou 2017,
  Figs. 2–3: gradient norms as a fresh discriminator trains against a frozen generator."""
  fig, (left, right) = plotting.new_figure(ncols=2, panel_size=(4.6, 3.4))
  styles = plotting.SERIES_STYLES
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
  plotting.style_axes(left, "θ  (g = N(θ, 1), p = N(0, 1))", "|∂ generator cost / ∂θ|  (nats per unit θ)",
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
  plotting.style_axes(right, "discriminator steps (generator frozen at N(θ, 1), θ = "
                      f"{data['theta']:g})", "‖∇ generator cost‖ over (loc, log scale)",
                      "Arjovsky & Bottou 2017, Figs. 2–3", legend_loc="lower left")
  return fig
