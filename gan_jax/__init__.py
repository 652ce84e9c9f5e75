"""gan-jax: GAN divergence experiments in JAX/Flax.

Public names are re-exported here explicitly. The maths, players and losses load with the package; the training
engine's names (`train_and_evaluate`, `build_gan`, `TrainState`, …) load on first use, so that importing any
submodule does not pull in Orbax, tensorboardX or matplotlib.
"""
import importlib
from typing import Any

from gan_jax import xla_workarounds

# Before anything below can start a JAX backend: XLA reads XLA_FLAGS once, when it starts (see the module).
xla_workarounds.apply()

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

__all__ = [
    "build_gan",
    "Estimate",
    "f_lower_bound",
    "GAN",
    "Gaussian",
    "GaussianMixture",
    "GeneratorDistribution",
    "get_discriminator",
    "get_f_divergence",
    "get_generator",
    "get_objective",
    "get_target",
    "grid",
    "js",
    "js_lower_bound",
    "kde",
    "kl",
    "kl_gp_plugin",
    "kl_pg_plugin",
    "load_latest",
    "mode_quality",
    "NonFiniteError",
    "OBJECTIVES",
    "optimal_discriminator",
    "optimal_discriminator_logit",
    "ParallelLines",
    "PointMass",
    "ring",
    "train_and_evaluate",
    "train_step",
    "train_steps",
    "TrainState",
    "Uniform",
    "value_at_optimum",
    "value_from_logits",
    "w1",
]

# Heavy names: (module, attribute), imported on first access (PEP 562).
_LAZY = {
    "build_gan": ("gan_jax.train", "build_gan"),
    "train_and_evaluate": ("gan_jax.train", "train_and_evaluate"),
    "load_latest": ("gan_jax.train", "load_latest"),
    "GAN": ("gan_jax.engine", "GAN"),
    "NonFiniteError": ("gan_jax.engine", "NonFiniteError"),
    "TrainState": ("gan_jax.engine", "TrainState"),
    "train_step": ("gan_jax.engine", "train_step"),
    "train_steps": ("gan_jax.toy_task", "train_steps"),
}

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
  if name in _LAZY:
    module, attribute = _LAZY[name]
    return getattr(importlib.import_module(module), attribute)
  raise AttributeError(f"module 'gan_jax' has no attribute {name!r}")
