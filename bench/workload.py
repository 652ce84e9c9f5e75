"""The reference workload on the gan-jax side: non-saturating GAN, MLP 3×128 players, 2-D ring, Adam.

`reference_config` is `configs/ring_2d.py` at a given batch size (both players 3 hidden layers of 128 units, Adam
lr 1e-4, β = (0.5, 0.999)); everything else in bench/ builds on it.
"""
import functools
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gan_jax import config as config_lib
from gan_jax import engine
from gan_jax import targets as targets_lib
from gan_jax import toy_task
from gan_jax import train

FEATURES = 128
DEPTH = 3


def reference_config(batch_size: int) -> ml_collections.ConfigDict:
  """The benchmark's training config (that of configs/ring_2d.py, spelled out so bench/ needs no configs/ import)."""
  c = config_lib.base_config()
  c.target = "ring"
  c.objective = "non_saturating"
  c.generator = "mlp"
  c.generator_kwargs.features = FEATURES
  c.generator_kwargs.depth = DEPTH
  c.discriminator_kwargs.features = FEATURES
  c.discriminator_kwargs.depth = DEPTH
  c.optimizer_g = config_lib.optimizer_config("adam", 1e-4, b1=0.5, b2=0.999)
  c.optimizer_d = config_lib.optimizer_config("adam", 1e-4, b1=0.5, b2=0.999)
  c.batch_size = batch_size
  return c


def init_state(gan: engine.GAN, seed: int) -> engine.TrainState:
  """`engine.init_state` with every leaf in its own buffer, so the state can be donated.

  With EMA off, `init_state` sets `ema_g_params = g_params` (the same arrays), and XLA refuses to donate one
  buffer twice; the engine itself does not donate, the benchmark loops do.
  """
  state = engine.init_state(gan, jax.random.PRNGKey(seed))
  return jax.tree.map(jnp.copy, state)


def build(batch_size: int, seed: int = 0) -> tuple[engine.GAN, Any, engine.TrainState]:
  """The reference (gan, target, single-replica state)."""
  config = reference_config(batch_size)
  gan = train.build_gan(config)
  target = targets_lib.get_target(config.target)
  return gan, target, init_state(gan, seed)


def torch_kwargs(config: ml_collections.ConfigDict, gan: engine.GAN) -> dict[str, Any]:
  """The keyword arguments that make `torch_reference.TorchGAN` the same model and optimizer as `config`."""
  opt = config.optimizer_g
  return dict(latent_dim=gan.players.latent_dim, data_dim=gan.players.data_dim, features=FEATURES, depth=DEPTH,
              learning_rate=opt.learning_rate, b1=opt.b1, b2=opt.b2)


def real_batches(target: Any, batch_size: int, count: int, seed: int = 1) -> np.ndarray:
  """`count` real batches (count, 1, batch_size, dim) drawn ahead of time: the per-step loops are fed these."""
  x = target.sample(jax.random.PRNGKey(seed), count * batch_size)
  return np.asarray(x).reshape(count, 1, batch_size, -1)


def losses_and_grads(gan: engine.GAN, state: engine.TrainState, real: np.ndarray, z_d: np.ndarray,
                     z_g: np.ndarray) -> dict[str, Any]:
  """gan-jax's two losses and their parameter gradients at `state`, on given real data and latents.

  Built from the pieces `train_step` uses (the modules' `apply` and the objective's losses), with the latents
  passed in instead of drawn, so the PyTorch reference can be fed the very same numbers.

  Returns:
    {'d_loss', 'g_loss': floats, 'd_grads', 'g_grads': flat gradient dicts (`flat_params` layout)}.
  """
  def d_loss_fn(d_params):
    fake = gan.players.generator.apply(state.g_params, jnp.asarray(z_d))
    return gan.objective.discriminator_loss(gan.players.discriminator.apply(d_params, jnp.asarray(real)),
                                            gan.players.discriminator.apply(d_params, fake))

  def g_loss_fn(g_params):
    fake = gan.players.generator.apply(g_params, jnp.asarray(z_g))
    return gan.objective.generator_loss(gan.players.discriminator.apply(state.d_params, fake))

  d_loss, d_grads = jax.jit(jax.value_and_grad(d_loss_fn))(state.d_params)
  g_loss, g_grads = jax.jit(jax.value_and_grad(g_loss_fn))(state.g_params)
  return {"d_loss": float(d_loss), "g_loss": float(g_loss),
          "d_grads": flat_params(d_grads), "g_grads": flat_params(g_grads)}


def step_latents(gan: engine.GAN, state: engine.TrainState) -> tuple[np.ndarray, np.ndarray]:
  """The latents `engine.train_step` draws at `state` for its first critic step and its generator step.

  Read from the engine's public key schedule (`engine.critic_keys`, `engine.generator_keys`) and the players'
  own `sample_inputs`, so the PyTorch reference is fed the very batches the engine trains on.
  """
  z_d = gan.players.sample_inputs(engine.critic_keys(state, 0)[0], gan.batch_size).z
  z_g = gan.players.sample_inputs(engine.generator_keys(gan, state)[0], gan.batch_size).z
  return np.asarray(z_d), np.asarray(z_g)


@functools.lru_cache(maxsize=None)
def _jitted_step(gan: engine.GAN):
  return jax.jit(functools.partial(engine.train_step, gan), donate_argnums=0)


def per_step_fn(gan: engine.GAN):
  """`train_step` jitted once per `gan`, the state donated (one dispatch per step, as a per-step loop would)."""
  return _jitted_step(gan)


def scan_fn(gan: engine.GAN, target: Any, num_steps: int):
  """`train_steps` over `num_steps` steps as one jitted call (state donated)."""
  return jax.jit(lambda s: toy_task.train_steps(gan, target, s, num_steps), donate_argnums=0)


def flat_params(params: Any) -> dict[str, np.ndarray]:
  """A Flax `_MLP` parameter tree as {'Dense_i/kernel' (in, out), 'Dense_i/bias'} NumPy arrays."""
  dense = params["params"]["_MLP_0"]
  return {f"{layer}/{name}": np.asarray(value) for layer, leaves in dense.items() for name, value in leaves.items()}


def max_abs_diff(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
  """Largest absolute difference between two flat parameter dicts with the same keys."""
  if a.keys() != b.keys():
    raise ValueError(f"parameter names differ: {sorted(a)} vs {sorted(b)}")
  return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, float]:
  """Max absolute differences between two `losses_and_grads` results (gan-jax vs PyTorch)."""
  return {
      "d_loss_abs_diff": abs(ours["d_loss"] - theirs["d_loss"]),
      "g_loss_abs_diff": abs(ours["g_loss"] - theirs["g_loss"]),
      "d_grads_max_abs_diff": max_abs_diff(ours["d_grads"], theirs["d_grads"]),
      "g_grads_max_abs_diff": max_abs_diff(ours["g_grads"], theirs["g_grads"]),
      "grads_max_abs": max(float(np.max(np.abs(v))) for k in ("d_grads", "g_grads") for v in ours[k].values()),
  }


def step_matmul_shapes(gan: engine.GAN) -> list[tuple[int, int, int]]:
  """The (m, k, n) matmuls of one `train_step` (n_critic = 1), as `step_flops` counts them.

  Per Dense layer k -> n and batch B: the critic step runs G forward (B, k, n), and D forward, input gradient
  (B, n, k) and weight gradient (k, B, n) on real and on fake samples; the generator step runs G forward, input
  and weight gradients, and D forward and input gradient. Their FLOPs (2·m·k·n each) sum to `step_flops`.
  """
  hidden = [FEATURES] * DEPTH
  b = gan.batch_size
  layers_g = list(zip([gan.players.latent_dim, *hidden], [*hidden, gan.players.data_dim]))
  layers_d = list(zip([gan.players.data_dim, *hidden], [*hidden, 1]))
  forward = lambda k, n: (b, k, n)
  input_grad = lambda k, n: (b, n, k)
  weight_grad = lambda k, n: (k, b, n)
  shapes = []
  for k, n in layers_g:  # critic step (G forward), generator step (G forward + backward)
    shapes += [forward(k, n), forward(k, n), input_grad(k, n), weight_grad(k, n)]
  for k, n in layers_d:  # critic step on real and on fake, generator step through D (input gradients only)
    shapes += 2 * [forward(k, n), input_grad(k, n), weight_grad(k, n)] + [forward(k, n), input_grad(k, n)]
  return shapes


def mlp_forward_flops(sizes: list[int]) -> int:
  """Matmul FLOPs of one sample through Dense layers of the given widths (2·in·out per layer)."""
  return sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:]))


def step_flops(gan: engine.GAN) -> dict[str, Any]:
  """Matmul FLOPs of one `train_step` (n_critic = 1), counted by hand.

  With F_G, F_D the forward FLOPs per sample and B the batch: the critic step runs G forward on B latents (no
  gradient), D forward + backward on B real and B fake samples (backward ≈ 2× forward: input and weight
  gradients), i.e. B·F_G + 3·2B·F_D; the generator step runs G forward + backward (3·B·F_G) through D, whose
  backward needs only input gradients (forward + backward ≈ 2·B·F_D). Total B·(4·F_G + 8·F_D). Bias adds,
  activations, losses and Adam are elementwise and left out (XLA's count includes them).
  """
  hidden = [FEATURES] * DEPTH
  f_g = mlp_forward_flops([gan.players.latent_dim, *hidden, gan.players.data_dim])
  f_d = mlp_forward_flops([gan.players.data_dim, *hidden, 1])
  b = gan.batch_size
  return {"formula": "B*(4*F_G + 8*F_D)", "F_G": f_g, "F_D": f_d, "flops": b * (4 * f_g + 8 * f_d)}
