"""The DCGAN workload in PyTorch: the same step as `gan_jax.engine.train_step` on a DCGAN config.

Architecture (`gan_jax.image_models`, Radford et al. 2015) for S×S images with `dcgan_base_size(S) = (base,
stages)` (28 px: base 7, 2 stages):

- G: z -> Linear(base²·W, no bias) -> reshape -> BatchNorm -> ReLU, then (stages − 1) × [ConvTranspose 4×4 stride 2
  (no bias) -> BatchNorm -> ReLU] halving the channels, then ConvTranspose 4×4 stride 2 (bias) to C channels ->
  tanh, with W = features·2^(stages−1).
- D: Conv 4×4 stride 2 (bias) -> LeakyReLU(0.2), then (stages − 1) × [Conv 4×4 stride 2 (no bias) -> BatchNorm ->
  LeakyReLU(0.2)] doubling the channels, flatten, Linear(1).

BatchNorm: eps 1e-5, running-average decay 0.9 (torch momentum 0.1). A step is one discriminator update (D on the
real batch, then on a fake batch, as two separate calls; loss mean BCE(D(x), 1) + mean BCE(D(G(z)), 0)), then one
generator update (non-saturating: mean BCE(D(G(z)), 1)) against the updated D; both players in training mode
throughout (batch statistics). As in gan-jax, a player's running statistics change only in its own update: G's
forward pass in the D step and D's forward pass in the G step leave them alone (`_frozen_stats`). Adam with
optax's update rule (fused CPU kernel).

The layers match Flax's one to one, with weights converted (`to_torch`):
- Flax `Conv` (padding 'SAME', stride 2, kernel 4, even input) pads 1 on each side: torch `Conv2d(4, 2, 1)`,
  kernel HWIO -> OIHW.
- Flax `ConvTranspose` (padding 'SAME', stride 2, kernel 4, `transpose_kernel=False`) is
  `lax.conv_transpose`: a correlation of the stride-dilated input, padded (2, 2), with the kernel *as stored*.
  Torch's `ConvTranspose2d(4, 2, 1)` is the same correlation (padding k − 1 − p = 2 on each side, output 2·in)
  with the kernel *spatially flipped* (a true transposed convolution). So the padding is symmetric and no cropping
  is needed; the kernel is flipped and HWIO -> (in, out, H, W). (Checked numerically by
  `tests/bench_test.py::test_dcgan_layers_match_flax`.)
- Images are NHWC in gan-jax and NCHW here: the Linear after G's projection and the Linear on D's flattened
  features index (h, w, c) in Flax and (c, h, w) here; their weights are permuted accordingly, so no activation is
  transposed at run time.

Known difference, outside the training step: torch's BatchNorm updates its running variance with the unbiased
batch variance (·n/(n−1)), Flax with the biased one. Only evaluation mode reads running averages.
"""
import contextlib
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

KERNEL, STRIDE, PADDING = 4, 2, 1
LEAKY_SLOPE = 0.2
BN_MOMENTUM = 0.1  # torch's momentum is 1 − Flax's decay (0.9)
BN_EPSILON = 1e-5


def dcgan_base_size(image_size: int) -> tuple[int, int]:
  """(base side, stride-2 stages) as `gan_jax.image_models.dcgan_base_size` (copied: this module never imports JAX)."""
  if image_size < 8 or image_size % 2:
    raise ValueError(f"image_size must be an even integer >= 8, got {image_size!r}")
  size, stages = image_size, 0
  while size % 2 == 0 and size // 2 >= 4:
    size, stages = size // 2, stages + 1
  return size, stages


def _batch_norm(channels: int) -> nn.BatchNorm2d:
  return nn.BatchNorm2d(channels, eps=BN_EPSILON, momentum=BN_MOMENTUM)


LAYOUTS = ("vector", "dense_to_chw", "dense_from_chw", "conv", "conv_transpose")


# Flax array (flat name) <-> torch tensor. Every conversion is a permutation (and flip), so gradients convert the
# same way. 'dense_to_chw' / 'dense_from_chw' carry the (H, W, C) of the image side of the Linear.
def _to_torch(kind: str, a: np.ndarray, hwc: tuple[int, int, int] | None) -> np.ndarray:
  if kind == "vector":
    return a
  if kind == "dense_to_chw":                # (in, H·W·C) -> (C·H·W, in)
    h, w, c = hwc
    return a.reshape(-1, h, w, c).transpose(3, 1, 2, 0).reshape(c * h * w, -1)
  if kind == "dense_from_chw":              # (H·W·C, out) -> (out, C·H·W)
    h, w, c = hwc
    return a.reshape(h, w, c, -1).transpose(3, 2, 0, 1).reshape(-1, c * h * w)
  if kind == "conv":                        # HWIO -> OIHW
    return a.transpose(3, 2, 0, 1)
  if kind == "conv_transpose":              # HWIO, flipped -> (I, O, H, W)
    return a[::-1, ::-1].transpose(2, 3, 0, 1)
  raise ValueError(f"unknown layout {kind!r}")


def _to_flax(kind: str, t: np.ndarray, hwc: tuple[int, int, int] | None) -> np.ndarray:
  if kind == "vector":
    return t
  if kind == "dense_to_chw":
    h, w, c = hwc
    return t.reshape(c, h, w, -1).transpose(3, 1, 2, 0).reshape(-1, h * w * c)
  if kind == "dense_from_chw":
    h, w, c = hwc
    return t.reshape(-1, c, h, w).transpose(2, 3, 1, 0).reshape(h * w * c, -1)
  if kind == "conv":
    return t.transpose(2, 3, 1, 0)
  if kind == "conv_transpose":
    return t.transpose(2, 3, 0, 1)[::-1, ::-1]
  raise ValueError(f"unknown layout {kind!r}")


class _Player(nn.Module):
  """A module that knows which Flax variable each of its tensors is (`bindings`)."""

  def __init__(self):
    super().__init__()
    # (Flax flat name, module, attribute, layout, (H, W, C) or None); names are 'params/...' or 'batch_stats/...'.
    self.bindings: list[tuple[str, nn.Module, str, str, Any]] = []

  def _bind_bn(self, prefix: str, bn: nn.BatchNorm2d) -> None:
    self.bindings += [(f"params/{prefix}/scale", bn, "weight", "vector", None),
                      (f"params/{prefix}/bias", bn, "bias", "vector", None),
                      (f"batch_stats/{prefix}/mean", bn, "running_mean", "vector", None),
                      (f"batch_stats/{prefix}/var", bn, "running_var", "vector", None)]

  def load_flax(self, flat: dict[str, np.ndarray]) -> None:
    """Copies gan-jax variables ({'params/…', 'batch_stats/…'} flat names) into this module."""
    names = {b[0] for b in self.bindings}
    if set(flat) != names:
      raise ValueError(f"variables differ: missing {sorted(names - set(flat))}, unexpected {sorted(set(flat) - names)}")
    with torch.no_grad():
      for name, module, attr, kind, hwc in self.bindings:
        getattr(module, attr).copy_(torch.tensor(np.ascontiguousarray(_to_torch(kind, np.asarray(flat[name]),
                                                                                    hwc))))

  def flax_variables(self, collection: str = "params") -> dict[str, np.ndarray]:
    """This module's tensors of one collection in gan-jax's flat layout (names without the collection prefix)."""
    out = {}
    for name, module, attr, kind, hwc in self.bindings:
      if name.startswith(collection + "/"):
        out[name[len(collection) + 1:]] = _to_flax(kind, getattr(module, attr).detach().numpy(), hwc).copy()
    return out

  def param_list(self) -> tuple[list[str], list[torch.Tensor]]:
    """(Flax names without 'params/', the matching torch parameters) in binding order."""
    pairs = [(n[len("params/"):], getattr(m, a)) for n, m, a, _, _ in self.bindings if n.startswith("params/")]
    return [n for n, _ in pairs], [p for _, p in pairs]

  def grads_to_flax(self, grads: list[torch.Tensor]) -> dict[str, np.ndarray]:
    """Gradients in `param_list` order -> gan-jax's flat layout."""
    params = [b for b in self.bindings if b[0].startswith("params/")]
    return {name[len("params/"):]: _to_flax(kind, g.detach().numpy(), hwc).copy()
            for (name, _, _, kind, hwc), g in zip(params, grads)}


class Generator(_Player):
  """z (n, latent_dim) -> images (n, C, S, S) in [−1, 1]; `gan_jax.image_models.DCGANGenerator` in NCHW."""

  def __init__(self, image_size: int, channels: int, latent_dim: int, features: int):
    super().__init__()
    base, stages = dcgan_base_size(image_size)
    width = features * 2 ** (stages - 1)
    self.base, self.width = base, width
    prefix = "_DCGANDecoder_0"
    self.project = nn.Linear(latent_dim, base * base * width, bias=False)
    self.bindings.append((f"params/{prefix}/Dense_0/kernel", self.project, "weight", "dense_to_chw",
                          (base, base, width)))
    self.bn0 = _batch_norm(width)
    self._bind_bn(f"{prefix}/BatchNorm_0", self.bn0)
    self.hidden = nn.ModuleList()
    for stage in range(stages - 1):
      c_in, c_out = width // 2 ** stage, width // 2 ** (stage + 1)
      conv = nn.ConvTranspose2d(c_in, c_out, KERNEL, STRIDE, PADDING, bias=False)
      bn = _batch_norm(c_out)
      self.hidden.append(nn.ModuleList([conv, bn]))
      self.bindings.append((f"params/{prefix}/ConvTranspose_{stage}/kernel", conv, "weight", "conv_transpose", None))
      self._bind_bn(f"{prefix}/BatchNorm_{stage + 1}", bn)
    self.out = nn.ConvTranspose2d(features, channels, KERNEL, STRIDE, PADDING)
    last = f"{prefix}/ConvTranspose_{stages - 1}"
    self.bindings += [(f"params/{last}/kernel", self.out, "weight", "conv_transpose", None),
                      (f"params/{last}/bias", self.out, "bias", "vector", None)]

  def forward(self, z: torch.Tensor) -> torch.Tensor:
    h = self.project(z).view(z.shape[0], self.width, self.base, self.base)
    h = F.relu(self.bn0(h))
    for conv, bn in self.hidden:
      h = F.relu(bn(conv(h)))
    return torch.tanh(self.out(h))


class Discriminator(_Player):
  """Images (n, C, S, S) -> logits (n,); `gan_jax.image_models.DCGANDiscriminator` (batch_norm) in NCHW."""

  def __init__(self, image_size: int, channels: int, features: int):
    super().__init__()
    base, stages = dcgan_base_size(image_size)
    self.convs, self.bns = nn.ModuleList(), nn.ModuleList()
    c_in = channels
    for stage in range(stages):
      c_out = features * 2 ** stage
      conv = nn.Conv2d(c_in, c_out, KERNEL, STRIDE, PADDING, bias=stage == 0)
      self.convs.append(conv)
      self.bindings.append((f"params/encoder/Conv_{stage}/kernel", conv, "weight", "conv", None))
      if stage == 0:
        self.bindings.append(("params/encoder/Conv_0/bias", conv, "bias", "vector", None))
      else:
        bn = _batch_norm(c_out)
        self.bns.append(bn)
        self._bind_bn(f"encoder/BatchNorm_{stage - 1}", bn)
      c_in = c_out
    self.head = nn.Linear(base * base * c_in, 1)
    self.bindings += [("params/_ProjectionOutput_0/Dense_0/kernel", self.head, "weight", "dense_from_chw",
                       (base, base, c_in)),
                      ("params/_ProjectionOutput_0/Dense_0/bias", self.head, "bias", "vector", None)]

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    h = F.leaky_relu(self.convs[0](x), LEAKY_SLOPE)
    for conv, bn in zip(self.convs[1:], self.bns):
      h = F.leaky_relu(bn(conv(h)), LEAKY_SLOPE)
    return self.head(h.flatten(1))[:, 0]


@contextlib.contextmanager
def _frozen_stats(module: nn.Module) -> Iterator[None]:
  """Training-mode BatchNorm (batch statistics) that leaves the running averages as they are (momentum 0)."""
  bns = [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]
  saved = [bn.momentum for bn in bns]
  for bn in bns:
    bn.momentum = 0.0
  try:
    yield
  finally:
    for bn, momentum in zip(bns, saved):
      bn.momentum = momentum


def discriminator_loss(d: Discriminator, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
  """mean BCE(D(x), 1) + mean BCE(D(G(z)), 0): `logistic_discriminator_loss`; D called on each batch separately."""
  real_out, fake_out = d(real), d(fake)
  return (F.binary_cross_entropy_with_logits(real_out, torch.ones_like(real_out))
          + F.binary_cross_entropy_with_logits(fake_out, torch.zeros_like(fake_out)))


def generator_loss(d: Discriminator, fake: torch.Tensor) -> torch.Tensor:
  """Non-saturating: mean BCE(D(G(z)), 1) = mean softplus(−D(G(z))), D in training mode, its statistics kept."""
  with _frozen_stats(d):
    out = d(fake)
  return F.binary_cross_entropy_with_logits(out, torch.ones_like(out))


class TorchDCGAN:
  """Both DCGAN players, their Adam optimizers, and the alternating step (`n_critic = 1`).

  Attributes:
    g: the generator.
    d: the discriminator.
    g_opt: the generator's Adam.
    d_opt: the discriminator's Adam.
  """

  def __init__(self, g_variables: dict[str, np.ndarray], d_variables: dict[str, np.ndarray], *, image_size: int,
               channels: int, latent_dim: int, g_features: int, d_features: int, learning_rate: float, b1: float,
               b2: float, eps: float = 1e-8, fused_adam: bool = True):
    """Builds both players from gan-jax's initial variables.

    Args:
      g_variables: the generator's variables, flat ('params/…' and 'batch_stats/…', '/'-joined Flax paths).
      d_variables: the discriminator's, likewise.
      image_size: side S of the square images.
      channels: image channels C.
      latent_dim: size of z.
      g_features: `features` of `DCGANGenerator`.
      d_features: `features` of `DCGANDiscriminator`.
      learning_rate: Adam step size (both players).
      b1: Adam β1.
      b2: Adam β2.
      eps: Adam ε.
      fused_adam: torch's fused CPU Adam kernel instead of the for-loop one.
    """
    self.latent_dim = latent_dim
    self.g = Generator(image_size, channels, latent_dim, g_features)
    self.d = Discriminator(image_size, channels, d_features)
    self.g.load_flax(g_variables)
    self.d.load_flax(d_variables)
    self.g.train()
    self.d.train()
    adam = dict(lr=learning_rate, betas=(b1, b2), eps=eps, fused=fused_adam)
    self._g_params = self.g.param_list()[1]
    self.g_opt = torch.optim.Adam(self._g_params, **adam)
    self.d_opt = torch.optim.Adam(self.d.param_list()[1], **adam)

  def step(self, real: torch.Tensor, z_d: torch.Tensor, z_g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One discriminator then one generator update; returns (d_loss, g_loss) (each before its update).

    Args:
      real: real batch (n, C, S, S).
      z_d: latents of the discriminator step's fake batch (n, latent_dim).
      z_g: latents of the generator step's fake batch (n, latent_dim).
    """
    with torch.no_grad(), _frozen_stats(self.g):
      fake = self.g(z_d)
    d_loss = discriminator_loss(self.d, real, fake)
    self.d_opt.zero_grad(set_to_none=True)
    d_loss.backward()
    self.d_opt.step()

    # Gradients for G only: D's parameter gradients are neither needed nor computed.
    g_loss = generator_loss(self.d, self.g(z_g))
    grads = torch.autograd.grad(g_loss, self._g_params)
    for p, grad in zip(self._g_params, grads):
      p.grad = grad
    self.g_opt.step()
    return d_loss.detach(), g_loss.detach()

  def random_step(self, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`step` with fresh standard-normal latents (what the benchmark times)."""
    n = real.shape[0]
    return self.step(real, torch.randn(n, self.latent_dim), torch.randn(n, self.latent_dim))


def losses_and_grads(model: TorchDCGAN, real: np.ndarray, z_d: np.ndarray, z_g: np.ndarray) -> dict[str, Any]:
  """Both losses and their parameter gradients at the current parameters (no update), for the cross-check.

  Both losses see the same (current) parameters, as `bench.dcgan.losses_and_grads`; no running average changes.
  Computes in the players' dtype (`model.g.double(); model.d.double()` for the float64 check).

  Args:
    model: the players.
    real: real batch (n, C, S, S).
    z_d: latents of the discriminator loss's fake batch.
    z_g: latents of the generator loss's fake batch.

  Returns:
    {'d_loss', 'g_loss': floats, 'd_grads', 'g_grads': gradients in gan-jax's flat layout}.
  """
  dtype = model.g.project.weight.dtype
  real_t, z_d_t, z_g_t = (torch.tensor(np.asarray(a), dtype=dtype) for a in (real, z_d, z_g))
  with _frozen_stats(model.g), _frozen_stats(model.d):
    with torch.no_grad():
      fake = model.g(z_d_t)
    d_loss = discriminator_loss(model.d, real_t, fake)
    d_grads = torch.autograd.grad(d_loss, model.d.param_list()[1])
    g_loss = generator_loss(model.d, model.g(z_g_t))
    g_grads = torch.autograd.grad(g_loss, model.g.param_list()[1])
  return {"d_loss": d_loss.item(), "g_loss": g_loss.item(), "d_grads": model.d.grads_to_flax(d_grads),
          "g_grads": model.g.grads_to_flax(g_grads)}


def to_torch(kind: str, a: np.ndarray, hwc: tuple[int, int, int] | None = None) -> torch.Tensor:
  """A Flax array in the layout of the matching torch tensor (`kind`: one of `LAYOUTS`)."""
  return torch.tensor(np.ascontiguousarray(_to_torch(kind, np.asarray(a), hwc)))

