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
