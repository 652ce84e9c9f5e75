"""Trains a GAN and logs exact and estimated divergences beside D*.

  python experiments/train.py --config=configs/mixture_1d.py --workdir=runs/mixture_1d \
      --config.objective=wasserstein --config.seed=3

Re-running the same command on the same workdir resumes from the latest checkpoint.
"""
import sys

from absl import app
from absl import flags
from ml_collections import config_flags

from gan_jax import train

_CONFIG = config_flags.DEFINE_config_file("config", None, "Training config file.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for metrics, checkpoints and plots.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  try:
    train.build_gan(_CONFIG.value)  # Validates every field before anything compiles.
  except ValueError as e:
    sys.exit(f"error: {e}")
  try:
    train.train_and_evaluate(_CONFIG.value, _WORKDIR.value)
  except train.NonFiniteError as e:
    sys.exit(f"error: {e}")


if __name__ == "__main__":
  app.run(main)
