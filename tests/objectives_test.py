"""Tests for gan_jax.objectives against NumPy hand computations, closed forms and scipy quadrature."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, special, stats

from gan_jax import divergences
from gan_jax import f_divergences
from gan_jax import objectives

REAL = np.array([-2.0, -0.5, 0.0, 1.5, 3.0], np.float32)
FAKE = np.array([-3.0, -1.0, 0.25, 2.0], np.float32)
NON_LOGISTIC = [n for n in objectives.OBJECTIVES if n not in ("minimax", "non_saturating", "maximum_likelihood")]


def _np_log_sigmoid(x):
  return np.log(1.0 / (1.0 + np.exp(-np.asarray(x, np.float64))))


# Nowozin et al. 2016, Table 2, typed in again in float64: (activation g_f, conjugate f*).
NP_FGAN = {
    "kl": (lambda v: v, lambda t: np.exp(t - 1.0)),
    "reverse_kl": (lambda v: -np.exp(-v), lambda t: -1.0 - np.log(-t)),
    "pearson": (lambda v: v, lambda t: 0.25 * t**2 + t),
    "hellinger": (lambda v: 1.0 - np.exp(-v), lambda t: t / (1.0 - t)),
    "js": (lambda v: np.log(2.0) - np.log1p(np.exp(-v)), lambda t: -np.log(2.0 - np.exp(t))),
}
# Table 1: the generator f and its derivative.
NP_F = {
    "kl": (lambda u: u * np.log(u), lambda u: 1.0 + np.log(u)),
    "reverse_kl": (lambda u: -np.log(u), lambda u: -1.0 / u),
    "pearson": (lambda u: (u - 1.0) ** 2, lambda u: 2.0 * (u - 1.0)),
    "hellinger": (lambda u: (np.sqrt(u) - 1.0) ** 2, lambda u: 1.0 - 1.0 / np.sqrt(u)),
    "js": (lambda u: -(u + 1.0) * np.log((1.0 + u) / 2.0) + u * np.log(u), lambda u: np.log(2.0 * u / (1.0 + u))),
}
# The raw output v* with g_f(v*) = f′(u), as a function of log u (inverting each activation by hand).
NP_OPTIMAL_RAW = {
    "kl": lambda log_u: 1.0 + log_u,
    "reverse_kl": lambda log_u: log_u,
    "pearson": lambda log_u: 2.0 * np.expm1(log_u),
    "hellinger": lambda log_u: 0.5 * log_u,
    "js": lambda log_u: log_u,
}


# ---------------------------------------------------------------------------------------------------------------
# Pinned values.


@pytest.mark.parametrize("beta", [1.0, 0.9, 0.3])
def test_logistic_discriminator_loss_matches_numpy(beta):
  loss = jax.jit(lambda r, f: objectives.logistic_discriminator_loss(r, f, real_target=beta))(REAL, FAKE)
  d_real = 1.0 / (1.0 + np.exp(-REAL.astype(np.float64)))
  d_fake = 1.0 / (1.0 + np.exp(-FAKE.astype(np.float64)))
  expected = (-np.mean(beta * np.log(d_real) + (1.0 - beta) * np.log(1.0 - d_real))
              - np.mean(np.log(1.0 - d_fake)))
  np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_default_objective_is_unsmoothed_minus_v():
  # The TF-GAN trap: the default must be −V(D, G) itself, Goodfellow et al. 2014 Eq. 1.
  loss = jax.jit(objectives.get_objective("minimax").discriminator_loss)(REAL, FAKE)
  expected = -np.mean(_np_log_sigmoid(REAL)) - np.mean(_np_log_sigmoid(-FAKE))
  np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_generator_losses_match_numpy():
  d = 1.0 / (1.0 + np.exp(-FAKE.astype(np.float64)))
  cases = {
      "minimax": np.mean(np.log(1.0 - d)),
      "non_saturating": -np.mean(np.log(d)),
      "maximum_likelihood": -0.5 * np.mean(d / (1.0 - d)),  # exp(σ⁻¹(D)) = D/(1 − D)
      "wasserstein": -np.mean(FAKE),
      "wgan_gp": -np.mean(FAKE),
      "least_squares": 0.5 * np.mean((FAKE - 1.0) ** 2),
      "hinge": -np.mean(FAKE),
  }
  for name, expected in cases.items():
    loss = jax.jit(objectives.get_objective(name).generator_loss)(FAKE)
    np.testing.assert_allclose(loss, expected, rtol=1e-5, err_msg=name)


def test_critic_discriminator_losses_match_numpy():
  cases = {
      "wasserstein": np.mean(FAKE) - np.mean(REAL),
      "wgan_gp": np.mean(FAKE) - np.mean(REAL),
      "least_squares": 0.5 * np.mean((REAL - 1.0) ** 2) + 0.5 * np.mean(FAKE**2),
      "hinge": np.mean(np.maximum(0.0, 1.0 - REAL)) + np.mean(np.maximum(0.0, 1.0 + FAKE)),
  }
  for name, expected in cases.items():
    loss = jax.jit(objectives.get_objective(name).discriminator_loss)(REAL, FAKE)
    np.testing.assert_allclose(loss, expected, rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("divergence", objectives.FGAN_DIVERGENCES)
def test_fgan_losses_match_table(divergence):
  g, conj = NP_FGAN[divergence]
  real, fake = REAL.astype(np.float64), FAKE.astype(np.float64)
  name = f"fgan_{divergence}"
  d_loss = jax.jit(objectives.get_objective(name).discriminator_loss)(REAL, FAKE)
  np.testing.assert_allclose(d_loss, -(np.mean(g(real)) - np.mean(conj(g(fake)))), rtol=1e-5)
  saddle = jax.jit(objectives.get_objective(name).generator_loss)(FAKE)
  np.testing.assert_allclose(saddle, -np.mean(conj(g(fake))), rtol=1e-5)
  heuristic = jax.jit(objectives.get_objective(name, fgan_generator="heuristic").generator_loss)(FAKE)
  np.testing.assert_allclose(heuristic, -np.mean(g(fake)), rtol=1e-5)


@pytest.mark.parametrize("divergence", objectives.FGAN_DIVERGENCES)
@given(v=st.floats(-15.0, 15.0))
def test_fgan_conjugate_of_activation_matches_table(divergence, v):
  g, conj = NP_FGAN[divergence]
  expected = conj(g(np.float64(v)))
  got = jax.jit(objectives.fgan_conjugate_of_activation, static_argnums=1)(jnp.float32(v), divergence)
  np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("divergence", objectives.FGAN_DIVERGENCES)
def test_fgan_conjugate_of_activation_matches_package_table(divergence):
  # Where the float32 composition is still accurate, the closed form must agree with f_divergences' own table.
  fd = f_divergences.get_f_divergence(divergence)
  v = jnp.linspace(-3.0, 3.0, 61)
  np.testing.assert_allclose(
      objectives.fgan_conjugate_of_activation(v, divergence), fd.conjugate(fd.activation(v)), rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------------------------------------------
# Saturation (Goodfellow 2016 tutorial, Fig. 16).


# Jitted once at import: a fresh jit per hypothesis example would recompile every time.
_GRAD_MINIMAX = jax.jit(jax.grad(objectives.minimax_generator_loss))
_GRAD_NON_SATURATING = jax.jit(jax.grad(objectives.non_saturating_generator_loss))
_GRAD_LIKELIHOOD = jax.jit(jax.grad(objectives.maximum_likelihood_generator_loss))


@given(logits=st.lists(st.floats(-30.0, 30.0), min_size=6, max_size=6))
def test_generator_gradients_saturate_as_published(logits):
  x = jnp.asarray(logits, jnp.float32)
  n = x.shape[0]
  d = special.expit(np.asarray(logits, np.float64))
  # The mean divides each per-sample derivative by n.
  np.testing.assert_allclose(_GRAD_MINIMAX(x) * n, -d, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(_GRAD_NON_SATURATING(x) * n, -(1.0 - d), rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(_GRAD_LIKELIHOOD(x) * n, -0.5 * np.exp(np.asarray(logits, np.float64)), rtol=1e-5)


def test_saturation_at_rejected_samples():
  # D(G(z)) = σ(−10) ≈ 4.5e-5: the minimax gradient vanishes, the non-saturating one is ≈ −1.
  x = jnp.array([-10.0])
  assert abs(float(jax.grad(objectives.minimax_generator_loss)(x)[0])) < 1e-4
  assert float(jax.grad(objectives.non_saturating_generator_loss)(x)[0]) < -0.9999


# ---------------------------------------------------------------------------------------------------------------
# Optimal discriminators, by maximising the pointwise objective on a grid.

DENSITY_PAIRS = [(0.3, 0.7), (1.0, 1.0), (2.0, 0.5), (0.05, 1.2), (4.0, 0.1)]
D_GRID = np.linspace(1e-4, 1.0 - 1e-4, 9999)


def _pointwise_argmax(discriminator_loss, p, g, raw_grid):
  """argmin over the grid of p·ℓ_real(r) + g·ℓ_fake(r), with ℓ_real, ℓ_fake read off the public loss.

  The loss is a sum of a real and a fake term, so loss([r], [0]) = ℓ_real(r) + const and loss([0], [r]) =
  ℓ_fake(r) + const.
  """
  zero = jnp.zeros((1,))
  real_term = jax.vmap(lambda r: discriminator_loss(r[None], zero))(raw_grid)
  fake_term = jax.vmap(lambda r: discriminator_loss(zero, r[None]))(raw_grid)
  return int(jnp.argmin(p * real_term + g * fake_term))


@pytest.mark.parametrize("beta", [1.0, 0.9, 0.7])
@pytest.mark.parametrize("p,g", DENSITY_PAIRS)
def test_smoothed_optimal_discriminator(beta, p, g):
  # Salimans et al. 2016, Sec. 3.4: D* = β·p/(p + g); β = 1 is Goodfellow et al. 2014, Prop. 1.
  loss = objectives.get_objective("non_saturating", real_target=beta).discriminator_loss
  logits = jnp.asarray(special.logit(D_GRID), jnp.float32)
  best = D_GRID[_pointwise_argmax(loss, p, g, logits)]
  np.testing.assert_allclose(best, beta * p / (p + g), atol=2e-4)


@pytest.mark.parametrize("p,g", DENSITY_PAIRS)
def test_least_squares_optimal_discriminator(p, g):
  # Mao et al. 2017, Prop. 1 with a = 0, b = 1: D* = p/(p + g) on the raw output.
  loss = objectives.get_objective("least_squares").discriminator_loss
  best = D_GRID[_pointwise_argmax(loss, p, g, jnp.asarray(D_GRID, jnp.float32))]
  np.testing.assert_allclose(best, p / (p + g), atol=2e-4)


# ---------------------------------------------------------------------------------------------------------------
# f-GAN: the bound is tight at v* (Nowozin et al. 2016, Eq. 4).

MU = 0.5  # P = N(0, 1), Q = N(MU, 1)
N_STRATA = 100_000


def _log_ratio(x):
  return stats.norm.logpdf(x) - stats.norm.logpdf(x, loc=MU)


def _quad_divergence(divergence):
  f = NP_F[divergence][0]
  value, _ = integrate.quad(lambda x: stats.norm.pdf(x, loc=MU) * f(np.exp(_log_ratio(x))), -15.0, 15.0,
                            limit=200)
  return value


def test_quad_reference_matches_closed_forms():
  # Sanity of the reference itself: closed forms for two unit-variance Gaussians.
  np.testing.assert_allclose(_quad_divergence("kl"), MU**2 / 2, rtol=1e-7)
  np.testing.assert_allclose(_quad_divergence("reverse_kl"), MU**2 / 2, rtol=1e-7)
  np.testing.assert_allclose(_quad_divergence("pearson"), np.expm1(MU**2), rtol=1e-7)
  np.testing.assert_allclose(_quad_divergence("hellinger"), 2.0 * (1.0 - np.exp(-MU**2 / 8)), rtol=1e-7)


@pytest.mark.parametrize("divergence", objectives.FGAN_DIVERGENCES)
def test_fgan_bound_is_tight_at_optimal_raw_output(divergence):
  # Stratified samples: the (i + ½)/n quantiles of P and of Q, so sample means are quadratures of E_P and E_Q.
  quantiles = (np.arange(N_STRATA) + 0.5) / N_STRATA
  x_p = stats.norm.ppf(quantiles)
  x_q = stats.norm.ppf(quantiles, loc=MU)
  v_p = NP_OPTIMAL_RAW[divergence](_log_ratio(x_p))
  v_q = NP_OPTIMAL_RAW[divergence](_log_ratio(x_q))
  # v* really is optimal: g_f(v*) = f′(p/q).
  activation = f_divergences.get_f_divergence(divergence).activation
  np.testing.assert_allclose(
      activation(jnp.asarray(v_p[::997], jnp.float32)), NP_F[divergence][1](np.exp(_log_ratio(x_p[::997]))),
      rtol=1e-4, atol=1e-5)

  loss = jax.jit(objectives.get_objective(f"fgan_{divergence}").discriminator_loss)
  exact = _quad_divergence(divergence)
  at_optimum = -float(loss(v_p.astype(np.float32), v_q.astype(np.float32)))
  np.testing.assert_allclose(at_optimum, exact, rtol=1e-3)
  # Eq. 4 is a lower bound: moving v off v* must lose value.
  for shift in (-0.3, 0.2):
    off = -float(loss((v_p + shift).astype(np.float32), (v_q + shift).astype(np.float32)))
    assert off < exact - 1e-3, (shift, off, exact)


# ---------------------------------------------------------------------------------------------------------------
# Penalties.


def _linear(w):
  return lambda x: x @ w


_LINEAR_GP = jax.jit(lambda w, r, f, k: objectives.gradient_penalty(_linear(w), r, f, k))
_LINEAR_R1 = jax.jit(lambda w, x: objectives.r1_penalty(_linear(w), x))
_LINEAR_R2 = jax.jit(lambda w, x: objectives.r2_penalty(_linear(w), x))


@given(w=st.lists(st.floats(-3.0, 3.0), min_size=3, max_size=3), seed=st.integers(0, 2**31 - 1))
def test_gradient_penalty_of_linear_critic(w, seed):
  # ∇D = w everywhere, so E(‖∇D(x̂)‖ − 1)² = (‖w‖ − 1)² whatever the interpolates.
  w = np.asarray(w, np.float32)
  rng = np.random.default_rng(seed)
  real = rng.normal(size=(6, 3)).astype(np.float32)
  fake = rng.normal(size=(6, 3)).astype(np.float32)
  gp = _LINEAR_GP(w, real, fake, jax.random.key(seed))
  np.testing.assert_allclose(gp, (np.linalg.norm(w.astype(np.float64)) - 1.0) ** 2, rtol=1e-5, atol=1e-6)


def test_gradient_penalty_zero_for_unit_norm_critic():
  w = np.array([0.6, -0.8], np.float32)
  real = np.random.default_rng(0).normal(size=(32, 2)).astype(np.float32)
  gp = objectives.gradient_penalty(_linear(w), real, -real, jax.random.key(1))
  np.testing.assert_allclose(gp, 0.0, atol=1e-10)


def test_gradient_penalty_of_quadratic_critic():
  # D(x) = ½‖x‖², ∇D(x) = x. With real == fake the interpolate is x itself.
  x = np.random.default_rng(2).normal(size=(16, 3)).astype(np.float32)
  quadratic = lambda y: 0.5 * jnp.sum(y**2, axis=-1)
  gp = objectives.gradient_penalty(quadratic, x, x, jax.random.key(0))
  expected = np.mean((np.linalg.norm(x.astype(np.float64), axis=1) - 1.0) ** 2)
  np.testing.assert_allclose(gp, expected, rtol=1e-5)


def test_gradient_penalty_interpolates_uniformly():
  # D(x) = x²/2 in 1-D, real = 1, fake = 0: x̂ = ε, penalty = E(1 − ε)² = 1/3 for ε ~ U[0, 1].
  n = 200_000
  quadratic = lambda y: 0.5 * y[:, 0] ** 2
  gp = objectives.gradient_penalty(quadratic, jnp.ones((n, 1)), jnp.zeros((n, 1)), jax.random.key(3))
  # Standard error of the mean: sd((1 − ε)²) / √n = (2/√45) / √n ≈ 7e-4.
  np.testing.assert_allclose(gp, 1.0 / 3.0, atol=4e-3)
  again = objectives.gradient_penalty(quadratic, jnp.ones((n, 1)), jnp.zeros((n, 1)), jax.random.key(3))
  other = objectives.gradient_penalty(quadratic, jnp.ones((n, 1)), jnp.zeros((n, 1)), jax.random.key(4))
  assert float(gp) == float(again) and float(gp) != float(other)


def test_gradient_penalty_has_finite_parameter_gradient_at_zero_critic():
  # ‖∇D‖ = 0 for w = 0; a naive norm would give NaN parameter gradients there.
  real = np.ones((4, 3), np.float32)
  grad = jax.grad(lambda w: objectives.gradient_penalty(_linear(w), real, 2 * real, jax.random.key(0)))(
      jnp.zeros(3))
  assert np.all(np.isfinite(grad))


@given(w=st.lists(st.floats(-3.0, 3.0), min_size=3, max_size=3), seed=st.integers(0, 2**31 - 1))
def test_r1_and_r2_of_linear_discriminator(w, seed):
  # ∇D = w, so E‖∇D(x)‖² = ‖w‖².
  w = np.asarray(w, np.float32)
  x = np.random.default_rng(seed).normal(size=(5, 3)).astype(np.float32)
  expected = np.sum(w.astype(np.float64) ** 2)
  np.testing.assert_allclose(_LINEAR_R1(w, x), expected, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(_LINEAR_R2(w, x), expected, rtol=1e-5, atol=1e-7)


def test_r1_of_quadratic_discriminator_on_image_batch():
  # D(x) = ½‖x‖² over all non-batch axes: ‖∇D(x)‖² = ‖x‖².
  x = np.random.default_rng(5).normal(size=(7, 2, 3)).astype(np.float32)
  quadratic = lambda y: 0.5 * jnp.sum(y**2, axis=(1, 2))
  expected = np.mean(np.sum(x.astype(np.float64) ** 2, axis=(1, 2)))
  np.testing.assert_allclose(objectives.r1_penalty(quadratic, x), expected, rtol=1e-5)
  np.testing.assert_allclose(objectives.r2_penalty(quadratic, x), expected, rtol=1e-5)


# ---------------------------------------------------------------------------------------------------------------
# Registry.


def test_registry_settings():
  assert objectives.get_objective("wasserstein").weight_clip == 0.01
  assert objectives.get_objective("wasserstein", weight_clip=0.05).weight_clip == 0.05
  assert objectives.get_objective("wasserstein").gradient_penalty_weight == 0.0
  assert objectives.get_objective("wgan_gp").weight_clip is None
  assert objectives.get_objective("wgan_gp").gradient_penalty_weight == 10.0
  assert objectives.get_objective("wgan_gp", gradient_penalty_weight=0.0).gradient_penalty_weight == 0.0
  for name in ("minimax", "non_saturating", "maximum_likelihood"):
    prob = objectives.get_objective(name).probability
    np.testing.assert_allclose(prob(jnp.asarray(REAL)), special.expit(REAL), rtol=1e-6)
  for name in NON_LOGISTIC:
    assert objectives.get_objective(name).probability is None


@pytest.mark.parametrize("name", objectives.OBJECTIVES)
def test_every_objective_is_finite_at_extreme_outputs(name):
  objective = objectives.get_objective(name)
  assert objective.name == name
  x = jnp.array([-50.0, -20.0, 0.0, 20.0, 50.0])
  d_loss, d_grad = jax.jit(jax.value_and_grad(objective.discriminator_loss, argnums=(0, 1)))(x, x[::-1])
  g_loss, g_grad = jax.jit(jax.value_and_grad(objective.generator_loss))(x)
  assert d_loss.shape == () and g_loss.shape == ()
  assert np.isfinite(d_loss) and np.isfinite(g_loss), (d_loss, g_loss)
  assert all(np.all(np.isfinite(g)) for g in d_grad) and np.all(np.isfinite(g_grad))


@pytest.mark.parametrize("name", [n for n in objectives.OBJECTIVES if n.startswith("fgan_")])
def test_fgan_heuristic_is_finite_at_extreme_outputs(name):
  loss = objectives.get_objective(name, fgan_generator="heuristic").generator_loss
  assert np.isfinite(jax.jit(loss)(jnp.array([-50.0, 0.0, 50.0])))


# ---------------------------------------------------------------------------------------------------------------
# Discriminator estimates.

# Every registry objective with the estimates it logs (the `Objective` docstring): a new objective must be placed here.
LOGISTIC_ESTIMATES = {"v_d", "js_lower_bound", "kl_pg_plugin", "kl_gp_plugin"}
ESTIMATE_KEYS = {
    "minimax": LOGISTIC_ESTIMATES,
    "non_saturating": LOGISTIC_ESTIMATES,
    "maximum_likelihood": LOGISTIC_ESTIMATES,
    "wasserstein": {"w1_critic"},
    "wgan_gp": {"w1_critic"},
    "least_squares": {"js_lower_bound"},
    "hinge": {"tv_lower_bound"},
    **{f"fgan_{d}": {"f_lower_bound"} for d in objectives.FGAN_DIVERGENCES},
}
# LSGAN outputs read as probabilities: inside (0, 1), and one ≤ 0 that the log-odds clip to ε.
LS_REAL = np.array([0.05, 0.5, 0.7, 0.95, 0.999], np.float32)
LS_FAKE = np.array([-0.5, 0.0, 0.2, 0.6], np.float32)


def _np_estimates(name, real, fake):
  """The estimates computed from their formulas in float64, without `divergences`."""
  real, fake = real.astype(np.float64), fake.astype(np.float64)
  if name in objectives.LOGISTIC:
    v = np.mean(_np_log_sigmoid(real)) + np.mean(_np_log_sigmoid(-fake))
    return {"v_d": v, "js_lower_bound": np.log(2.0) + 0.5 * v, "kl_pg_plugin": np.mean(real),
            "kl_gp_plugin": -np.mean(fake)}
  if name == "least_squares":
    def log_odds(x):
      x = np.clip(x, 1e-6, 1.0 - 1e-6)
      return np.log(x / (1.0 - x))
    v = np.mean(_np_log_sigmoid(log_odds(real))) + np.mean(_np_log_sigmoid(-log_odds(fake)))
    return {"js_lower_bound": np.log(2.0) + 0.5 * v}
  if name == "hinge":
    return {"tv_lower_bound": 0.5 * (np.mean(np.clip(real, -1, 1)) - np.mean(np.clip(fake, -1, 1)))}
  if name.startswith("fgan_"):
    activation, conjugate = NP_FGAN[name[len("fgan_"):]]
    return {"f_lower_bound": np.mean(activation(real)) - np.mean(conjugate(activation(fake)))}
  return {"w1_critic": np.mean(real) - np.mean(fake)}


def test_every_objective_has_listed_estimates():
  assert set(ESTIMATE_KEYS) == set(objectives.OBJECTIVES)


@pytest.mark.parametrize("name", objectives.OBJECTIVES)
def test_estimates_have_the_keys_of_their_family(name):
  variants = [objectives.get_objective(name)]
  if name in objectives.LOGISTIC:
    variants.append(objectives.get_objective(name, real_target=0.9))
  if name.startswith("fgan_"):
    variants.append(objectives.get_objective(name, fgan_generator="heuristic"))
  for objective in variants:
    estimates = objective.estimates(jnp.asarray(REAL), jnp.asarray(FAKE))
    assert set(estimates) == ESTIMATE_KEYS[name]
    assert all(v.shape == () for v in estimates.values())


@pytest.mark.parametrize("name", objectives.OBJECTIVES)
def test_estimates_match_numpy(name):
  real, fake = (LS_REAL, LS_FAKE) if name == "least_squares" else (REAL, FAKE)
  estimates = jax.jit(objectives.get_objective(name).estimates)(real, fake)
  expected = _np_estimates(name, real, fake)
  assert estimates.keys() == expected.keys()
  for key, value in expected.items():
    np.testing.assert_allclose(estimates[key], value, rtol=1e-5, atol=1e-6, err_msg=key)


# Each family's estimates as `divergences` computes them when called directly.
DIRECT = {
    "logistic": lambda r, f: {"v_d": divergences.value_from_logits(r, f),
                              "js_lower_bound": divergences.js_lower_bound(r, f),
                              "kl_pg_plugin": divergences.kl_pg_plugin(r),
                              "kl_gp_plugin": divergences.kl_gp_plugin(f)},
    "least_squares": lambda r, f: {"js_lower_bound": divergences.js_lower_bound(
        divergences.logits_of_probabilities(r), divergences.logits_of_probabilities(f))},
    "hinge": lambda r, f: {"tv_lower_bound": divergences.tv_lower_bound(r, f)},
    "wasserstein": lambda r, f: {"w1_critic": jnp.mean(r) - jnp.mean(f)},
}


@pytest.mark.parametrize("name", objectives.OBJECTIVES)
def test_estimates_are_the_divergences_bounds_bit_for_bit(name):
  real, fake = (LS_REAL, LS_FAKE) if name == "least_squares" else (REAL, FAKE)
  real, fake = jnp.asarray(real), jnp.asarray(fake)
  if name.startswith("fgan_"):
    expected = {"f_lower_bound": divergences.f_lower_bound(name[len("fgan_"):], real, fake)}
  else:
    family = ("logistic" if name in objectives.LOGISTIC else "wasserstein" if name == "wgan_gp" else name)
    expected = DIRECT[family](real, fake)
  estimates = objectives.get_objective(name).estimates(real, fake)
  assert estimates.keys() == expected.keys()
  for key, value in expected.items():
    np.testing.assert_array_equal(estimates[key], value, err_msg=key)


# ---------------------------------------------------------------------------------------------------------------
# Errors.


def test_unknown_objective_lists_every_name():
  with pytest.raises(ValueError, match="unknown objective 'wgan'") as info:
    objectives.get_objective("wgan")
  for name in objectives.OBJECTIVES:
    assert name in str(info.value)


@pytest.mark.parametrize("beta", [0.0, -0.1, 1.5, math.nan, math.inf, "high"])
def test_bad_real_target_raises(beta):
  with pytest.raises(ValueError, match="real_target"):
    objectives.get_objective("minimax", real_target=beta)
  with pytest.raises(ValueError, match="real_target"):
    objectives.logistic_discriminator_loss(REAL, FAKE, real_target=beta)


@pytest.mark.parametrize("name", NON_LOGISTIC)
def test_label_smoothing_rejected_where_it_does_not_apply(name):
  with pytest.raises(ValueError, match=f"applies only to .*objective '{name}'"):
    objectives.get_objective(name, real_target=0.9)


@pytest.mark.parametrize("clip", [0.0, -0.01, math.nan, math.inf, None])
def test_bad_weight_clip_raises(clip):
  with pytest.raises(ValueError, match="weight_clip must be a finite number > 0"):
    objectives.get_objective("wasserstein", weight_clip=clip)


@pytest.mark.parametrize("weight", [-1.0, math.nan, math.inf])
def test_bad_gradient_penalty_weight_raises(weight):
  with pytest.raises(ValueError, match="gradient_penalty_weight must be a finite number ≥ 0"):
    objectives.get_objective("wgan_gp", gradient_penalty_weight=weight)


def test_bad_fgan_generator_raises():
  with pytest.raises(ValueError, match="unknown fgan_generator 'greedy'; valid values: saddle, heuristic"):
    objectives.get_objective("fgan_kl", fgan_generator="greedy")
  with pytest.raises(ValueError, match="applies only to the fgan_"):
    objectives.get_objective("minimax", fgan_generator="heuristic")
  with pytest.raises(ValueError, match="unknown f-GAN generator mode"):
    objectives.fgan_generator_loss(FAKE, "kl", mode="greedy")


def test_unknown_fgan_divergence_raises():
  for call in (lambda: objectives.fgan_discriminator_loss(REAL, FAKE, "gan"),
               lambda: objectives.fgan_generator_loss(FAKE, "tv"),
               lambda: objectives.fgan_conjugate_of_activation(FAKE, "chi")):
    with pytest.raises(ValueError, match="unknown f-GAN divergence .*valid names: kl, reverse_kl"):
      call()


@pytest.mark.parametrize("bad", [np.zeros((4, 1)), np.float32(1.0), np.zeros((0,))])
@pytest.mark.parametrize("name", objectives.OBJECTIVES)
def test_losses_reject_non_vector_outputs(name, bad):
  objective = objectives.get_objective(name)
  with pytest.raises(ValueError, match="must be a non-empty 1-D array"):
    objective.discriminator_loss(bad, FAKE)
  with pytest.raises(ValueError, match="must be a non-empty 1-D array"):
    objective.discriminator_loss(REAL, bad)
  with pytest.raises(ValueError, match="must be a non-empty 1-D array"):
    jax.jit(objective.generator_loss)(bad)


def test_penalties_reject_bad_shapes():
  w = np.ones(3, np.float32)
  x = np.ones((4, 3), np.float32)
  key = jax.random.key(0)
  with pytest.raises(ValueError, match=r"same shape; got \(4, 3\) and \(5, 3\)"):
    objectives.gradient_penalty(_linear(w), x, np.ones((5, 3)), key)
  with pytest.raises(ValueError, match=r"real must have shape \(n, ...\)"):
    objectives.gradient_penalty(_linear(w), np.ones(3), np.ones(3), key)
  with pytest.raises(ValueError, match=r"fake must have shape"):
    objectives.r2_penalty(_linear(w), np.ones((0, 3)))
  column = lambda y: y @ w[:, None]  # (n, 1), not (n,)
  with pytest.raises(ValueError, match=r"raw outputs of shape \(4,\); got \(4, 1\)"):
    objectives.r1_penalty(column, x)
  with pytest.raises(ValueError, match=r"raw outputs of shape \(4,\); got \(4, 1\)"):
    objectives.gradient_penalty(column, x, x, key)
