"""Image-to-image GANs (`config.image_to_image`): super-resolution, inpainting and unpaired translation.

A config with `image_to_image` set (see `config.image_to_image_config`) is this task; `train.train_and_evaluate`,
the sweeps and the entry points route it. The tasks (`TASKS`), all on real digits that exist offline:

- 'super_resolution': `upscale`× (28 → 7 → 28 on mnist5k): G sees the area-downsampled image (nearest-upsampled
  back to full size) and is scored against the original (SRGAN's task, Ledig et al. 2017, pix2pix's losses).
- 'inpainting': a centred `mask_size` square or the bottom half (`mask`) is filled with grey; G fills it in.
- 'unpaired': `dataset` (domain A, mnist5k) ↔ `target_dataset` (domain B, the scikit-learn 8×8 digits resized to
  `image_size`: other writers, another rendering) with CycleGAN's losses; no pairs are used in training, each
  domain's batches come from its own shuffle.

The players (`translation_players.py`) train on pair images (H, W, 2C) — (input, ground truth) for the paired
tasks, (a, b) for the unpaired one — so the engine, the objectives, vmapped seeds, checkpoints and sweeps apply as
to any image GAN. Evaluation on the held-out test splits (`eval_samples` images, a fixed subset), per replica:

- paired: `psnr`, `ssim`, `l1` against the ground truth; `accuracy`, the metric classifier's accuracy on the
  outputs for the digits' true labels (does the digit survive?); `fcd` of the outputs against the real test
  images; and the same four for the classic reconstruction (`baseline_*`: bicubic upsampling, or the masked input),
  constant over training, so each row reads against it.
- unpaired: `accuracy_ab` (B's classifier labels G(a) with a's label: content preserved), `accuracy_ba` (A's
  classifier on F(b)), beside the untranslated inputs' `baseline_accuracy_ab` / `_ba`; `matched_accuracy_*`, the
  same after the best one-to-one relabelling of classes (digits kept apart but mapped to other digits); the cycle
  reconstruction errors `cycle_a` = mean |F(G(a)) − a| and `cycle_b`; `fcd_ab` (G(a) against B's test images, in
  B's classifier features), `fcd_ba`, and their untranslated baselines.
- the discriminator's held-out estimates (`evaluation.discriminator_estimates`: `v_d`, `js_lower_bound`, …) on
  real against generated pairs, averaged over patches; unpaired runs add them per discriminator (`*_a`: D_A on A
  against F(b); `*_b`: D_B on B against G(a)).
"""
import os
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gan_jax import degradations
from gan_jax import engine
from gan_jax import evaluation
from gan_jax import image_metrics
from gan_jax import image_task
from gan_jax import input_pipeline
from gan_jax import parallel
from gan_jax import probe as probe_lib
from gan_jax import translation_models
from gan_jax import translation_players

TASKS: tuple[str, ...] = ("super_resolution", "inpainting", "unpaired")
# Domain B's batches are shuffled with seed + this, so they are independent of domain A's.
_B_STREAM = 0xB0B
# Penalties on input gradients need one output per image; the patch discriminators give one per patch.
_GRADIENT_PENALTIES = ("wgan_gp",)
GRID_EXAMPLES = 8  # columns of the input | output | target grids


def image_size_of(config: ml_collections.ConfigDict) -> int:
  """The side length both players work at: `image_size`, or the dataset's own."""
  return config.get("image_size") or input_pipeline.IMAGE_SHAPES[config.dataset][0]


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Checks every field an image-to-image run reads, before any data is read or anything compiles.

  Raises:
    ValueError: one line naming the first bad field, its value and what is allowed.
  """
  task = config.get("image_to_image")
  if task not in TASKS:
    engine.fail("image_to_image", task, " | ".join(TASKS))
  if parallel.objective_axis(config):
    engine.fail("objective_axis.objectives", tuple(parallel.objective_axis(config)),
                "() for image-to-image runs (objectives side by side train on distribution targets)")
  if config.dataset not in input_pipeline.DATASETS:
    engine.fail("dataset", config.dataset, " | ".join(input_pipeline.DATASETS))
  size = config.get("image_size")
  if size is not None and size != 0 and (not isinstance(size, int) or isinstance(size, bool) or size < 4):
    engine.fail("image_size", size, "0 (the dataset's own size) or an integer >= 4")
  size = image_size_of(config)
  channels = input_pipeline.IMAGE_SHAPES[config.dataset][2]
  if task == "unpaired":
    other = config.get("target_dataset")
    if other not in input_pipeline.DATASETS or other == config.dataset:
      engine.fail("target_dataset", other, f"a dataset other than {config.dataset!r}: "
                  + " | ".join(d for d in input_pipeline.DATASETS if d != config.dataset))
    if input_pipeline.IMAGE_SHAPES[other][2] != channels:
      engine.fail("target_dataset", other, f"a dataset with {channels} channel(s) like {config.dataset!r}")
  try:
    if task == "super_resolution":
      degradations.check_upscale(size, config.get("upscale"))
    if task == "inpainting":
      degradations.check_hole(size, config.get("mask"), config.get("mask_size"))
  except ValueError as e:
    raise ValueError(f"config.{e}") from None
  if config.generator not in translation_models.GENERATORS:
    engine.fail("generator", config.generator, " | ".join(translation_models.GENERATORS))
  if config.discriminator not in translation_models.DISCRIMINATORS:
    engine.fail("discriminator", config.discriminator, " | ".join(translation_models.DISCRIMINATORS))
  for field in ("generator_kwargs", "discriminator_kwargs"):
    try:
      translation_models.check_depth(size, dict(config.get(field) or {}).get("depth", 2))
    except ValueError as e:
      raise ValueError(f"config.{field}.{e}") from None
  for field in ("reconstruction_weight", "adversarial_weight"):
    value = config.get(field)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
      engine.fail(field, value, "a finite number >= 0")
  no_penalty = ("no gradient penalty for image-to-image runs (the patch discriminator gives one output per patch, "
                "the penalties need one per image)")
  if config.objective in _GRADIENT_PENALTIES:
    engine.fail("objective", config.objective, no_penalty)
  for field in ("r1_weight", "r2_weight"):
    if config.get(field, 0.0):
      engine.fail(field, config.get(field), no_penalty)
  if config.get("parallel", {}).get("layout", "none") != "none" or jax.process_count() > 1:
    engine.fail("parallel.layout", config.parallel.layout, "'none' for image-to-image runs on one process "
                "(replicas still vmap or unroll)")
  per_transfer = config.get("steps_per_transfer", 100)
  if not isinstance(per_transfer, int) or isinstance(per_transfer, bool) or per_transfer < 1:
    engine.fail("steps_per_transfer", per_transfer, "an integer >= 1")
  engine.validate_loop_config(config)


def build_gan(config: ml_collections.ConfigDict) -> engine.GAN:
  """Validates an image-to-image config and builds the static half of the run.

  Raises:
    ValueError: for any invalid field, before any compilation.
  """
  validate_config(config)
  vmapped = engine.validate_replicas(config)
  size = image_size_of(config)
  channels = input_pipeline.IMAGE_SHAPES[config.dataset][2]
  unpaired = config.image_to_image == "unpaired"
  try:
    generator, discriminator = translation_models.get_players(
        unpaired, channels, image_task.module_kwargs(config.get("generator_kwargs")),
        image_task.module_kwargs(config.get("discriminator_kwargs")))
  except (TypeError, ValueError) as e:
    raise ValueError(f"config.generator_kwargs / discriminator_kwargs: {e}") from None
  hole = (config.mask, config.mask_size) if config.image_to_image == "inpainting" else None
  players = translation_players.TranslationPlayers(
      generator=generator, discriminator=discriminator, image_shape=(size, size, 2 * channels), unpaired=unpaired,
      reconstruction_weight=float(config.reconstruction_weight), hole=hole)
  return engine.make_gan(config, players, vmapped)


def degrade(config: ml_collections.ConfigDict, images: np.ndarray) -> np.ndarray:
  """A paired task's input for ground-truth images (n, H, W, C): the low-resolution or the masked image."""
  if config.image_to_image == "super_resolution":
    return np.asarray(degradations.super_resolution_input(images, config.upscale))
  return np.asarray(degradations.apply_hole(images, degradations.hole_mask(images.shape[1], config.mask,
                                                                             config.mask_size)))


def baseline(config: ml_collections.ConfigDict, images: np.ndarray) -> np.ndarray:
  """The classic reconstruction of ground truths (n, H, W, C) from the task's input: bicubic upsampling of the
  low-resolution image, or the masked image itself."""
  if config.image_to_image == "super_resolution":
    low = degradations.area_downsample(images, config.upscale)
    return np.asarray(degradations.bicubic_upsample(low, config.upscale))
  return degrade(config, images)


class Domains(NamedTuple):
  """One split of a run's data: domain A (the paired tasks' ground truths) and domain B (unpaired only)."""
  a: input_pipeline.ImageDataset
  b: input_pipeline.ImageDataset | None


def load_domains(config: ml_collections.ConfigDict, split: str) -> Domains:
  """`split` of `config.dataset` (and of `config.target_dataset` for 'unpaired') at the run's image size."""
  size, data_dir = image_size_of(config), config.get("data_dir") or None
  load = lambda name: input_pipeline.load(name, split, data_dir=data_dir,
                                          image_size=None if input_pipeline.IMAGE_SHAPES[name][0] == size else size)
  return Domains(load(config.dataset), load(config.target_dataset) if config.image_to_image == "unpaired" else None)


def pairs(config: ml_collections.ConfigDict, a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
  """Pair images (…, H, W, 2C): (degraded a, a) for the paired tasks, (a, b) for 'unpaired'."""
  if config.image_to_image == "unpaired":
    return np.concatenate([a, b], axis=-1)
  flat = a.reshape(-1, *a.shape[-3:])
  return np.concatenate([degrade(config, flat).reshape(a.shape), a], axis=-1)


def real_batches(config: ml_collections.ConfigDict, data: Domains, gan: engine.GAN, seeds: np.ndarray, step: int,
                 num_steps: int) -> tuple[np.ndarray, np.ndarray]:
  """The pair images of steps [step, step + num_steps) for every replica: (R, n, n_critic, b, H, W, 2C) and
  domain A's labels (R, n, n_critic, b) (unused in training)."""
  a, labels = image_task.real_batches(data.a, gan, seeds, step, num_steps)
  b = None
  if data.b is not None:
    b, _ = image_task.real_batches(data.b, gan, np.asarray(seeds) + _B_STREAM, step, num_steps)
  return pairs(config, a, b), labels


class HeldOut(NamedTuple):
  """The fixed held-out examples every evaluation uses."""
  pairs: np.ndarray            # (m, H, W, 2C): real pairs
  labels_a: np.ndarray         # (m,) domain A's (the ground truths') labels
  labels_b: np.ndarray | None  # (m,) domain B's (unpaired)


def held_out(config: ml_collections.ConfigDict, test: Domains) -> HeldOut:
  """`eval_samples` test images per domain (`image_metrics.held_out_subset`), as many of each for 'unpaired'."""
  m = config.eval_samples if test.b is None else min(config.eval_samples, len(test.a), len(test.b))
  a = image_metrics.held_out_subset(test.a, m)
  if test.b is None:
    return HeldOut(pairs(config, a.images), a.labels, None)
  b = image_metrics.held_out_subset(test.b, m)
  return HeldOut(pairs(config, a.images, b.images), a.labels, b.labels)


def device_evaluation(gan: engine.GAN, state: engine.TrainState, real: jax.Array) -> dict[str, jax.Array]:
  """One replica's on-device evaluation on held-out real pairs (m, H, W, 2C).

  Returns:
    The discriminator's estimates (per discriminator too when unpaired), 'outputs' (m, H, W, C) for the paired
    tasks or the translated pairs (F(b), G(a)) for 'unpaired', and for 'unpaired' 'cycle' (T(T(a, b))).
  """
  p = gan.players
  fake, _ = p.generate(state.g_params, state.g_batch_stats, p.sample_inputs(None, real.shape[0], real=real),
                       train=False)
  k = 2 if p.unpaired else 1
  real_out = p.discriminator.apply({"params": state.d_params}, real).reshape(real.shape[0], k, -1)
  fake_out = p.discriminator.apply({"params": state.d_params}, fake).reshape(real.shape[0], k, -1)
  out = evaluation.discriminator_estimates(gan.objective, real_out.reshape(-1), fake_out.reshape(-1))
  if p.unpaired:
    for i, domain in enumerate("ab"):
      per = evaluation.discriminator_estimates(gan.objective, real_out[:, i].reshape(-1), fake_out[:, i].reshape(-1))
      out.update({f"{name}_{domain}": v for name, v in per.items()})
    out["outputs"] = fake
    out["cycle"] = p.translate(state.g_params, fake)
  else:
    out["outputs"] = fake[..., p.channels:]
  return out


class Classifiers(NamedTuple):
  """The metric classifiers of domain A (the paired tasks' dataset) and domain B (unpaired only)."""
  a: image_metrics.TrainedClassifier
  b: image_metrics.TrainedClassifier | None


def paired_metrics(classifier: image_metrics.TrainedClassifier | None, truth: np.ndarray, labels: np.ndarray,
                   outputs: np.ndarray, real_features: np.ndarray | None) -> dict[str, float]:
  """PSNR, SSIM and mean absolute error against the ground truth; with a classifier also its accuracy for the true
  labels and the FCD to the real images (`real_features`: theirs in the classifier's features)."""
  out = {"psnr": image_metrics.psnr(truth, outputs), "ssim": image_metrics.ssim(truth, outputs),
         "l1": float(np.mean(np.abs(truth - outputs)))}
  if classifier is not None:
    features, logits = classifier.features_and_logits(outputs)
    out.update(accuracy=image_metrics.conditional_accuracy(logits, labels),
               fcd=image_metrics.frechet_classifier_distance(real_features, features))
  return out


def translation_metrics(classifiers: Classifiers, real_features: tuple[np.ndarray, np.ndarray], labels_a: np.ndarray,
                        labels_b: np.ndarray, a_in_b: np.ndarray, b_in_a: np.ndarray) -> dict[str, float]:
  """Content kept across domains: B's classifier on the images of A translated to B (`a_in_b`) for A's labels
  (`accuracy_ab`), A's on `b_in_a` for B's labels (`accuracy_ba`), both also after the best one-to-one matching of
  classes (`matched_accuracy_*`), and the FCD of each against the real test
  images of its new domain in that domain's classifier features (`real_features`: A's test images in A's
  classifier, B's in B's; `fcd_ab`, `fcd_ba`). With the untranslated images (a_in_b = A's test images, b_in_a =
  B's) this is the baseline."""
  out = {}
  for name, images, labels, target, classifier in (("ab", a_in_b, labels_a, real_features[1], classifiers.b),
                                                   ("ba", b_in_a, labels_b, real_features[0], classifiers.a)):
    features, logits = classifier.features_and_logits(images)
    out[f"accuracy_{name}"] = image_metrics.conditional_accuracy(logits, labels)
    # The same after the best one-to-one relabelling of classes: high when the translation keeps the digits
    # apart but maps them to other classes (cycle consistency holds for any bijection; Chu et al. 2017).
    out[f"matched_accuracy_{name}"] = image_metrics.matched_accuracy(logits, labels)
    out[f"fcd_{name}"] = image_metrics.frechet_classifier_distance(target, features)
  return out


def program(config: ml_collections.ConfigDict, workdir: str) -> engine.Program:
  """The engine program of an image-to-image run (see the module docstring)."""
  layout = parallel.create_layout(config)
  gan = build_gan(config)
  replicas = parallel.replicas_of(config)
  data = load_domains(config, "train")
  for domain in filter(None, data):
    if config.batch_size > len(domain):
      engine.fail("batch_size", config.batch_size, f"at most the {len(domain)} training images of {domain.name}")
  test = held_out(config, load_domains(config, config.get("eval_split", "test")))
  c = gan.players.channels
  truth_a, truth_b = test.pairs[..., :c], test.pairs[..., c:]
  unpaired = config.image_to_image == "unpaired"
  classifiers = None
  if config.get("eval_classifier", True):
    classifiers = Classifiers(image_task.classifier_for(config, workdir),
                              image_task.classifier_for(config, workdir, config.target_dataset) if unpaired else None)
  constants, real_features = {}, None  # the baselines: what the task's classic answer (or doing nothing) scores
  if unpaired:
    if classifiers:
      # Each domain's real test images in its own classifier's features: computed once, read by every evaluation.
      real_features = (classifiers.a.features_and_logits(truth_a)[0], classifiers.b.features_and_logits(truth_b)[0])
      constants = {f"baseline_{k}": v for k, v in translation_metrics(
          classifiers, real_features, test.labels_a, test.labels_b, truth_a, truth_b).items()}
  else:
    truth = truth_b
    base = baseline(config, truth)
    classifier = classifiers.a if classifiers else None
    real_features = None if classifier is None else classifier.features_and_logits(truth)[0]
    constants = {f"baseline_{k}": v
                 for k, v in paired_metrics(classifier, truth, test.labels_a, base, real_features).items()}
  init = lambda: engine.init_states(gan, replicas, layout)
  evaluate_all = jax.jit(layout.map_replicas(lambda s, real: device_evaluation(gan, s, real), in_axes=(0, None)))

  def evaluate_host(state):
    out = {k: np.asarray(v) for k, v in evaluate_all(state, test.pairs).items()}
    outputs, cycle = out.pop("outputs"), out.pop("cycle", None)
    per_replica = []
    for i in range(replicas.size):
      if unpaired:
        # outputs[i] = (F(b), G(a)); cycle[i] = (F(G(a)), G(F(b))).
        m = {"cycle_a": float(np.mean(np.abs(cycle[i][..., :c] - truth_a))),
             "cycle_b": float(np.mean(np.abs(cycle[i][..., c:] - truth_b)))}
        if classifiers:
          m.update(translation_metrics(classifiers, real_features, test.labels_a, test.labels_b,
                                       outputs[i][..., c:], outputs[i][..., :c]))
      else:
        m = paired_metrics(classifiers.a if classifiers else None, truth_b, test.labels_a, outputs[i], real_features)
      per_replica.append(m)
    out.update({k: np.array([m[k] for m in per_replica]) for k in per_replica[0]})
    out.update({k: np.full((replicas.size,), v) for k, v in constants.items()})
    return out

  def one_step(s, real, labels):
    s, metrics = layout.map_replicas(lambda r, x, y: engine.train_step(gan, r, x, y))(s, real, labels)
    return s, metrics, engine.all_finite(s)

  # One jitted step per call, as image_task's default step loop (XLA:CPU's convolution gradients are slow inside
  # a loop body); the block of batches stays on the device.
  step_fn = jax.jit(one_step)
  per_transfer = config.get("steps_per_transfer", 100)

  def chunk(state, step, n):
    parts, done, finite = [], 0, None
    while done < n:
      m = min(per_transfer, n - done)
      real, labels = real_batches(config, data, gan, replicas.seeds, step + done, m)
      real, labels = jnp.asarray(real), jnp.asarray(labels)
      metrics = []
      for t in range(m):
        state, step_metrics, finite = step_fn(state, *image_task.take_step((real, labels), t))
        metrics.append(step_metrics)
      parts.append(jax.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs], axis=1), *metrics))
      done += m
    return state, jax.tree.map(lambda *xs: np.concatenate(xs, axis=1), *parts), finite

  grid_fn = jax.jit(lambda s, real: grid_images(gan, s, real))
  # Spread over the held-out set: the offline test splits are in class order, so these are different digits.
  examples = test.pairs[np.linspace(0, len(test.pairs) - 1, GRID_EXAMPLES).astype(int)]

  def plot(state, step, writer):
    grid = image_task.tile(np.asarray(grid_fn(jax.tree.map(lambda x: x[0], state), examples)), GRID_EXAMPLES)
    image_task.save_png(grid, os.path.join(workdir, "samples", f"step_{step:07d}.png"))
    writer.write_images(step, {"samples": grid})

  headline = ("accuracy_ab", "psnr") if unpaired else ("psnr", "accuracy")
  return engine.Program(init=init, chunk=chunk, evaluate=evaluate_host, plot=plot,
                        target_name=f"{config.dataset}:{config.image_to_image}", headline=headline,
                        probe=probe_for(config, gan) if config.get("probe_every", 0) else None)


def probe(gan: engine.GAN, train_pairs: np.ndarray, test_pairs: np.ndarray, spec: probe_lib.ProbeSpec) -> Any:
  """The jitted divergence probe of every replica on pair images: state -> {estimate: (R,)} (`probe.estimates`).

  p is the real pairs, g the generated ones: (x, G(x)) against (x, y) for the paired tasks (a divergence between
  joint distributions, as the conditional discriminator sees them), (F(b), G(a)) against (a, b) for 'unpaired'.
  The critics train on real training pairs against the translations of other, independently drawn, training
  pairs, and their bounds are read on the held-out pairs against the translations of those same held-out inputs.
  `spec` must be sized with `image_task.probe_spec`.
  """
  p = gan.players
  flat = lambda x: jnp.reshape(x, (x.shape[0], -1)).astype(jnp.float32)

  def one(state, train_pairs, test_pairs):
    k_split, k_fake, k_probe = jax.random.split(jax.random.fold_in(engine.eval_key(state), image_task.PROBE_STREAM),
                                                3)
    n_fit = spec.num_train + spec.num_validation
    translate = lambda x: p.generate(state.g_params, state.g_batch_stats, p.sample_inputs(None, 1, real=x[None]),
                                     train=False)[0][0]
    generate = lambda x: jax.lax.map(translate, x, batch_size=PROBE_BATCH)
    real = train_pairs[jax.random.permutation(k_split, train_pairs.shape[0])[:n_fit]]
    fake = generate(train_pairs[jax.random.permutation(k_fake, train_pairs.shape[0])[:n_fit]])
    test = test_pairs[:spec.num_test]
    splits = probe_lib.Splits(train=(flat(real[:spec.num_train]), flat(fake[:spec.num_train])),
                              validation=(flat(real[spec.num_train:]), flat(fake[spec.num_train:])),
                              test=(flat(test), flat(generate(test))))
    return probe_lib.estimates(spec, splits, k_probe)
  jitted = jax.jit(jax.vmap(one, in_axes=(0, None, None)))  # the pairs are arguments, not folded constants
  return lambda state: jitted(state, jnp.asarray(train_pairs), jnp.asarray(test_pairs))


PROBE_BATCH = 250  # images translated at once for the probe (bounds the activations' memory)


def probe_for(config: ml_collections.ConfigDict, gan: engine.GAN) -> Any:
  """`probe` on the run's data: training pairs (for 'unpaired', as many pairs as the smaller domain has images)
  against the held-out pairs of every evaluation."""
  train_data = load_domains(config, "train")
  if train_data.b is None:
    train_pairs = pairs(config, train_data.a.read(np.arange(len(train_data.a))).images)
  else:
    n = min(len(train_data.a), len(train_data.b))
    train_pairs = pairs(config, train_data.a.read(np.arange(n)).images, train_data.b.read(np.arange(n)).images)
  test_pairs = held_out(config, load_domains(config, config.get("eval_split", "test"))).pairs
  spec = image_task.probe_spec(probe_lib.spec_from_config(config.get("probe")), len(train_pairs), len(test_pairs))
  return probe(gan, train_pairs, test_pairs, spec)


def grid_images(gan: engine.GAN, state: engine.TrainState, real: jax.Array) -> jax.Array:
  """One replica's grid rows for real pairs (k, H, W, 2C): (3k, H, W, C), jittable; `image_task.tile` with k
  columns lays them out.

  Paired: a row of inputs, a row of outputs, a row of ground truths. Unpaired: a (domain A), G(a), F(G(a)),
  then b, F(b), G(F(b)) (six rows).
  """
  p, c = gan.players, gan.players.channels
  fake, _ = p.generate(state.g_params, state.g_batch_stats, p.sample_inputs(None, real.shape[0], real=real),
                       train=False)
  if not p.unpaired:
    return jnp.concatenate([real[..., :c], fake[..., c:], real[..., c:]])
  cycle = p.translate(state.g_params, fake)
  return jnp.concatenate([real[..., :c], fake[..., c:], cycle[..., :c], real[..., c:], fake[..., :c], cycle[..., c:]])


def load_latest(config: ml_collections.ConfigDict, workdir: str, step: int | None = None
                ) -> tuple[engine.GAN, None, engine.TrainState, int]:
  """Restores the latest checkpoint of an image-to-image run, or that of `step`: (gan, None, state, step).

  Raises:
    ValueError: when `workdir` holds no checkpoint, or `step` was not saved.
  """
  gan = build_gan(config)
  state, step = engine.restore_latest(gan, config, workdir, step)
  return gan, None, state, step
