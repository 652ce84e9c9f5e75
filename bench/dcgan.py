"""The DCGAN workload on the gan-jax side: the image task on MNIST-shaped 28×28×1 images, fed synthetic batches.

`dcgan_config` is `config.image_config("mnist")` (DCGAN players, non-saturating loss, Adam 2e-4, β = (0.5, 0.999),
`n_critic = 1`) at a given batch and width. Nothing reads MNIST: `build_gan`, `init_state` and `train_step` never
touch the disk (only `image_task.program` loads data), and the real batches are uniform noise in [−1, 1] — the
cost of a step does not depend on what the pixels show.
"""
import functools
from typing import Any

import flax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from bench import workload
from gan_jax import config as config_lib
from gan_jax import engine
from gan_jax import image_task
from gan_jax import players

DATASET = "mnist"


def dcgan_config(batch_size: int, features: int = 64) -> ml_collections.ConfigDict:
  """The benchmark's DCGAN config: `image_config('mnist')` with both players' `features` and the batch set."""
  c = config_lib.image_config(DATASET)
  c.generator_kwargs.features = features
  c.discriminator_kwargs.features = features
  c.batch_size = batch_size
  return c


def init_state(gan: engine.GAN, seed: int) -> engine.TrainState:
  """`engine.init_state` with every leaf in its own buffer (EMA off aliases `ema_g_params` and `g_params`,
  and XLA refuses to donate one buffer twice)."""
  return jax.tree.map(jnp.copy, engine.init_state(gan, jax.random.PRNGKey(seed)))


def build(batch_size: int, features: int = 64, seed: int = 0
          ) -> tuple[ml_collections.ConfigDict, engine.GAN, engine.TrainState]:
  """(config, gan, single-replica state) of the DCGAN workload."""
  config = dcgan_config(batch_size, features)
  gan = image_task.build_gan(config)
  return config, gan, init_state(gan, seed)


def torch_kwargs(config: ml_collections.ConfigDict, gan: engine.GAN) -> dict[str, Any]:
  """The keyword arguments that make `torch_dcgan.TorchDCGAN` the same players and optimizers as `config`."""
  g_opt, d_opt = config.optimizer_g, config.optimizer_d
  if (g_opt.name, g_opt.learning_rate, g_opt.b1, g_opt.b2) != (d_opt.name, d_opt.learning_rate, d_opt.b1, d_opt.b2):
    raise ValueError("the PyTorch DCGAN gives both players the same Adam")
  p = gan.players
  return dict(image_size=p.image_shape[0], channels=p.image_shape[2], latent_dim=p.latent_dim,
              g_features=p.generator.features, d_features=p.discriminator.features,
              learning_rate=g_opt.learning_rate, b1=g_opt.b1, b2=g_opt.b2)


def real_batches(gan: engine.GAN, count: int, seed: int = 1) -> np.ndarray:
  """`count` synthetic real batches (count, n_critic, b, H, W, C), uniform in [−1, 1] (the range of tanh)."""
  shape = (count, gan.n_critic, gan.batch_size, *gan.players.image_shape)
  return np.random.default_rng(seed).uniform(-1.0, 1.0, shape).astype(np.float32)


def labels(gan: engine.GAN, count: int) -> np.ndarray:
  """Labels matching `real_batches` (count, n_critic, b); unconditional players ignore them."""
  return np.zeros((count, gan.n_critic, gan.batch_size), np.int32)


def variables(params: Any, batch_stats: Any) -> dict[str, np.ndarray]:
  """A player's variables as flat {'params/<path>', 'batch_stats/<path>'} NumPy arrays ('/'-joined Flax paths)."""
  out = {f"params/{k}": np.asarray(v) for k, v in flat(params).items()}
  out.update({f"batch_stats/{k}": np.asarray(v) for k, v in flat(batch_stats).items()})
  return out


def flat(tree: Any) -> dict[str, np.ndarray]:
  """A nested parameter (or gradient, or statistics) dict as {'/'-joined path: array}."""
  return {k: np.asarray(v) for k, v in flax.traverse_util.flatten_dict(dict(tree), sep="/").items()}


def losses_and_grads(gan: engine.GAN, state: engine.TrainState, real: np.ndarray,
                     z_d: np.ndarray, z_g: np.ndarray) -> dict[str, Any]:
  """gan-jax's two losses and their parameter gradients at `state`, on given real images and latents.

  Built from the pieces `engine.train_step` uses (the players' `generate` and `discriminate` in training mode, the
  objective's losses; D on the real and the fake batch as two calls), with the latents passed in instead of drawn.
  Both losses see `state`'s parameters (no update in between).

  Args:
    gan: the DCGAN spec.
    state: parameters and statistics.
    real: one real batch (b, H, W, C).
    z_d: latents of the discriminator loss's fake batch (b, latent_dim).
    z_g: latents of the generator loss's fake batch (b, latent_dim).

  Returns:
    {'d_loss', 'g_loss': floats, 'd_grads', 'g_grads': flat gradient dicts (`flat` layout)}.
  """
  # Everything is an argument: closed-over arrays would be constants that XLA folds (slowly, convolutions too).
  def d_loss_fn(d_params, state, real, z_d):
    fake, _ = gan.players.generate(state.g_params, state.g_batch_stats, players.Inputs(z_d), train=True)
    real_out, _, stats = gan.players.discriminate(d_params, state.d_batch_stats, real, None, train=True)
    fake_out, _, _ = gan.players.discriminate(d_params, stats, fake, None, train=True)
    return gan.objective.discriminator_loss(real_out, fake_out)

  def g_loss_fn(g_params, state, z_g):
    fake, _ = gan.players.generate(g_params, state.g_batch_stats, players.Inputs(z_g), train=True)
    out, _, _ = gan.players.discriminate(state.d_params, state.d_batch_stats, fake, None, train=True)
    return gan.objective.generator_loss(out)

  d_loss, d_grads = jax.jit(jax.value_and_grad(d_loss_fn))(state.d_params, state, jnp.asarray(real),
                                                            jnp.asarray(z_d))
  g_loss, g_grads = jax.jit(jax.value_and_grad(g_loss_fn))(state.g_params, state, jnp.asarray(z_g))
  return {"d_loss": float(d_loss), "g_loss": float(g_loss), "d_grads": flat(d_grads), "g_grads": flat(g_grads)}


# The engine's public key schedule gives the latents of a step, for toy and image players alike.
step_latents = workload.step_latents


def to_nchw(images: np.ndarray) -> np.ndarray:
  """(…, H, W, C) -> (…, C, H, W), contiguous: PyTorch's layout."""
  return np.ascontiguousarray(np.moveaxis(images, -1, -3))


def rel_diffs(ref: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> dict[str, float]:
  """Per name: largest |ref − other| over the largest |ref| (a tensor's error relative to its scale)."""
  if ref.keys() != other.keys():
    raise ValueError(f"names differ: {sorted(ref)} vs {sorted(other)}")
  out = {}
  for k in ref:
    scale = float(np.max(np.abs(ref[k])))
    out[k] = float(np.max(np.abs(ref[k] - other[k]))) / (scale or 1.0)
  return out


def max_rel_diff(ref: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> tuple[float, float]:
  """(largest absolute difference, largest `rel_diffs`) over the names of two flat dicts."""
  abs_diff = max(float(np.max(np.abs(ref[k] - other[k]))) for k in ref)
  return abs_diff, max(rel_diffs(ref, other).values())


def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, float]:
  """Differences between two `losses_and_grads` results (gan-jax vs PyTorch): absolute, and relative (losses to
  the loss, gradients to their tensor's largest entry)."""
  out = {}
  for name in ("d_loss", "g_loss"):
    out[f"{name}_abs_diff"] = abs(ours[name] - theirs[name])
    out[f"{name}_rel_diff"] = out[f"{name}_abs_diff"] / abs(ours[name])
  for name in ("d_grads", "g_grads"):
    out[f"{name}_max_abs_diff"], out[f"{name}_max_rel_diff"] = max_rel_diff(ours[name], theirs[name])
  out["grads_max_abs"] = max(float(np.max(np.abs(v))) for k in ("d_grads", "g_grads") for v in ours[k].values())
  return out


@functools.lru_cache(maxsize=None)
def per_step_fn(gan: engine.GAN):
  """`engine.train_step` jitted once per `gan`, the state donated."""
  return jax.jit(functools.partial(engine.train_step, gan), donate_argnums=0)


@functools.lru_cache(maxsize=None)
def scan_fn(gan: engine.GAN):
  """`image_task.train_steps` (steps = the batches' leading axis) as one jitted call, the state donated."""
  return jax.jit(functools.partial(image_task.train_steps, gan), donate_argnums=0)


def as_float64(state: engine.TrainState) -> engine.TrainState:
  """`state` with its floating leaves in float64 (call under `jax.enable_x64(True)`)."""
  return jax.tree.map(lambda x: jnp.asarray(x, jnp.float64) if jnp.issubdtype(x.dtype, jnp.floating) else x, state)


def losses_and_grads_float64(gan: engine.GAN, state: engine.TrainState, real: np.ndarray,
                             z_d: np.ndarray, z_g: np.ndarray) -> dict[str, Any]:
  """`losses_and_grads` computed in float64 throughout (parameters, statistics, inputs), under `enable_x64`."""
  with jax.enable_x64(True):
    return losses_and_grads(gan, as_float64(state), *(np.asarray(a, np.float64) for a in (real, z_d, z_g)))
