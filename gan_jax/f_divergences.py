"""The f-divergence table of f-GAN (Nowozin et al. 2016, Tables 1 and 2).

An f-divergence D_f(P‖Q) = ∫ q(x) f(p(x)/q(x)) dx has the variational lower bound

    D_f(P‖Q) ≥ sup_T E_P[T(x)] − E_Q[f*(T(x))],                    (Nowozin et al. 2016, Eq. 4)

tight at T = f′(p/q). A network's raw output v is mapped into the domain of f* by the output activation
T = g_f(v). Both the training objectives (`objectives.py`) and the bound estimates (`divergences.py`) read this
table, so the two can never disagree.

Note the scales: with these generators f, `js` is 2·JSD(P‖Q) (in nats) and `gan` is 2·JSD(P‖Q) − log 4.
"""
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

Fn = Callable[[jax.Array], jax.Array]


class FDivergence(NamedTuple):
  """One row of the f-GAN table.

  Attributes:
    name: registry name.
    f: the convex generator f(u), u = p/q > 0; f(1) = 0 for every row but `gan`, whose f(1) = −log 4.
    f_prime: its derivative; T* = f′(p/q) attains the bound.
    activation: output activation g_f mapping a raw output v ∈ ℝ into dom f*.
    conjugate: the Fenchel conjugate f*(t) on dom f*.
  """
  name: str
  f: Fn
  f_prime: Fn
  activation: Fn
  conjugate: Fn


def _kl() -> FDivergence:
  return FDivergence(
      name="kl",
      f=lambda u: u * jnp.log(u),
      f_prime=lambda u: 1.0 + jnp.log(u),
      activation=lambda v: v,
      conjugate=lambda t: jnp.exp(t - 1.0),
  )


def _reverse_kl() -> FDivergence:
  return FDivergence(
      name="reverse_kl",
      f=lambda u: -jnp.log(u),
      f_prime=lambda u: -1.0 / u,
      activation=lambda v: -jnp.exp(-v),
      conjugate=lambda t: -1.0 - jnp.log(-t),
  )


def _pearson() -> FDivergence:
  return FDivergence(
      name="pearson",
      f=lambda u: (u - 1.0) ** 2,
      f_prime=lambda u: 2.0 * (u - 1.0),
      activation=lambda v: v,
      conjugate=lambda t: 0.25 * t**2 + t,
  )


def _hellinger() -> FDivergence:
  # Squared Hellinger without the ½: ∫ (√p − √q)².
  return FDivergence(
      name="hellinger",
      f=lambda u: (jnp.sqrt(u) - 1.0) ** 2,
      f_prime=lambda u: 1.0 - 1.0 / jnp.sqrt(u),
      activation=lambda v: 1.0 - jnp.exp(-v),
      conjugate=lambda t: t / (1.0 - t),
  )


def _js() -> FDivergence:
  # D_f = 2·JSD with this f (Table 1's f; the conjugate −log(2 − eᵗ) of Table 2 belongs to it).
  return FDivergence(
      name="js",
      f=lambda u: -(u + 1.0) * jnp.log((1.0 + u) / 2.0) + u * jnp.log(u),
      f_prime=lambda u: jnp.log(2.0 * u / (1.0 + u)),
      # log 2 − log(1 + e^{−v}), written stably.
      activation=lambda v: jnp.log(2.0) + jax.nn.log_sigmoid(v),
      # −log(2 − eᵗ) = −log 2 − log1p(−eᵗ/2).
      conjugate=lambda t: -jnp.log(2.0) - jnp.log1p(-0.5 * jnp.exp(t)),
  )


def _gan() -> FDivergence:
  # The GAN game's divergence 2·JSD − log 4; g_f(v) = log σ(v), so T is log D for D = σ(v).
  return FDivergence(
      name="gan",
      f=lambda u: u * jnp.log(u) - (u + 1.0) * jnp.log(u + 1.0),
      f_prime=lambda u: jnp.log(u / (u + 1.0)),
      activation=jax.nn.log_sigmoid,
      # −log(1 − eᵗ) for t < 0.
      conjugate=lambda t: -jnp.log(-jnp.expm1(t)),
  )


F_DIVERGENCES: dict[str, Callable[[], FDivergence]] = {
    "kl": _kl,
    "reverse_kl": _reverse_kl,
    "pearson": _pearson,
    "hellinger": _hellinger,
    "js": _js,
    "gan": _gan,
}


def get_f_divergence(name: str) -> FDivergence:
  """Returns the f-GAN table row called `name`.

  Args:
    name: one of `F_DIVERGENCES`.

  Returns:
    The `FDivergence` row.

  Raises:
    ValueError: for an unknown name; the message lists the valid ones.
  """
  if name not in F_DIVERGENCES:
    raise ValueError(
        f"unknown f-divergence {name!r}; valid names: {', '.join(sorted(F_DIVERGENCES))}")
  return F_DIVERGENCES[name]()
