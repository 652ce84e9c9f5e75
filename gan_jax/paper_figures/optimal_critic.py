"""Arjovsky et al. 2017, Fig. 2: a saturated optimal discriminator against an (almost) linear WGAN-GP critic."""
import jax
import jax.numpy as jnp
from matplotlib.figure import Figure
import ml_collections
import numpy as np
import optax

from gan_jax import config as config_lib
from gan_jax import distributions
from gan_jax import divergences
from gan_jax import plotting
from gan_jax import toy_task
from gan_jax import train
from gan_jax.paper_figures import common

Data = common.Data


def default_config() -> ml_collections.ConfigDict:
  """The settings behind the published-looking figure."""
  o = ml_collections.ConfigDict()
  o.scale = 0.3                      # p = N(0, 0.3²), g = N(θ, 0.3²).
  o.theta = 3.0
  o.num_steps = 2000                 # critic steps with the generator frozen.
  o.batch_size = 256
  o.learning_rate = 1e-3
  o.gradient_penalty_weight = 10.0   # λ of Gulrajani et al. 2017.
  o.gap_sigmas = 2.0                 # the slope is fitted on [2σ, θ − 2σ], between the modes.
  o.seed = 0
  return o


def testing_config() -> ml_collections.ConfigDict:
  """`default_config` with fewer critic steps."""
  o = default_config()
  o.num_steps = 1500
  return o


def compute(cfg: ml_collections.ConfigDict) -> Data:
  """The optimal GAN discriminator against a trained WGAN-GP critic on two Gaussians (Arjovsky et al. 2017, Fig. 2).

  p = N(0, σ²), g = N(θ, σ²). D* = σ(log p − log g) from `divergences.optimal_discriminator` and its input
  gradient at generator samples (autodiff). The critic: the engine's MLP discriminator trained on the 'wgan_gp'
  objective with the generator frozen at g; its slope is the least-squares fit of f on [2σ, θ − 2σ]. In 1-D the
  penalised critic objective is minimised pointwise at |f′| = 1 + (F_p − F_g)/(2λ q) with q the density of the
  interpolates; between far-apart modes F_p − F_g ≈ 1 and q ≈ 1/θ, so |f′| ≈ 1 + θ/(2λ) (`gp_slope`).

  Args:
    cfg: `default_config()`.

  Returns:
    x (n,), p, g, d_star, critic (n,); fake (m,) samples with d_star_grad_fake (m,); critic_slope,
    critic_intercept, gp_slope, gap (lo, hi), theta, scale.

  Raises:
    ValueError: for an invalid field, before anything compiles.
  """
  common.check_positive_int(cfg, "optimal_critic", "num_steps", "batch_size")
  common.check_positive_float(cfg, "optimal_critic", "scale", "theta", "learning_rate", "gap_sigmas")
  lo, hi = cfg.gap_sigmas * cfg.scale, cfg.theta - cfg.gap_sigmas * cfg.scale
  if not lo < hi:
    common.fail("optimal_critic.theta", cfg.theta, f"> 2·gap_sigmas·scale = {2 * lo:g} (modes far apart)")
  p = distributions.Gaussian(0.0, cfg.scale)
  g = distributions.Gaussian(cfg.theta, cfg.scale)
  d_star = divergences.optimal_discriminator(p, g)
  fake = g.sample(jax.random.fold_in(jax.random.PRNGKey(cfg.seed), 0xFA4E), 512)
  d_star_grad = jax.vmap(jax.grad(lambda y: d_star(y[None, None])[0]))(fake[:, 0])

  config = common.engine_config("gaussian_1d", "affine", "wgan_gp", cfg.batch_size, cfg.seed, 1e-3, cfg.learning_rate,
                                gradient_penalty_weight=cfg.gradient_penalty_weight)
  # Gulrajani et al. 2017 use Adam β1 = 0, β2 = 0.9; β1 = 0.5 settles faster here with the generator frozen.
  config.optimizer_d = config_lib.optimizer_config("adam", cfg.learning_rate, b1=0.5, b2=0.9)
  gan = train.build_gan(config)._replace(g_tx=optax.set_to_zero())
  state = common.frozen_generator_state(gan, cfg.seed, cfg.theta, cfg.scale)
  state, _ = jax.jit(jax.vmap(lambda s: toy_task.train_steps(gan, p, s, cfg.num_steps)))(state)
  critic = lambda y: gan.players.discriminator.apply(common.first(state).d_params, y)

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


def figure(data: Data) -> Figure:
  """Left: densities and the saturated D*. Right: the WGAN-GP critic and its fitted line between the modes."""
  fig, (left, right) = plotting.new_figure(ncols=2)
  x = data["x"]
  for ax in (left, right):
    ax.fill_between(x, data["p"] / data["p"].max(), color="0.55", alpha=0.3, linewidth=0,
                    label="p = N(0, σ²) (scaled)")
    ax.fill_between(x, data["g"] / data["g"].max(), color="#2ca02c", alpha=0.25, linewidth=0, hatch="//",
                    label="g = N(θ, σ²) (scaled)")
  left.plot(x, data["d_star"], color="#d62728", linestyle="--", linewidth=1.6, label="D*(x) = p/(p + g)")
  max_grad = float(np.max(np.abs(data["d_star_grad_fake"])))
  plotting.style_axes(left, "x", "D*(x)  /  scaled density",
                      f"GAN: D* saturates (max |D*′| on g: {max_grad:.1e})", legend_loc="center right")
  right.plot(x, data["critic"], color="#1f77b4", linestyle="-", linewidth=1.6, label="WGAN-GP critic f(x)")
  lo, hi = data["gap"]
  inside = (x >= lo) & (x <= hi)
  right.plot(x[inside], data["critic_slope"] * x[inside] + data["critic_intercept"], color="#000000",
             linestyle=":", marker="o", markevery=12, markersize=3,
             label=f"fit on the gap: slope {data['critic_slope']:.2f}")
  plotting.style_axes(right, "x", "critic value  /  scaled density", "WGAN-GP: critic nearly linear, |f′| ≈ 1",
                      legend_loc="upper right")
  fig.suptitle(f"Arjovsky et al. 2017, Fig. 2: θ = {data['theta']:g}, σ = {data['scale']:g}",
               fontsize=plotting.FONT_SIZE + 1)
  return fig
