"""Image GAN players as pure Flax Linen modules: DCGAN, the classic Keras MNIST MLP GAN, conditional and InfoGAN.

Images are float32 NHWC in [−1, 1]; generators end in tanh. Discriminators return raw outputs (n,) (logits or
critic values), as in `models.py`.

Every module takes a keyword `train`. Layers with state keep it in the `batch_stats` collection: BatchNorm running
averages and, for spectral norm, the power-iteration vector u and σ. In training mode call
`apply(variables, ..., train=True, mutable=['batch_stats'])`, which normalises with the batch's own statistics and
returns `(outputs, {'batch_stats': new_stats})`; in evaluation mode call `apply(variables, ..., train=False)`, which
uses the running averages and changes nothing. Modules without such layers have no `batch_stats` (the mutable call
then returns an empty dict). Dropout in `MLPImageDiscriminator` (off by default) needs a 'dropout' rng in training.

Conditional players take integer labels (n,): generators concatenate a learned label embedding to z (Mirza &
Osindero 2014); discriminators add the projection term ⟨embed(y), φ(x)⟩ to their output (Miyato & Koyama 2018,
Eq. 3). InfoGAN (Chen et al. 2016) feeds categorical and continuous codes to the generator and gives the
discriminator a Q head; `infogan_mutual_information_loss` is the negative of the lower bound L_I of their Eq. 5 up
to constants.
"""
from typing import Any

from flax import linen as nn
import jax
import jax.numpy as jnp
from jax.typing import ArrayLike
import numpy as np

Array = jax.Array

NORMALIZATIONS: tuple[str, ...] = ("batch_norm", "spectral_norm", "layer_norm", "none")
# Radford et al. 2015, Sec. 3: LeakyReLU slope 0.2 in the discriminator; the Keras MLP GAN uses it in both players.
_LEAKY_SLOPE = 0.2
# DCGAN kernels are 4×4 with stride 2 ("fractionally-strided" convolutions in the generator).
_KERNEL = (4, 4)
_BN_MOMENTUM = 0.9  # running-average decay of the DCGAN TensorFlow code (Flax's default too)
_BN_EPSILON = 1e-5


def _check_positive(**values: Any) -> None:
  for name, value in values.items():
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
      raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_non_negative(**values: Any) -> None:
  for name, value in values.items():
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
      raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def dcgan_base_size(image_size: int) -> tuple[int, int]:
  """The DCGAN spatial plan for square images: (base side length, number of stride-2 stages).

  The side is halved while it is even and its half is at least 4: 8 → (4, 1), 16 → (4, 2), 28 → (7, 2),
  32 → (4, 3), 64 → (4, 4).

  Raises:
    ValueError: unless image_size is an even integer >= 8 (at least one stride-2 stage).
  """
  if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size < 8 or (
      image_size % 2):
    raise ValueError(f"image_size must be an even integer >= 8 (e.g. 8, 16, 28, 32), got {image_size!r}")
  size, stages = int(image_size), 0
  while size % 2 == 0 and size // 2 >= 4:
    size, stages = size // 2, stages + 1
  return size, stages


def _check_images(x: Any, image_size: int, channels: int) -> None:
  shape = tuple(jnp.shape(x))
  if len(shape) != 4 or shape[1:] != (image_size, image_size, channels):
    raise ValueError(f"images must have shape (n, {image_size}, {image_size}, {channels}), got shape {shape}")


def _check_latent(z: Any, dim: int, what: str = "z") -> None:
  shape = tuple(jnp.shape(z))
  if len(shape) != 2 or shape[1] != dim:
    raise ValueError(f"{what} must have shape (n, {dim}), got shape {shape}")


def _check_labels(labels: Any, n: int, num_classes: int) -> None:
  """Conditional players need labels (n,); unconditional ones must not get any."""
  if num_classes == 0:
    if labels is not None:
      raise ValueError("labels were given to an unconditional module (num_classes=0)")
    return
  if labels is None:
    raise ValueError(f"this module is conditional (num_classes={num_classes}): pass integer labels of shape ({n},)")
  labels_arr = jnp.asarray(labels)
  if labels_arr.shape != (n,) or not jnp.issubdtype(labels_arr.dtype, jnp.integer):
    raise ValueError(f"labels must be integers of shape ({n},), got shape {labels_arr.shape} "
                     f"dtype {labels_arr.dtype}")
  if not isinstance(labels, jax.core.Tracer):
    values = np.asarray(labels)
    if values.size and (values.min() < 0 or values.max() >= num_classes):
      raise ValueError(f"labels must lie in [0, {num_classes}), got range [{values.min()}, {values.max()}]")


def _batch_norm(train: bool) -> nn.BatchNorm:
  return nn.BatchNorm(use_running_average=not train, momentum=_BN_MOMENTUM, epsilon=_BN_EPSILON)


def subpixel_kernel(kernel: Array) -> Array:
  """Rewrites a 4×4 stride-2 'SAME' transposed-convolution kernel (4, 4, I, O) as a 3×3 convolution (3, 3, I, 4·O).

  `lax.conv_transpose(x, kernel, (2, 2), 'SAME')` pads the 2×-dilated input by 2 on each side and correlates, so
  output pixel 2m + a (phase a ∈ {0, 1}) sums kernel taps k ≡ a (mod 2) against input pixel m + (a + k − 2)/2, an
  offset in {−1, 0, 1}. Output channels of the 3×3 kernel are ordered (row phase, column phase, O).
  """
  kh, kw, cin, cout = kernel.shape
  if (kh, kw) != (4, 4):
    raise ValueError(f"subpixel_kernel needs a 4×4 kernel, got {kernel.shape}")
  taps = np.zeros((3, 4, 2), np.float32)  # [offset + 1, tap k, phase a] = 1 where tap k feeds phase a at offset
  for a in range(2):
    for k in range(a % 2, 4, 2):
      taps[(a + k - 2) // 2 + 1, k, a] = 1.0
  out = jnp.einsum("rka,sjb,kjio->rsiabo", taps, taps, kernel)
  return out.reshape(3, 3, cin, 4 * cout)


class SubpixelConvTranspose(nn.Module):
  """`nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding='SAME')`, computed as a sub-pixel convolution.

  The same parameters ('kernel' (4, 4, I, O), 'bias'), initialisers and outputs (to float rounding), but a stride-1
  3×3 convolution to 4·O channels followed by a depth-to-space shuffle instead of a convolution over a dilated
  input: XLA:CPU runs the latter's forward and gradient about 4× slower (166 ms against 39 ms for 7×7×128 ->
  14×14×64 at batch 64 on 2 cores). The doubling of the image is exact: (n, H, W, I) -> (n, 2H, 2W, O).
  """
  features: int
  use_bias: bool = True

  @nn.compact
  def __call__(self, x: Array) -> Array:
    kernel = self.param("kernel", nn.initializers.lecun_normal(), (4, 4, x.shape[-1], self.features), jnp.float32)
    n, h, w, _ = x.shape
    y = jax.lax.conv_general_dilated(x, subpixel_kernel(kernel), (1, 1), ((1, 1), (1, 1)),
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
    y = y.reshape(n, h, w, 2, 2, self.features).transpose(0, 1, 3, 2, 4, 5).reshape(n, 2 * h, 2 * w, self.features)
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros_init(), (self.features,), jnp.float32)
    return y


class _DCGANDecoder(nn.Module):
  """Vector (n, d) -> image (n, S, S, C): project, reshape, stride-2 transposed convs, tanh (Radford et al. Fig. 1).

  Channels halve at each stage and the last hidden stage has `features` channels; BatchNorm and ReLU after every
  layer but the output (Radford et al. 2015, Sec. 3).
  """
  image_size: int
  channels: int
  features: int

  @nn.compact
  def __call__(self, h: Array, train: bool) -> Array:
    base, stages = dcgan_base_size(self.image_size)
    width = self.features * 2 ** (stages - 1)
    # No biases before BatchNorm: its shift β makes them redundant.
    h = nn.Dense(base * base * width, use_bias=False)(h)
    h = h.reshape(h.shape[0], base, base, width)
    h = nn.relu(_batch_norm(train)(h))
    # Named as nn.ConvTranspose would be: the same parameter tree, whichever implementation computes it.
    for stage in range(stages - 1):
      h = SubpixelConvTranspose(width // 2 ** (stage + 1), use_bias=False, name=f"ConvTranspose_{stage}")(h)
      h = nn.relu(_batch_norm(train)(h))
    h = SubpixelConvTranspose(self.channels, name=f"ConvTranspose_{stages - 1}")(h)
    return jnp.tanh(h)


class _DCGANEncoder(nn.Module):
  """Image (n, S, S, C) -> flat features (n, base²·width): stride-2 convs with LeakyReLU(0.2).

  The first layer has no normalization (Radford et al. 2015, Sec. 3); the others use `normalization`. With
  'spectral_norm' every kernel is divided by its largest singular value (Miyato et al. 2018), estimated by one
  power iteration per call whose vector u is kept in `batch_stats`.
  """
  features: int
  stages: int
  normalization: str

  def _layer(self, layer: nn.Module, x: Array, train: bool) -> Array:
    if self.normalization == "spectral_norm":
      return nn.SpectralNorm(layer)(x, update_stats=train)
    return layer(x)

  @nn.compact
  def __call__(self, x: Array, train: bool) -> Array:
    h = x
    for stage in range(self.stages):
      use_bias = stage == 0 or self.normalization != "batch_norm"
      h = self._layer(nn.Conv(self.features * 2 ** stage, _KERNEL, strides=(2, 2), padding="SAME",
                              use_bias=use_bias), h, train)
      if stage > 0 and self.normalization == "batch_norm":
        h = _batch_norm(train)(h)
      elif stage > 0 and self.normalization == "layer_norm":
        h = nn.LayerNorm(epsilon=_BN_EPSILON)(h)
      h = nn.leaky_relu(h, _LEAKY_SLOPE)
    return h.reshape(h.shape[0], -1)


class _ProjectionOutput(nn.Module):
  """Features φ (n, f) -> raw outputs (n,): ψ(φ) plus, if conditional, ⟨embed(y), φ⟩ (Miyato & Koyama 2018)."""
  num_classes: int
  spectral_norm: bool = False

  @nn.compact
  def __call__(self, features: Array, labels: Array | None, train: bool) -> Array:
    dense = nn.Dense(1)
    out = (nn.SpectralNorm(dense)(features, update_stats=train) if self.spectral_norm else dense(features))[:, 0]
    if self.num_classes:
      embed = nn.Embed(self.num_classes, features.shape[-1])(labels)
      out = out + jnp.sum(embed * features, axis=-1)
    return out


def _check_normalization(normalization: str) -> None:
  if normalization not in NORMALIZATIONS:
    raise ValueError(f"unknown normalization {normalization!r}; allowed: {', '.join(NORMALIZATIONS)}")


class DCGANGenerator(nn.Module):
  """DCGAN generator (Radford et al. 2015): z (n, latent_dim) [, labels (n,)] -> images (n, S, S, C) in [−1, 1].

  Attributes:
    image_size: side S of the square output, an even integer >= 8 (see `dcgan_base_size`).
    channels: output channels C (1 for grey, 3 for colour).
    latent_dim: size of z (100 in Radford et al.).
    features: channels of the last hidden stage; the stage before has twice as many, and so on.
    num_classes: 0 for unconditional; otherwise a label embedding of `label_embed_dim` is concatenated to z.
    label_embed_dim: label embedding size (conditional only).
  """
  image_size: int = 32
  channels: int = 1
  latent_dim: int = 100
  features: int = 64
  num_classes: int = 0
  label_embed_dim: int = 50

  def __post_init__(self) -> None:
    dcgan_base_size(self.image_size)
    _check_positive(channels=self.channels, latent_dim=self.latent_dim, features=self.features,
                    label_embed_dim=self.label_embed_dim)
    _check_non_negative(num_classes=self.num_classes)
    super().__post_init__()

  @nn.compact
  def __call__(self, z: Array, labels: Array | None = None, *, train: bool) -> Array:
    """Maps latents z (n, latent_dim) (and labels (n,) if conditional) to images (n, S, S, C)."""
    _check_latent(z, self.latent_dim)
    _check_labels(labels, z.shape[0], self.num_classes)
    h = z
    if self.num_classes:
      h = jnp.concatenate([z, nn.Embed(self.num_classes, self.label_embed_dim)(labels)], axis=-1)
    return _DCGANDecoder(self.image_size, self.channels, self.features)(h, train)


class DCGANDiscriminator(nn.Module):
  """DCGAN discriminator: images (n, S, S, C) [, labels (n,)] -> raw outputs (n,).

  Attributes:
    image_size: side S of the square input, an even integer >= 8.
    channels: input channels C.
    features: channels of the first conv; each further stride-2 stage doubles them.
    normalization: 'batch_norm' (Radford et al.), 'spectral_norm' (Miyato et al. 2018, every layer, no
      BatchNorm), 'layer_norm' (no batch dependence: the choice for gradient penalties, Gulrajani et al. 2017,
      Sec. 4) or 'none'.
    num_classes: 0 for unconditional; otherwise a projection discriminator (Miyato & Koyama 2018).
  """
  image_size: int = 32
  channels: int = 1
  features: int = 64
  normalization: str = "batch_norm"
  num_classes: int = 0

  def __post_init__(self) -> None:
    dcgan_base_size(self.image_size)
    _check_positive(channels=self.channels, features=self.features)
    _check_non_negative(num_classes=self.num_classes)
    _check_normalization(self.normalization)
    super().__post_init__()

  @nn.compact
  def __call__(self, x: Array, labels: Array | None = None, *, train: bool) -> Array:
    """Returns raw outputs (n,) for images x (n, S, S, C) (and labels (n,) if conditional)."""
    _check_images(x, self.image_size, self.channels)
    _check_labels(labels, x.shape[0], self.num_classes)
    _, stages = dcgan_base_size(self.image_size)
    features = _DCGANEncoder(self.features, stages, self.normalization, name="encoder")(x, train)
    return _ProjectionOutput(self.num_classes, self.normalization == "spectral_norm")(features, labels, train)


class MLPImageGenerator(nn.Module):
  """The classic Keras MNIST GAN generator: z (n, 100) -> 256-512-1024 LeakyReLU(0.2) -> tanh image (n, H, W, C).

  Attributes:
    image_shape: (H, W, C) of the output; the last layer has H·W·C units (784 for MNIST).
    random_dim: size of z (the Keras example's `random_dim` = 100).
    features: hidden widths.
    num_classes: 0 for unconditional; otherwise a label embedding is concatenated to z.
    label_embed_dim: label embedding size (conditional only).
  """
  image_shape: tuple[int, int, int] = (28, 28, 1)
  random_dim: int = 100
  features: tuple[int, ...] = (256, 512, 1024)
  num_classes: int = 0
  label_embed_dim: int = 50

  def __post_init__(self) -> None:
    _check_shape(self.image_shape)
    _check_positive(random_dim=self.random_dim, label_embed_dim=self.label_embed_dim,
                    **{f"features[{i}]": f for i, f in enumerate(self.features)})
    _check_non_negative(num_classes=self.num_classes)
    super().__post_init__()

  @property
  def latent_dim(self) -> int:
    """Size of z (= random_dim), the name the other generators use."""
    return self.random_dim

  @nn.compact
  def __call__(self, z: Array, labels: Array | None = None, *, train: bool) -> Array:
    """Maps latents z (n, random_dim) (and labels (n,) if conditional) to images (n, H, W, C)."""
    del train  # no batch-dependent layers
    _check_latent(z, self.random_dim)
    _check_labels(labels, z.shape[0], self.num_classes)
    h = z
    if self.num_classes:
      h = jnp.concatenate([z, nn.Embed(self.num_classes, self.label_embed_dim)(labels)], axis=-1)
    for width in self.features:
      h = nn.leaky_relu(nn.Dense(width)(h), _LEAKY_SLOPE)
    h = jnp.tanh(nn.Dense(int(np.prod(self.image_shape)))(h))
    return h.reshape(h.shape[0], *self.image_shape)


class MLPImageDiscriminator(nn.Module):
  """The classic Keras MNIST GAN discriminator: flattened image -> 1024-512-256 LeakyReLU(0.2) -> raw output (n,).

  Attributes:
    image_shape: (H, W, C) of the input.
    features: hidden widths.
    dropout_rate: dropout after each hidden layer in training mode (the Keras example uses 0.3; needs a
      'dropout' rng); 0 turns it off.
    num_classes: 0 for unconditional; otherwise a projection discriminator (Miyato & Koyama 2018).
  """
  image_shape: tuple[int, int, int] = (28, 28, 1)
  features: tuple[int, ...] = (1024, 512, 256)
  dropout_rate: float = 0.0
  num_classes: int = 0

  def __post_init__(self) -> None:
    _check_shape(self.image_shape)
    _check_positive(**{f"features[{i}]": f for i, f in enumerate(self.features)})
    _check_non_negative(num_classes=self.num_classes)
    if not 0.0 <= self.dropout_rate < 1.0:
      raise ValueError(f"dropout_rate must be in [0, 1), got {self.dropout_rate!r}")
    super().__post_init__()

  @nn.compact
  def __call__(self, x: Array, labels: Array | None = None, *, train: bool) -> Array:
    """Returns raw outputs (n,) for images x (n, H, W, C) (and labels (n,) if conditional)."""
    shape = tuple(jnp.shape(x))
    if len(shape) != 4 or shape[1:] != tuple(self.image_shape):
      raise ValueError(f"images must have shape (n, {', '.join(map(str, self.image_shape))}), got shape {shape}")
    _check_labels(labels, x.shape[0], self.num_classes)
    h = x.reshape(x.shape[0], -1)
    for width in self.features:
      h = nn.leaky_relu(nn.Dense(width)(h), _LEAKY_SLOPE)
      if self.dropout_rate:
        h = nn.Dropout(self.dropout_rate, deterministic=not train)(h)
    return _ProjectionOutput(self.num_classes)(h, labels, train)


def _check_shape(image_shape: Any) -> None:
  if not (isinstance(image_shape, tuple) and len(image_shape) == 3 and all(
      isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in image_shape)):
    raise ValueError(f"image_shape must be a tuple (H, W, C) of positive integers, got {image_shape!r}")


class InfoGANGenerator(nn.Module):
  """InfoGAN generator (Chen et al. 2016): G(z, c) with c = (one-hot categorical, continuous codes), DCGAN body.

  Attributes:
    image_size: side S of the square output (even, >= 8).
    channels: output channels C.
    latent_dim: size of the incompressible noise z (62 for MNIST in Chen et al., App. C.1).
    num_categories: size K of the categorical code (10 for MNIST).
    num_continuous: number L of continuous codes (2 for MNIST, each ~ U(−1, 1)).
    features: channels of the last hidden stage.
    dense_features: width of a fully connected layer (BatchNorm, ReLU) that first mixes z and the codes, as in
      Chen et al.'s MNIST generator (1,024); 0 = none (the codes go straight into the DCGAN projection).
  """
  image_size: int = 28
  channels: int = 1
  latent_dim: int = 62
  num_categories: int = 10
  num_continuous: int = 2
  features: int = 64
  dense_features: int = 0

  def __post_init__(self) -> None:
    dcgan_base_size(self.image_size)
    _check_positive(channels=self.channels, latent_dim=self.latent_dim, num_categories=self.num_categories,
                    features=self.features)
    _check_non_negative(num_continuous=self.num_continuous, dense_features=self.dense_features)
    super().__post_init__()

  @nn.compact
  def __call__(self, z: Array, cat_codes: Array, cont_codes: Array, *, train: bool) -> Array:
    """Maps z (n, latent_dim), categories (n,) int and continuous codes (n, L) to images (n, S, S, C)."""
    _check_latent(z, self.latent_dim)
    _check_labels(cat_codes, z.shape[0], self.num_categories)
    _check_latent(cont_codes, self.num_continuous, "cont_codes")
    h = jnp.concatenate([z, jax.nn.one_hot(cat_codes, self.num_categories, dtype=z.dtype), cont_codes], axis=-1)
    if self.dense_features:
      h = nn.relu(_batch_norm(train)(nn.Dense(self.dense_features, use_bias=False)(h)))
    return _DCGANDecoder(self.image_size, self.channels, self.features)(h, train)


class InfoGANDiscriminator(nn.Module):
  """InfoGAN discriminator with its Q head (Chen et al. 2016, App. C.1): shared DCGAN body, then
  D: Dense(1), and Q: Dense(q_features)-BN-LeakyReLU, then category logits (n, K) and continuous means (n, L).

  Attributes:
    image_size: side S of the square input (even, >= 8).
    channels: input channels C.
    features: channels of the first conv.
    num_categories: K.
    num_continuous: L.
    q_features: width of the Q head's hidden layer (128 in Chen et al.).
    normalization: as in `DCGANDiscriminator`; the Q head's hidden layer uses BatchNorm only with 'batch_norm'.
    dense_features: width of a fully connected layer (normalization as above, LeakyReLU) after the convolutions,
      shared by D and Q, as in Chen et al.'s MNIST discriminator (1,024); 0 = none.
  """
  image_size: int = 28
  channels: int = 1
  features: int = 64
  num_categories: int = 10
  num_continuous: int = 2
  q_features: int = 128
  normalization: str = "batch_norm"
  dense_features: int = 0

  def __post_init__(self) -> None:
    dcgan_base_size(self.image_size)
    _check_positive(channels=self.channels, features=self.features, num_categories=self.num_categories,
                    q_features=self.q_features)
    _check_non_negative(num_continuous=self.num_continuous, dense_features=self.dense_features)
    _check_normalization(self.normalization)
    super().__post_init__()

  @nn.compact
  def __call__(self, x: Array, *, train: bool) -> tuple[Array, Array, Array]:
    """Returns (raw D outputs (n,), Q category logits (n, K), Q continuous means (n, L)) for images x."""
    _check_images(x, self.image_size, self.channels)
    _, stages = dcgan_base_size(self.image_size)
    features = _DCGANEncoder(self.features, stages, self.normalization, name="encoder")(x, train)
    if self.dense_features:
      dense = nn.Dense(self.dense_features, use_bias=self.normalization != "batch_norm")
      features = (nn.SpectralNorm(dense)(features, update_stats=train) if self.normalization == "spectral_norm"
                  else dense(features))
      if self.normalization == "batch_norm":
        features = _batch_norm(train)(features)
      elif self.normalization == "layer_norm":
        features = nn.LayerNorm(epsilon=_BN_EPSILON)(features)
      features = nn.leaky_relu(features, _LEAKY_SLOPE)
    out = _ProjectionOutput(0, self.normalization == "spectral_norm")(features, None, train)
    q = nn.Dense(self.q_features, use_bias=self.normalization != "batch_norm")(features)
    if self.normalization == "batch_norm":
      q = _batch_norm(train)(q)
    q = nn.leaky_relu(q, _LEAKY_SLOPE)
    return out, nn.Dense(self.num_categories)(q), nn.Dense(self.num_continuous)(q)


def sample_infogan_codes(key: Array, n: int, num_categories: int, num_continuous: int) -> tuple[Array, Array]:
  """Draws InfoGAN codes: categories uniform on {0..K−1} (n,) int32, continuous U(−1, 1) (n, L) (Chen et al.)."""
  _check_positive(n=n, num_categories=num_categories)
  _check_non_negative(num_continuous=num_continuous)
  k_cat, k_cont = jax.random.split(key)
  cat = jax.random.randint(k_cat, (n,), 0, num_categories, dtype=jnp.int32)
  cont = jax.random.uniform(k_cont, (n, num_continuous), minval=-1.0, maxval=1.0)
  return cat, cont


def infogan_mutual_information_loss(q_cat_logits: ArrayLike, q_cont_mean: ArrayLike, cat_codes: ArrayLike,
                                    cont_codes: ArrayLike, *, continuous_weight: float = 1.0) -> jax.Array:
  """InfoGAN's mutual-information loss: batch mean of CE(c_cat, Q) + continuous_weight · ½‖c_cont − μ_Q‖².

  With Q(c_cat | x) = softmax(logits) and Q(c_cont | x) = N(μ_Q, I) (fixed unit variance),
  E[log Q(c | x)] = −CE − ½‖c_cont − μ_Q‖² − (L/2)·log 2π, so at continuous_weight = 1 this loss is
  −L_I(G, Q) + H(c) − (L/2)·log 2π (Chen et al. 2016, Eq. 5): minimising it maximises the lower bound
  L_I ≤ I(c; G(z, c)) (H(c), the code prior's entropy, and the 2π term do not depend on G or Q).

  Args:
    q_cat_logits: Q's category logits (n, K).
    q_cont_mean: Q's continuous means (n, L).
    cat_codes: the categories fed to G, integers (n,).
    cont_codes: the continuous codes fed to G (n, L).
    continuous_weight: weight λ_cont of the continuous term (Chen et al. use a smaller λ for continuous codes).

  Returns:
    The scalar loss, minimised by both G and Q.

  Raises:
    ValueError: for inconsistent shapes.
  """
  logits = jnp.asarray(q_cat_logits, jnp.float32)
  mean = jnp.asarray(q_cont_mean, jnp.float32)
  cat = jnp.asarray(cat_codes)
  cont = jnp.asarray(cont_codes, jnp.float32)
  if logits.ndim != 2 or logits.shape[0] == 0:
    raise ValueError(f"q_cat_logits must have shape (n, K) with n >= 1, got shape {logits.shape}")
  n = logits.shape[0]
  if cat.shape != (n,) or not jnp.issubdtype(cat.dtype, jnp.integer):
    raise ValueError(f"cat_codes must be integers of shape ({n},), got shape {cat.shape} dtype {cat.dtype}")
  if mean.ndim != 2 or mean.shape[0] != n or cont.shape != mean.shape:
    raise ValueError(f"q_cont_mean and cont_codes must both have shape ({n}, L), got {mean.shape} and "
                     f"{cont.shape}")
  log_q = jnp.take_along_axis(jax.nn.log_softmax(logits), cat[:, None], axis=1)[:, 0]
  gaussian_nll = 0.5 * jnp.sum((cont - mean) ** 2, axis=-1)
  return jnp.mean(-log_q + continuous_weight * gaussian_nll)


# One registry by name: how each image player is built for (H, W, C) images and K classes (0: unconditional).
# InfoGAN's players take no labels (the categorical code plays their role; `image_task` rules the pair out).
_GENERATOR_BUILDERS = {
    "dcgan": lambda shape, k, kw: DCGANGenerator(image_size=shape[0], channels=shape[2], num_classes=k, **kw),
    "mlp": lambda shape, k, kw: MLPImageGenerator(image_shape=shape, num_classes=k, **kw),
    "infogan": lambda shape, k, kw: InfoGANGenerator(image_size=shape[0], channels=shape[2], **kw),
}
_DISCRIMINATOR_BUILDERS = {
    "dcgan": lambda shape, k, kw: DCGANDiscriminator(image_size=shape[0], channels=shape[2], num_classes=k, **kw),
    "mlp": lambda shape, k, kw: MLPImageDiscriminator(image_shape=shape, num_classes=k, **kw),
    "infogan": lambda shape, k, kw: InfoGANDiscriminator(image_size=shape[0], channels=shape[2], **kw),
}
GENERATORS: tuple[str, ...] = tuple(_GENERATOR_BUILDERS)
DISCRIMINATORS: tuple[str, ...] = tuple(_DISCRIMINATOR_BUILDERS)


def _build(builders: dict, kind: str, name: str, image_shape: tuple[int, int, int], num_classes: int,
           kwargs: dict[str, Any]) -> nn.Module:
  if name not in builders:
    raise ValueError(f"unknown image {kind} {name!r}; valid names: {', '.join(builders)}")
  return builders[name](tuple(image_shape), num_classes, kwargs)


def get_generator(name: str, *, image_shape: tuple[int, int, int], num_classes: int = 0, **kwargs: Any
                  ) -> nn.Module:
  """Builds the image generator called `name` (one of `GENERATORS`) for images of `image_shape`.

  Raises:
    ValueError: for an unknown name, or module fields the module rejects.
  """
  return _build(_GENERATOR_BUILDERS, "generator", name, image_shape, num_classes, kwargs)


def get_discriminator(name: str, *, image_shape: tuple[int, int, int], num_classes: int = 0, **kwargs: Any
                      ) -> nn.Module:
  """Builds the image discriminator called `name` (one of `DISCRIMINATORS`) for images of `image_shape`.

  Raises:
    ValueError: for an unknown name, or module fields the module rejects.
  """
  return _build(_DISCRIMINATOR_BUILDERS, "discriminator", name, image_shape, num_classes, kwargs)
