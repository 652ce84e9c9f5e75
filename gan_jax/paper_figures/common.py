"""Helpers shared by several paper figures: config checks, engine configs and states, per-sample losses, JSON."""
import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gan_jax import config as config_lib
from gan_jax import engine

Array = jax.Array
Data = dict[str, Any]


def fail(field: str, value: Any, allowed: str) -> None:
  """Raises the one-line error of a bad figure config field: `config.<field>=<value> is invalid; allowed: ...`."""
  raise ValueError(f"config.{field}={value!r} is invalid; allowed: {allowed}")


def check_positive_int(cfg: ml_collections.ConfigDict, prefix: str, *fields: str) -> None:
  """Checks that each of `fields` of `cfg` is an integer >= 1 (errors name `config.<prefix>.<field>`)."""
  for field in fields:
    value = cfg[field]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
      fail(f"{prefix}.{field}", value, "an integer >= 1")


def check_positive_float(cfg: ml_collections.ConfigDict, prefix: str, *fields: str) -> None:
  """Checks that each of `fields` of `cfg` is a finite number > 0 (errors name `config.<prefix>.<field>`)."""
  for field in fields:
    value = cfg[field]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
      fail(f"{prefix}.{field}", value, "a finite number > 0")


def engine_config(target: str, generator: str, objective: str, batch_size: int, seed: int,
                  g_lr: float, d_lr: float, **objective_kwargs: Any) -> ml_collections.ConfigDict:
  """A training config (base_config with the fields a figure sets); build_gan validates it."""
  c = config_lib.base_config()
  c.target, c.generator, c.objective = target, generator, objective
  c.objective_kwargs = ml_collections.ConfigDict(objective_kwargs)
  c.batch_size, c.seed = batch_size, seed
  c.optimizer_g.learning_rate = g_lr
  c.optimizer_d.learning_rate = d_lr
  return c


def frozen_generator_state(gan: engine.GAN, seed: int, loc: float, scale: float) -> engine.TrainState:
  """A state (stacked over one seed) whose affine generator is N(loc, scale²), for `gan` with a frozen generator."""
  state = engine.init_states(gan, np.array([seed]))
  g_params = {"params": {"loc": jnp.full((1, 1), loc, jnp.float32),
                         "log_scale": jnp.full((1, 1), math.log(scale), jnp.float32)}}
  return state.replace(g_params=g_params, ema_g_params=g_params, g_opt_state=jax.vmap(gan.g_tx.init)(g_params))


def first(tree: Any) -> Any:
  """Replica 0 of a tree stacked over replicas."""
  return jax.tree.map(lambda x: x[0], tree)


def per_sample(loss: Callable[[Array], Array]) -> Callable[[Array], Array]:
  """A batch-averaged loss of logits as a per-sample cost."""
  # The objectives average over a batch; one logit per call gives the per-sample cost.
  return jax.vmap(lambda l: loss(l[None]))


def plain(value: Any) -> Any:
  """JSON-ready copy: arrays to lists, complex to [re, im]; private keys (leading '_') dropped."""
  if isinstance(value, dict):
    return {k: plain(v) for k, v in value.items() if not str(k).startswith("_")}
  if isinstance(value, (list, tuple)):
    return [plain(v) for v in value]
  if isinstance(value, np.ndarray):
    if np.iscomplexobj(value):
      return plain(np.stack([value.real, value.imag], axis=-1))
    return value.tolist()
  if isinstance(value, (np.generic, jax.Array)):
    return plain(np.asarray(value).item()) if np.ndim(value) == 0 else plain(np.asarray(value))
  if isinstance(value, complex):
    return [value.real, value.imag]
  return value
