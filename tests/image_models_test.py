"""Tests for gan_jax/image_models.py.

References: parameter counts by hand from the layer shapes (the Keras MLP GAN's also match the totals Keras
prints for that example, 1,486,352 and 1,460,225), a NumPy BatchNorm of the captured pre-activation, np.linalg.svd
for spectral norm (and the scale invariance D(x; cW) = D(x; W) it implies), and scipy for the InfoGAN loss.
"""
import functools

from flax import linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import scipy.stats

from gan_jax import image_models as im
from gan_jax import models

KEY = jax.random.PRNGKey(0)


@pytest.fixture(autouse=True)
def _fast_compiling_random_bits():
  """Initial weights from the non-partitionable threefry: XLA:CPU compiles its random bits about 7× faster (each
  initialiser ~0.2 s instead of ~1.5 s), and no test here depends on which bits the weights are drawn from."""
  with jax.threefry_partitionable(False):
    yield
PLANS = {8: (4, 1), 16: (4, 2), 28: (7, 2), 32: (4, 3)}  # (base side, stride-2 stages), by hand


def _normal(seed, shape):
  return jnp.asarray(np.random.default_rng(seed).normal(size=shape), jnp.float32)


def _images(seed, n, size, channels):
  return jnp.asarray(np.random.default_rng(seed).uniform(-1, 1, size=(n, size, size, channels)), jnp.float32)


@functools.partial(jax.jit, static_argnums=0)
def _init_module(module, *args):
  """module.init under jit (one compilation instead of many eager ops)."""
  return jax.jit(lambda *a: module.init(KEY, *a, train=False))(*args)


def _shapes(module, *args):
  """The variables' shapes, without computing anything (enough to count parameters)."""
  return jax.eval_shape(lambda: module.init(KEY, *args, train=False))


def _dcgan_generator_count(size, channels, latent=100, features=64, input_extra=0):
  """Params and batch_stats of DCGANGenerator, by hand."""
  base, stages = PLANS[size]
  widths = [features * 2 ** (stages - 1 - i) for i in range(stages)]  # e.g. 256, 128, 64 at 32 px
  params = (latent + input_extra) * base * base * widths[0]  # projection, no bias
  params += sum(16 * a * b for a, b in zip(widths[:-1], widths[1:]))  # hidden 4×4 transposed convs, no bias
  params += 16 * widths[-1] * channels + channels  # output layer with bias
  bn = sum(widths)
  return params + 2 * bn, 2 * bn  # BatchNorm: scale and bias; mean and var


def _dcgan_discriminator_count(size, channels, features=64):
  base, stages = PLANS[size]
  widths = [features * 2 ** i for i in range(stages)]
  params = 16 * channels * widths[0] + widths[0]
  params += sum(16 * a * b for a, b in zip(widths[:-1], widths[1:]))
  params += base * base * widths[-1] + 1
  bn = sum(widths[1:])
  return params + 2 * bn, 2 * bn


def test_plans():
  assert {s: im.dcgan_base_size(s) for s in PLANS} == PLANS
  assert im.dcgan_base_size(64) == (4, 4)


def test_pinned_parameter_counts_at_default_sizes():
  z = jnp.zeros((2, 100))
  x32 = jnp.zeros((2, 32, 32, 1))
  x28 = jnp.zeros((2, 28, 28, 1))
  # DCGAN at 32 px, 1 channel: Dense 100·4·4·256 + ConvT 16·256·128 + ConvT 16·128·64 + ConvT 16·64·1 + 1,
  # BatchNorm over 256 + 128 + 64 channels.
  g = _shapes(im.DCGANGenerator(), z)
  assert models.count_params(g, "params") == 409_600 + 524_288 + 131_072 + 1_025 + 2 * 448 == 1_066_881
  assert models.count_params(g, "batch_stats") == 2 * 448
  # Conv 16·1·64 + 64, Conv 16·64·128, Conv 16·128·256, Dense 4·4·256 + 1; BatchNorm over 128 + 256.
  d = _shapes(im.DCGANDiscriminator(), x32)
  assert models.count_params(d, "params") == 1_088 + 131_072 + 524_288 + 4_097 + 2 * 384 == 661_313
  assert models.count_params(d, "batch_stats") == 2 * 384
  # Spectral norm: biases everywhere, no BatchNorm; batch_stats hold u (1, c_out) and σ per kernel.
  d_sn = _shapes(im.DCGANDiscriminator(normalization="spectral_norm"), x32)
  assert models.count_params(d_sn, "params") == 1_088 + 131_200 + 524_544 + 4_097
  assert models.count_params(d_sn, "batch_stats") == (64 + 1) + (128 + 1) + (256 + 1) + (1 + 1)
  # Keras MNIST MLP GAN.
  g_mlp = _shapes(im.MLPImageGenerator(), z)
  assert models.count_params(g_mlp, "params") == (100 * 256 + 256) + (256 * 512 + 512) + (512 * 1024 + 1024) + (
      1024 * 784 + 784) == 1_486_352
  d_mlp = _shapes(im.MLPImageDiscriminator(), x28)
  expected = (784 * 1024 + 1024) + (1024 * 512 + 512) + (512 * 256 + 256) + 257
  assert models.count_params(d_mlp, "params") == expected == 1_460_225
  assert "batch_stats" not in g_mlp and "batch_stats" not in d_mlp
  # Conditional: label embeddings 10·50 (G input grows to 150), projection embedding 10·4096 in D.
  labels = jnp.zeros((2,), jnp.int32)
  g_c = _shapes(im.DCGANGenerator(num_classes=10), z, labels)
  assert models.count_params(g_c, "params") == 1_066_881 + 10 * 50 + 50 * 4 * 4 * 256
  d_c = _shapes(im.DCGANDiscriminator(num_classes=10), x32, labels)
  assert models.count_params(d_c, "params") == 661_313 + 10 * 4 * 4 * 256
  # InfoGAN at 28 px: G input 62 + 10 + 2 = 74; D body + D head 7·7·128 + 1 + Q head 6272·128 (no bias, BN)
  # + 128·10 + 10 + 128·2 + 2.
  cat, cont = jnp.zeros((2,), jnp.int32), jnp.zeros((2, 2))
  g_info = _shapes(im.InfoGANGenerator(), jnp.zeros((2, 62)), cat, cont)
  assert models.count_params(g_info, "params") == (
      74 * 7 * 7 * 128 + 16 * 128 * 64 + 16 * 64 + 1 + 2 * 192) == 596_609
  d_info = _shapes(im.InfoGANDiscriminator(), x28)
  assert models.count_params(d_info, "params") == (
      1_088 + 131_072 + 256 + 6_273 + 802_816 + 256 + 1_290 + 258) == 943_309


# Every size and channel count once by default (the size plans and the channel axis are independent); the rest
# of the product under slow.
@pytest.mark.parametrize("size, channels", [(8, 3), (28, 1)] + [pytest.param(s, c, marks=pytest.mark.slow)
                                                              for s, c in ((8, 1), (28, 3), (16, 1), (32, 3))])
def test_dcgan_shapes_and_counts(size, channels):
  gen = im.DCGANGenerator(image_size=size, channels=channels, latent_dim=16, features=8)
  disc = im.DCGANDiscriminator(image_size=size, channels=channels, features=8)
  z = _normal(0, (3, 16))

  @jax.jit  # G and D initialised and applied in one compilation
  def init_and_apply(z):
    g_vars = gen.init(KEY, z, train=False)
    images, _ = gen.apply(g_vars, z, train=True, mutable=["batch_stats"])
    d_vars = disc.init(KEY, images, train=False)
    out, _ = disc.apply(d_vars, images, train=True, mutable=["batch_stats"])
    return g_vars, images, d_vars, out

  g_vars, images, d_vars, out = init_and_apply(z)
  assert images.shape == (3, size, size, channels)
  assert float(jnp.max(jnp.abs(images))) <= 1.0
  assert (models.count_params(g_vars, "params"), models.count_params(g_vars, "batch_stats")) == _dcgan_generator_count(
      size, channels, latent=16, features=8)
  assert out.shape == (3,)
  counts = (models.count_params(d_vars, "params"), models.count_params(d_vars, "batch_stats"))
  assert counts == _dcgan_discriminator_count(size, channels, features=8)


def _perturbed(variables, seed):
  """Every leaf of 'params' moved by N(0, 0.3²): scale and bias away from their (1, 0) initial values."""
  rng = np.random.default_rng(seed)
  params = jax.tree.map(lambda p: p + 0.3 * rng.normal(size=p.shape).astype(np.float32), variables["params"])
  return {**variables, "params": params}


def test_batch_norm_train_mode_uses_batch_statistics():
  gen = im.DCGANGenerator(image_size=8, channels=1, latent_dim=5, features=4)
  z = _normal(1, (6, 5))
  variables = _perturbed(_init_module(gen, z), 1)
  _, state = jax.jit(lambda v, z: gen.apply(v, z, train=True, mutable=["batch_stats", "intermediates"],
                                            capture_intermediates=True))(variables, z)
  inter = state["intermediates"]["_DCGANDecoder_0"]
  pre = np.asarray(inter["Dense_0"]["__call__"][0], np.float64).reshape(6, 4, 4, 4)
  bn_out = np.asarray(inter["BatchNorm_0"]["__call__"][0])
  bn = variables["params"]["_DCGANDecoder_0"]["BatchNorm_0"]
  mean, var = pre.mean(axis=(0, 1, 2)), pre.var(axis=(0, 1, 2))  # biased variance over (n, h, w)
  expected = (pre - mean) / np.sqrt(var + 1e-5) * np.asarray(bn["scale"]) + np.asarray(bn["bias"])
  np.testing.assert_allclose(bn_out, expected, rtol=1e-4, atol=1e-4)
  new = state["batch_stats"]["_DCGANDecoder_0"]["BatchNorm_0"]
  # Running averages start at mean 0, var 1 and move by 1 − momentum = 0.1.
  np.testing.assert_allclose(new["mean"], 0.1 * mean, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(new["var"], 0.9 + 0.1 * var, rtol=1e-4, atol=1e-6)


def test_batch_norm_eval_mode_uses_running_averages_and_keeps_them():
  gen = im.DCGANGenerator(image_size=8, channels=1, latent_dim=5, features=4)
  z = _normal(2, (6, 5))
  variables = _perturbed(_init_module(gen, z), 2)
  _, updates = gen.apply(variables, z, train=True, mutable=["batch_stats"])
  variables = {**variables, **updates}
  out, state = gen.apply(variables, z, train=False, mutable=["batch_stats", "intermediates"],
                         capture_intermediates=True)
  jax.tree.map(np.testing.assert_array_equal, state["batch_stats"], variables["batch_stats"])
  inter = state["intermediates"]["_DCGANDecoder_0"]
  pre = np.asarray(inter["Dense_0"]["__call__"][0], np.float64).reshape(6, 4, 4, 4)
  stats = variables["batch_stats"]["_DCGANDecoder_0"]["BatchNorm_0"]
  bn = variables["params"]["_DCGANDecoder_0"]["BatchNorm_0"]
  expected = ((pre - np.asarray(stats["mean"])) / np.sqrt(np.asarray(stats["var"]) + 1e-5) * np.asarray(bn["scale"])
              + np.asarray(bn["bias"]))
  np.testing.assert_allclose(inter["BatchNorm_0"]["__call__"][0], expected, rtol=1e-4, atol=1e-4)
  # Eval outputs do not depend on the rest of the batch; train outputs do.
  np.testing.assert_allclose(gen.apply(variables, z[:2], train=False), out[:2], rtol=1e-5, atol=1e-6)
  train_full, _ = gen.apply(variables, z, train=True, mutable=["batch_stats"])
  train_part, _ = gen.apply(variables, z[:2], train=True, mutable=["batch_stats"])
  assert not np.allclose(train_full[:2], train_part, atol=1e-3)


def test_spectral_norm_normalises_every_kernel():
  disc = im.DCGANDiscriminator(image_size=16, channels=3, features=8, normalization="spectral_norm")
  x = _images(3, 4, 16, 3)
  variables = _perturbed(_init_module(disc, x), 3)
  apply_train = jax.jit(lambda v: disc.apply(v, x, train=True, mutable=["batch_stats"])[1])
  for _ in range(30):  # power iterations, one per training call
    variables = {**variables, **apply_train(variables)}
  stats = variables["batch_stats"]
  checked = 0
  for scope, layers in variables["params"].items():
    for layer, leaves in layers.items():
      # Flax keeps σ̂ of layer L under batch_stats[scope][SpectralNorm_i]["L/kernel/sigma"].
      (sigma,) = [float(v[f"{layer}/kernel/sigma"]) for v in stats[scope].values() if f"{layer}/kernel/sigma" in v]
      kernel = np.asarray(leaves["kernel"])
      largest = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
      np.testing.assert_allclose(largest / sigma, 1.0, rtol=2e-3)  # σ_max(W / σ̂) ≈ 1
      checked += 1
  assert checked == 3  # two convs and the output Dense
  # Hence D is invariant to scaling every kernel (biases untouched).
  scaled = jax.tree_util.tree_map_with_path(
      lambda path, p: 3.0 * p if path[-1].key == "kernel" else p, variables["params"])
  apply = jax.jit(lambda v: disc.apply(v, x, train=False))  # one compilation instead of op-by-op dispatch
  out = apply(variables)
  np.testing.assert_allclose(apply({**variables, "params": scaled}), out, rtol=1e-4, atol=1e-5)
  # Without spectral norm the same scaling changes D.
  plain = im.DCGANDiscriminator(image_size=16, channels=3, features=8, normalization="none")
  p_vars = _perturbed(_init_module(plain, x), 3)
  p_scaled = jax.tree_util.tree_map_with_path(lambda path, p: 3.0 * p if path[-1].key == "kernel" else p,
                                              p_vars["params"])
  apply_plain = jax.jit(lambda v: plain.apply(v, x, train=False))
  assert not np.allclose(apply_plain({"params": p_scaled}), apply_plain(p_vars))


@pytest.mark.parametrize("normalization", ["layer_norm", "none"])
def test_discriminators_without_batch_stats(normalization):
  disc = im.DCGANDiscriminator(image_size=8, features=4, normalization=normalization)
  x = _images(4, 3, 8, 1)
  variables = _init_module(disc, x)
  assert "batch_stats" not in variables
  # No batch dependence: each example's output alone equals its output in the batch.
  out = disc.apply(variables, x, train=True)
  np.testing.assert_allclose(disc.apply(variables, x[:1], train=True), out[:1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [
    lambda: (im.DCGANGenerator(image_size=8, latent_dim=6, features=4, num_classes=10), (4, 6)),
    lambda: (im.MLPImageGenerator(image_shape=(8, 8, 1), random_dim=6, features=(16,), num_classes=10), (4, 6)),
])
def test_conditional_generator_output_depends_on_label(make):
  gen, z_shape = make()
  z = _normal(5, z_shape)
  labels = jnp.array([0, 1, 2, 3])
  variables = _init_module(gen, z, labels)
  a = gen.apply(variables, z, labels, train=False)
  b = gen.apply(variables, z, labels + 1, train=False)
  assert a.shape == (4, 8, 8, 1)
  assert np.all(np.max(np.abs(np.asarray(a - b)), axis=(1, 2, 3)) > 1e-4)  # every image changed


@pytest.mark.parametrize("disc", [
    im.DCGANDiscriminator(image_size=8, features=4, num_classes=10),
    im.MLPImageDiscriminator(image_shape=(8, 8, 1), features=(16,), num_classes=10),
])
def test_conditional_discriminator_output_depends_on_label(disc):
  x = _images(6, 4, 8, 1)
  labels = jnp.array([0, 1, 2, 3])
  variables = _perturbed(_init_module(disc, x, labels), 6)
  a, _ = disc.apply(variables, x, labels, train=True, mutable=["batch_stats"])
  b, _ = disc.apply(variables, x, labels + 1, train=True, mutable=["batch_stats"])
  assert a.shape == (4,) and np.all(np.abs(np.asarray(a - b)) > 1e-4)


def test_label_checks():
  cond = im.DCGANGenerator(image_size=8, latent_dim=6, features=4, num_classes=10)
  z = jnp.zeros((2, 6))
  with pytest.raises(ValueError, match="conditional"):
    cond.init(KEY, z, train=False)
  with pytest.raises(ValueError, match=r"\[0, 10\)"):
    cond.init(KEY, z, jnp.array([0, 10]), train=False)
  with pytest.raises(ValueError, match="unconditional"):
    im.DCGANGenerator(image_size=8, latent_dim=6).init(KEY, z, jnp.array([0, 1]), train=False)


def test_mlp_dropout_needs_rng_only_in_training():
  disc = im.MLPImageDiscriminator(image_shape=(8, 8, 1), features=(32, 16), dropout_rate=0.5)
  plain = im.MLPImageDiscriminator(image_shape=(8, 8, 1), features=(32, 16))
  x = _images(7, 5, 8, 1)
  variables = _perturbed(_init_module(disc, x), 7)
  np.testing.assert_allclose(disc.apply(variables, x, train=False), plain.apply(variables, x, train=False))
  dropped = disc.apply(variables, x, train=True, rngs={"dropout": jax.random.PRNGKey(1)})
  assert not np.allclose(dropped, plain.apply(variables, x, train=False))
  with pytest.raises(Exception, match="dropout"):
    disc.apply(variables, x, train=True)


def test_infogan_shapes_and_codes():
  gen, disc = im.InfoGANGenerator(image_size=16, latent_dim=8, features=4), im.InfoGANDiscriminator(
      image_size=16, features=4, q_features=8)
  cat, cont = im.sample_infogan_codes(jax.random.PRNGKey(3), 500, 10, 2)
  assert cat.dtype == jnp.int32 and set(np.unique(cat)) == set(range(10))
  assert cont.shape == (500, 2) and float(cont.min()) >= -1.0 and float(cont.max()) <= 1.0
  cat, cont = cat[:8], cont[:8]
  z = _normal(8, (8, 8))

  @jax.jit  # G and D initialised and applied in one compilation
  def init_and_apply(z, cat, cont):
    g_vars = gen.init(KEY, z, cat, cont, train=False)
    generate = lambda cat: gen.apply(g_vars, z, cat, cont, train=False)
    x = generate(cat)
    d_vars = disc.init(KEY, x, train=False)
    return x, disc.apply(d_vars, x, train=True, mutable=["batch_stats"]), generate((cat + 1) % 10)

  x, ((out, logits, mean), updates), other_category = init_and_apply(z, cat, cont)
  assert x.shape == (8, 16, 16, 1)
  assert out.shape == (8,) and logits.shape == (8, 10) and mean.shape == (8, 2)
  assert "batch_stats" in updates
  # The category code reaches the image.
  assert not np.allclose(other_category[:4], x[:4])


def test_infogan_dense_layers_of_the_paper():
  """Chen et al.'s MNIST players: a 1,024-unit layer mixes z and the codes in G, and follows the convs in D."""
  gen = im.InfoGANGenerator(image_size=16, latent_dim=8, features=4, dense_features=32)
  shapes = _shapes(gen, _normal(1, (2, 8)), jnp.zeros((2,), jnp.int32), _normal(2, (2, 2)))
  assert shapes["params"]["Dense_0"]["kernel"].shape == (8 + 10 + 2, 32)  # z, one-hot category, continuous
  assert "Dense_0" not in _shapes(im.InfoGANGenerator(image_size=16, latent_dim=8, features=4),
                                  _normal(1, (2, 8)), jnp.zeros((2,), jnp.int32), _normal(2, (2, 2)))["params"]
  disc = im.InfoGANDiscriminator(image_size=16, features=4, q_features=8, dense_features=32)
  params = _shapes(disc, _images(3, 2, 16, 1))["params"]
  assert params["Dense_0"]["kernel"].shape == (4 * 4 * 8, 32)   # after two stride-2 convs: 4×4×8 features
  # D's output and Q's hidden layer both read the shared 32 units.
  assert params["_ProjectionOutput_0"]["Dense_0"]["kernel"].shape == (32, 1)
  assert params["Dense_1"]["kernel"].shape == (32, 8)
  with pytest.raises(ValueError, match="dense_features must be a non-negative integer, got -1"):
    im.InfoGANGenerator(dense_features=-1)


def test_mutual_information_loss_matches_scipy():
  rng = np.random.default_rng(9)
  n, k, l = 7, 10, 3
  logits = rng.normal(size=(n, k)) * 3
  mean = rng.normal(size=(n, l))
  cat = rng.integers(0, k, size=n)
  cont = rng.uniform(-1, 1, size=(n, l))
  as32 = functools.partial(jnp.asarray, dtype=jnp.float32)
  loss = jax.jit(im.infogan_mutual_information_loss)(as32(logits), as32(mean), jnp.asarray(cat), as32(cont))
  # E[log Q(c|x)] with Q = softmax × N(μ, I), and the docstring's relation: loss = −E[log Q(c|x)] − (L/2)·log 2π.
  log_q = scipy.special.log_softmax(logits, axis=1)[np.arange(n), cat] + np.sum(
      scipy.stats.norm.logpdf(cont, loc=mean), axis=1)
  np.testing.assert_allclose(loss, -np.mean(log_q) - l / 2 * np.log(2 * np.pi), rtol=1e-5)
  weighted = im.infogan_mutual_information_loss(logits, mean, cat, cont, continuous_weight=0.1)
  ce = -scipy.special.log_softmax(logits, axis=1)[np.arange(n), cat]
  np.testing.assert_allclose(weighted, np.mean(ce + 0.05 * np.sum((cont - mean) ** 2, axis=1)), rtol=1e-5)


def test_mutual_information_loss_shape_checks():
  with pytest.raises(ValueError, match="cat_codes"):
    im.infogan_mutual_information_loss(np.zeros((3, 4)), np.zeros((3, 2)), np.zeros(3), np.zeros((3, 2)))
  with pytest.raises(ValueError, match="q_cont_mean"):
    im.infogan_mutual_information_loss(np.zeros((3, 4)), np.zeros((3, 2)), np.zeros(3, int), np.zeros((3, 1)))


@pytest.mark.parametrize("make, match", [
    (lambda: im.DCGANGenerator(image_size=6), "image_size"),
    (lambda: im.DCGANGenerator(image_size=9), "image_size"),
    (lambda: im.DCGANDiscriminator(normalization="group_norm"), "normalization"),
    (lambda: im.DCGANGenerator(latent_dim=0), "latent_dim"),
    (lambda: im.MLPImageDiscriminator(dropout_rate=1.0), "dropout_rate"),
    (lambda: im.MLPImageGenerator(image_shape=(28, 28)), "image_shape"),
    (lambda: im.InfoGANGenerator(num_categories=0), "num_categories"),
])
def test_bad_fields_raise(make, match):
  with pytest.raises(ValueError, match=match):
    make()


def test_bad_input_shapes_raise():
  gen = im.DCGANGenerator(image_size=8, latent_dim=6, features=4)
  with pytest.raises(ValueError, match=r"z must have shape \(n, 6\)"):
    gen.init(KEY, jnp.zeros((2, 5)), train=False)
  disc = im.DCGANDiscriminator(image_size=8, channels=3, features=4)
  with pytest.raises(ValueError, match=r"\(n, 8, 8, 3\)"):
    disc.init(KEY, jnp.zeros((2, 8, 8, 1)), train=False)


@pytest.mark.parametrize("shape, features", [((3, 4, 4, 5), 7), ((2, 7, 7, 3), 4),  # even and odd sides
                                             pytest.param((2, 14, 14, 6), 1, marks=pytest.mark.slow),
                                             pytest.param((1, 16, 16, 2), 3, marks=pytest.mark.slow)])
def test_subpixel_conv_transpose_is_flax_conv_transpose(shape, features):
  """Same parameters (names, shapes, initial values), outputs and gradients as nn.ConvTranspose 4×4/2 'SAME'."""
  x = _normal(7, shape)
  ref = nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding="SAME")
  ours = im.SubpixelConvTranspose(features)
  p_ref, p_ours = jax.jit(lambda x: (ref.init(KEY, x), ours.init(KEY, x)))(x)
  assert jax.tree.structure(p_ref) == jax.tree.structure(p_ours)
  for a, b in zip(jax.tree.leaves(p_ref), jax.tree.leaves(p_ours)):
    np.testing.assert_array_equal(a, b)
  params = jax.tree.map(lambda a: _normal(3, a.shape), p_ref)  # random bias too
  loss = lambda m: lambda p, x: jnp.sum(jnp.sin(m.apply(p, x)))

  @jax.jit  # both layers' outputs and gradients in one compilation instead of op-by-op dispatch
  def outputs_and_gradients(params, x):
    grad = lambda m: jax.grad(loss(m), argnums=(0, 1))(params, x)
    return ref.apply(params, x), ours.apply(params, x), grad(ref), grad(ours)

  y_ref, y_ours, g_ref, g_ours = outputs_and_gradients(params, x)
  assert y_ours.shape == (shape[0], 2 * shape[1], 2 * shape[2], features)
  np.testing.assert_allclose(y_ours, y_ref, atol=2e-5 * float(jnp.max(jnp.abs(y_ref))))
  for a, b in zip(jax.tree.leaves(g_ref), jax.tree.leaves(g_ours)):
    np.testing.assert_allclose(b, a, atol=2e-5 * float(jnp.max(jnp.abs(a))))


@pytest.mark.parametrize("name", im.GENERATORS)
def test_registry_builds_each_player_by_name(name):
  shape = (28, 28, 1)
  num_classes = 0 if name == "infogan" else 10
  g = im.get_generator(name, image_shape=shape, num_classes=num_classes)
  d = im.get_discriminator(name, image_shape=shape, num_classes=num_classes)
  assert type(g).__name__.endswith("Generator") and type(d).__name__.endswith("Discriminator")
  assert name in type(g).__name__.lower().replace("mlpimage", "mlp")
  with pytest.raises(ValueError, match="^unknown image generator 'gru'; valid names: dcgan, mlp, infogan$"):
    im.get_generator("gru", image_shape=shape)
  with pytest.raises(ValueError, match="^unknown image discriminator 'gru'; valid names: dcgan, mlp, infogan$"):
    im.get_discriminator("gru", image_shape=shape)
