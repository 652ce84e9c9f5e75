"""The two players as the engine sees them: how they are initialised, fed and applied.

The engine (`engine.py`) trains any pair of players through one small protocol, so a task adds players without a
second training loop. Two families implement it:

- `ToyPlayers`: low-dimensional generators and discriminators from `models.py` (no labels, no running
  statistics; `params` are the full Flax variables).
- `ImagePlayers`: image generators and discriminators from `image_models.py`, with BatchNorm / spectral-norm
  running statistics (`batch_stats`), dropout, class labels (conditional GANs) and InfoGAN's latent codes.

The protocol (duck-typed; both are NamedTuples, i.e. static halves of a jitted program):
  `init(k_g, k_d, k_inputs) -> (g_params, g_stats, d_params, d_stats)`;
  `sample_inputs(key, n, labels=None, real=None) -> Inputs` (`real`: the real batch of the step, which
  image-to-image players translate; noise-fed players ignore it);
  `generate(params, stats, inputs, *, train) -> (images, new_stats)`;
  `discriminate(params, stats, x, labels, *, train, key=None) -> (outputs (n,), q or None, new_stats)`;
  `critic_outputs(params, stats, real, labels, fake, fake_labels, key) -> (real_out, fake_out, q, new_stats)`;
  `generator_keys(key) -> (inputs key, dropout key or None)`;
  `info_loss(q, inputs)`; `reconstruction_loss(g_params, g_stats, inputs, fake, real) -> scalar or None` (the
  generator's non-adversarial term: pix2pix's L1, CycleGAN's cycle consistency; None when there is none);
  fields `num_classes`, `num_categories`, `unroll_critic`, `shard_batch`.

`translation_players.py` implements it for image-to-image tasks.
"""
from typing import Any, Callable, NamedTuple

from flax import linen as nn
import jax
import jax.numpy as jnp

from gan_jax import image_models

# (x, batch_axis) -> x split over devices along that axis (the data-parallel layout), or None.
ShardFn = Callable[[jax.Array, int], jax.Array] | None


LATENT_PRIORS = ("normal", "uniform")  # `ImagePlayers.latent_prior`


class Inputs(NamedTuple):
  """What the generator is fed: noise z (n, latent_dim), labels (n,) for conditional GANs, InfoGAN codes."""
  z: jax.Array
  labels: jax.Array | None = None
  cat: jax.Array | None = None    # InfoGAN categorical code (n,)
  cont: jax.Array | None = None   # InfoGAN continuous codes (n, L)
  source: jax.Array | None = None  # image-to-image: the images G translates (n, H, W, C)


def shard_inputs(shard_batch: ShardFn, inputs: Inputs) -> Inputs:
  return inputs if shard_batch is None else jax.tree.map(lambda x: shard_batch(x, 0), inputs)


class ToyPlayers(NamedTuple):
  """A generator and a discriminator on R^d (`models.py`): z ~ N(0, I) -> x, x -> one raw output."""
  generator: nn.Module
  discriminator: nn.Module
  latent_dim: int
  data_dim: int
  shard_batch: ShardFn = None
  num_classes: int = 0
  num_categories: int = 0
  # The critic steps run as one lax.scan: small dense players compile and run fastest fused.
  unroll_critic: bool = False

  def init(self, k_g: jax.Array, k_d: jax.Array, k_inputs: jax.Array) -> tuple[Any, Any, Any, Any]:
    """Both players' variables; toy players have no running statistics ({})."""
    del k_inputs  # shapes alone determine the toy players' variables
    g_params = self.generator.init(k_g, jnp.zeros((1, self.latent_dim)))
    d_params = self.discriminator.init(k_d, jnp.zeros((1, self.data_dim)))
    return g_params, {}, d_params, {}

  def sample_inputs(self, key: jax.Array, n: int, labels: jax.Array | None = None, real: jax.Array | None = None
                    ) -> Inputs:
    """z ~ N(0, I) of shape (n, latent_dim)."""
    del labels, real
    return Inputs(jax.random.normal(key, (n, self.latent_dim)))

  def generate(self, params: Any, stats: Any, inputs: Inputs, *, train: bool) -> tuple[jax.Array, Any]:
    del train
    return self.generator.apply(params, shard_inputs(self.shard_batch, inputs).z), stats

  def discriminate(self, params: Any, stats: Any, x: jax.Array, labels: jax.Array | None, *, train: bool,
                   key: jax.Array | None = None) -> tuple[jax.Array, None, Any]:
    del labels, train, key
    return self.discriminator.apply(params, x), None, stats

  def critic_outputs(self, params: Any, stats: Any, real: jax.Array, labels: jax.Array | None, fake: jax.Array,
                     fake_labels: jax.Array | None, key: jax.Array) -> tuple[jax.Array, jax.Array, None, Any]:
    del labels, fake_labels, key
    return self.discriminator.apply(params, real), self.discriminator.apply(params, fake), None, stats

  def generator_keys(self, key: jax.Array) -> tuple[jax.Array, None]:
    return key, None

  def info_loss(self, q: Any, inputs: Inputs) -> jax.Array:
    del q, inputs
    return jnp.zeros(())

  def reconstruction_loss(self, g_params: Any, g_stats: Any, inputs: Inputs, fake: jax.Array, real: jax.Array
                          ) -> None:
    del g_params, g_stats, inputs, fake, real
    return None

  def sample(self, g_params: Any, key: jax.Array, n: int) -> jax.Array:
    """n generator samples G(z), z ~ N(0, I)."""
    return self.generate(g_params, {}, self.sample_inputs(key, n), train=False)[0]


def _apply(module: nn.Module, params: Any, stats: Any, args: tuple, train: bool, rngs: dict | None
           ) -> tuple[Any, Any]:
  variables = {"params": params, "batch_stats": stats} if stats else {"params": params}
  if not train:
    return module.apply(variables, *args, train=False), stats
  out, mutated = module.apply(variables, *args, train=True, mutable=["batch_stats"], rngs=rngs)
  return out, mutated.get("batch_stats", stats)


class ImagePlayers(NamedTuple):
  """Image players (`image_models.py`): DCGAN, the Keras MNIST MLP GAN, conditional GANs and InfoGAN.

  Each player's running statistics (`batch_stats`) live beside its parameters; in a training step both players
  run in training mode, in evaluation both in evaluation mode (running averages).
  """
  generator: nn.Module
  discriminator: nn.Module
  latent_dim: int
  image_shape: tuple[int, int, int]
  num_classes: int = 0              # > 0: conditional on labels
  num_categories: int = 0           # > 0: InfoGAN (with num_continuous continuous codes)
  num_continuous: int = 0
  info_continuous_weight: float = 1.0
  # The noise z's distribution (`LATENT_PRIORS`). Chen et al.'s InfoGAN draws z ~ U(−1, 1): a third of N(0, 1)'s
  # variance, so the codes weigh more against z in G's first layer.
  latent_prior: str = "normal"
  # z is drawn from the prior times this scale. Mukherjee et al. 2019 (ClusterGAN) feed G a one-hot code with
  # z ~ N(0, 0.1²): the categorical code, not z, then decides which mode G draws.
  latent_scale: float = 1.0
  joint_batch: bool = False         # the critic sees real and fake as one concatenated batch (the Keras MNIST GAN)
  shard_batch: ShardFn = None
  # A Python loop, not lax.scan: XLA:CPU runs convolution gradients many times slower inside a loop body
  # (jax-ml/jax#12868), and n_critic is small and static.
  unroll_critic: bool = True

  @property
  def data_dim(self) -> tuple[int, int, int]:
    return self.image_shape

  def init(self, k_g: jax.Array, k_d: jax.Array, k_inputs: jax.Array) -> tuple[Any, Any, Any, Any]:
    inputs = self.sample_inputs(k_inputs, 2)
    g_vars = self.generator.init(k_g, *self.generator_args(inputs), train=False)
    fake = jnp.zeros((2, *self.image_shape))
    d_vars = self.discriminator.init(k_d, *((fake, inputs.labels) if self.num_classes else (fake,)), train=False)
    return g_vars["params"], g_vars.get("batch_stats", {}), d_vars["params"], d_vars.get("batch_stats", {})

  def sample_inputs(self, key: jax.Array, n: int, labels: jax.Array | None = None, real: jax.Array | None = None
                    ) -> Inputs:
    """z ~ N(0, I) or U(−1, 1) (`latent_prior`) times `latent_scale`, with uniform labels (unless given) for
    conditional GANs and prior codes for InfoGAN."""
    del real
    k_z, k_c = jax.random.split(key)
    if self.latent_prior == "uniform":
      z = jax.random.uniform(k_z, (n, self.latent_dim), minval=-1.0, maxval=1.0)
    else:
      z = jax.random.normal(k_z, (n, self.latent_dim))
    z = z * self.latent_scale if self.latent_scale != 1.0 else z
    if self.num_categories:
      cat, cont = image_models.sample_infogan_codes(k_c, n, self.num_categories, self.num_continuous)
      return Inputs(z, cat=cat, cont=cont)
    if self.num_classes:
      if labels is None:
        labels = jax.random.randint(k_c, (n,), 0, self.num_classes, dtype=jnp.int32)
      return Inputs(z, labels=labels)
    return Inputs(z)

  def generator_args(self, inputs: Inputs) -> tuple:
    """The generator's positional arguments for `inputs`."""
    if self.num_categories:
      return inputs.z, inputs.cat, inputs.cont
    return (inputs.z, inputs.labels) if self.num_classes else (inputs.z,)

  def generate(self, params: Any, stats: Any, inputs: Inputs, *, train: bool) -> tuple[jax.Array, Any]:
    """G(inputs) and G's updated batch_stats (unchanged in evaluation mode)."""
    inputs = shard_inputs(self.shard_batch, inputs)
    return _apply(self.generator, params, stats, self.generator_args(inputs), train, None)

  def discriminate(self, params: Any, stats: Any, x: jax.Array, labels: jax.Array | None, *, train: bool,
                   key: jax.Array | None = None) -> tuple[jax.Array, Any, Any]:
    """(raw outputs (n,), InfoGAN's Q outputs (logits, means) or None, D's updated batch_stats)."""
    args = (x, labels) if self.num_classes else (x,)
    out, stats = _apply(self.discriminator, params, stats, args, train, None if key is None else {"dropout": key})
    if self.num_categories:
      return out[0], (out[1], out[2]), stats
    return out, None, stats

  def critic_outputs(self, params: Any, stats: Any, real: jax.Array, labels: jax.Array | None, fake: jax.Array,
                     fake_labels: jax.Array | None, key: jax.Array) -> tuple[jax.Array, jax.Array, Any, Any]:
    """D on a real and a generated batch in training mode: (real_out, fake_out, Q on fake, new batch_stats)."""
    if self.joint_batch:
      n = real.shape[0]
      both_labels = jnp.concatenate([labels, fake_labels]) if self.num_classes else None
      out, q, new_stats = self.discriminate(params, stats, jnp.concatenate([real, fake]), both_labels, train=True,
                                            key=key)
      return out[:n], out[n:], None if q is None else jax.tree.map(lambda a: a[n:], q), new_stats
    real_out, _, new_stats = self.discriminate(params, stats, real, labels, train=True, key=key)
    fake_out, q, new_stats = self.discriminate(params, new_stats, fake, fake_labels, train=True,
                                               key=jax.random.fold_in(key, 1))
    return real_out, fake_out, q, new_stats

  def generator_keys(self, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    k_in, k_drop = jax.random.split(key)
    return k_in, k_drop

  def info_loss(self, q: Any, inputs: Inputs) -> jax.Array:
    """InfoGAN's mutual-information loss of Q's outputs on the generated samples (0 without InfoGAN)."""
    if not self.num_categories:
      return jnp.zeros(())
    return image_models.infogan_mutual_information_loss(
        q[0], q[1], inputs.cat, inputs.cont, continuous_weight=self.info_continuous_weight)

  def reconstruction_loss(self, g_params: Any, g_stats: Any, inputs: Inputs, fake: jax.Array, real: jax.Array
                          ) -> None:
    del g_params, g_stats, inputs, fake, real
    return None
