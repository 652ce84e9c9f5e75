"""Image-to-image players as pure Flax Linen modules: a U-Net generator and a PatchGAN discriminator.

- `UNetGenerator` (Ronneberger et al. 2015, as pix2pix's generator, Isola et al. 2017): `depth` stride-2
  convolutions down, as many up, each decoder stage concatenating the encoder's map of its size (the skips carry
  the input's layout to the output). Upsampling is nearest-neighbour ×2 followed by a 3×3 convolution (Odena et
  al. 2016's resize-convolution: no checkerboard artefacts). It ends in tanh, so outputs are in [−1, 1].
- `PatchDiscriminator` (pix2pix's PatchGAN): stride-2 convolutions and a 1-channel 3×3 convolution, one raw output
  per patch: (n, H/2^depth · W/2^depth). The objectives average their losses over every patch of every image, as
  pix2pix does.
- `TwoWayGenerator` / `TwoWayDiscriminator` (CycleGAN, Zhu et al. 2017): a pair of each for unpaired translation
  between domains A and B, on "pair images" (n, H, W, 2C) whose first C channels are a domain-A image and last C
  a domain-B image. The generator maps (a, b) to (F(b), G(a)), i.e. translates each half into the other domain, so
  applying it twice gives the cycle reconstructions (F(G(a)), G(F(b))). The discriminator returns (n, 2, P): D_A's
  patch outputs on the A half, D_B's on the B half.

Normalisation is instance norm (CycleGAN's; pix2pix's batch norm at batch size 1 is the same thing) or none: the
players keep no running statistics, so a generated image never depends on the rest of its batch.
"""
from typing import Any

from flax import linen as nn
import jax
import jax.numpy as jnp
import numpy as np

NORMALIZATIONS: tuple[str, ...] = ("instance_norm", "none")
_LEAKY_SLOPE = 0.2  # pix2pix's encoder and PatchGAN


def check_depth(image_size: int, depth: Any) -> None:
  """Raises one line unless 2^depth divides `image_size` with depth >= 1 (each stage halves the side)."""
  if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1 or image_size % (2 ** depth):
    allowed = [d for d in range(1, 8) if image_size % (2 ** d) == 0 and image_size // (2 ** d) >= 1]
    raise ValueError(f"depth={depth!r} is invalid for {image_size}-pixel images; allowed: "
                     f"{', '.join(map(str, allowed)) or 'none (the side must be even)'}")


def _norm(kind: str) -> Any:
  if kind == "instance_norm":
    return nn.GroupNorm(num_groups=None, group_size=1)  # one group per channel: instance norm
  return lambda x: x


def _check(features: Any, normalization: Any) -> None:
  if isinstance(features, bool) or not isinstance(features, (int, np.integer)) or features < 1:
    raise ValueError(f"features must be a positive integer, got {features!r}")
  if normalization not in NORMALIZATIONS:
    raise ValueError(f"normalization={normalization!r} is invalid; allowed: {' | '.join(NORMALIZATIONS)}")


class UNetGenerator(nn.Module):
  """x (n, H, W, C_in) -> y (n, H, W, channels) in [−1, 1]; H and W divisible by 2^depth."""
  channels: int = 1
  features: int = 32
  depth: int = 2
  normalization: str = "instance_norm"

  def setup(self):
    _check(self.features, self.normalization)

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    h = nn.leaky_relu(nn.Conv(self.features, (3, 3))(x), _LEAKY_SLOPE)
    skips = [h]
    for i in range(self.depth):
      h = nn.Conv(self.features * 2 ** (i + 1), (4, 4), strides=(2, 2))(h)
      h = nn.leaky_relu(_norm(self.normalization)(h), _LEAKY_SLOPE)
      skips.append(h)
    skips.pop()  # the bottleneck is h itself
    for i in reversed(range(self.depth)):
      h = nn.Conv(self.features * 2 ** i, (3, 3))(jnp.repeat(jnp.repeat(h, 2, axis=1), 2, axis=2))
      h = nn.relu(_norm(self.normalization)(h))
      h = jnp.concatenate([h, skips.pop()], axis=-1)
    return jnp.tanh(nn.Conv(self.channels, (3, 3))(h))


class PatchDiscriminator(nn.Module):
  """x (n, H, W, C) -> raw outputs (n, P), one per patch, P = (H / 2^depth)·(W / 2^depth)."""
  features: int = 32
  depth: int = 2
  normalization: str = "instance_norm"

  def setup(self):
    _check(self.features, self.normalization)

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    h = x
    for i in range(self.depth):
      h = nn.Conv(self.features * 2 ** i, (4, 4), strides=(2, 2))(h)
      h = _norm(self.normalization)(h) if i else h  # pix2pix: no normalisation on the first layer
      h = nn.leaky_relu(h, _LEAKY_SLOPE)
    h = nn.Conv(1, (3, 3))(h)
    return jnp.reshape(h, (h.shape[0], -1))


class TwoWayGenerator(nn.Module):
  """(a, b) pair images (n, H, W, 2C) -> (F(b), G(a)): each half translated into the other domain."""
  channels: int = 1
  kwargs: tuple = ()  # UNetGenerator fields, as (name, value) pairs (hashable)

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    c = self.channels
    a_to_b = UNetGenerator(channels=c, name="a_to_b", **dict(self.kwargs))
    b_to_a = UNetGenerator(channels=c, name="b_to_a", **dict(self.kwargs))
    return jnp.concatenate([b_to_a(x[..., c:]), a_to_b(x[..., :c])], axis=-1)


class TwoWayDiscriminator(nn.Module):
  """(a, b) pair images (n, H, W, 2C) -> (n, 2, P): D_A's patch outputs on the A half, D_B's on the B half."""
  channels: int = 1
  kwargs: tuple = ()  # PatchDiscriminator fields

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    c = self.channels
    d_a = PatchDiscriminator(name="d_a", **dict(self.kwargs))(x[..., :c])
    d_b = PatchDiscriminator(name="d_b", **dict(self.kwargs))(x[..., c:])
    return jnp.stack([d_a, d_b], axis=1)


GENERATORS: tuple[str, ...] = ("unet",)
DISCRIMINATORS: tuple[str, ...] = ("patch",)


def get_players(unpaired: bool, channels: int, generator_kwargs: dict, discriminator_kwargs: dict
                ) -> tuple[nn.Module, nn.Module]:
  """The (generator, discriminator) of a paired or an unpaired task, with their options checked.

  Paired: a U-Net mapping the condition (C channels) to the output, and a PatchGAN on (condition, image) pairs.
  Unpaired: the two-way pair of each.

  Raises:
    ValueError: an option a module does not take, or a bad value.
  """
  for cls, kwargs in ((UNetGenerator, generator_kwargs), (PatchDiscriminator, discriminator_kwargs)):
    unknown = set(kwargs) - {"features", "depth", "normalization"}
    if unknown:
      raise ValueError(f"{cls.__name__} has no option {sorted(unknown)[0]!r}; allowed: features, depth, "
                       "normalization")
    _check(kwargs.get("features", 32), kwargs.get("normalization", "instance_norm"))
  if unpaired:
    return (TwoWayGenerator(channels, tuple(sorted(generator_kwargs.items()))),
            TwoWayDiscriminator(channels, tuple(sorted(discriminator_kwargs.items()))))
  return UNetGenerator(channels=channels, **generator_kwargs), PatchDiscriminator(**discriminator_kwargs)
