"""Tests of the players protocol: toy and image players initialised, fed and applied as the engine expects."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import image_models
from gan_jax import models
from gan_jax import players

KEY = jax.random.PRNGKey(0)


def _toy():
  generator = models.get_generator("mlp", dim=2, features=8, depth=1, latent_dim=3)
  return players.ToyPlayers(generator=generator, discriminator=models.get_discriminator("mlp", features=8, depth=1),
                            latent_dim=models.latent_dim(generator), data_dim=2)


def _image(num_classes=0, joint_batch=False, **d_kwargs):
  shape = (8, 8, 1)
  return players.ImagePlayers(
      generator=image_models.get_generator("mlp", image_shape=shape, num_classes=num_classes, features=(16,)),
      discriminator=image_models.get_discriminator("mlp", image_shape=shape, num_classes=num_classes,
                                                   features=(16,), **d_kwargs),
      latent_dim=100, image_shape=shape, num_classes=num_classes, joint_batch=joint_batch)


def test_toy_players_have_no_running_statistics_and_sample_from_their_latent():
  p = _toy()
  g_params, g_stats, d_params, d_stats = p.init(*jax.random.split(KEY, 3))
  assert g_stats == {} and d_stats == {} and "params" in g_params and "params" in d_params
  inputs = p.sample_inputs(KEY, 5)
  np.testing.assert_array_equal(inputs.z, jax.random.normal(KEY, (5, 3)))  # the key itself draws z
  assert inputs.labels is None
  x = p.sample(g_params, KEY, 5)
  np.testing.assert_array_equal(x, p.generator.apply(g_params, inputs.z))
  real_out, fake_out, q, stats = p.critic_outputs(d_params, {}, x, None, 2 * x, None, KEY)
  np.testing.assert_array_equal(real_out, p.discriminator.apply(d_params, x))
  np.testing.assert_array_equal(fake_out, p.discriminator.apply(d_params, 2 * x))
  assert q is None and stats == {}
  assert p.generator_keys(KEY) == (KEY, None) and float(p.info_loss(None, inputs)) == 0.0


def test_conditional_image_inputs_draw_labels_in_range_unless_given():
  p = _image(num_classes=10)
  inputs = p.sample_inputs(KEY, 500)
  assert inputs.z.shape == (500, 100) and inputs.labels.dtype == jnp.int32
  assert set(np.unique(inputs.labels)) == set(range(10))
  given = jnp.arange(4, dtype=jnp.int32)
  np.testing.assert_array_equal(p.sample_inputs(KEY, 4, labels=given).labels, given)


@pytest.mark.parametrize("num_classes", [0, 10])
def test_joint_batch_equals_two_calls_without_batch_coupling(num_classes):
  # The Keras MNIST GAN's concatenated batch: with no BatchNorm and no dropout, D's outputs are per sample.
  joint, separate = _image(num_classes, joint_batch=True), _image(num_classes, joint_batch=False)
  g_params, g_stats, d_params, d_stats = joint.init(*jax.random.split(KEY, 3))
  inputs = joint.sample_inputs(KEY, 6)
  fake, _ = joint.generate(g_params, g_stats, inputs, train=True)
  real = jax.random.uniform(jax.random.PRNGKey(1), fake.shape, minval=-1.0, maxval=1.0)
  labels = inputs.labels
  a = joint.critic_outputs(d_params, d_stats, real, labels, fake, labels, KEY)
  b = separate.critic_outputs(d_params, d_stats, real, labels, fake, labels, KEY)
  for x, y in zip(a[:2], b[:2]):
    np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)
  assert a[0].shape == a[1].shape == (6,)


def test_image_generator_keys_split_inputs_from_dropout():
  k_in, k_drop = _image().generator_keys(KEY)
  np.testing.assert_array_equal(jnp.stack([k_in, k_drop]), jax.random.split(KEY))


def test_jitted_discriminator_of_flow_samples_matches_a_float64_reference():
  """The evaluation's fused D(G(z)) at 4,096 latents: 0.43 off before `xla_workarounds` (jaxlib 0.10.2, XLA:CPU)."""
  import ml_collections as mlc
  from gan_jax import config as config_lib
  from gan_jax import engine
  from gan_jax import toy_task
  c = config_lib.base_config()
  c.generator_kwargs = mlc.ConfigDict({"num_units": 8})
  gan = toy_task.build_gan(c)
  state = jax.tree.map(lambda x: x[0], engine.init_states(gan, [0]))
  key = jax.random.key(3)
  fused = jax.jit(lambda g, d, k: gan.players.discriminator.apply(d, gan.players.sample(g, k, 4096)))
  got = np.asarray(fused(state.g_params, state.d_params, key), np.float64)
  # The reference in float64 NumPy: the same latents through h(z) = a·z + b + Σ c·tanh(w·z + d), then the MLP.
  z = np.asarray(jax.random.normal(key, (4096, 1)), np.float64)
  g = jax.tree.map(lambda a: np.asarray(a, np.float64), state.g_params)["params"]
  softplus = lambda v: np.log1p(np.exp(v))
  h = softplus(g["raw_a"]) * z + g["b"] + np.sum(
      softplus(g["raw_c"]) * np.tanh(softplus(g["raw_w"]) * z[..., None] + g["d"]), axis=-1)
  mlp = jax.tree.map(lambda a: np.asarray(a, np.float64), state.d_params)["params"]["_MLP_0"]
  names = sorted(mlp, key=lambda n: int(n.split("_")[1]))
  for i, name in enumerate(names):
    h = h @ mlp[name]["kernel"] + mlp[name]["bias"]
    h = np.where(h > 0, h, 0.2 * h) if i < len(names) - 1 else h
  np.testing.assert_allclose(got, h[:, 0], atol=1e-4)
