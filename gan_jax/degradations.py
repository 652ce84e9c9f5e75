"""What the paired image-to-image tasks degrade a real image into, and the classic reconstructions from it.

Pure array functions over NHWC images in [−1, 1], usable on the host (NumPy in, NumPy out) and inside jitted code
(the functions only use `jnp`):

- Super-resolution ×f (SRGAN, Ledig et al. 2017): `area_downsample` averages each f×f block (the "area" kernel,
  what `cv2.INTER_AREA` and `tf.image.resize(..., 'area')` compute for integer factors). The generator sees the
  low-resolution image nearest-upsampled back to full size (`nearest_upsample`: pre-upsampling, as SRCNN and VDSR
  feed bicubic inputs), which loses nothing: `area_downsample(nearest_upsample(x, f), f) == x`. The baseline a
  learned model has to beat is `bicubic_upsample` (Keys' cubic convolution, a = −0.5, as `jax.image.resize`).
- Inpainting (Pathak et al. 2016's context encoders): `hole_mask` marks a centred square or the bottom half;
  `apply_hole` fills it with `HOLE_VALUE` (mid-grey, 0 in [−1, 1]). The baseline is the masked input itself.
"""
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

HOLE_KINDS: tuple[str, ...] = ("center", "bottom_half")
HOLE_VALUE = 0.0  # mid-grey in [−1, 1]: neither ink nor paper


def check_upscale(image_size: int, factor: Any) -> None:
  """Raises one line unless `factor` is an integer >= 2 dividing `image_size`."""
  divisors = [f for f in range(2, image_size + 1) if image_size % f == 0]
  if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor not in divisors:
    raise ValueError(f"upscale={factor!r} is invalid for {image_size}-pixel images; allowed: an integer >= 2 that "
                     f"divides {image_size} ({', '.join(map(str, divisors))})")


def check_hole(image_size: int, kind: Any, size: Any) -> None:
  """Raises one line for an unknown hole kind or a centred square that is not in [1, image_size − 1] pixels."""
  if kind not in HOLE_KINDS:
    raise ValueError(f"mask={kind!r} is invalid; allowed: {' | '.join(HOLE_KINDS)}")
  if kind == "center" and (isinstance(size, bool) or not isinstance(size, (int, np.integer))
                           or not 1 <= size < image_size):
    raise ValueError(f"mask_size={size!r} is invalid for {image_size}-pixel images; allowed: an integer from 1 to "
                     f"{image_size - 1} (the hole must leave some of the image)")


def area_downsample(images: Any, factor: int) -> Any:
  """The mean of each factor×factor block: (n, H, W, C) -> (n, H/f, W/f, C)."""
  n, h, w, c = images.shape
  blocks = jnp.reshape(images, (n, h // factor, factor, w // factor, factor, c))
  return jnp.mean(blocks, axis=(2, 4))


def nearest_upsample(images: Any, factor: int) -> Any:
  """Each pixel repeated into a factor×factor block: (n, h, w, C) -> (n, h·f, w·f, C)."""
  return jnp.repeat(jnp.repeat(images, factor, axis=1), factor, axis=2)


def bicubic_upsample(images: Any, factor: int) -> Any:
  """Bicubic interpolation to f× the size, clipped to [−1, 1] (cubic kernels overshoot at edges)."""
  n, h, w, c = images.shape
  out = jax.image.resize(jnp.asarray(images, jnp.float32), (n, h * factor, w * factor, c), method="bicubic")
  return jnp.clip(out, -1.0, 1.0)


def hole_mask(image_size: int, kind: str, size: int = 0) -> np.ndarray:
  """A boolean (H, W, 1) mask, True inside the hole: a centred size×size square or the bottom half."""
  mask = np.zeros((image_size, image_size, 1), bool)
  if kind == "bottom_half":
    mask[image_size // 2:] = True
  else:
    start = (image_size - size) // 2
    mask[start:start + size, start:start + size] = True
  return mask


def apply_hole(images: Any, mask: Any) -> Any:
  """`images` with the hole filled with `HOLE_VALUE` (the inpainting task's input)."""
  return jnp.where(mask, HOLE_VALUE, images)


def super_resolution_input(images: Any, factor: int) -> Any:
  """The generator's view of a super-resolution example: the low-resolution image at full size (nearest)."""
  return nearest_upsample(area_downsample(images, factor), factor)
