"""Image-to-image players (`players.py`'s protocol): paired translation (pix2pix) and unpaired (CycleGAN).

Both train on *pair images* (n, H, W, 2C), so that real and generated samples live in one space and every part of
the engine (objectives, penalties on (n,) outputs aside, evaluation estimates, the probe) applies unchanged:

- Paired tasks (super-resolution, inpainting): a real sample is (x, y), the degraded input beside its ground
  truth; a generated one is (x, G(x)). The discriminator therefore sees the input with the output (pix2pix's
  conditional D), and the divergence it estimates is between the joint p(x, y) and p(x)·g(y | x). G's
  reconstruction term is `reconstruction_weight` · mean |G(x) − y| (pix2pix's L1, λ = 100). For inpainting G's
  output is pasted into the hole only: the known pixels are the input's.
- Unpaired translation: a real sample is (a, b), an image of domain A beside an unrelated one of domain B; a
  generated one is (F(b), G(a)). The discriminator pair (D_A, D_B) judges each half. G's reconstruction term is
  `reconstruction_weight` · mean |T(T(a, b)) − (a, b)| with T(a, b) = (F(b), G(a)), i.e. the mean of CycleGAN's two
  cycle-consistency L1 terms. The objectives average their losses over both discriminators' patches, so the whole
  objective is half of CycleGAN's L_GAN(G, D_B) + L_GAN(F, D_A) + λ·L_cyc, with λ = `reconstruction_weight`
  (CycleGAN halves D's loss too).

G takes no noise: as in CycleGAN (and pix2pix, whose dropout noise it reports G learning to ignore), the output is
a deterministic function of the input. The players keep no running statistics (instance norm), so `*_stats` are {}.
"""
from typing import Any, NamedTuple

from flax import linen as nn
import jax
import jax.numpy as jnp

from gan_jax import degradations
from gan_jax import players as players_lib

Inputs = players_lib.Inputs


class TranslationPlayers(NamedTuple):
  """A generator and a discriminator on pair images (H, W, 2C) (see the module docstring)."""
  generator: nn.Module           # paired: C -> C channels; unpaired: `TwoWayGenerator` (2C -> 2C)
  discriminator: nn.Module       # on pair images: (n, P) or (n, 2, P) patch outputs
  image_shape: tuple[int, int, int]   # the pair images' (H, W, 2C)
  unpaired: bool = False
  reconstruction_weight: float = 100.0
  hole: tuple[str, int] | None = None  # inpainting: (kind, size) of `degradations.hole_mask`
  shard_batch: players_lib.ShardFn = None
  latent_dim: int = 0
  num_classes: int = 0
  num_categories: int = 0
  num_continuous: int = 0
  # A Python loop, not lax.scan: XLA:CPU runs convolution gradients many times slower inside a loop body.
  unroll_critic: bool = True

  @property
  def channels(self) -> int:
    """C: the channels of one image of a pair."""
    return self.image_shape[-1] // 2

  @property
  def data_dim(self) -> tuple[int, int, int]:
    return self.image_shape

  def init(self, k_g: jax.Array, k_d: jax.Array, k_inputs: jax.Array) -> tuple[Any, Any, Any, Any]:
    del k_inputs  # shapes alone determine the variables
    pairs = jnp.zeros((2, *self.image_shape))
    g_in = pairs if self.unpaired else pairs[..., :self.channels]
    return (self.generator.init(k_g, g_in)["params"], {}, self.discriminator.init(k_d, pairs)["params"], {})

  def sample_inputs(self, key: jax.Array, n: int, labels: jax.Array | None = None, real: jax.Array | None = None
                    ) -> Inputs:
    """The real pairs to translate (no noise)."""
    del key, labels
    if real is None or real.shape[0] != n:
      raise ValueError(f"image-to-image players translate a real batch of {n} pair images; got "
                       f"{None if real is None else real.shape}")
    return Inputs(jnp.zeros((n, 0)), source=real)

  def translate(self, params: Any, source: jax.Array) -> jax.Array:
    """Paired: G(x) of inputs x (n, H, W, C) (the hole's outside kept from x); unpaired: T(a, b) = (F(b), G(a))."""
    out = self.generator.apply({"params": params}, source)
    if self.hole is not None:
      out = jnp.where(degradations.hole_mask(self.image_shape[0], *self.hole), out, source)
    return out

  def generate(self, params: Any, stats: Any, inputs: Inputs, *, train: bool) -> tuple[jax.Array, Any]:
    """Generated pair images: (x, G(x)) for paired tasks, (F(b), G(a)) for unpaired ones."""
    del train
    source = players_lib.shard_inputs(self.shard_batch, inputs).source
    if self.unpaired:
      return self.translate(params, source), stats
    x = source[..., :self.channels]
    return jnp.concatenate([x, self.translate(params, x)], axis=-1), stats

  def discriminate(self, params: Any, stats: Any, x: jax.Array, labels: jax.Array | None, *, train: bool,
                   key: jax.Array | None = None) -> tuple[jax.Array, None, Any]:
    """Every patch output, flattened image-major: (n·K·P,) for K discriminators of P patches each."""
    del labels, train, key
    return jnp.reshape(self.discriminator.apply({"params": params}, x), (-1,)), None, stats

  def critic_outputs(self, params: Any, stats: Any, real: jax.Array, labels: jax.Array | None, fake: jax.Array,
                     fake_labels: jax.Array | None, key: jax.Array) -> tuple[jax.Array, jax.Array, None, Any]:
    del labels, fake_labels, key
    return (self.discriminate(params, stats, real, None, train=True)[0],
            self.discriminate(params, stats, fake, None, train=True)[0], None, stats)

  def generator_keys(self, key: jax.Array) -> tuple[jax.Array, None]:
    return key, None

  def info_loss(self, q: Any, inputs: Inputs) -> jax.Array:
    del q, inputs
    return jnp.zeros(())

  def reconstruction_loss(self, g_params: Any, g_stats: Any, inputs: Inputs, fake: jax.Array, real: jax.Array
                          ) -> jax.Array:
    """Paired: weight · mean |G(x) − y|; unpaired: weight · mean |T(T(a, b)) − (a, b)| (cycle consistency)."""
    del g_stats, inputs
    if self.unpaired:
      return self.reconstruction_weight * jnp.mean(jnp.abs(self.translate(g_params, fake) - real))
    c = self.channels
    return self.reconstruction_weight * jnp.mean(jnp.abs(fake[..., c:] - real[..., c:]))
