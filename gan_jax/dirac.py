"""The Dirac-GAN of Mescheder et al. 2018 (Sec. 2.2): the smallest GAN that does not converge.

Data is a point mass at 0, the generator a point mass at θ, and the discriminator is linear, D(x) = ψ·x (a logit
for the logistic objectives, a critic value for WGAN). With the engine's conventions (`gan_jax.objectives`: each
player MINIMISES its loss; real outputs ψ·0 = 0, fake outputs ψ·θ) the players' losses are

    L_D(θ, ψ) = discriminator_loss([0], [ψθ]) + penalties,      L_G(θ, ψ) = generator_loss([ψθ]),

and the gradient vector field is v(θ, ψ) = (−∂L_G/∂θ, −∂L_D/∂ψ). Mescheder et al. write the zero-sum game as
L = f(ψθ) + f(0) with D scoring the fake sample; ours is the mirror image ψ ↦ −ψ, which leaves every eigenvalue
unchanged. Their f′(0) is here the derivative of the discriminator loss in the fake output at 0 (`f_prime_at_zero`):
1/2 for the logistic loss, 1 for WGAN.

At the equilibrium (0, 0) the unregularised game's Jacobian has eigenvalues ±i·f′(0) (Mescheder et al. 2018,
Lemma 2.2): simultaneous gradient descent spirals out, alternating descent cycles. The R1 penalty (γ/2)·ψ² gives
eigenvalues −γ/2 ± sqrt(γ²/4 − f′(0)²) (Sec. 4.1), so every γ > 0 converges locally and γ = 2·f′(0) = 1 is
critically damped. WGAN-GP's penalty λ(|ψ| − 1)² has no stationary point at ψ = 0: its trajectories do not reach
(0, 0) (from (1, 1) they stall near (2λ, 0⁺), where the penalty's push on ψ balances the generator's).

The game is also trainable through the training engine: `engine_gan` builds a `engine.GAN` from the engine's own
pieces (a `PointMass` target, `models.get_discriminator('linear')`, the `PointMassGenerator` below, SGD) and
`engine_trajectory` runs `engine.train_step`; the tests check it reproduces `simulate` step by step.
"""
import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike
import numpy as np
import optax

from gan_jax import distributions
from gan_jax import engine
from gan_jax import models
from gan_jax import objectives as objectives_lib
from gan_jax import players
from gan_jax import toy_task

Array = jax.Array

MODES: tuple[str, ...] = ("simultaneous", "alternating")
# The objectives whose losses the Dirac-GAN plugs ψθ into (f-GANs and hinge/LSGAN have other equilibria).
DIRAC_OBJECTIVES: tuple[str, ...] = ("minimax", "non_saturating", "wasserstein", "wgan_gp")


@dataclasses.dataclass(frozen=True)
class DiracGame:
  """One Dirac-GAN: an objective of `gan_jax.objectives` and its regularisation.

  Attributes:
    objective: one of `DIRAC_OBJECTIVES`.
    r1_weight: γ of the R1 penalty (γ/2)·E_p‖∇_x D‖² = (γ/2)·ψ² (Mescheder et al. 2018, Eq. 9); 0 = off.
    weight_clip: 'wasserstein' only: the bound c on |ψ| after each discriminator step (c = 1 makes D(x) = ψx
      1-Lipschitz, the WGAN constraint of Arjovsky et al. 2017).
    gradient_penalty_weight: 'wgan_gp' only: λ of λ·E(‖∇D‖ − 1)² = λ(|ψ| − 1)² (Gulrajani et al. 2017, Eq. 3).
  """
  objective: str
  r1_weight: float = 0.0
  weight_clip: float = 1.0
  gradient_penalty_weight: float = 1.0

  def __post_init__(self) -> None:
    if self.objective not in DIRAC_OBJECTIVES:
      raise ValueError(f"objective={self.objective!r} is not a Dirac-GAN objective; allowed: "
                       f"{', '.join(DIRAC_OBJECTIVES)}")
    for name in ("r1_weight", "weight_clip", "gradient_penalty_weight"):
      value = getattr(self, name)
      if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}={value!r} is invalid; allowed: a finite number >= 0")
    if self.weight_clip == 0:
      raise ValueError(f"weight_clip={self.weight_clip!r} is invalid; allowed: a finite number > 0")

  def get_objective(self) -> objectives_lib.Objective:
    """The `objectives.Objective` this game plays (its weight clip and penalty weight set from the game)."""
    return objectives_lib.get_objective(self.objective, weight_clip=self.weight_clip,
                                        gradient_penalty_weight=self.gradient_penalty_weight)


# The five games of Mescheder et al. 2018, Fig. 3 (a, b, c, f) plus the non-saturating GAN; R1 at critical γ = 1.
PRESETS: dict[str, DiracGame] = {
    "minimax": DiracGame("minimax"),
    "non_saturating": DiracGame("non_saturating"),
    "wgan": DiracGame("wasserstein"),
    "wgan_gp": DiracGame("wgan_gp"),
    "r1": DiracGame("minimax", r1_weight=1.0),
}


def get_game(name: str) -> DiracGame:
  """The preset Dirac-GAN called `name`.

  Raises:
    ValueError: for an unknown name (the message lists the valid ones).
  """
  if name not in PRESETS:
    raise ValueError(f"unknown Dirac-GAN {name!r}; valid names: {', '.join(PRESETS)}")
  return PRESETS[name]


def _check_mode(mode: str) -> None:
  if mode not in MODES:
    raise ValueError(f"mode={mode!r} is invalid; allowed: {' | '.join(MODES)}")


def _check_params(params: Any) -> Array:
  params = jnp.asarray(params, jnp.float32)
  if params.shape != (2,):
    raise ValueError(f"params must be (θ, ψ) of shape (2,), got shape {params.shape}")
  return params


def _linear(psi: Array):
  return lambda x: psi * x[:, 0]


def discriminator_loss(game: DiracGame, theta: ArrayLike, psi: ArrayLike) -> Array:
  """L_D(θ, ψ): the objective's discriminator loss on real output 0 and fake output ψθ, plus penalties.

  Args:
    game: the Dirac-GAN.
    theta: the generator's atom θ (scalar).
    psi: the discriminator's slope ψ (scalar).

  Returns:
    The scalar loss the discriminator minimises.
  """
  objective = game.get_objective()
  real, fake = jnp.zeros((1, 1)), jnp.reshape(theta, (1, 1)).astype(jnp.float32)
  disc = _linear(psi)
  loss = objective.discriminator_loss(disc(real), disc(fake))
  if objective.gradient_penalty_weight:
    # ∇_x(ψx) = ψ at every interpolate, so the draw of ε cannot change the value: a fixed key is exact here.
    loss += objective.gradient_penalty_weight * objectives_lib.gradient_penalty(
        disc, real, fake, jax.random.key(0))
  if game.r1_weight:
    # Mescheder et al. 2018, Eq. 9: (γ/2)·E_p‖∇D‖² = (γ/2)·ψ².
    loss += 0.5 * game.r1_weight * objectives_lib.r1_penalty(disc, real)
  return loss


def generator_loss(game: DiracGame, theta: ArrayLike, psi: ArrayLike) -> Array:
  """L_G(θ, ψ): the objective's generator loss on the fake output ψθ."""
  fake = jnp.reshape(theta, (1, 1)).astype(jnp.float32)
  return game.get_objective().generator_loss(_linear(psi)(fake))


def vector_field(game: DiracGame, params: ArrayLike) -> Array:
  """The gradient vector field v(θ, ψ) = (−∂L_G/∂θ, −∂L_D/∂ψ) (Mescheder et al. 2018, Eq. 3).

  Args:
    game: the Dirac-GAN.
    params: (θ, ψ), shape (2,).

  Returns:
    v, shape (2,): the direction a small gradient step moves each player.

  Raises:
    ValueError: if params is not of shape (2,).
  """
  params = _check_params(params)
  theta, psi = params[0], params[1]
  d_theta = jax.grad(generator_loss, argnums=1)(game, theta, psi)
  d_psi = jax.grad(discriminator_loss, argnums=2)(game, theta, psi)
  return -jnp.stack([d_theta, d_psi])


# jit with the game static: one small program per game instead of dozens of eager ops per evaluation.
_vector_field = jax.jit(vector_field, static_argnums=0)
_jacobian = jax.jit(lambda game, p: jax.jacfwd(lambda q: vector_field(game, q))(p), static_argnums=0)


def vector_field_on_grid(game: DiracGame, thetas: ArrayLike, psis: ArrayLike) -> Array:
  """v at every (θ, ψ) of a grid: (len(psis), len(thetas), 2), rows indexed by ψ (matplotlib's quiver order)."""
  theta, psi = jnp.meshgrid(jnp.asarray(thetas, jnp.float32), jnp.asarray(psis, jnp.float32))
  points = jnp.stack([theta.ravel(), psi.ravel()], axis=-1)
  return jax.vmap(lambda p: _vector_field(game, p))(points).reshape(theta.shape + (2,))


def jacobian(game: DiracGame, params: ArrayLike = (0.0, 0.0)) -> Array:
  """The Jacobian ∂v/∂(θ, ψ) (2, 2) of the gradient vector field, by forward-mode autodiff (default at (0, 0))."""
  return _jacobian(game, _check_params(params))


def equilibrium_eigenvalues(game: DiracGame) -> np.ndarray:
  """Eigenvalues (2,) of the Jacobian at the equilibrium (0, 0), complex128, sorted by imaginary part.

  Not meaningful for 'wgan_gp', whose penalty λ(|ψ| − 1)² is not differentiable at ψ = 0 and whose stationary
  ψ is ±1, not 0 (the game has no equilibrium at the origin).
  """
  eig = np.linalg.eigvals(np.asarray(jacobian(game), np.float64))
  return eig[np.lexsort((eig.real, eig.imag))]


def f_prime_at_zero(game: DiracGame) -> float:
  """f′(0) of Mescheder et al. 2018: the derivative of the discriminator loss in its fake output, at 0.

  1/2 for the logistic loss softplus(l) (σ(0)), 1 for the WGAN critic loss. Read off the objective's own loss.
  """
  loss = game.get_objective().discriminator_loss
  return float(jax.grad(lambda t: loss(jnp.zeros((1,)), jnp.reshape(t, (1,))))(0.0))


def r1_eigenvalues(gamma: float, f_prime: float = 0.5) -> np.ndarray:
  """Closed form −γ/2 ± sqrt(γ²/4 − f′(0)²) of the R1-regularised Jacobian (Mescheder et al. 2018, Sec. 4.1).

  Args:
    gamma: the R1 weight γ ≥ 0.
    f_prime: f′(0) (1/2 for the logistic loss).

  Returns:
    The two eigenvalues, complex128, sorted by imaginary part (then real part).
  """
  root = np.sqrt(complex(gamma**2 / 4.0 - f_prime**2))
  eig = np.array([-gamma / 2.0 - root, -gamma / 2.0 + root])
  return eig[np.lexsort((eig.real, eig.imag))]


def simulate(game: DiracGame, init: ArrayLike, *, num_steps: int, learning_rate: float,
             mode: str = "simultaneous") -> Array:
  """Gradient descent on the Dirac-GAN: the trajectory (num_steps + 1, 2) of (θ, ψ), starting at `init`.

  Simultaneous: both players step from the same point. Alternating: the discriminator steps first and the
  generator then sees the new ψ (the engine's 'alternating' update order). A WGAN step clips ψ to [−c, c].

  Args:
    game: the Dirac-GAN.
    init: (θ₀, ψ₀), shape (2,).
    num_steps: number of steps.
    learning_rate: the step size h > 0.
    mode: 'simultaneous' or 'alternating'.

  Returns:
    The trajectory, float32, row 0 = init.

  Raises:
    ValueError: for a bad mode, step count, learning rate or init shape.
  """
  _check_mode(mode)
  if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
    raise ValueError(f"num_steps={num_steps!r} is invalid; allowed: an integer >= 1")
  if not isinstance(learning_rate, (int, float)) or not learning_rate > 0:
    raise ValueError(f"learning_rate={learning_rate!r} is invalid; allowed: a number > 0")
  init = _check_params(init)
  clip = game.weight_clip if game.objective == "wasserstein" else None
  d_psi = jax.grad(discriminator_loss, argnums=2)
  d_theta = jax.grad(generator_loss, argnums=1)

  def step(params, _):
    theta, psi = params[0], params[1]
    new_psi = psi - learning_rate * d_psi(game, theta, psi)
    if clip is not None:
      new_psi = jnp.clip(new_psi, -clip, clip)
    seen = psi if mode == "simultaneous" else new_psi
    new_theta = theta - learning_rate * d_theta(game, theta, seen)
    new = jnp.stack([new_theta, new_psi])
    return new, new

  _, path = jax.jit(lambda x: jax.lax.scan(step, x, None, length=num_steps))(init)
  return jnp.concatenate([init[None], path], axis=0)


# --- the same game through the training engine ----------------------------------------------------------------

PointMassGenerator = models.PointMassGenerator


def engine_gan(game: DiracGame, *, learning_rate: float, mode: str = "simultaneous") -> engine.GAN:
  """The Dirac-GAN as an `engine.GAN`: point-mass generator, `models.get_discriminator('linear')`, plain SGD.

  The same game is `train.build_gan(configs/dirac.py)` (target 'dirac', generator 'point', discriminator
  'linear'); here the spec is assembled directly so that any `DiracGame` preset (its own f and R1 weight) runs.

  Args:
    game: the Dirac-GAN.
    learning_rate: the SGD step size h of both players.
    mode: 'simultaneous' or 'alternating'.

  Returns:
    The static spec; pair it with `distributions.PointMass(0.0)` as the target.
  """
  _check_mode(mode)
  return engine.GAN(
      players=players.ToyPlayers(generator=PointMassGenerator(), discriminator=models.get_discriminator("linear"),
                                 latent_dim=1, data_dim=1),
      objective=game.get_objective(),
      g_tx=optax.sgd(learning_rate),
      d_tx=optax.sgd(learning_rate),
      batch_size=1,  # every sample of a point mass is the same: one is the exact expectation.
      n_critic=1,
      simultaneous=mode == "simultaneous",
      r1_weight=float(game.r1_weight),
      r2_weight=0.0,
      ema_decay=0.0,
  )


def engine_trajectory(game: DiracGame, init: ArrayLike, *, num_steps: int, learning_rate: float,
                      mode: str = "simultaneous", seed: int = 0) -> Array:
  """`simulate`, but every step is `engine.train_step` on `engine_gan` and a `PointMass(0)` target.

  Returns:
    The trajectory (num_steps + 1, 2) of (θ, ψ), row 0 = init.
  """
  init = _check_params(init)
  gan = engine_gan(game, learning_rate=learning_rate, mode=mode)
  target = distributions.PointMass(0.0)
  state = engine.init_state(gan, jax.random.PRNGKey(seed))
  g_params = {"params": {"theta": init[:1]}}
  d_params = {"params": {"Dense_0": {"kernel": init[1:].reshape(1, 1)}}}
  state = state.replace(g_params=g_params, d_params=d_params, ema_g_params=g_params,
                        g_opt_state=gan.g_tx.init(g_params), d_opt_state=gan.d_tx.init(d_params))

  def body(state, _):
    state, _ = engine.train_step(gan, state, toy_task.sample_real(gan, target, state))
    point = jnp.stack([state.g_params["params"]["theta"][0], state.d_params["params"]["Dense_0"]["kernel"][0, 0]])
    return state, point

  _, path = jax.jit(lambda s: jax.lax.scan(body, s, None, length=num_steps))(state)
  return jnp.concatenate([init[None], path], axis=0)
