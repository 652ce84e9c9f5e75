"""Training runs by config: the task registry and `train_and_evaluate(config, workdir)`.

A config names its task by what it trains on: `config.dataset` set → the image task (`image_task.py`), else the
distribution-target task (`toy_task.py`). Each task builds its players and an `engine.Program`; the one engine
(`engine.py`) trains it. Adding a task is a module with `validate_config`, `build_gan`, `program` and
`load_latest`, and a line in `TASKS`.
"""
from types import ModuleType
from typing import Any

import ml_collections

from gan_jax import engine
from gan_jax import image_task
from gan_jax import toy_task
from gan_jax import translation_task

TASKS: dict[str, ModuleType] = {"toy": toy_task, "image": image_task, "image_to_image": translation_task}


def task_name(config: ml_collections.ConfigDict) -> str:
  """'image_to_image' when `config.image_to_image` names a task, else 'image' when `config` trains on an image
  dataset (`config.dataset` set), else 'toy'."""
  if config.get("image_to_image"):
    return "image_to_image"
  return "image" if config.get("dataset") else "toy"


def task_of(config: ml_collections.ConfigDict) -> ModuleType:
  """The task module that trains `config` (see `TASKS`)."""
  return TASKS[task_name(config)]


def is_image_config(config: ml_collections.ConfigDict) -> bool:
  """Does `config` train on an image dataset (`config.dataset` set) rather than a distribution target?"""
  return task_name(config) == "image"


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Checks every field `config`'s task reads, before anything is compiled.

  Raises:
    ValueError: one line naming the first bad field, its value and what is allowed.
  """
  task_of(config).validate_config(config)


def build_gan(config: ml_collections.ConfigDict) -> engine.GAN:
  """Validates `config` and builds the static half of its run (players, objective, optimizers, step options).

  Raises:
    ValueError: for any invalid field, before any compilation.
  """
  return task_of(config).build_gan(config)


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> list[dict]:
  """Trains every replica of `config` together, logging divergences every `config.eval_every` steps.

  Replicas are `config.num_seeds` seeds × the product of `config.vmap_hparams` (or the zip of
  `config.zip_hparams`), placed on devices by `config.parallel` (see `parallel.py`). Re-running on the same
  workdir resumes from the latest checkpoint; the resumed run's metrics are bit-identical to an uninterrupted one
  and `metrics.jsonl` keeps no row past the restored step.

  Args:
    config: a training config (see `configs/`).
    workdir: output directory: config.json, metrics.jsonl, tensorboard/, checkpoints/, plots/ or samples/.

  Returns:
    The metric rows of the final evaluation, one per replica.

  Raises:
    ValueError: an invalid config (before anything compiles).
    engine.NonFiniteError: a non-finite loss or parameter; the last good checkpoint and metrics are kept.
  """
  return engine.run(config, workdir, task_of(config).program(config, workdir))


def load_latest(config: ml_collections.ConfigDict, workdir: str, step: int | None = None
                ) -> tuple[engine.GAN, Any, engine.TrainState, int]:
  """Restores the latest checkpoint of a run, or that of `step`: (gan, target or None for images, state, step).

  The state is stacked over replicas.

  Raises:
    ValueError: when `workdir` holds no checkpoint, or `step` was not saved.
  """
  return task_of(config).load_latest(config, workdir, step)
