"""Tests for gan_jax/image_metrics.py.

References: the closed-form W2² of Gaussians with diagonal covariances and scipy.linalg.sqrtm for general ones;
the classifier score's known values (1 for identical predictions, K for confident balanced ones) and a NumPy
re-computation; loop-by-loop brute-force precision / recall / density / coverage; exact identities on identical
sets (density (k+1)/k) and the exchangeability expectations on independent same-distribution sets (density 1,
coverage 1 − C(N−1, k)/C(N+M−1, k)); and known answers on real digits (train vs test is far closer than train vs
test with one class removed).
"""
import math

import numpy as np
import pytest
import scipy.linalg
import scipy.special

from gan_jax import image_metrics as m
from gan_jax import input_pipeline as ip


def _random_spd(rng, d):
  a = rng.normal(size=(d, d))
  return a @ a.T / d + 0.1 * np.eye(d)


def test_frechet_distance_diagonal_closed_form():
  rng = np.random.default_rng(0)
  mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
  v1, v2 = rng.uniform(0.1, 3, size=6), rng.uniform(0.1, 3, size=6)
  expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
  np.testing.assert_allclose(m.frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)), expected, rtol=1e-10)


def test_frechet_distance_matches_sqrtm():
  rng = np.random.default_rng(1)
  mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
  c1, c2 = _random_spd(rng, 5), _random_spd(rng, 5)
  expected = np.sum((mu1 - mu2) ** 2) + np.trace(c1 + c2 - 2 * scipy.linalg.sqrtm(c1 @ c2).real)
  got = m.frechet_distance(mu1, c1, mu2, c2)
  np.testing.assert_allclose(got, expected, rtol=1e-8)
  np.testing.assert_allclose(m.frechet_distance(mu2, c2, mu1, c1), got, rtol=1e-8)  # symmetric
  assert abs(m.frechet_distance(mu1, c1, mu1, c1)) < 1e-10


def test_frechet_classifier_distance_uses_sample_statistics():
  rng = np.random.default_rng(2)
  a, b = rng.normal(size=(50, 3)), rng.normal(1.0, 2.0, size=(40, 3))
  ma, mb = a.sum(0) / 50, b.sum(0) / 40
  ca, cb = (a - ma).T @ (a - ma) / 49, (b - mb).T @ (b - mb) / 39  # ddof = 1, as FID
  np.testing.assert_allclose(m.frechet_classifier_distance(a, b), m.frechet_distance(ma, ca, mb, cb), rtol=1e-10)
  with pytest.raises(ValueError, match="same dimension"):
    m.frechet_classifier_distance(a, b[:, :2])


def test_classifier_score_known_values():
  k = 10
  assert m.classifier_score(np.zeros((30, k))) == pytest.approx(1.0)  # uniform predictions
  confident = 60.0 * np.eye(k)[np.arange(200) % k]  # one-hot, balanced
  assert m.classifier_score(confident) == pytest.approx(k, rel=1e-6)
  assert m.classifier_score(60.0 * np.eye(k)[np.zeros(200, int)]) == pytest.approx(1.0)  # all the same class
  rng = np.random.default_rng(3)
  logits = rng.normal(size=(100, k)) * 2
  p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
  marginal = p.mean(0)
  expected = math.exp(np.mean(np.sum(p * (np.log(p) - np.log(marginal)), axis=1)))
  assert m.classifier_score(logits) == pytest.approx(expected, rel=1e-10)


def test_conditional_accuracy():
  logits = np.array([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0], [0.0, 0.5]])
  assert m.conditional_accuracy(logits, np.array([0, 1, 1, 1])) == 0.75
  with pytest.raises(ValueError, match="labels"):
    m.conditional_accuracy(logits, np.array([0.0, 1.0, 1.0, 1.0]))


def _brute_force(real, fake, k):
  """All four k-NN metrics by explicit loops (sorted distance lists, float64)."""
  def dist(a, b):
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
  def radii(points):
    return [sorted(dist(p, q) for j, q in enumerate(points) if j != i)[k - 1] for i, p in enumerate(points)]
  r_real, r_fake = radii(real), radii(fake)
  hits = [[dist(y, x) <= r for x, r in zip(real, r_real)] for y in fake]
  precision = np.mean([any(h) for h in hits])
  recall = np.mean([any(dist(x, y) <= r for y, r in zip(fake, r_fake)) for x in real])
  density = sum(sum(h) for h in hits) / (k * len(fake))
  coverage = np.mean([any(hits[j][i] for j in range(len(fake))) for i in range(len(real))])
  return precision, recall, density, coverage


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_knn_metrics_match_brute_force(seed):
  rng = np.random.default_rng(seed)
  real = rng.normal(size=(40, 3))
  fake = rng.normal(0.5, 1.3, size=(35, 3))
  for k in (3, 5):
    precision, recall, density, coverage = _brute_force(real.tolist(), fake.tolist(), k)
    pr = m.precision_recall(real, fake, k=k)
    dc = m.density_coverage(real, fake, k=k)
    assert (pr["precision"], pr["recall"]) == pytest.approx((precision, recall))
    assert (dc["density"], dc["coverage"]) == pytest.approx((density, coverage))


def test_knn_metrics_on_identical_and_disjoint_sets():
  x = np.random.default_rng(4).normal(size=(300, 8))
  assert m.precision_recall(x, x) == {"precision": 1.0, "recall": 1.0}
  # Each point lies in its own ball and in exactly k others' (those it is among the k nearest of), summed over
  # points: N + kN hits, so density = (k + 1)/k.
  assert m.density_coverage(x, x) == pytest.approx({"density": 6 / 5, "coverage": 1.0})
  far = x + 100.0
  assert m.precision_recall(x, far) == {"precision": 0.0, "recall": 0.0}
  assert m.density_coverage(x, far) == {"density": 0.0, "coverage": 0.0}


def test_density_coverage_expectations_on_independent_sets():
  n = 1000
  k = m.DENSITY_COVERAGE_K
  # Coverage misses real ball i iff its k nearest neighbours among the other N − 1 reals and M fakes are all
  # real: probability C(N−1, k)/C(N+M−1, k) by exchangeability (≈ 2⁻ᵏ); density's expectation is exactly 1.
  miss = math.comb(n - 1, k) / math.comb(2 * n - 1, k)
  results = [m.density_coverage(*np.random.default_rng(seed).normal(size=(2, n, 4))) for seed in range(3)]
  density = np.mean([r["density"] for r in results])
  coverage = np.mean([r["coverage"] for r in results])
  assert density == pytest.approx(1.0, abs=0.06)
  assert coverage == pytest.approx(1.0 - miss, abs=0.012)
  assert 1.0 - miss == pytest.approx(1 - 2.0**-k, abs=1e-3)


def test_knn_argument_checks():
  x = np.zeros((5, 2))
  with pytest.raises(ValueError, match="k must be"):
    m.precision_recall(x, x, k=5)
  with pytest.raises(ValueError, match="dimension"):
    m.density_coverage(x, np.zeros((5, 3)))
  with pytest.raises(ValueError, match="finite"):
    m.precision_recall(np.full((5, 2), np.nan), x, k=2)


@pytest.fixture(scope="module")
def digits():
  train, test = ip.load("digits", "train"), ip.load("digits", "test")
  return train, test


@pytest.fixture(scope="module")
def quick_classifier(digits):
  train, test = digits
  return m.train_classifier(train, test=test, num_steps=300, seed=0)


def test_quick_classifier_separates_real_from_class_removed(digits, quick_classifier):
  train, test = digits
  (x_train, _), (x_test, y_test) = train.as_arrays(), test.as_arrays()
  f_train, _ = quick_classifier.features_and_logits(x_train)
  f_test, logits = quick_classifier.features_and_logits(x_test)
  same = m.frechet_classifier_distance(f_train, f_test)
  removed = m.frechet_classifier_distance(f_train, f_test[y_test != 3])
  assert same < removed / 3
  assert quick_classifier.test_accuracy == m.conditional_accuracy(logits, y_test) > 0.9


def test_save_load_round_trip_and_checksum(tmp_path, quick_classifier, digits):
  path = m.classifier_path(str(tmp_path), "digits", 8)
  digest = m.save_classifier(quick_classifier, path)
  with open(path + ".sha256") as f:
    assert f.read().split() == [digest, "digits_8px.msgpack"]
  loaded = m.load_classifier(path)
  assert loaded.image_shape == (8, 8, 1) and loaded.dataset == "digits"
  assert loaded.test_accuracy == quick_classifier.test_accuracy
  x = digits[1].read(np.arange(10)).images
  for a, b in zip(loaded.features_and_logits(x), quick_classifier.features_and_logits(x)):
    np.testing.assert_array_equal(a, b)
  with open(path, "r+b") as f:  # flip one byte
    f.seek(100)
    byte = f.read(1)
    f.seek(100)
    f.write(bytes([byte[0] ^ 1]))
  with pytest.raises(ValueError, match="checksum mismatch") as info:
    m.load_classifier(path)
  assert "\n" not in str(info.value) and "train_classifier.py" in str(info.value)
  with pytest.raises(FileNotFoundError, match="train_classifier.py"):
    m.load_classifier(str(tmp_path / "missing.msgpack"))


def test_train_and_save_classifier_writes_a_loadable_file(tmp_path):
  path, classifier = m.train_and_save_classifier("digits", str(tmp_path), image_size=16, num_steps=3)
  assert path == str(tmp_path / "classifiers" / "digits_16px.msgpack")
  loaded = m.load_classifier(path)
  assert loaded.image_shape == (16, 16, 1) and loaded.test_accuracy == classifier.test_accuracy


def test_features_reject_other_image_shapes(quick_classifier):
  with pytest.raises(ValueError, match=r"\(n, 8, 8, 1\)"):
    quick_classifier.features_and_logits(np.zeros((2, 16, 16, 1)))


def test_evaluate_images_reports_every_metric(digits, quick_classifier):
  train, test = digits
  (x_train, _), (x_test, y_test) = train.as_arrays(), test.as_arrays()
  metrics = m.evaluate_images(quick_classifier, x_train, x_test, fake_labels=y_test)
  assert set(metrics) == {"fcd", "classifier_score", "precision", "recall", "density", "coverage",
                          "conditional_accuracy"}
  assert metrics["conditional_accuracy"] == quick_classifier.test_accuracy
  # A generator that only draws one class: low classifier score, coverage and recall.
  ones = x_test[y_test == 1]
  collapsed = m.evaluate_images(quick_classifier, x_train, ones)
  assert collapsed["classifier_score"] < 2.0 < metrics["classifier_score"]
  assert collapsed["coverage"] < metrics["coverage"] / 2 and collapsed["recall"] < metrics["recall"] / 2


@pytest.mark.slow
def test_trained_classifier_known_answers(tmp_path, digits):
  train, test = digits
  path, classifier = m.train_and_save_classifier("digits", str(tmp_path), num_steps=1500)
  assert classifier.test_accuracy > 0.96
  (x_train, _), (x_test, y_test) = train.as_arrays(), test.as_arrays()
  f_train, _ = m.load_classifier(path).features_and_logits(x_train)
  f_test, logits = classifier.features_and_logits(x_test)
  assert m.classifier_score(logits) > 8.5  # near the 10 classes of confident, balanced real digits
  for removed in range(10):
    assert m.frechet_classifier_distance(f_train, f_test) < m.frechet_classifier_distance(
        f_train, f_test[y_test != removed]) / 3
  pr = m.precision_recall(f_train, f_test)
  assert pr["precision"] > 0.8 and pr["recall"] > 0.8


def _matched_accuracy_brute_force(predicted, codes, k):
  """Best accuracy over all k! assignments of codes to classes, by enumeration."""
  import itertools
  return max(np.mean(np.array(perm)[codes] == predicted) for perm in itertools.permutations(range(k)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matched_accuracy_matches_brute_force(seed):
  rng = np.random.default_rng(seed)
  k = 5
  codes = rng.integers(0, k, size=60)
  # Mostly a fixed relabelling of the codes, partly noise: the best matching is that relabelling.
  predicted = np.where(rng.random(60) < 0.7, rng.permutation(k)[codes], rng.integers(0, k, size=60))
  logits = 5.0 * np.eye(k)[predicted]
  assert m.matched_accuracy(logits, codes) == pytest.approx(_matched_accuracy_brute_force(predicted, codes, k))
  # With the codes already equal to the classes, no relabelling beats the identity.
  assert m.matched_accuracy(logits, predicted) == 1.0 == m.conditional_accuracy(logits, predicted)
  with pytest.raises(ValueError, match=r"codes must lie in \[0, 5\)"):
    m.matched_accuracy(logits, np.full(60, 5))


@pytest.fixture(scope="module")
def mnist5k():
  return ip.load("mnist5k", "train"), ip.load("mnist5k", "test")


@pytest.fixture(scope="module")
def mnist5k_classifier(mnist5k):
  # A few batches only (the metric classifier proper takes 1,000 steps and reaches 97.2%; `make test-slow`).
  train, test = mnist5k
  return m.train_classifier(train, test=test, num_steps=100, seed=0)


def test_mnist5k_classifier_on_a_few_batches(mnist5k, mnist5k_classifier):
  train, test = mnist5k
  (x_train, _), (x_test, y_test) = train.as_arrays(), test.as_arrays()
  assert mnist5k_classifier.image_shape == (28, 28, 1) and mnist5k_classifier.dataset == "mnist5k"
  f_train, _ = mnist5k_classifier.features_and_logits(x_train[::4])  # every class: the file is sorted by class
  f_test, logits = mnist5k_classifier.features_and_logits(x_test)
  assert mnist5k_classifier.test_accuracy == m.conditional_accuracy(logits, y_test) > 0.8  # chance: 0.1
  assert m.frechet_classifier_distance(f_train, f_test) < m.frechet_classifier_distance(
      f_train, f_test[y_test != 3]) / 3


def test_real_floor_is_train_images_against_the_evaluation_subset(mnist5k, mnist5k_classifier):
  train, test = mnist5k
  floor = m.real_floor(mnist5k_classifier, train, test, 600, seed=4)
  # By hand: all 500 test images (600 > 500) against 600 training images drawn without replacement.
  fake = train.as_arrays().images[np.sort(np.random.default_rng(4).permutation(4500)[:600])]
  assert floor == m.evaluate_images(mnist5k_classifier, test.as_arrays().images, fake)
  held_out = m.held_out_subset(test, 200)
  assert held_out.images.shape == (200, 28, 28, 1) and len(set(held_out.labels)) == 10
  with pytest.raises(ValueError, match="num_samples must be an integer in \\[6, 4500\\], got 5000"):
    m.real_floor(mnist5k_classifier, train, test, 5000)
