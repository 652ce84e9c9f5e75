"""Orbax checkpoints: save a training state, restore the latest one.

A thin layer over `orbax.checkpoint.CheckpointManager` (orbax-checkpoint 0.12.8) with `StandardSave` /
`StandardRestore`, the pattern of Flax's `examples/gemma/train.py`. The state is any pytree of arrays: Flax params,
optax states (NamedTuples, `EmptyState`, tuples), int32 step, raw uint32 or typed PRNG keys, all with a leading
seeds axis.

Atomicity (checked against the installed orbax, local filesystem): a step is written into
`<dir>/<step>.orbax-checkpoint-tmp/` and renamed to `<dir>/<step>/` only after every array and the metadata are
written. Steps are discovered by globbing finalized names, so a save killed mid-way leaves only a
`<step>.orbax-checkpoint-tmp` directory that `latest_step` / `restore_latest` ignore; orbax deletes it (with one absl
warning) when that step is saved again. (orbax also writes `commit_success.txt`, the completion marker it relies on
for object stores without atomic rename.)
"""
from collections.abc import Iterator
import contextlib
import gc
import os
import shutil
import sys
from typing import Any

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
from orbax.checkpoint import tree as ocp_tree


def create_manager(
    directory: str, *, max_to_keep: int = 3, save_interval_steps: int = 1
) -> ocp.CheckpointManager:
  """Creates a manager that keeps the latest `max_to_keep` steps under `directory`.

  Saves are asynchronous (arrays are copied to host, then written in a background thread); `save(..., wait=True)`
  blocks until the step is finalized. Call `manager.close()` at the end of training.

  Args:
    directory: root directory; one sub-directory per step is created in it.
    max_to_keep: number of most recent steps to keep (>= 1); older ones are deleted after each save.
    save_interval_steps: `save` writes only steps that are multiples of this (>= 1), unless `force=True` or the
      directory holds no checkpoint yet (orbax's `InitialSavePolicy` always writes the first one).

  Returns:
    An `ocp.CheckpointManager`.

  Raises:
    ValueError: if `max_to_keep` or `save_interval_steps` is not a positive integer.
  """
  if not _is_int(max_to_keep) or max_to_keep < 1:
    raise ValueError(f"max_to_keep must be a positive integer, got {max_to_keep!r}")
  if not _is_int(save_interval_steps) or save_interval_steps < 1:
    raise ValueError(f"save_interval_steps must be a positive integer, got {save_interval_steps!r}")
  options = ocp.CheckpointManagerOptions(
      save_interval_steps=save_interval_steps,
      # `max_to_keep` on the options is deprecated in 0.12.x in favour of a preservation policy.
      preservation_policy=ocp.checkpoint_managers.LatestN(n=max_to_keep),
      create=True,
  )
  # Naming the handler up front lets a fresh manager (a resumed process) read a step's metadata before restoring.
  # Orbax's tensorstore writer rejects relative paths (a workdir like runs/demo).
  return ocp.CheckpointManager(os.path.abspath(directory), options=options,
                               item_handlers=ocp.StandardCheckpointHandler())


def save(
    manager: ocp.CheckpointManager, step: int, state: Any, *, wait: bool = True, force: bool = False
) -> None:
  """Saves `state` as checkpoint `step` (all processes must call this).

  Args:
    manager: from `create_manager`.
    step: training step; must be >= 0 and not already saved.
    state: any pytree of jax or NumPy arrays.
    wait: block until the checkpoint is finalized on disk; if False, the write continues in the background and
      the next `save` (or `manager.wait_until_finished()` / `manager.close()`) waits for it.
    force: save even if `step` is not a multiple of the manager's `save_interval_steps` (e.g. the final step).

  Raises:
    ValueError: if `step` is not a non-negative integer, or (orbax's `StepAlreadyExistsError`) is already saved.
  """
  if not _is_int(step) or step < 0:
    raise ValueError(f"step must be a non-negative integer, got {step!r}")
  manager.save(int(step), args=ocp.args.StandardSave(state), force=force)
  if wait:
    manager.wait_until_finished()


def latest_step(manager: ocp.CheckpointManager) -> int | None:
  """Returns the latest finalized step, or None when the directory holds no checkpoint."""
  return manager.latest_step()


class CheckpointMismatchError(ValueError):
  """A checkpoint's tree paths, shapes or dtypes differ from the target's: another run, not a damaged file."""


def restore_latest(manager: ocp.CheckpointManager, target: Any) -> tuple[Any, int] | None:
  """Restores the newest checkpoint that restores into the structure of `target`.

  A step that fails to restore (a deleted metadata file, a truncated or corrupted array file) is skipped with one
  warning line naming it and why, and deleted once an older step has restored, so that the run can save that step
  again; the next older step is tried.

  Args:
    manager: from `create_manager`.
    target: a pytree with the saved state's structure: the freshly initialised state, or `jax.eval_shape` of it.
      Leaves that are jax Arrays (or `ShapeDtypeStruct`s with a sharding) are restored with that sharding;
      NumPy leaves come back as NumPy arrays; `ShapeDtypeStruct`s without a sharding get the sharding recorded
      at save time.

  Returns:
    `(state, step)` with `state` bit-identical to the saved one and of exactly `target`'s pytree structure, or None
    when no checkpoint exists.

  Raises:
    CheckpointMismatchError: the checkpoint's tree paths, shapes or dtypes differ from `target`'s (orbax would
      otherwise cast dtypes silently).
    ValueError: checkpoints exist but none of them restores.
  """
  steps = sorted(manager.all_steps(), reverse=True)
  if not steps:
    return None
  skipped = []
  # Orbax's failed reads leave callbacks aimed at its closed event loop; collect them here, quietly.
  with _quiet_closed_loop_callbacks():
    for step in steps:
      try:
        _check_matches(manager.item_metadata(step).tree, target, step)
        restored = manager.restore(step, args=ocp.args.StandardRestore(target))
      except CheckpointMismatchError:
        raise
      except Exception as e:  # pylint: disable=broad-except  (any damage: orbax, tensorstore, missing files)
        reason = " ".join(f"{type(e).__name__}: {e}".split())[:200]
        logging.warning("Skipped checkpoint step %d: it does not restore (%s).", step, reason)
        skipped.append(step)
      else:
        for bad in skipped:
          _delete(manager, bad)
        return placed_like(restored, target), step
      gc.collect()  # only after a failed step (and outside `except`, so the failure's frames are released)
  raise ValueError(f"no checkpoint in {manager.directory} restores (steps {', '.join(map(str, steps))} all fail); "
                   "delete the directory to start the run again")


def restore_step(manager: ocp.CheckpointManager, target: Any, step: int) -> Any:
  """Restores the checkpoint saved at `step` into the structure of `target` (see `restore_latest`).

  Raises:
    ValueError: `step` was not saved (the message lists the saved steps).
    CheckpointMismatchError: the checkpoint's tree paths, shapes or dtypes differ from `target`'s.
  """
  steps = sorted(manager.all_steps())
  if not _is_int(step) or step not in steps:
    saved = ", ".join(map(str, steps)) or "none"
    raise ValueError(f"step={step!r} was not saved in {manager.directory}; allowed: a saved step ({saved})")
  _check_matches(manager.item_metadata(step).tree, target, step)
  with _quiet_closed_loop_callbacks():
    return placed_like(manager.restore(step, args=ocp.args.StandardRestore(target)), target)


def uncommitted(tree: Any) -> Any:
  """`tree` with its jax Arrays as uncommitted arrays on the default device, as a jitted init returns them.

  Orbax places what it restores on devices explicitly (committed), and a jitted function lowers committed inputs
  with sharding annotations: a different program from the one compiled for the fresh state, so it would miss the
  persistent compilation cache (a resumed run, or a probe of a checkpoint, compiles everything again).
  """
  return jax.tree.map(lambda x: _uncommit(x) if isinstance(x, jax.Array) else x, tree)


def placed_like(restored: Any, target: Any) -> Any:
  """`restored` with each jax Array uncommitted where `target`'s leaf is an uncommitted jax Array (see above)."""
  return jax.tree.map(
      lambda r, t: _uncommit(r) if isinstance(t, jax.Array) and not t.committed else r, restored, target)


def _uncommit(x: jax.Array) -> jax.Array:
  # Through the host: JAX has no call that drops an array's commitment.
  if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
    return jax.random.wrap_key_data(_uncommit(jax.random.key_data(x)), impl=jax.random.key_impl(x))
  return jnp.asarray(np.asarray(x))


@contextlib.contextmanager
def _quiet_closed_loop_callbacks() -> Iterator[None]:
  """Drops the 'Event loop is closed' errors of a failed restore's leftover callbacks while the block runs.

  A read that tensorstore aborts leaves futures whose callbacks target orbax's already-closed asyncio loop; when
  they are garbage-collected Python prints a traceback per callback to stderr, burying the one line that says which
  step was skipped. Only that RuntimeError is dropped; anything else still reaches the usual hook.
  """
  previous = sys.unraisablehook

  def hook(unraisable):
    if not (isinstance(unraisable.exc_value, RuntimeError) and "Event loop is closed" in str(unraisable.exc_value)):
      previous(unraisable)

  sys.unraisablehook = hook
  try:
    yield
  finally:
    sys.unraisablehook = previous


def _delete(manager: ocp.CheckpointManager, step: int) -> None:
  try:
    manager.delete(step)
  except Exception:  # pylint: disable=broad-except  (a damaged step may not delete cleanly through orbax)
    shutil.rmtree(os.path.join(os.fspath(manager.directory), str(step)), ignore_errors=True)
    manager.reload()


def _check_matches(saved_tree: Any, target: Any, step: int) -> None:
  """Raises ValueError naming the first tree path whose presence, shape or dtype differs."""
  # Orbax stores NamedTuples as dicts and tuples as lists; serialize the target the same way to compare paths.
  saved = ocp_tree.to_flat_dict(saved_tree)
  wanted = ocp_tree.to_flat_dict(ocp_tree.serialize_tree(target, keep_empty_nodes=True))
  if unmatched := sorted(set(saved) ^ set(wanted)):
    where = "checkpoint" if unmatched[0] in saved else "target"
    raise CheckpointMismatchError(
        f"checkpoint step {step}: leaf {'/'.join(unmatched[0])} exists only in the {where}")
  for path, meta in saved.items():
    leaf = wanted[path]
    if not hasattr(leaf, "shape") or not hasattr(meta, "shape"):
      continue  # python scalars: nothing to compare.
    if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
      leaf = jax.eval_shape(jax.random.key_data, leaf)  # typed keys are stored as their raw key data
    if tuple(meta.shape) != tuple(leaf.shape) or np.dtype(meta.dtype) != np.dtype(leaf.dtype):
      raise CheckpointMismatchError(
          f"checkpoint step {step}: leaf {'/'.join(path)} is {np.dtype(meta.dtype)}{list(meta.shape)} on disk"
          f" but {np.dtype(leaf.dtype)}{list(leaf.shape)} in the target"
      )


def _is_int(x: Any) -> bool:
  return isinstance(x, (int, np.integer)) and not isinstance(x, bool)

