"""GAN objectives as pure functions of discriminator raw outputs, and gradient penalties.

Every loss takes raw outputs: logits l (D(x) = σ(l)) for the logistic GANs, critic values for WGAN, hinge and
least squares, and the raw output v of the f-GAN variational function T = g_f(v). Each returns a scalar that its
player MINIMISES. Log-probabilities are written with softplus / log-sigmoid of the logit, never log(σ(l)), so the
losses stay finite for any finite logit.

`get_objective(name)` bundles a discriminator loss, a generator loss, the regularisation settings the training
engine applies (WGAN weight clipping, WGAN-GP penalty weight) and what the trained discriminator's outputs say about
the divergence (its estimates, from `divergences.py`) into an `Objective`.
"""
import functools
import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from gan_jax import divergences
from gan_jax import f_divergences

FGAN_DIVERGENCES: tuple[str, ...] = ("kl", "reverse_kl", "pearson", "hellinger", "js")
FGAN_GENERATORS: tuple[str, ...] = ("saddle", "heuristic")
OBJECTIVES: tuple[str, ...] = (
    "minimax",
    "non_saturating",
    "maximum_likelihood",
    "wasserstein",
    "wgan_gp",
    "least_squares",
    "hinge",
) + tuple(f"fgan_{name}" for name in FGAN_DIVERGENCES)

LOGISTIC = ("minimax", "non_saturating", "maximum_likelihood")


class Objective(NamedTuple):
  """A GAN objective as the training engine consumes it.

  Attributes:
    name: registry name, one of `OBJECTIVES`.
    discriminator_loss: (real_out (n,), fake_out (m,)) -> scalar, minimised by the discriminator.
    generator_loss: fake_out (m,) -> scalar, minimised by the generator.
    weight_clip: WGAN clipping bound c (the engine clips D's parameters to [−c, c] after each D update), or None.
    gradient_penalty_weight: λ multiplying `gradient_penalty` in the discriminator loss; 0.0 means off.
    probability: maps a raw output to D(x) ∈ (0, 1) where that is meaningful (σ for logit GANs), else None.
    estimates: (real_out (n,), fake_out (m,)) -> {name: scalar}, what this objective's discriminator says about the
      divergence from its raw outputs on held-out real and generated samples (`evaluation.discriminator_estimates`
      logs them): for the logistic objectives 'v_d', 'js_lower_bound', 'kl_pg_plugin' and 'kl_gp_plugin'
      (`logistic_estimates`); for 'least_squares' 'js_lower_bound' (`least_squares_estimates`); for 'hinge'
      'tv_lower_bound' (`hinge_estimates`); for 'fgan_*' 'f_lower_bound' (`fgan_estimates`); for 'wasserstein'
      and 'wgan_gp' 'w1_critic' (`wasserstein_estimates`). An objective with nothing to say returns {}.
  """
  name: str
  discriminator_loss: Callable[[jax.Array, jax.Array], jax.Array]
  generator_loss: Callable[[jax.Array], jax.Array]
  weight_clip: float | None
  gradient_penalty_weight: float
  probability: Callable[[jax.Array], jax.Array] | None
  estimates: Callable[[jax.Array, jax.Array], dict[str, jax.Array]]


def _outputs(x: ArrayLike, what: str) -> jax.Array:
  """Returns `x` as a float array after checking it is a non-empty vector of raw outputs."""
  x = jnp.asarray(x)
  if x.ndim != 1 or x.shape[0] == 0:
    raise ValueError(f"{what} must be a non-empty 1-D array of shape (n,); got shape {x.shape}")
  return x.astype(jnp.result_type(x.dtype, jnp.float32))


def _real_target(real_target: float | jax.Array) -> float | jax.Array:
  """Returns β as a float after checking 0 < β ≤ 1 (a traced β, one per vmapped replica, passes unchecked)."""
  if isinstance(real_target, jax.core.Tracer):
    return real_target
  try:
    beta = float(real_target)
  except (TypeError, ValueError):
    raise ValueError(f"real_target must be a number in (0, 1]; got {real_target!r}") from None
  if not 0.0 < beta <= 1.0:
    raise ValueError(f"real_target must be in (0, 1] (1.0 = no label smoothing); got {real_target!r}")
  return beta


# ----------------------------------------------------------------------------------------------------------------
# Logistic GAN (Goodfellow et al. 2014): D(x) = σ(l).


def logistic_discriminator_loss(
    real_logits: ArrayLike, fake_logits: ArrayLike, real_target: float = 1.0) -> jax.Array:
  """Sigmoid cross-entropy of the discriminator: −V(D, G) with optional one-sided label smoothing.

  −E_p[β log D(x) + (1 − β) log(1 − D(x))] − E_z[log(1 − D(G(z)))]. With β = 1 this is −V(D, G) of Goodfellow et
  al. 2014 (Eq. 1), minimised at D* = p/(p + g); with β < 1 (Salimans et al. 2016, Sec. 3.4) at D* = β·p/(p + g).

  Args:
    real_logits: discriminator logits on data, shape (n,).
    fake_logits: discriminator logits on generated samples, shape (m,).
    real_target: the real label β ∈ (0, 1]; fake labels stay 0. 1.0 means no smoothing.

  Returns:
    The scalar loss.

  Raises:
    ValueError: if a logit array is not a non-empty vector or `real_target` is not in (0, 1].
  """
  beta = _real_target(real_target)
  real_logits = _outputs(real_logits, "real_logits")
  fake_logits = _outputs(fake_logits, "fake_logits")
  # −log σ(l) = softplus(−l), −log(1 − σ(l)) = softplus(l).
  real_term = beta * jax.nn.softplus(-real_logits) + (1.0 - beta) * jax.nn.softplus(real_logits)
  return jnp.mean(real_term) + jnp.mean(jax.nn.softplus(fake_logits))


def minimax_generator_loss(fake_logits: ArrayLike) -> jax.Array:
  """The minimax generator cost E log(1 − D(G(z))) (Goodfellow et al. 2014, Eq. 1).

  Its derivative per sample in the logit is −D(G(z)): it saturates when D confidently rejects the samples.

  Args:
    fake_logits: discriminator logits on generated samples, shape (m,).

  Returns:
    The scalar loss.

  Raises:
    ValueError: if `fake_logits` is not a non-empty vector.
  """
  return -jnp.mean(jax.nn.softplus(_outputs(fake_logits, "fake_logits")))


def non_saturating_generator_loss(fake_logits: ArrayLike) -> jax.Array:
  """The non-saturating generator cost −E log D(G(z)) (Goodfellow et al. 2014, Sec. 3).

  Its derivative per sample in the logit is −(1 − D(G(z))), largest exactly when D rejects the samples.

  Args:
    fake_logits: discriminator logits on generated samples, shape (m,).

  Returns:
    The scalar loss.

  Raises:
    ValueError: if `fake_logits` is not a non-empty vector.
  """
  return jnp.mean(jax.nn.softplus(-_outputs(fake_logits, "fake_logits")))


def maximum_likelihood_generator_loss(fake_logits: ArrayLike) -> jax.Array:
  """The maximum-likelihood generator cost −½ E exp(σ⁻¹(D(G(z)))) (Goodfellow 2016 tutorial, Sec. 3.2.3).

  σ⁻¹(D) is the logit, so the cost is −½ E exp(l). With the optimal discriminator its expected gradient is that of
  KL(p‖g).

  Args:
    fake_logits: discriminator logits on generated samples, shape (m,).

  Returns:
    The scalar loss.

  Raises:
    ValueError: if `fake_logits` is not a non-empty vector.
  """
  return -0.5 * jnp.mean(jnp.exp(_outputs(fake_logits, "fake_logits")))


# ----------------------------------------------------------------------------------------------------------------
# Critic-value objectives.


def wasserstein_critic_loss(real_values: ArrayLike, fake_values: ArrayLike) -> jax.Array:
  """The WGAN critic loss E D(G(z)) − E D(x) (Arjovsky et al. 2017, Algorithm 1).

  Args:
    real_values: critic values on data, shape (n,).
    fake_values: critic values on generated samples, shape (m,).

  Returns:
    The scalar loss, −(estimate of W1) for a 1-Lipschitz critic.

  Raises:
    ValueError: if an input is not a non-empty vector.
  """
  return jnp.mean(_outputs(fake_values, "fake_values")) - jnp.mean(_outputs(real_values, "real_values"))


def wasserstein_generator_loss(fake_values: ArrayLike) -> jax.Array:
  """The WGAN generator loss −E D(G(z)) (Arjovsky et al. 2017, Algorithm 1); also the hinge generator loss.

  Args:
    fake_values: critic values on generated samples, shape (m,).

  Returns:
    The scalar loss.

  Raises:
    ValueError: if `fake_values` is not a non-empty vector.
  """
  return -jnp.mean(_outputs(fake_values, "fake_values"))


def least_squares_discriminator_loss(real_values: ArrayLike, fake_values: ArrayLike) -> jax.Array:
  """The LSGAN discriminator loss ½E(D(x) − b)² + ½E(D(G(z)) − a)², a = 0, b = 1 (Mao et al. 2017, Eq. 2).

  Minimised pointwise at D* = (b·p + a·g)/(p + g) = p/(p + g).

  Args:
    real_values: raw discriminator outputs on data, shape (n,).
    fake_values: raw discriminator outputs on generated samples, shape (m,).

  Returns:
    The scalar loss.

  Raises:
    ValueError: if an input is not a non-empty vector.
  """
  real_values = _outputs(real_values, "real_values")
  fake_values = _outputs(fake_values, "fake_values")
  return 0.5 * jnp.mean((real_values - 1.0) ** 2) + 0.5 * jnp.mean(fake_values**2)


def least_squares_generator_loss(fake_values: ArrayLike) -> jax.Array:
  """The LSGAN generator loss ½E(D(G(z)) − c)², c = 1 (Mao et al. 2017, Eq. 2).

  Args:
    fake_values: raw discriminator outputs on generated samples, shape (m,).

  Returns:
    The scalar loss.

  Raises:
    ValueError: if `fake_values` is not a non-empty vector.
  """
  return 0.5 * jnp.mean((_outputs(fake_values, "fake_values") - 1.0) ** 2)


def hinge_discriminator_loss(real_values: ArrayLike, fake_values: ArrayLike) -> jax.Array:
  """The hinge discriminator loss E max(0, 1 − D(x)) + E max(0, 1 + D(G(z))).

  Lim & Ye 2017; Miyato et al. 2018 (SN-GAN), Sec. 4.

  The generator side is `wasserstein_generator_loss`, −E D(G(z)) (Lim & Ye 2017; Miyato et al. 2018).

  Args:
    real_values: raw discriminator outputs on data, shape (n,).
    fake_values: raw discriminator outputs on generated samples, shape (m,).

  Returns:
    The scalar loss.

  Raises:
    ValueError: if an input is not a non-empty vector.
  """
  real_values = _outputs(real_values, "real_values")
  fake_values = _outputs(fake_values, "fake_values")
  return jnp.mean(jax.nn.relu(1.0 - real_values)) + jnp.mean(jax.nn.relu(1.0 + fake_values))


# ----------------------------------------------------------------------------------------------------------------
# f-GAN (Nowozin et al. 2016).

# f*(g_f(v)) in closed form. Composing the table's conjugate and activation in float32 overflows: for Hellinger
# g_f(v) = 1 − e^{−v} rounds to 1 at v ≳ 17 and f*(1) = 1/0; for JS σ(v) rounds to 1 and −log(2 − 2σ(v)) = ∞.
_CONJUGATE_OF_ACTIVATION: dict[str, Callable[[jax.Array], jax.Array]] = {
    "kl": lambda v: jnp.exp(v - 1.0),                        # e^{t−1}, t = v
    "reverse_kl": lambda v: v - 1.0,                         # −1 − log(−t), t = −e^{−v}
    "pearson": lambda v: 0.25 * v**2 + v,                    # t²/4 + t, t = v
    "hellinger": jnp.expm1,                                  # t/(1 − t), t = 1 − e^{−v}
    "js": lambda v: jax.nn.softplus(v) - jnp.log(2.0),       # −log(2 − eᵗ), eᵗ = 2σ(v)
}


def _fgan_divergence(divergence: str) -> f_divergences.FDivergence:
  if divergence not in FGAN_DIVERGENCES:
    raise ValueError(
        f"unknown f-GAN divergence {divergence!r}; valid names: {', '.join(FGAN_DIVERGENCES)}")
  return f_divergences.get_f_divergence(divergence)


def fgan_conjugate_of_activation(raw: ArrayLike, divergence: str) -> jax.Array:
  """Returns f*(g_f(v)) elementwise, in a closed form that stays finite where the composition overflows.

  Args:
    raw: raw outputs v, any shape.
    divergence: one of `FGAN_DIVERGENCES`.

  Returns:
    f*(g_f(v)), same shape as `raw`.

  Raises:
    ValueError: for an unknown divergence.
  """
  _fgan_divergence(divergence)
  return _CONJUGATE_OF_ACTIVATION[divergence](jnp.asarray(raw, jnp.float32))


def fgan_discriminator_loss(real_raw: ArrayLike, fake_raw: ArrayLike, divergence: str) -> jax.Array:
  """The f-GAN discriminator loss −F = −(E_P g_f(v) − E_Q f*(g_f(v))) (Nowozin et al. 2016, Eq. 6).

  At the optimal v* (g_f(v*) = f′(p/q)) −F equals D_f(P‖Q); elsewhere it is a lower bound (Eq. 4).

  Args:
    real_raw: raw outputs v on data (P), shape (n,).
    fake_raw: raw outputs v on generated samples (Q), shape (m,).
    divergence: one of `FGAN_DIVERGENCES`.

  Returns:
    The scalar loss −F.

  Raises:
    ValueError: for an unknown divergence or if an input is not a non-empty vector.
  """
  fd = _fgan_divergence(divergence)
  real_raw = _outputs(real_raw, "real_raw")
  fake_raw = _outputs(fake_raw, "fake_raw")
  return jnp.mean(_CONJUGATE_OF_ACTIVATION[divergence](fake_raw)) - jnp.mean(fd.activation(real_raw))


def fgan_generator_loss(fake_raw: ArrayLike, divergence: str, mode: str = "saddle") -> jax.Array:
  """The f-GAN generator loss.

  'saddle' minimises F itself (Nowozin et al. 2016, Eq. 6); only −E_Q f*(g_f(v)) depends on the generator.
  'heuristic' maximises E_Q g_f(v) instead (Nowozin et al. 2016, Sec. 3.2), the analogue of the non-saturating
  GAN cost; the loss is −E_Q g_f(v).

  Args:
    fake_raw: raw outputs v on generated samples, shape (m,).
    divergence: one of `FGAN_DIVERGENCES`.
    mode: one of `FGAN_GENERATORS`.

  Returns:
    The scalar loss.

  Raises:
    ValueError: for an unknown divergence or mode, or if `fake_raw` is not a non-empty vector.
  """
  fd = _fgan_divergence(divergence)
  if mode not in FGAN_GENERATORS:
    raise ValueError(f"unknown f-GAN generator mode {mode!r}; valid modes: {', '.join(FGAN_GENERATORS)}")
  fake_raw = _outputs(fake_raw, "fake_raw")
  if mode == "saddle":
    return -jnp.mean(_CONJUGATE_OF_ACTIVATION[divergence](fake_raw))
  return -jnp.mean(fd.activation(fake_raw))


# ----------------------------------------------------------------------------------------------------------------
# What each objective's discriminator estimates: estimates, not exact values, and only on held-out samples (on
# training samples they are biased by overfitting).


def logistic_estimates(real_logits: jax.Array, fake_logits: jax.Array) -> dict[str, jax.Array]:
  """V(D, G), the JS lower bound and the KL plug-ins of a logit discriminator D = σ(l).

  Args:
    real_logits: logits on held-out data, shape (n,).
    fake_logits: logits on held-out generated samples, shape (m,).

  Returns:
    {'v_d', 'js_lower_bound', 'kl_pg_plugin', 'kl_gp_plugin'}, each a scalar (see `divergences.value_from_logits`,
    `divergences.js_lower_bound`, `divergences.kl_pg_plugin`, `divergences.kl_gp_plugin`).
  """
  return {
      "v_d": divergences.value_from_logits(real_logits, fake_logits),
      "js_lower_bound": divergences.js_lower_bound(real_logits, fake_logits),
      "kl_pg_plugin": divergences.kl_pg_plugin(real_logits),
      "kl_gp_plugin": divergences.kl_gp_plugin(fake_logits),
  }


def least_squares_estimates(real_values: jax.Array, fake_values: jax.Array) -> dict[str, jax.Array]:
  """The JS lower bound of the least-squares D read as a probability (its optimum is p/(p + g), Mao et al. 2017).

  Args:
    real_values: raw outputs on held-out data, shape (n,).
    fake_values: raw outputs on held-out generated samples, shape (m,).

  Returns:
    {'js_lower_bound'}: `divergences.js_lower_bound` of the outputs' log-odds (`divergences.logits_of_probabilities`).
  """
  return {"js_lower_bound": divergences.js_lower_bound(divergences.logits_of_probabilities(real_values),
                                                       divergences.logits_of_probabilities(fake_values))}


def hinge_estimates(real_values: jax.Array, fake_values: jax.Array) -> dict[str, jax.Array]:
  """The total-variation lower bound of the hinge critic (its optimum is sign(p − g), Lim & Ye 2017).

  Args:
    real_values: raw outputs on held-out data, shape (n,).
    fake_values: raw outputs on held-out generated samples, shape (m,).

  Returns:
    {'tv_lower_bound'}: `divergences.tv_lower_bound`.
  """
  return {"tv_lower_bound": divergences.tv_lower_bound(real_values, fake_values)}


def fgan_estimates(real_raw: jax.Array, fake_raw: jax.Array, divergence: str) -> dict[str, jax.Array]:
  """The f-GAN variational lower bound on D_f(P‖Q) (Nowozin et al. 2016, Eq. 4).

  Args:
    real_raw: raw outputs v on held-out data, shape (n,).
    fake_raw: raw outputs v on held-out generated samples, shape (m,).
    divergence: one of `FGAN_DIVERGENCES`.

  Returns:
    {'f_lower_bound'}: `divergences.f_lower_bound`.
  """
  return {"f_lower_bound": divergences.f_lower_bound(divergence, real_raw, fake_raw)}


def wasserstein_estimates(real_values: jax.Array, fake_values: jax.Array) -> dict[str, jax.Array]:
  """The critic's W1 estimate E D(x) − E D(G(z)).

  A 1-Lipschitz critic gives a lower bound on W1 (Kantorovich–Rubinstein); clipping only bounds the Lipschitz
  constant up to an unknown scale, so this is W1 up to that scale.

  Args:
    real_values: critic values on held-out data, shape (n,).
    fake_values: critic values on held-out generated samples, shape (m,).

  Returns:
    {'w1_critic'}.
  """
  return {"w1_critic": jnp.mean(real_values) - jnp.mean(fake_values)}


# ----------------------------------------------------------------------------------------------------------------
# Registry.


def _positive_finite(value: float, what: str, allow_zero: bool) -> float:
  try:
    x = float(value)
  except (TypeError, ValueError):
    x = math.nan
  ok = math.isfinite(x) and (x >= 0.0 if allow_zero else x > 0.0)
  if not ok:
    allowed = "a finite number ≥ 0" if allow_zero else "a finite number > 0"
    raise ValueError(f"{what} must be {allowed}; got {value!r}")
  return x


def get_objective(
    name: str,
    *,
    real_target: float = 1.0,
    weight_clip: float = 0.01,
    gradient_penalty_weight: float = 10.0,
    fgan_generator: str = "saddle",
) -> Objective:
  """Returns the objective called `name`.

  Args:
    name: one of `OBJECTIVES`.
    real_target: one-sided label smoothing β ∈ (0, 1] for the real targets of 'minimax', 'non_saturating' and
      'maximum_likelihood' (Salimans et al. 2016); 1.0 (no smoothing) is the default, so D* = p/(p + g) unless
      asked otherwise.
    weight_clip: the clipping bound c of 'wasserstein' (Arjovsky et al. 2017: 0.01); ignored by other objectives.
    gradient_penalty_weight: λ of 'wgan_gp' (Gulrajani et al. 2017: 10); ignored by other objectives.
    fgan_generator: 'saddle' or 'heuristic' generator loss for the 'fgan_*' objectives.

  Returns:
    The `Objective`.

  Raises:
    ValueError: for an unknown name (the message lists every valid one), β ∉ (0, 1], β ≠ 1 for an objective without
      a logistic discriminator, weight_clip ≤ 0, gradient_penalty_weight < 0, an unknown `fgan_generator`, or
      'heuristic' for an objective that is not an f-GAN.
  """
  if name not in OBJECTIVES:
    raise ValueError(f"unknown objective {name!r}; valid names: {', '.join(OBJECTIVES)}")
  beta = _real_target(real_target)
  clip = _positive_finite(weight_clip, "weight_clip", allow_zero=False)
  gp_weight = _positive_finite(gradient_penalty_weight, "gradient_penalty_weight", allow_zero=True)
  if fgan_generator not in FGAN_GENERATORS:
    raise ValueError(
        f"unknown fgan_generator {fgan_generator!r}; valid values: {', '.join(FGAN_GENERATORS)}")
  if beta != 1.0 and name not in LOGISTIC:
    raise ValueError(
        f"real_target={real_target!r} (label smoothing) applies only to {', '.join(LOGISTIC)}; "
        f"objective {name!r} needs real_target=1.0")
  is_fgan = name.startswith("fgan_")
  if fgan_generator != "saddle" and not is_fgan:
    raise ValueError(
        f"fgan_generator={fgan_generator!r} applies only to the fgan_* objectives; objective {name!r} "
        "needs the default 'saddle'")

  if name in LOGISTIC:
    generator_loss = {
        "minimax": minimax_generator_loss,
        "non_saturating": non_saturating_generator_loss,
        "maximum_likelihood": maximum_likelihood_generator_loss,
    }[name]
    return Objective(
        name=name,
        discriminator_loss=functools.partial(logistic_discriminator_loss, real_target=beta),
        generator_loss=generator_loss,
        weight_clip=None,
        gradient_penalty_weight=0.0,
        probability=jax.nn.sigmoid,
        estimates=logistic_estimates,
    )
  if name in ("wasserstein", "wgan_gp"):
    return Objective(
        name=name,
        discriminator_loss=wasserstein_critic_loss,
        generator_loss=wasserstein_generator_loss,
        weight_clip=clip if name == "wasserstein" else None,
        gradient_penalty_weight=gp_weight if name == "wgan_gp" else 0.0,
        probability=None,
        estimates=wasserstein_estimates,
    )
  if name == "least_squares":
    return Objective(name, least_squares_discriminator_loss, least_squares_generator_loss, None, 0.0, None,
                     least_squares_estimates)
  if name == "hinge":
    return Objective(name, hinge_discriminator_loss, wasserstein_generator_loss, None, 0.0, None, hinge_estimates)
  divergence = name[len("fgan_"):]
  return Objective(
      name=name,
      discriminator_loss=functools.partial(fgan_discriminator_loss, divergence=divergence),
      generator_loss=functools.partial(fgan_generator_loss, divergence=divergence, mode=fgan_generator),
      weight_clip=None,
      gradient_penalty_weight=0.0,
      probability=None,
      estimates=functools.partial(fgan_estimates, divergence=divergence),
  )


# ----------------------------------------------------------------------------------------------------------------
# Penalties on the discriminator's input gradient.


def _input_gradients(discriminator_fn: Callable[[jax.Array], jax.Array], x: jax.Array) -> jax.Array:
  """Returns ∇_x D(x_i) per sample, flattened to shape (n, features)."""
  out = jax.eval_shape(discriminator_fn, x)
  if out.shape != (x.shape[0],):
    raise ValueError(
        f"discriminator_fn must map inputs of shape {x.shape} to raw outputs of shape ({x.shape[0]},); "
        f"got {out.shape}")
  # The gradient of the sum is the per-sample gradient as long as D treats samples independently (no batch norm).
  grads = jax.grad(lambda y: jnp.sum(discriminator_fn(y)))(x)
  return grads.reshape(x.shape[0], -1)


def _inputs(x: ArrayLike, what: str) -> jax.Array:
  x = jnp.asarray(x)
  if x.ndim < 2 or x.shape[0] == 0:
    raise ValueError(f"{what} must have shape (n, ...) with n ≥ 1 and at least 2 axes; got shape {x.shape}")
  return x.astype(jnp.result_type(x.dtype, jnp.float32))


def _safe_norm(v: jax.Array) -> jax.Array:
  """Row-wise ‖v‖₂ whose gradient is 0 (not NaN) at v = 0."""
  squared = jnp.sum(v**2, axis=-1)
  positive = squared > 0.0
  return jnp.where(positive, jnp.sqrt(jnp.where(positive, squared, 1.0)), 0.0)


def gradient_penalty(
    discriminator_fn: Callable[[jax.Array], jax.Array], real: ArrayLike, fake: ArrayLike, key: jax.Array
) -> jax.Array:
  """The WGAN-GP penalty E_x̂ (‖∇D(x̂)‖₂ − 1)² on random interpolates (Gulrajani et al. 2017, Eq. 3).

  x̂ = ε·x + (1 − ε)·x̃ with ε ~ U[0, 1] drawn per sample (Algorithm 1). The engine adds λ times this to the
  critic loss.

  Args:
    discriminator_fn: maps inputs (n, ...) to raw outputs (n,), treating samples independently.
    real: data batch, shape (n, ...).
    fake: generated batch, same shape as `real`.
    key: PRNG key for ε.

  Returns:
    The scalar penalty (without λ).

  Raises:
    ValueError: if the batches' shapes differ or are not (n, ...), or `discriminator_fn` does not return (n,).
  """
  real = _inputs(real, "real")
  fake = _inputs(fake, "fake")
  if real.shape != fake.shape:
    raise ValueError(f"real and fake must have the same shape; got {real.shape} and {fake.shape}")
  eps = jax.random.uniform(key, (real.shape[0],) + (1,) * (real.ndim - 1), dtype=real.dtype)
  interpolates = eps * real + (1.0 - eps) * fake
  norms = _safe_norm(_input_gradients(discriminator_fn, interpolates))
  return jnp.mean((norms - 1.0) ** 2)


def r1_penalty(discriminator_fn: Callable[[jax.Array], jax.Array], real: ArrayLike) -> jax.Array:
  """The R1 penalty E_p ‖∇_x D(x)‖² on data, WITHOUT the factor γ/2 (Mescheder et al. 2018, Sec. 4.1).

  Mescheder et al. define R1(ψ) = (γ/2)·E_p ‖∇D_ψ(x)‖², with D_ψ the logit (raw output). This function returns the
  expectation only; the engine adds (γ/2)·r1_penalty(...) to the discriminator loss.

  Args:
    discriminator_fn: maps inputs (n, ...) to raw outputs (n,), treating samples independently.
    real: data batch, shape (n, ...).

  Returns:
    The scalar mean squared input-gradient norm.

  Raises:
    ValueError: if `real` is not (n, ...) or `discriminator_fn` does not return (n,).
  """
  grads = _input_gradients(discriminator_fn, _inputs(real, "real"))
  return jnp.mean(jnp.sum(grads**2, axis=-1))


def r2_penalty(discriminator_fn: Callable[[jax.Array], jax.Array], fake: ArrayLike) -> jax.Array:
  """The R2 penalty E_g ‖∇_x D(x)‖² on generated samples, WITHOUT γ/2 (Mescheder et al. 2018, Sec. 4.1).

  Args:
    discriminator_fn: maps inputs (n, ...) to raw outputs (n,), treating samples independently.
    fake: generated batch, shape (n, ...).

  Returns:
    The scalar mean squared input-gradient norm; the engine adds (γ/2)·r2_penalty(...).

  Raises:
    ValueError: if `fake` is not (n, ...) or `discriminator_fn` does not return (n,).
  """
  grads = _input_gradients(discriminator_fn, _inputs(fake, "fake"))
  return jnp.mean(jnp.sum(grads**2, axis=-1))
