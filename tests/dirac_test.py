"""Tests for gan_jax/dirac.py: the Dirac-GAN (Mescheder et al. 2018) against its closed forms."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import dirac


def _sorted(eig):
  eig = np.asarray(eig, np.complex128)
  return eig[np.lexsort((eig.real, eig.imag))]


def test_f_prime_at_zero_read_off_the_losses():
  # Mescheder et al. 2018: f(t) = −log(1 + e^{−t}) has f′(0) = 1/2; WGAN's f(t) = t has f′(0) = 1.
  assert dirac.f_prime_at_zero(dirac.get_game("minimax")) == pytest.approx(0.5, abs=1e-7)
  assert dirac.f_prime_at_zero(dirac.get_game("non_saturating")) == pytest.approx(0.5, abs=1e-7)
  assert dirac.f_prime_at_zero(dirac.get_game("wgan")) == pytest.approx(1.0, abs=1e-7)


def test_vector_field_matches_hand_derivation():
  # L_D = softplus(0) + softplus(ψθ), L_G = −softplus(ψθ): v = (ψσ(ψθ), −θσ(ψθ)).
  game = dirac.get_game("minimax")
  for theta, psi in [(0.3, -0.7), (1.0, 1.0), (-2.0, 0.5)]:
    s = 1.0 / (1.0 + math.exp(-psi * theta))
    np.testing.assert_allclose(dirac.vector_field(game, (theta, psi)), [psi * s, -theta * s], rtol=1e-6)
  # R1 adds −γψ to the ψ component (the gradient of (γ/2)ψ²).
  r1 = dirac.DiracGame("minimax", r1_weight=0.7)
  np.testing.assert_allclose(dirac.vector_field(r1, (0.4, 0.9)) - dirac.vector_field(game, (0.4, 0.9)),
                             [0.0, -0.7 * 0.9], atol=1e-6)


@pytest.mark.parametrize("name,imag", [("minimax", 0.5), ("non_saturating", 0.5), ("wgan", 1.0)])
def test_unregularised_eigenvalues_are_pure_imaginary(name, imag):
  # Mescheder et al. 2018, Lemma 2.2: ±i·f′(0) at the equilibrium.
  eig = dirac.equilibrium_eigenvalues(dirac.get_game(name))
  np.testing.assert_allclose(eig, _sorted([-1j * imag, 1j * imag]), atol=1e-5)


@pytest.mark.parametrize("gamma", [0.1, 0.5, 0.9, 1.0, 1.5, 2.0, 4.0])
def test_r1_eigenvalues_match_closed_form(gamma):
  # Mescheder et al. 2018, Sec. 4.1: −γ/2 ± sqrt(γ²/4 − 1/4), computed independently here in NumPy.
  expected = _sorted(np.roots([1.0, gamma, 0.25]))  # λ² + γλ + f′(0)² = 0
  jac = dirac.jacobian(dirac.DiracGame("minimax", r1_weight=gamma))
  got = _sorted(np.linalg.eigvals(np.asarray(jac, np.float64)))
  # At γ = 1 the root is double (defective Jacobian): eigvals of an exact float32 matrix still land within 1e-7.
  np.testing.assert_allclose(got, expected, atol=1e-5)
  np.testing.assert_allclose(dirac.r1_eigenvalues(gamma), expected, atol=1e-12)
  np.testing.assert_allclose(np.asarray(jac), [[0.0, 0.5], [-0.5, -gamma]], atol=1e-7)


def test_critical_gamma_is_one():
  below, at, above = (dirac.r1_eigenvalues(g) for g in (0.99, 1.0, 1.01))
  assert np.all(np.abs(below.imag) > 0) and np.allclose(at.imag, 0) and np.allclose(above.imag, 0)
  assert np.allclose(at, [-0.5, -0.5])


def test_simultaneous_gd_spirals_out_and_alternating_cycles():
  game = dirac.get_game("minimax")
  sim = np.asarray(dirac.simulate(game, (1.0, 1.0), num_steps=300, learning_rate=0.1, mode="simultaneous"))
  norms = np.linalg.norm(sim, axis=1)
  assert np.all(np.diff(norms) > 0), "simultaneous GD must move outwards at every step"
  assert norms[-1] > 1.25 * norms[0]
  # Near the equilibrium the linearised update I + hJ has |eigenvalue| = sqrt(1 + h²/4) > 1.
  small = np.asarray(dirac.simulate(game, (1e-3, 0.0), num_steps=200, learning_rate=0.1))
  growth = np.linalg.norm(small[-1]) / np.linalg.norm(small[0])
  assert growth == pytest.approx((1 + 0.1**2 / 4) ** (200 / 2), rel=1e-3)
  alt = np.asarray(dirac.simulate(game, (1.0, 1.0), num_steps=300, learning_rate=0.1, mode="alternating"))
  alt_norms = np.linalg.norm(alt, axis=1)
  assert alt_norms.max() < 1.05 * alt_norms[0] and alt_norms.min() > 0.9 * alt_norms[0]


def test_r1_at_critical_gamma_converges():
  game = dirac.get_game("r1")
  for mode in dirac.MODES:
    path = np.asarray(dirac.simulate(game, (1.0, 1.0), num_steps=400, learning_rate=0.1, mode=mode))
    assert np.linalg.norm(path[-1]) < 1e-5 * np.linalg.norm(path[0]), mode


def test_wgan_clip_keeps_psi_in_bounds():
  path = np.asarray(dirac.simulate(dirac.get_game("wgan"), (1.5, 0.5), num_steps=200, learning_rate=0.2))
  assert np.abs(path[1:, 1]).max() <= 1.0 + 1e-7
  assert np.abs(path[1:, 1]).max() == pytest.approx(1.0)


@pytest.mark.parametrize("name,mode", [("minimax", "simultaneous"), ("wgan", "alternating"),
                                       ("wgan_gp", "simultaneous"), ("r1", "alternating")])
def test_engine_reproduces_the_dynamics(name, mode):
  # The same game through engine.train_step (point-mass target and generator, linear D, SGD).
  game = dirac.get_game(name)
  ours = dirac.simulate(game, (0.8, -0.6), num_steps=60, learning_rate=0.1, mode=mode)
  through_engine = dirac.engine_trajectory(game, (0.8, -0.6), num_steps=60, learning_rate=0.1, mode=mode)
  np.testing.assert_allclose(np.asarray(through_engine), np.asarray(ours), atol=1e-5)


def test_point_mass_generator_ignores_the_latent():
  module = dirac.PointMassGenerator()
  params = {"params": {"theta": jnp.array([1.5])}}
  out = module.apply(params, jax.random.normal(jax.random.PRNGKey(0), (5, 1)))
  np.testing.assert_array_equal(np.asarray(out), np.full((5, 1), 1.5, np.float32))


def test_bad_inputs_raise_one_line_errors():
  with pytest.raises(ValueError, match="allowed: minimax, non_saturating, wasserstein, wgan_gp"):
    dirac.DiracGame("hinge")
  with pytest.raises(ValueError, match="r1_weight=-1.0"):
    dirac.DiracGame("minimax", r1_weight=-1.0)
  with pytest.raises(ValueError, match="valid names: minimax"):
    dirac.get_game("bogus")
  game = dirac.get_game("minimax")
  with pytest.raises(ValueError, match="mode='sideways'"):
    dirac.simulate(game, (1.0, 1.0), num_steps=3, learning_rate=0.1, mode="sideways")
  with pytest.raises(ValueError, match="num_steps=0"):
    dirac.simulate(game, (1.0, 1.0), num_steps=0, learning_rate=0.1)
  with pytest.raises(ValueError, match="shape"):
    dirac.vector_field(game, (1.0, 2.0, 3.0))
