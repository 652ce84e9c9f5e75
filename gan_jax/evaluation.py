"""Divergence logging: how far the generator is from the data, exactly and as the discriminator sees it.

At each evaluation, per replica (vmappable, jittable):
- exact `js`, `kl_pg` = KL(p‖g), `kl_gp` = KL(g‖p), `w1` (1-D) and V(D*, G) when the generator has a density
  (invertible generators), from `divergences.py`; Monte Carlo ones carry `<name>_stderr`;
- `w1_ot` in 2-D: W1 by optimal assignment between held-out samples, for any generator (biased upward);
- the same with g replaced by a Gaussian KDE of generator samples (`js_kde`, `kl_pg_kde`, `kl_gp_kde`), for any
  generator in ≤ 2 dimensions — estimates, named so no one mistakes them for exact;
- from the training discriminator on held-out samples: V(D, G), the JS lower bound, the KL plug-ins (logit
  objectives), the f-GAN bound (f-GAN objectives) or the critic's W1 estimate (Wasserstein objectives);
- where D* is known: mean |D − D*| and the gap V(D*, G) − V(D, G);
- for mixture targets (ring, grid): modes covered and the fraction of high-quality samples (VEEGAN/PacGAN protocol).
"""
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gan_jax import distributions
from gan_jax import divergences
from gan_jax import metrics as metrics_lib
from gan_jax import models

# The VEEGAN / PacGAN protocol scores 2,500 generated samples.
MODE_SAMPLES = 2500
# Evaluations only objectives with a probability D(x) = σ(l) have (besides `discriminator_estimates`).
_LOGIT_ONLY = ("d_vs_dstar", "v_gap")


class EvalSpec(NamedTuple):
  """Static evaluation options."""
  num_samples: int         # held-out samples per player for the discriminator-based estimates
  mc_samples: int          # Monte Carlo samples for exact divergences in d >= 2
  kde_samples: int         # generator samples behind the KDE (0 = off)
  w1_samples: int = 0      # held-out samples per side of the 2-D optimal-transport W1 (0 = off)


def _estimate(out: dict, name: str, est: divergences.Estimate) -> None:
  out[name] = est.value
  if est.method in ("monte_carlo", "optimal_transport"):
    out[name + "_stderr"] = est.stderr


def _divergences(out: dict, suffix: str, target: Any, g: Any, key: jax.Array, mc_samples: int,
                 names: tuple[str, ...] = ("js", "kl_pg", "kl_gp")) -> None:
  # One call: in 1-D the four quadratures share the grid's density evaluations. The rest is dead code under jit.
  estimates = divergences.js_kl_and_value(target, g, key=key, num_samples=mc_samples)
  for name in names:
    _estimate(out, name + suffix, estimates[name])


def discriminator_estimates(objective: Any, real_out: jax.Array, fake_out: jax.Array) -> dict[str, jax.Array]:
  """What the discriminator's raw outputs on held-out real and generated samples say about the divergence.

  Estimates, not exact values: V(D, G), the JS lower bound and the KL plug-ins for logit objectives, the JS lower
  bound of the least-squares D read as a probability (its optimum is p/(p + g)), the total-variation lower bound
  of the hinge critic (its optimum is sign(p − g)), the f-GAN bound for f-GAN objectives, the critic's W1 estimate
  for Wasserstein objectives. Each objective carries its own (`objectives.Objective.estimates`), so a new objective
  states them where it is defined.
  """
  return objective.estimates(real_out, fake_out)


def _replica_estimates(gan: Any, state: Any, real_out: jax.Array, fake_out: jax.Array) -> dict[str, jax.Array]:
  """`discriminator_estimates` of the replica's objective; with an objective axis, those of every objective, each
  replica's own selected (NaN where its objective has none: `objective_columns` says which it keeps)."""
  per_objective = {o.name: discriminator_estimates(o, real_out, fake_out) for o in gan.all_objectives}
  if len(per_objective) == 1:
    return per_objective[gan.objective.name]
  nan = jnp.full((), jnp.nan, real_out.dtype)
  names = sorted(set().union(*per_objective.values()))
  return gan.objective_value(state, lambda o: {n: per_objective[o.name].get(n, nan) for n in names})


def _objective_columns(objective: Any) -> frozenset[str]:
  """The evaluations that only some objectives log, as far as `objective` logs them."""
  shape = jax.ShapeDtypeStruct((2,), jnp.float32)
  own = jax.eval_shape(lambda r, f: discriminator_estimates(objective, r, f), shape, shape)
  return frozenset(own) | (frozenset(_LOGIT_ONLY) if objective.probability is not None else frozenset())


def eval_drop(objectives: tuple[Any, ...]) -> tuple[frozenset[str], ...]:
  """Per objective of an axis: the evaluations its rows leave out because only other objectives log them.

  An objective-axis evaluation computes every objective's discriminator estimates for every replica; a replica's
  rows keep the columns its objective trained alone has.
  """
  own = [_objective_columns(o) for o in objectives]
  every = frozenset().union(*own)
  return tuple(every - o for o in own)


def evaluate(gan: Any, target: Any, state: Any, key: jax.Array,
             spec: EvalSpec) -> dict[str, jax.Array]:
  """Computes every divergence the engine logs for one replica.

  Args:
    gan: the static spec.
    target: the data distribution (exact log_prob and sampler).
    state: one replica's state.
    key: evaluation key, independent of the training stream (samples are held out).
    spec: static options.

  Returns:
    A flat dict of scalar arrays.
  """
  k_real, k_fake, k_exact, k_kde_s, k_kde, k_modes = jax.random.split(key, 6)
  out: dict[str, jax.Array] = {}
  real = target.sample(k_real, spec.num_samples)
  fake = gan.players.sample(state.g_params, k_fake, spec.num_samples)
  real_out = gan.players.discriminator.apply(state.d_params, real)
  fake_out = gan.players.discriminator.apply(state.d_params, fake)
  # With an objective axis, D* is compared with every replica's D as a probability; `eval_drop` keeps the result
  # only in the rows of logit objectives. All logit objectives share σ.
  probability = next((o.probability for o in gan.all_objectives if o.probability is not None), None)
  logit_objective = probability is not None
  out.update(_replica_estimates(gan, state, real_out, fake_out))

  # Singular targets (point masses, parallel lines) have no density: only discriminator-based estimates apply.
  has_density = not isinstance(target, (distributions.PointMass, distributions.ParallelLines))
  if has_density and models.is_invertible(gan.players.generator):
    g = models.GeneratorDistribution(gan.players.generator, state.g_params)
    _divergences(out, "", target, g, k_exact, spec.mc_samples, names=("js", "kl_pg", "kl_gp", "v_opt"))
    if target.dim == 1:
      out["w1"] = divergences.w1(target, g).value
    if logit_objective:
      d_star = divergences.optimal_discriminator(target, g)
      both = jnp.concatenate([real, fake])
      d = probability(jnp.concatenate([real_out, fake_out]))
      out["d_vs_dstar"] = jnp.mean(jnp.abs(d - d_star(both)))
      out["v_gap"] = out["v_opt"] - out["v_d"]

  if has_density and spec.kde_samples and target.dim <= 2:
    g_kde = metrics_lib.kde(gan.players.sample(state.g_params, k_kde_s, spec.kde_samples))
    _divergences(out, "_kde", target, g_kde, k_kde, spec.mc_samples)

  if target.dim == 2 and spec.w1_samples:
    # Sample-based, for any generator: named apart from the exact 1-D `w1`.
    n = spec.w1_samples
    _estimate(out, "w1_ot", divergences.w1_from_samples(real[:n], fake[:n]))

  if isinstance(target, distributions.GaussianMixture) and target.dim == 2:
    samples = gan.players.sample(state.g_params, k_modes, MODE_SAMPLES)
    quality = metrics_lib.mode_quality(samples, target.locs, jnp.max(target.scales))
    out["modes_covered"] = quality["modes_covered"]
    out["high_quality"] = quality["high_quality"]
  return out
