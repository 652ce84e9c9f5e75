"""gan-jax: GAN divergence experiments in JAX/Flax.

Public names are re-exported here explicitly; `figures` and `paper_figures` (matplotlib) are imported on demand.
"""
from gan_jax.distributions import Gaussian
from gan_jax.distributions import GaussianMixture
from gan_jax.distributions import grid
from gan_jax.distributions import ParallelLines
from gan_jax.distributions import PointMass
from gan_jax.distributions import ring
from gan_jax.distributions import Uniform
from gan_jax.divergences import Estimate
from gan_jax.divergences import f_lower_bound
from gan_jax.divergences import js
from gan_jax.divergences import js_lower_bound
from gan_jax.divergences import kl
from gan_jax.divergences import kl_gp_plugin
from gan_jax.divergences import kl_pg_plugin
from gan_jax.divergences import optimal_discriminator
from gan_jax.divergences import optimal_discriminator_logit
from gan_jax.divergences import value_at_optimum
from gan_jax.divergences import value_from_logits
from gan_jax.divergences import w1
from gan_jax.f_divergences import get_f_divergence
from gan_jax.metrics import kde
from gan_jax.metrics import mode_quality
from gan_jax.models import GeneratorDistribution
from gan_jax.models import get_discriminator
from gan_jax.models import get_generator
from gan_jax.objectives import get_objective
from gan_jax.objectives import OBJECTIVES
from gan_jax.targets import get_target
from gan_jax.train import build_gan
from gan_jax.train import NonFiniteError
from gan_jax.train import train_and_evaluate
from gan_jax.train import train_step
from gan_jax.train import train_steps
from gan_jax.train import TrainState

__version__ = "0.1.0"
