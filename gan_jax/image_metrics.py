"""Offline image-GAN metrics on the features of a small classifier trained in this repo.

The Inception network behind FID/IS cannot be downloaded here and does not suit 8×8 digits, so, like TF-GAN's
MNIST metrics, we use a domain classifier (`Classifier`) trained by `experiments/train_classifier.py` and saved
with a SHA-256 checksum; `load_classifier` refuses a file whose checksum does not match. From its penultimate
features φ and logits:

* `frechet_distance`: the FID formula ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½) (Heusel et al. 2017, Eq. 6) of
  Gaussians fitted to φ ("Fréchet classifier distance"); 0 for identical distributions.
* `classifier_score`: exp(E_x KL(p(y|x) ‖ p(y))) (the Inception Score formula, Salimans et al. 2016), in
  [1, number of classes].
* `precision_recall`: improved precision and recall (Kynkäänniemi et al. 2019, k = 3): the share of fake samples
  inside the real manifold (union of k-NN balls around real samples) and vice versa.
* `density_coverage` (Naeem et al. 2020, k = 5): density counts how many real k-NN balls hold each fake sample
  (expectation 1 when fake ~ real); coverage is the share of real balls holding some fake sample
  (≈ 1 − 2⁻ᵏ when fake ~ real and M = N).
* `conditional_accuracy`: the classifier's accuracy on samples generated for requested labels.
* `matched_accuracy`: the same for codes whose meaning is learnt (InfoGAN's categorical code), after the best
  one-to-one matching of codes to classes (the Hungarian algorithm, as for clustering accuracy).
* `psnr` and `ssim`: reconstruction quality against a ground truth (the image-to-image tasks), per image then
  averaged, from scikit-image (`skimage.metrics`; SSIM is Wang et al. 2004 with its 7×7 uniform window).
* `real_floor`: every metric on real training images against the held-out split at the sample sizes of an
  evaluation, the value a perfect generator would reach (a generated-image number is read against it).

Metrics are computed in float64 NumPy outside jit (they run at evaluation time on a few thousand samples); the
classifier's forward pass is jitted.
"""
import dataclasses
import functools
import hashlib
import os
from typing import Any

from flax import linen as nn
from flax import serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.special

from gan_jax import input_pipeline

ArrayLike = jax.typing.ArrayLike

PRECISION_RECALL_K = 3  # Kynkäänniemi et al. 2019, Sec. 3
DENSITY_COVERAGE_K = 5  # Naeem et al. 2020, Sec. 4
_CHUNK = 1024  # rows per block of the pairwise-distance computations (bounds memory at 1024 × n float64)


class Classifier(nn.Module):
  """A small CNN: [3×3 conv, ReLU, 2×2 average pool] per entry of `conv_features`, Dense(hidden) ReLU, Dense.

  `__call__` returns (penultimate features (n, hidden), logits (n, num_classes)).

  Attributes:
    num_classes: number of classes.
    conv_features: channels of each conv stage.
    hidden: width of the penultimate (feature) layer.
  """
  num_classes: int = input_pipeline.NUM_CLASSES
  conv_features: tuple[int, ...] = (32, 64)
  hidden: int = 128

  @nn.compact
  def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    h = x
    for width in self.conv_features:
      h = nn.relu(nn.Conv(width, (3, 3), padding="SAME")(h))
      h = nn.avg_pool(h, (2, 2), strides=(2, 2))
    h = h.reshape(h.shape[0], -1)
    features = nn.relu(nn.Dense(self.hidden)(h))
    return features, nn.Dense(self.num_classes)(features)


@dataclasses.dataclass(frozen=True, eq=False)
class TrainedClassifier:
  """A trained `Classifier` with what it was trained on.

  Attributes:
    module: the `Classifier`.
    params: its variables ({'params': ...}).
    dataset: dataset name it was trained on.
    image_shape: (H, W, C) of the images it accepts.
    test_accuracy: accuracy on the dataset's test split (NaN if not measured).
  """
  module: Classifier
  params: Any
  dataset: str
  image_shape: tuple[int, int, int]
  test_accuracy: float = float("nan")

  def features_and_logits(self, images: ArrayLike, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Penultimate features (n, hidden) and logits (n, classes) of images (n, H, W, C) in [−1, 1], as NumPy.

    Raises:
      ValueError: if the images do not have this classifier's shape.
    """
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[1:] != tuple(self.image_shape) or images.shape[0] == 0:
      raise ValueError(f"images must have shape (n, {', '.join(map(str, self.image_shape))}) with n >= 1 for the "
                       f"{self.dataset} classifier, got shape {images.shape}")
    n = images.shape[0]
    # Pad to whole blocks of one size: a single compilation whatever n is.
    padded = np.concatenate([images, np.zeros((-n % batch_size, *images.shape[1:]), np.float32)])
    outs = [_forward(self.module, self.params, padded[i:i + batch_size]) for i in range(0, len(padded), batch_size)]
    features = np.concatenate([np.asarray(f) for f, _ in outs])[:n]
    logits = np.concatenate([np.asarray(l) for _, l in outs])[:n]
    return features, logits


@functools.partial(jax.jit, static_argnums=0)
def _forward(module: Classifier, params: Any, x: jax.Array) -> tuple[jax.Array, jax.Array]:
  return module.apply(params, x)


def train_classifier(train: input_pipeline.ImageDataset, *, test: input_pipeline.ImageDataset | None = None,
                     seed: int = 0, num_steps: int = 1000, batch_size: int = 64, learning_rate: float = 1e-3,
                     module: Classifier | None = None) -> TrainedClassifier:
  """Trains a `Classifier` with Adam on softmax cross-entropy over deterministic shuffled batches.

  Args:
    train: the training split.
    test: a split to measure `test_accuracy` on (same image shape), or None.
    seed: initialisation and shuffling seed.
    num_steps: optimizer steps.
    batch_size: images per step.
    learning_rate: Adam learning rate.
    module: the architecture; defaults to `Classifier(num_classes=train.num_classes)`.

  Returns:
    The trained classifier.

  Raises:
    ValueError: for a non-positive step count or learning rate, or a test split of another image shape.
  """
  if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
    raise ValueError(f"num_steps must be an integer >= 1, got {num_steps!r}")
  if not learning_rate > 0:
    raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
  if test is not None and test.image_shape != train.image_shape:
    raise ValueError(f"test images {test.image_shape} differ from train images {train.image_shape}")
  module = module or Classifier(num_classes=train.num_classes)
  stream = input_pipeline.batches(train, batch_size, seed, num_batches=num_steps, process_index=0, process_count=1)
  params = module.init(jax.random.PRNGKey(seed), jnp.zeros((1, *train.image_shape)))
  tx = optax.adam(learning_rate)

  @jax.jit
  def step(params, opt_state, images, labels):
    def loss_fn(p):
      _, logits = module.apply(p, images)
      return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
    grads = jax.grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state

  opt_state = tx.init(params)
  for batch in stream:
    params, opt_state = step(params, opt_state, batch.images, batch.labels)
  classifier = TrainedClassifier(module, params, train.name, tuple(train.image_shape))
  if test is not None:
    images, labels = test.as_arrays()
    _, logits = classifier.features_and_logits(images)
    classifier = dataclasses.replace(classifier, test_accuracy=conditional_accuracy(logits, labels))
  return classifier


def classifier_path(data_dir: str, dataset: str, image_size: int) -> str:
  """Where `experiments/train_classifier.py` saves the classifier for (dataset, image size) in `data_dir`."""
  return os.path.join(data_dir, "classifiers", f"{dataset}_{image_size}px.msgpack")


def _sha256(path: str) -> str:
  with open(path, "rb") as f:
    return hashlib.sha256(f.read()).hexdigest()


def save_classifier(classifier: TrainedClassifier, path: str) -> str:
  """Writes the classifier to `path` (msgpack) and its SHA-256 to `path + '.sha256'` (`sha256sum -c` format).

  Returns:
    The hex digest.
  """
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  module = classifier.module
  payload = serialization.msgpack_serialize({
      "config": {
          "num_classes": module.num_classes,
          "conv_features": list(module.conv_features),
          "hidden": module.hidden,
          "dataset": classifier.dataset,
          "image_shape": list(classifier.image_shape),
          "test_accuracy": float(classifier.test_accuracy),
      },
      "params": jax.tree.map(np.asarray, serialization.to_state_dict(classifier.params)),
  })
  digest = hashlib.sha256(payload).hexdigest()
  for target, data in ((path, payload), (path + ".sha256", f"{digest}  {os.path.basename(path)}\n".encode())):
    with open(target + ".tmp", "wb") as f:  # write-then-rename: a killed save never leaves a torn file
      f.write(data)
    os.replace(target + ".tmp", target)
  return digest


def load_classifier(path: str) -> TrainedClassifier:
  """Loads a classifier saved by `save_classifier`, after checking its SHA-256.

  Raises:
    FileNotFoundError: if the file or its checksum file is missing (the message says how to train one).
    ValueError: if the checksum does not match.
  """
  how = "train it with: python experiments/train_classifier.py --dataset=DATASET --data_dir=DIR"
  for needed in (path, path + ".sha256"):
    if not os.path.exists(needed):
      raise FileNotFoundError(f"classifier file {needed} not found; {how}")
  with open(path + ".sha256") as f:
    expected = (f.read().split() or [""])[0]
  actual = _sha256(path)
  if actual != expected:
    raise ValueError(f"checksum mismatch for classifier {path}: sha256 is {actual} but {path}.sha256 records "
                     f"{expected!r}; {how}")
  with open(path, "rb") as f:
    state = serialization.msgpack_restore(f.read())
  config = state["config"]
  module = Classifier(num_classes=int(config["num_classes"]), conv_features=tuple(config["conv_features"]),
                      hidden=int(config["hidden"]))
  params = jax.tree.map(jnp.asarray, state["params"])
  return TrainedClassifier(module, params, str(config["dataset"]), tuple(int(s) for s in config["image_shape"]),
                           float(config["test_accuracy"]))


def train_and_save_classifier(dataset: str, data_dir: str, *, image_size: int | None = None, seed: int = 0,
                              num_steps: int = 1000) -> tuple[str, TrainedClassifier]:
  """Trains the metric classifier on `dataset`'s train split, measures test accuracy, saves it into `data_dir`.

  Returns:
    (path of the saved classifier, the classifier).
  """
  train = input_pipeline.load(dataset, "train", data_dir=data_dir, image_size=image_size)
  test = input_pipeline.load(dataset, "test", data_dir=data_dir, image_size=image_size)
  classifier = train_classifier(train, test=test, seed=seed, num_steps=num_steps)
  path = classifier_path(data_dir, dataset, train.image_shape[0])
  save_classifier(classifier, path)
  return path, classifier


def _as_2d(x: ArrayLike, name: str) -> np.ndarray:
  x = np.asarray(x, np.float64)
  if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
    raise ValueError(f"{name} must have shape (n, d) with n, d >= 1, got shape {x.shape}")
  if not np.all(np.isfinite(x)):
    raise ValueError(f"{name} must be finite; it holds NaN or inf")
  return x


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
  """The symmetric square root of a symmetric PSD matrix (eigenvalues below 0 from rounding set to 0)."""
  eigvals, eigvecs = np.linalg.eigh(matrix)
  return (eigvecs * np.sqrt(np.clip(eigvals, 0.0, None))) @ eigvecs.T


def frechet_distance(mu1: ArrayLike, cov1: ArrayLike, mu2: ArrayLike, cov2: ArrayLike) -> float:
  """‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½): the squared 2-Wasserstein distance of two Gaussians.

  Tr(Σ₁Σ₂)^½ is computed as Tr(Σ₁^½ Σ₂ Σ₁^½)^½ (the same eigenvalues, but of a symmetric PSD matrix), so only
  symmetric eigendecompositions are needed and no complex parts appear (unlike sqrtm of Σ₁Σ₂).

  Args:
    mu1, mu2: means (d,).
    cov1, cov2: covariance matrices (d, d), symmetric positive semi-definite.

  Returns:
    The distance (a float, >= 0 up to rounding).

  Raises:
    ValueError: for inconsistent shapes.
  """
  mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
  cov1, cov2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
  d = mu1.shape[0] if mu1.ndim == 1 else -1
  if mu1.ndim != 1 or mu2.shape != (d,) or cov1.shape != (d, d) or cov2.shape != (d, d):
    raise ValueError(f"need mu1, mu2 of shape (d,) and cov1, cov2 of shape (d, d); got {mu1.shape}, {mu2.shape}, "
                     f"{cov1.shape}, {cov2.shape}")
  root1 = _sqrt_psd(cov1)
  middle = root1 @ cov2 @ root1
  trace_sqrt = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)))
  return float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2.0 * trace_sqrt)


def frechet_classifier_distance(features1: ArrayLike, features2: ArrayLike) -> float:
  """`frechet_distance` of Gaussians fitted to two feature sets (n, d) (sample covariance, ddof = 1, as FID).

  Raises:
    ValueError: for sets of different dimension or with fewer than 2 rows.
  """
  f1, f2 = _as_2d(features1, "features1"), _as_2d(features2, "features2")
  if f1.shape[1] != f2.shape[1] or min(len(f1), len(f2)) < 2:
    raise ValueError(f"feature sets need the same dimension and >= 2 rows each, got {f1.shape} and {f2.shape}")
  return frechet_distance(f1.mean(0), np.cov(f1, rowvar=False).reshape(f1.shape[1], -1),
                          f2.mean(0), np.cov(f2, rowvar=False).reshape(f2.shape[1], -1))


def classifier_score(logits: ArrayLike) -> float:
  """exp(E_x KL(p(y|x) ‖ p(y))), p(y) the mean of p(y|x) over the set: 1 if every prediction is the same, K for
  confident predictions spread evenly over K classes (the Inception Score formula, Salimans et al. 2016).
  """
  log_p = scipy.special.log_softmax(_as_2d(logits, "logits"), axis=1)
  log_marginal = scipy.special.logsumexp(log_p, axis=0) - np.log(log_p.shape[0])
  kl = np.sum(np.exp(log_p) * (log_p - log_marginal), axis=1)
  return float(np.exp(np.mean(kl)))


def conditional_accuracy(logits: ArrayLike, labels: ArrayLike) -> float:
  """The share of samples whose predicted class (argmax of logits (n, K)) is the requested label (n,)."""
  logits = _as_2d(logits, "logits")
  labels = np.asarray(labels)
  if labels.shape != (logits.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
    raise ValueError(f"labels must be integers of shape ({logits.shape[0]},), got shape {labels.shape} dtype "
                     f"{labels.dtype}")
  return float(np.mean(np.argmax(logits, axis=1) == labels))


# Images are in [−1, 1]: the range PSNR's peak and SSIM's stabilising constants are measured against.
DATA_RANGE = 2.0


def _check_pair(truth: ArrayLike, test: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
  truth, test = np.asarray(truth, np.float64), np.asarray(test, np.float64)
  if truth.ndim != 4 or truth.shape != test.shape or truth.shape[0] == 0:
    raise ValueError(f"images must be two non-empty (n, H, W, C) arrays of one shape, got {truth.shape} and "
                     f"{test.shape}")
  return truth, test


def psnr(truth: ArrayLike, test: ArrayLike) -> float:
  """Mean over images of 10·log10(range² / MSE) in dB (range 2 for [−1, 1]; inf for an exact image)."""
  from skimage import metrics  # pylint: disable=g-import-not-at-top  (only the image-to-image tasks need it)
  truth, test = _check_pair(truth, test)
  with np.errstate(divide="ignore"):  # an exact image: MSE 0, PSNR inf
    return float(np.mean([metrics.peak_signal_noise_ratio(t, x, data_range=DATA_RANGE)
                          for t, x in zip(truth, test)]))


def ssim(truth: ArrayLike, test: ArrayLike) -> float:
  """Mean over images of the structural similarity index (1 for identical images; channels averaged)."""
  from skimage import metrics  # pylint: disable=g-import-not-at-top
  truth, test = _check_pair(truth, test)
  return float(np.mean([metrics.structural_similarity(t, x, data_range=DATA_RANGE, channel_axis=-1)
                        for t, x in zip(truth, test)]))


def matched_accuracy(logits: ArrayLike, codes: ArrayLike) -> float:
  """The classifier's accuracy on samples generated for unsupervised codes (n,), under the best one-to-one
  matching of codes to classes (Hungarian algorithm on the code × class count table), so a code that learnt
  class 7 counts as 7 whatever its index.

  Args:
    logits: the classifier's logits (n, K) on the samples.
    codes: the code each sample was generated with (n,), integers in [0, K).

  Returns:
    The matched accuracy in [0, 1].

  Raises:
    ValueError: for codes of the wrong shape or outside [0, K).
  """
  logits = _as_2d(logits, "logits")
  codes = np.asarray(codes)
  k = logits.shape[1]
  if codes.shape != (logits.shape[0],) or not np.issubdtype(codes.dtype, np.integer):
    raise ValueError(f"codes must be integers of shape ({logits.shape[0]},), got shape {codes.shape} dtype "
                     f"{codes.dtype}")
  if codes.min() < 0 or codes.max() >= k:
    raise ValueError(f"codes must lie in [0, {k}), got range [{codes.min()}, {codes.max()}]")
  counts = np.zeros((k, k), np.int64)
  np.add.at(counts, (codes, np.argmax(logits, axis=1)), 1)
  import scipy.optimize  # pylint: disable=g-import-not-at-top  (~0.4 s to import: only here)
  rows, cols = scipy.optimize.linear_sum_assignment(counts, maximize=True)
  return float(counts[rows, cols].sum() / len(codes))


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
  """Pairwise squared distances (len(a), len(b)) by ‖a‖² − 2a·b + ‖b‖² (fast, but rounded differently per pair)."""
  return np.clip(np.sum(a**2, 1)[:, None] - 2.0 * a @ b.T + np.sum(b**2, 1)[None, :], 0.0, None)


def _exact_squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
  """Σ(a − b)² row by row for paired rows: bitwise symmetric in a and b."""
  return np.sum((a - b) ** 2, axis=1)


def _kth_neighbour_radii(x: np.ndarray, k: int) -> np.ndarray:
  """Squared distance from each row of x to its k-th nearest other row (index k of the sorted row: 0 is itself)."""
  neighbour = np.concatenate([np.argpartition(_squared_distances(x[i:i + _CHUNK], x), k, axis=1)[:, k]
                              for i in range(0, len(x), _CHUNK)])
  return _exact_squared_distances(x, x[neighbour])


def _ball_hits(queries: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """(for each query, how many centre balls hold it; for each centre, whether its ball holds some query).

  A point on a ball's boundary (e.g. a centre's own k-th neighbour when the sets share points) must count as
  inside, so pairs whose expanded distance lies within rounding of the radius are recomputed exactly, the same way
  as the radii.
  """
  counts = np.zeros(len(queries), np.int64)
  covered = np.zeros(len(centres), bool)
  centre_norms = np.sum(centres**2, 1)
  for i in range(0, len(queries), _CHUNK):
    q = queries[i:i + _CHUNK]
    d2 = _squared_distances(q, centres)
    inside = d2 <= radii[None, :]
    # The expansion's rounding error is below ~d·1e-16·(‖q‖² + ‖c‖²); 1e-9 leaves a wide margin.
    rows, cols = np.nonzero(np.abs(d2 - radii[None, :]) <= 1e-9 * (np.sum(q**2, 1)[:, None] + centre_norms))
    inside[rows, cols] = _exact_squared_distances(q[rows], centres[cols]) <= radii[cols]
    counts[i:i + _CHUNK] = inside.sum(1)
    covered |= inside.any(0)
  return counts, covered


def _check_sets(real: ArrayLike, fake: ArrayLike, k: int) -> tuple[np.ndarray, np.ndarray]:
  real, fake = _as_2d(real, "real features"), _as_2d(fake, "fake features")
  if real.shape[1] != fake.shape[1]:
    raise ValueError(f"real and fake features differ in dimension: {real.shape[1]} vs {fake.shape[1]}")
  if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 or k >= min(len(real), len(fake)):
    raise ValueError(f"k must be an integer in [1, {min(len(real), len(fake)) - 1}] (fewer than either set's "
                     f"size), got {k!r}")
  return real, fake


def precision_recall(real: ArrayLike, fake: ArrayLike, k: int = PRECISION_RECALL_K) -> dict[str, float]:
  """Improved precision and recall (Kynkäänniemi et al. 2019, Eqs. 1–2) of fake features against real ones.

  Each set's manifold is the union of balls around its points with radius the distance to the k-th nearest other
  point of the same set. Precision: share of fake points inside the real manifold; recall: share of real points
  inside the fake manifold.

  Args:
    real: real features (N, d).
    fake: fake features (M, d).
    k: neighbourhood size, < min(N, M).

  Returns:
    {'precision': float, 'recall': float}, each in [0, 1].
  """
  real, fake = _check_sets(real, fake, k)
  in_real, _ = _ball_hits(fake, real, _kth_neighbour_radii(real, k))
  in_fake, _ = _ball_hits(real, fake, _kth_neighbour_radii(fake, k))
  return {"precision": float(np.mean(in_real > 0)), "recall": float(np.mean(in_fake > 0))}


def density_coverage(real: ArrayLike, fake: ArrayLike, k: int = DENSITY_COVERAGE_K) -> dict[str, float]:
  """Density and coverage (Naeem et al. 2020, Eqs. 3–4) of fake features against real ones.

  With B_i the ball around real point i of radius its k-th nearest-neighbour distance among the real points:
  density = (1/(kM)) Σ_j #{i: fake_j ∈ B_i} (expectation 1 when fake ~ real), coverage = share of B_i holding a
  fake point (expectation 1 − C(N−1, k)/C(N+M−1, k) ≈ 1 − 2⁻ᵏ when fake ~ real and M = N).

  Args:
    real: real features (N, d).
    fake: fake features (M, d).
    k: neighbourhood size, < min(N, M).

  Returns:
    {'density': float >= 0, 'coverage': float in [0, 1]}.
  """
  real, fake = _check_sets(real, fake, k)
  counts, covered = _ball_hits(fake, real, _kth_neighbour_radii(real, k))
  return {"density": float(counts.sum() / (k * len(fake))), "coverage": float(np.mean(covered))}


def evaluate_features(real_features: ArrayLike, fake_features: ArrayLike, fake_logits: ArrayLike, *,
                      fake_labels: ArrayLike | None = None) -> dict[str, float]:
  """All metrics from precomputed classifier outputs (real features can be computed once per run).

  Returns:
    {'fcd', 'classifier_score', 'precision', 'recall', 'density', 'coverage'} and, when `fake_labels` (the labels
    the samples were generated for) is given, 'conditional_accuracy'.
  """
  metrics = {"fcd": frechet_classifier_distance(real_features, fake_features),
             "classifier_score": classifier_score(fake_logits)}
  metrics.update(precision_recall(real_features, fake_features))
  metrics.update(density_coverage(real_features, fake_features))
  if fake_labels is not None:
    metrics["conditional_accuracy"] = conditional_accuracy(fake_logits, fake_labels)
  return metrics


def evaluate_images(classifier: TrainedClassifier, real_images: ArrayLike, fake_images: ArrayLike, *,
                    fake_labels: ArrayLike | None = None) -> dict[str, float]:
  """`evaluate_features` on the classifier's outputs for real and generated images (n, H, W, C) in [−1, 1]."""
  real_features, _ = classifier.features_and_logits(real_images)
  fake_features, fake_logits = classifier.features_and_logits(fake_images)
  return evaluate_features(real_features, fake_features, fake_logits, fake_labels=fake_labels)


def held_out_subset(dataset: input_pipeline.ImageDataset, num_samples: int) -> input_pipeline.Batch:
  """The held-out real images an evaluation compares against: the first `num_samples` of a fixed (seed 0)
  shuffle of `dataset`, in index order (all of it when num_samples >= its size)."""
  order = np.random.default_rng(0).permutation(len(dataset))[:num_samples]
  return dataset.read(np.sort(order))


def real_floor(classifier: TrainedClassifier, train: input_pipeline.ImageDataset,
               held_out: input_pipeline.ImageDataset, num_samples: int, *, seed: int = 0) -> dict[str, float]:
  """Every metric of `evaluate_images` with real training images in the generator's place: the floor.

  The real side is `held_out_subset(held_out, num_samples)`, exactly as an evaluation with `eval_samples =
  num_samples` uses; the "generated" side is `num_samples` training images drawn without replacement (seeded).

  Raises:
    ValueError: if num_samples is not an integer in [k + 1, len(train)] (k = the k-NN metrics' largest k).
  """
  smallest = max(PRECISION_RECALL_K, DENSITY_COVERAGE_K) + 1
  if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or not (
      smallest <= num_samples <= len(train)):
    raise ValueError(f"num_samples must be an integer in [{smallest}, {len(train)}], got {num_samples!r}")
  real = held_out_subset(held_out, num_samples)
  fake = train.read(np.sort(np.random.default_rng(seed).permutation(len(train))[:num_samples]))
  return evaluate_images(classifier, real.images, fake.images)
