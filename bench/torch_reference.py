"""The reference workload in PyTorch: the same non-saturating GAN step as `gan_jax.engine.train_step`.

Both players are MLPs with `depth` hidden layers of `features` units (generator ReLU, discriminator leaky ReLU 0.2,
linear outputs, as `gan_jax.models`), trained by Adam with optax's update rule (torch's Adam is the same formula:
m̂/(√v̂ + ε)). A step is one discriminator update on a real batch and a fresh fake batch, then one generator update
against the updated discriminator (`update_mode='alternating'`, `n_critic=1`). Parameters are copied from gan-jax's
Flax initialisation (lecun_normal kernels, zero biases), so both sides start from identical weights.

gan-jax's step also computes gradient/update/parameter norms for its metrics; this one does not (it only costs
gan-jax time, so the comparison is conservative).
"""
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def mlp(in_dim: int, out_dim: int, features: int, depth: int, activation: nn.Module) -> nn.Sequential:
  """`depth` hidden Linear layers of `features` units with `activation`, then a linear Linear(`out_dim`)."""
  layers, width = [], in_dim
  for _ in range(depth):
    layers += [nn.Linear(width, features), activation]
    width = features
  layers.append(nn.Linear(width, out_dim))
  return nn.Sequential(*layers)


def _linears(module: nn.Sequential) -> list[nn.Linear]:
  return [m for m in module if isinstance(m, nn.Linear)]


def load_params(module: nn.Sequential, flat: dict[str, np.ndarray]) -> None:
  """Copies gan-jax parameters into `module` (Flax kernels (in, out) become torch weights (out, in)).

  Args:
    module: built by `mlp` with the same sizes.
    flat: {'Dense_i/kernel', 'Dense_i/bias'} arrays, as `bench.workload.flat_params` returns them.
  """
  linears = _linears(module)
  if len(flat) != 2 * len(linears):
    raise ValueError(f"torch module has {len(linears)} Linear layers, the parameters {len(flat) // 2}")
  with torch.no_grad():
    for i, layer in enumerate(linears):
      layer.weight.copy_(torch.tensor(np.asarray(flat[f"Dense_{i}/kernel"]).T))
      layer.bias.copy_(torch.tensor(np.asarray(flat[f"Dense_{i}/bias"])))


def flat_params(module: nn.Sequential) -> dict[str, np.ndarray]:
  """`module`'s parameters in gan-jax's flat layout ({'Dense_i/kernel' (in, out), 'Dense_i/bias'})."""
  out = {}
  for i, layer in enumerate(_linears(module)):
    out[f"Dense_{i}/kernel"] = layer.weight.detach().numpy().T.copy()
    out[f"Dense_{i}/bias"] = layer.bias.detach().numpy().copy()
  return out


def discriminator_loss(d: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
  """−V(D, G) with logits: mean softplus(−D(x)) + mean softplus(D(G(z))), as `logistic_discriminator_loss`."""
  return F.softplus(-d(real)[:, 0]).mean() + F.softplus(d(fake)[:, 0]).mean()


def generator_loss(d: nn.Module, fake: torch.Tensor) -> torch.Tensor:
  """The non-saturating cost −E log D(G(z)) = mean softplus(−D(G(z)))."""
  return F.softplus(-d(fake)[:, 0]).mean()


class TorchGAN:
  """Both players, their Adam optimizers, and the alternating step.

  Attributes:
    g: generator, latent (n, latent_dim) -> (n, data_dim).
    d: discriminator, (n, data_dim) -> logits (n, 1).
    g_opt: the generator's Adam.
    d_opt: the discriminator's Adam.
  """

  def __init__(self, g_params: Any, d_params: Any, *, latent_dim: int, data_dim: int, features: int, depth: int,
               learning_rate: float, b1: float, b2: float, eps: float = 1e-8, fused_adam: bool = True):
    """Builds both players from gan-jax's initial parameters.

    Args:
      g_params: the generator's parameters in gan-jax's flat layout (`bench.workload.flat_params`).
      d_params: the discriminator's, likewise.
      latent_dim: generator input size.
      data_dim: data dimension.
      features: hidden width.
      depth: number of hidden layers.
      learning_rate: Adam step size (both players).
      b1: Adam β1.
      b2: Adam β2.
      eps: Adam ε.
      fused_adam: torch's fused CPU Adam kernel (the fastest torch offers on CPU) instead of the for-loop one.
    """
    self.latent_dim = latent_dim
    self.g = mlp(latent_dim, data_dim, features, depth, nn.ReLU())
    self.d = mlp(data_dim, 1, features, depth, nn.LeakyReLU(0.2))
    load_params(self.g, g_params)
    load_params(self.d, d_params)
    adam = dict(lr=learning_rate, betas=(b1, b2), eps=eps, fused=fused_adam)
    self.g_opt = torch.optim.Adam(self.g.parameters(), **adam)
    self.d_opt = torch.optim.Adam(self.d.parameters(), **adam)

  def step(self, real: torch.Tensor, z_d: torch.Tensor, z_g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One discriminator then one generator update; returns (d_loss, g_loss) (losses before the updates).

    Args:
      real: real batch (n, data_dim).
      z_d: latents of the discriminator step's fake batch (n, latent_dim).
      z_g: latents of the generator step's fake batch (n, latent_dim).
    """
    with torch.no_grad():
      fake = self.g(z_d)
    d_loss = discriminator_loss(self.d, real, fake)
    self.d_opt.zero_grad(set_to_none=True)
    d_loss.backward()
    self.d_opt.step()

    # Gradients for G only: D's parameter gradients are neither needed nor computed.
    g_loss = generator_loss(self.d, self.g(z_g))
    grads = torch.autograd.grad(g_loss, list(self.g.parameters()))
    for p, grad in zip(self.g.parameters(), grads):
      p.grad = grad
    self.g_opt.step()
    return d_loss.detach(), g_loss.detach()

  def random_step(self, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`step` with fresh standard-normal latents (what the throughput benchmark times)."""
    n = real.shape[0]
    return self.step(real, torch.randn(n, self.latent_dim), torch.randn(n, self.latent_dim))


def losses_and_grads(g: nn.Module, d: nn.Module, real: np.ndarray, z_d: np.ndarray, z_g: np.ndarray
                     ) -> dict[str, Any]:
  """Both losses and their parameter gradients at the current parameters (no update), for the cross-check.

  Returns:
    {'d_loss', 'g_loss': floats, 'd_grads', 'g_grads': gradients in gan-jax's flat layout (`flat_params`)}.
  """
  real_t, z_d_t, z_g_t = (torch.tensor(np.asarray(a, np.float32)) for a in (real, z_d, z_g))

  def grads(module: nn.Module, loss: torch.Tensor) -> dict[str, np.ndarray]:
    linears = _linears(module)
    flat = torch.autograd.grad(loss, [p for m in linears for p in (m.weight, m.bias)])
    out = {}
    for i in range(len(linears)):
      out[f"Dense_{i}/kernel"] = flat[2 * i].numpy().T.copy()
      out[f"Dense_{i}/bias"] = flat[2 * i + 1].numpy().copy()
    return out

  with torch.no_grad():
    fake = g(z_d_t)
  d_loss = discriminator_loss(d, real_t, fake)
  g_loss = generator_loss(d, g(z_g_t))
  return {"d_loss": d_loss.item(), "g_loss": g_loss.item(), "d_grads": grads(d, d_loss), "g_grads": grads(g, g_loss)}


def compiled_step(model: TorchGAN, mode: str | None = None) -> Callable[[torch.Tensor], Any]:
  """`model.random_step` under `torch.compile` (the whole step; autograd and optimizer parts are compiled pieces).

  Args:
    model: the eager model (its modules and optimizers are shared).
    mode: torch.compile mode (None = default).
  """
  return torch.compile(model.random_step, mode=mode)
