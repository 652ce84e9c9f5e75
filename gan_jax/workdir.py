"""A run's ownership of its workdir: one process at a time, and only the run its files came from.

- `exclusive(workdir)`: an exclusive `fcntl.flock` on `<workdir>/run.lock`, held for the life of the run. The
  kernel releases it when the process dies (kill -9 included), so a crashed run never leaves a stale lock; a second
  run on the same workdir fails at once with one line naming the holder's pid and host.
- `check_resumable(workdir, config)`: re-running a workdir resumes it, which is only sound with the same run. The
  fields that define a run are everything but `RESUMABLE_FIELDS` (how long to train, and how often to evaluate,
  plot, checkpoint and log); a config that differs in any other field is refused, naming every differing field,
  before anything is written.
"""
from collections.abc import Iterator, Mapping
import contextlib
import fcntl
import json
import os
import socket
from typing import Any

from gan_jax import writers

LOCK_FILE = "run.lock"
# Fields that may change when a run is resumed: they decide how far and how often, not what is trained; and
# `parallel`, where its replicas run (devices and layout: the same computation, rounded as another placement rounds
# it, as on other hardware). A resumed run is bit-identical to an uninterrupted one when these stay the same.
RESUMABLE_FIELDS = ("num_steps", "eval_every", "plot_every", "checkpoint_every", "keep_checkpoints",
                    "steps_per_transfer", "data_dir", "probe_every", "probe", "parallel")


class WorkdirBusyError(RuntimeError):
  """Another live process holds the workdir's lock."""


@contextlib.contextmanager
def exclusive(workdir: str) -> Iterator[None]:
  """Holds `<workdir>/run.lock` exclusively while the block runs (the workdir is created if missing).

  Raises:
    WorkdirBusyError: another process holds the lock; the message names its pid and host.
  """
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, LOCK_FILE)
  fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
  try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except BlockingIOError:
    holder = _read_holder(fd)
    os.close(fd)
    raise WorkdirBusyError(
        f"workdir {workdir!r} is in use by pid {holder.get('pid', '?')} on host {holder.get('host', '?')}; "
        "wait for that run to end or choose another --workdir") from None
  try:
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode(), 0)
    yield
  finally:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def _read_holder(fd: int) -> dict:
  try:
    return json.loads(os.pread(fd, 4096, 0) or b"{}")
  except ValueError:
    return {}


def _flat(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
  out = {}
  for key, value in tree.items():
    if isinstance(value, Mapping):
      out.update(_flat(value, f"{prefix}{key}."))
    else:
      out[f"{prefix}{key}"] = value
  return out


def differing_fields(saved: Mapping[str, Any], config: Any, defaults: Any = None) -> list[str]:
  """Fields that define a run and differ between a saved config.json dict and `config`, as 'field: old -> new'.

  A field that `saved` lacks and `config` holds at its value in `defaults` (the task's default config) does not
  count: it was added to the code after the run started, and new fields default to what the code did before.
  """
  new, defaults = (_flat(_as_json(c)) for c in (config, defaults or {}))
  old = _flat(saved)
  keep = lambda field: field.split(".")[0] not in RESUMABLE_FIELDS
  added = lambda field: field not in old and field in defaults and new.get(field) == defaults[field]
  return [f"{field}: {old.get(field, '<unset>')!r} -> {new.get(field, '<unset>')!r}"
          for field in sorted(set(old) | set(new))
          if keep(field) and old.get(field) != new.get(field) and not added(field)]


def _as_json(config: Any) -> dict:
  """`config` after the JSON round trip config.json went through (tuples become lists, NumPy scalars numbers)."""
  as_dict = config.to_dict() if hasattr(config, "to_dict") else dict(config)
  return json.loads(json.dumps(as_dict, allow_nan=True, default=writers.json_default))


def check_resumable(workdir: str, config: Any, defaults: Any = None) -> None:
  """Refuses to resume `workdir` with a config that defines another run (see the module docstring).

  A workdir without config.json, or without checkpoints and metrics (nothing to resume), accepts any config.
  `defaults` (the task's default config) lets a run resume after the code gained a field (`differing_fields`).

  Raises:
    ValueError: one line listing the differing fields and the fields that may change.
  """
  path = os.path.join(workdir, writers.CONFIG_FILE)
  started = any(os.path.exists(os.path.join(workdir, name)) for name in ("checkpoints", "metrics.jsonl"))
  if not (started and os.path.exists(path)):
    return
  with open(path) as f:
    saved = json.load(f)
  if diff := differing_fields(saved, config, defaults):
    raise ValueError(
        f"workdir {workdir!r} holds another run: {'; '.join(diff)}. Only {', '.join(RESUMABLE_FIELDS)} may change "
        "when resuming; use another --workdir for a new run")
