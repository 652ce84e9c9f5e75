"""Sweeps: a grid of config overrides × seeds, expanded into members with stable ids, run resumably and safely.

Writing a sweep (the one way): a config file defines `get_config()` (the base training config) and `get_sweep()`,
which returns a `Sweep` built from `product` and `zip_` over dicts that map dotted field names to lists of values:

  def get_sweep():
    return sweep.Sweep(
        grid=sweep.product(
            {"objective": ["minimax", "non_saturating"], "n_critic": [1, 5]},   # 2 × 2, a dict = product of its keys
            sweep.zip_({"optimizer_g.learning_rate": [1e-4, 1e-3],               # zipped: 2 members, not 4
                        "optimizer_d.learning_rate": [1e-4, 1e-3]})),
        seeds=range(3))                                                          # 3 seeds per member, one program

In `product` a dict is the product of its keys, in `zip_` the zip of its keys (equal lengths); either also takes
grids (lists of override dicts, e.g. another product's result), and grids concatenate with `+`. A field that holds a
tuple gets a list of tuples: {"vmap_hparams.g_learning_rate": [(1e-4, 1e-3)]}; a dict value replaces a whole
sub-config, e.g. {"optimizer_d": [config_lib.optimizer_config("sgd", 0.1)]}. Fields must exist in the base config,
except new keys of a `*_kwargs` sub-config (keyword arguments). Seeds are not overrides: `Sweep.seeds`
(consecutive) sets `config.seed` and `config.num_seeds`, so a member's seeds train together in one vmapped program.

Running:

  python experiments/sweep.py --config=configs/sweeps/objectives.py --workdir=runs/objectives [--processes=2]
  python experiments/summarize.py --workdir=runs/objectives

Each member gets a stable id, readable overrides plus a hash (`member_id`): the same overrides give the same id on
every run and machine, whatever their dict order. Everything is validated (unknown fields, each member's config)
before anything trains. A member runs in DIR/members/<id>/ (layout: `gan_jax.summary`); re-running the command
skips finished members (done.json) and failed ones (error.json; `--retry_failed` runs them again), and resumes
unfinished ones from their checkpoints. A failing member (a NaN: `engine.NonFiniteError`, or any exception) is
recorded in its error.json and the sweep goes on. At the end DIR/results.csv (tidy: one row per member, seed and
step) is collected again.

Packing: members that differ only in fields a program can vmap (`PACKABLE_FIELDS`: the two learning rates,
`real_target`, `gradient_penalty_weight`, `r1_weight`, `r2_weight`; e.g. a zipped learning-rate axis) and, on
distribution targets, in the objective, its n_critic and weight clip (`AXIS_FIELDS`) train as one program
(`plan_packs`, `run_pack`; `run(..., pack=False)` / `--nopack` turns it off): its config zips their values
(`config.zip_hparams` and `config.objective_axis`, so 3 members × 3 seeds are 9 replicas; the 36 members of
configs/sweeps/objectives.py are 2 programs) and it runs resumably in DIR/packs/<pack id>/. Objectives that cannot
share a program (vmapped label smoothing with a non-logistic loss) pack by the numbers alone. Then
each member's directory gets what a lone run writes: config.json, its rows of metrics.jsonl and probe.jsonl
(without the hyper-parameter columns a lone run does not have), a checkpoint of its replicas at the last step
(`train.load_latest` restores it with the member's config), done.json. A worker claims every member of a pack it
runs; members finished, failed, claimed by another worker or holding checkpoints of a lone run are left out. If the
packed run fails (one member's NaN stops it), each member runs alone, so the failure is recorded for the failing
member only. Vmapped learning rates are not bit-identical to constant ones: rows match lone runs to ~1e-4 relative
(objectives on an axis: bit-identical in the tests).

Several workers, one directory: a worker claims a member by creating DIR/members/<id>/lock with
os.open(O_CREAT | O_EXCL), which succeeds for exactly one worker (also on NFS v3+), and removes it when the member
ends. A member's files are its own (member.json, done.json and error.json are written atomically: temporary file +
rename), and results.csv is rebuilt from them, so workers never lose each other's results. `--processes=N` runs N
workers locally (this process and N − 1 spawned ones; each claims the next free member). `--shard_index=i
--num_shards=n` runs only members i, i+n, i+2n, ... (grid order; packs i, i+n, ... when packing), so a SLURM job
array spreads a sweep over machines with no extra code. Save as sweep.sbatch and run `sbatch sweep.sbatch`
(submitting it again resumes):

  #!/bin/bash
  #SBATCH --array=0-15
  #SBATCH --cpus-per-task=4
  python experiments/sweep.py --config=configs/sweeps/objectives.py --workdir=/shared/runs/objectives \
      --shard_index=$SLURM_ARRAY_TASK_ID --num_shards=$SLURM_ARRAY_TASK_COUNT

The directory must be on a file system every task sees (NFS, Lustre, GPFS). Each task refreshes results.csv when it
ends; once the array is done, run experiments/summarize.py on the directory (it collects results.csv again).

Stale locks: a worker killed with SIGKILL (or its machine lost) leaves its lock behind. A running worker refreshes
its lock's mtime every `stale_after_s / 5` seconds (a heartbeat thread); another worker treats a lock as stale, and
takes the member over (it resumes from the checkpoint), when its heartbeat is older than `stale_after_s` (default
600 s; `--stale_after_s`), or at once when the lock names a process on the same host that no longer exists. The
takeover renames the lock away and checks that it moved the lock it judged stale (else it puts it back), so two
workers that both see a stale lock do not both run the member. Keep `stale_after_s` above any pause of a live worker
(e.g. a suspended job) and above the clock skew between hosts (the heartbeat is the file server's mtime, judged by
the reader's clock); a worker suspended longer may find its member taken over. To clear locks by hand, delete
DIR/members/*/lock when no worker runs.
"""
import concurrent.futures
import copy
import dataclasses
import hashlib
import json
import multiprocessing
import os
import re
import socket
import threading
import time
import traceback
from typing import Any, Iterable, Mapping, Sequence
import uuid

from absl import logging
import ml_collections
import numpy as np

from gan_jax import checkpoint
from gan_jax import config as config_lib
from gan_jax import engine
from gan_jax import parallel
from gan_jax import probe
from gan_jax import summary
from gan_jax import train
from gan_jax import writers

Overrides = dict[str, Any]
MAX_READABLE = 120     # characters of the readable part of a member id (file names allow 255)
HASH_CHARS = 10        # hex digits of sha256 in a member id: 40 bits, collisions ~1e-4 at 10^4 members
OUTCOMES = ("done", "failed", "skipped_done", "skipped_failed", "locked")
PACKS_DIR = "packs"    # DIR/packs/<pack id>/: the run of a packed program (its members' files are split out of it)
# Config fields a packed program varies per replica (`parallel.VMAPPABLE_HPARAMS`): config path -> replica name.
PACKABLE_FIELDS = {path: name for name, path in parallel.VMAPPABLE_HPARAMS.items()}
# Fields a packed program of distribution-target members varies on its objective axis (`config.objective_axis`):
# config path -> the axis's field.
AXIS_FIELDS = {"objective": "objectives", "n_critic": "n_critic", "objective_kwargs.weight_clip": "weight_clip"}


# ------------------------------------------------------------------------------------------------- grid expansion


def _values(field: str, values: Any) -> list:
  if not isinstance(field, str) or not field:
    raise ValueError(f"sweep field names must be non-empty dotted strings, got {field!r}")
  if not isinstance(values, (list, tuple)):
    raise ValueError(f"sweep field {field!r} needs a list of values, got {values!r} (wrap a tuple value: [(a, b)])")
  if not values:
    raise ValueError(f"sweep field {field!r} has an empty list of values")
  return list(values)


def _merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> Overrides:
  twice = sorted(set(a) & set(b))
  if twice:
    raise ValueError(f"sweep sets field {twice[0]!r} twice in one member (in two factors)")
  return {**a, **b}


def _as_grid(factor: Any, combine: str) -> list[Overrides]:
  """A factor as a grid: a dict is combined over its keys (product or zip), a list of dicts is taken as it is."""
  if isinstance(factor, Mapping):
    fields = [(k, _values(k, v)) for k, v in factor.items()]
    if not fields:
      return [{}]
    if combine == "zip":
      lengths = {len(v) for _, v in fields}
      if len(lengths) > 1:
        raise ValueError(f"zip_ needs equal lengths, got {', '.join(f'{k}: {len(v)}' for k, v in fields)}")
      return [dict(zip([k for k, _ in fields], row)) for row in zip(*[v for _, v in fields])]
    grid = [{}]
    for k, vs in fields:
      grid = [{**g, k: v} for g in grid for v in vs]
    return grid
  if isinstance(factor, (list, tuple)) and all(isinstance(g, Mapping) for g in factor):
    return [dict(g) for g in factor]
  raise ValueError(f"a sweep factor must be a dict of field -> list of values or a list of override dicts, "
                   f"got {factor!r}")


def product(*factors: Mapping[str, Sequence[Any]] | Sequence[Overrides]) -> list[Overrides]:
  """The Cartesian product of the factors, first factor varying slowest.

  Args:
    *factors: dicts of dotted field name -> list of values (the product over their keys, first key slowest) or
      grids (lists of override dicts).

  Returns:
    The grid: one override dict per member.

  Raises:
    ValueError: for a value that is not a non-empty list, or a field set by two factors.
  """
  grid = [{}]
  for factor in factors:
    grid = [_merge(a, b) for a in grid for b in _as_grid(factor, "product")]
  return grid


def zip_(*factors: Mapping[str, Sequence[Any]] | Sequence[Overrides]) -> list[Overrides]:
  """Zips the factors: member i takes the i-th value of every field.

  Args:
    *factors: dicts of dotted field name -> list of values (zipped over their keys) or grids; all of equal length.

  Returns:
    The grid: one override dict per member.

  Raises:
    ValueError: for lengths that differ, a value that is not a non-empty list, or a field set twice.
  """
  grids = [_as_grid(factor, "zip") for factor in factors]
  if not grids:
    return [{}]
  lengths = {len(g) for g in grids}
  if len(lengths) > 1:
    raise ValueError(f"zip_ needs factors of equal length, got lengths {[len(g) for g in grids]}")
  out = []
  for parts in zip(*grids):
    merged = {}
    for part in parts:
      merged = _merge(merged, part)
    out.append(merged)
  return out


@dataclasses.dataclass(frozen=True)
class Sweep:
  """What `get_sweep()` returns.

  Attributes:
    grid: one override dict (dotted field name -> value) per member, e.g. from `product` / `zip_`.
    seeds: the seeds every member trains together: an int n (seeds 0 … n−1), a range or consecutive integers;
      None keeps the base config's `seed` and `num_seeds`.
  """
  grid: Sequence[Mapping[str, Any]]
  seeds: int | range | Sequence[int] | None = None

  def seed_range(self, config: ml_collections.ConfigDict) -> tuple[int, int]:
    """(seed, num_seeds) of every member.

    Raises:
      ValueError: for seeds that are not consecutive non-negative integers.
    """
    if self.seeds is None:
      return int(config.seed), int(config.num_seeds)
    seeds = None
    if isinstance(self.seeds, (int, np.integer)) and not isinstance(self.seeds, bool):
      seeds = list(range(int(self.seeds)))
    elif isinstance(self.seeds, (range, list, tuple, np.ndarray)):
      seeds = list(self.seeds)
    is_int = lambda s: isinstance(s, (int, np.integer)) and not isinstance(s, bool)
    if (not seeds or not all(is_int(s) for s in seeds) or seeds[0] < 0
        or seeds != list(range(seeds[0], seeds[0] + len(seeds)))):
      raise ValueError(f"Sweep.seeds={self.seeds!r} is invalid; allowed: an int n >= 1 or consecutive integers "
                       ">= 0 (they train together as seed, seed+1, …)")
    return int(seeds[0]), len(seeds)


@dataclasses.dataclass(frozen=True)
class Member:
  """One member of an expanded sweep: its id, its overrides and its full training config."""
  id: str
  overrides: Overrides
  config: ml_collections.ConfigDict


def _canonical(field: str, value: Any) -> Any:
  """A JSON-able normal form of an override value (tuples -> lists, NumPy scalars -> Python)."""
  if isinstance(value, np.generic):
    value = value.item()
  if value is None or isinstance(value, (bool, int, float, str)):
    return value
  if isinstance(value, (list, tuple)):
    return [_canonical(field, v) for v in value]
  if isinstance(value, (Mapping, ml_collections.ConfigDict)):
    return {str(k): _canonical(f"{field}.{k}", v) for k, v in value.items()}
  raise ValueError(f"sweep field {field!r} has value {value!r} of type {type(value).__name__}; allowed: "
                   "None, bool, int, float, str, tuples of those, or a dict (a whole sub-config)")


def _canonical_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
  return {k: _canonical(k, v) for k, v in overrides.items()}


def _readable(value: Any) -> str:
  if isinstance(value, float):
    return f"{value:g}"
  if isinstance(value, list):
    return "(" + "_".join(_readable(v) for v in value) + ")"
  if isinstance(value, dict):
    return "{" + "_".join(f"{k}={_readable(v)}" for k, v in sorted(value.items())) + "}"
  return str(value)


def member_id(overrides: Mapping[str, Any]) -> str:
  """A stable id for a member: readable `field=value` pairs (sorted, shortened), then a hash of the overrides.

  The hash is sha256 over the overrides as canonical JSON (sorted keys, tuples as lists), so the id depends only
  on the overrides, never on dict order, the Python process (no `hash()`), or the machine.

  Example:
    member_id({"objective": "minimax", "n_critic": 5}) == "n_critic=5,objective=minimax-" + 10 hex digits.

  Raises:
    ValueError: for a value that is not None, bool, int, float, str, a (nested) tuple of those or a dict.
  """
  canonical = _canonical_overrides(overrides)
  digest = hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
  readable = ",".join(f"{k}={_readable(v)}" for k, v in sorted(canonical.items()))
  readable = re.sub(r"[^A-Za-z0-9._=,+-]", "_", readable)[:MAX_READABLE] or "base"
  return f"{readable}-{digest[:HASH_CHARS]}"


def apply_overrides(config: ml_collections.ConfigDict, overrides: Mapping[str, Any], where: str = "override"
                    ) -> ml_collections.ConfigDict:
  """A copy of `config` with dotted fields set, e.g. {"optimizer_g.learning_rate": 1e-3}.

  Args:
    config: the base config (left unchanged; it may be locked).
    overrides: dotted field name -> value.
    where: what the overrides are, for error messages.

  Returns:
    The new config, with the base config's lock state.

  Raises:
    ValueError: for a field the config does not have (new keys are allowed only in `*_kwargs` sub-configs) or a
      value of the wrong type. A dict value replaces a whole sub-config (e.g. `optimizer_g`).
  """
  c = copy.deepcopy(config)
  with c.unlocked():
    for field, value in overrides.items():
      *path, leaf = field.split(".")
      parent = c
      for part in path:
        if not isinstance(parent, ml_collections.ConfigDict) or part not in parent:
          raise ValueError(f"{where} sets unknown field {field!r}")
        parent = parent[part]
      free = bool(path) and path[-1].endswith("_kwargs")  # keyword arguments: any name, checked when built
      if not isinstance(parent, ml_collections.ConfigDict) or (leaf not in parent and not free):
        raise ValueError(f"{where} sets unknown field {field!r}")
      if isinstance(value, Mapping) and isinstance(parent.get(leaf), ml_collections.ConfigDict):
        value = ml_collections.ConfigDict(dict(value))  # a whole sub-config, e.g. another optimizer's options
      try:
        parent[leaf] = value
      except TypeError as e:
        raise ValueError(f"{where} sets {field!r} to {value!r}: {e}") from None
  return c


def load_sweep(config_path: str) -> Sweep:
  """Calls `get_sweep()` of a config file (`path` or `path:arg`; arg is passed on as with `get_config`).

  Raises:
    ValueError: if the file does not exist, has no get_sweep(), or it does not return a `Sweep`.
  """
  result = config_lib.load_config_file(config_path, "get_sweep")
  if not isinstance(result, Sweep):
    path = config_path.split(":", 1)[0]
    raise ValueError(f"{path}: get_sweep() must return a gan_jax.sweep.Sweep, got {type(result).__name__}")
  return result


def expand(config: ml_collections.ConfigDict, sweep: Sweep) -> list[Member]:
  """Every member's id and full training config, each validated; nothing is compiled or trained.

  Args:
    config: the base training config.
    sweep: the grid and the seeds.

  Returns:
    The members in grid order.

  Raises:
    ValueError: for an empty grid, an override of `seed` / `num_seeds`, an unknown field, two members with the same
      overrides, or a member config that `train.build_gan` rejects (the message names the member).
  """
  if not isinstance(sweep.grid, (list, tuple)) or not sweep.grid:
    raise ValueError("the sweep's grid is empty; get_sweep() must return at least one member")
  seed, num_seeds = sweep.seed_range(config)
  members, seen = [], {}
  for overrides in sweep.grid:
    if not isinstance(overrides, Mapping):
      raise ValueError(f"a grid member must be a dict of overrides, got {overrides!r}")
    overrides = dict(overrides)
    for field in ("seed", "num_seeds"):
      if field in overrides:
        raise ValueError(f"the sweep overrides {field!r}; seeds are set by Sweep.seeds, not by the grid")
    mid = member_id(overrides)
    if mid in seen:
      raise ValueError(f"the grid holds the same overrides twice: {_describe(overrides)}")
    seen[mid] = True
    c = apply_overrides(config, overrides, where=f"sweep member {mid}")
    with c.unlocked():
      c.seed, c.num_seeds = seed, num_seeds
    try:
      train.build_gan(c)
    except (ValueError, TypeError) as e:
      raise ValueError(f"sweep member {mid}: {e}") from None
    members.append(Member(mid, overrides, c))
  return members


def _describe(overrides: Mapping[str, Any]) -> str:
  return ", ".join(f"{k}={v!r}" for k, v in sorted(overrides.items())) or "(no overrides)"


def shard(items: Sequence[Any], shard_index: int, num_shards: int) -> list:
  """Items shard_index, shard_index + num_shards, …: the shards partition `items`.

  Raises:
    ValueError: unless 0 <= shard_index < num_shards.
  """
  for name, value in (("shard_index", shard_index), ("num_shards", num_shards)):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
      raise ValueError(f"{name} must be an integer, got {value!r}")
  if num_shards < 1 or not 0 <= shard_index < num_shards:
    raise ValueError(f"need 0 <= shard_index < num_shards, got shard_index={shard_index}, num_shards={num_shards}")
  return list(items[shard_index::num_shards])


# --------------------------------------------------------------------------------------------------- member files


def _config_json(config: ml_collections.ConfigDict) -> dict:
  # As writers.write_config stores it (tuples -> lists), so a stored config compares equal to a recomputed one.
  text = json.dumps(config.to_dict(), sort_keys=True, default=writers.json_default)
  return json.loads(text)


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
  """{"a": {"b": 1}} -> {"a.b": 1} (an empty dict stays a leaf)."""
  if not isinstance(d, dict) or not d:
    return {prefix: d}
  out = {}
  for k, v in d.items():
    out.update(_flatten(v, f"{prefix}.{k}" if prefix else k))
  return out


def _write_json(path: str, value: Any) -> None:
  data = (json.dumps(value, indent=2, sort_keys=True, allow_nan=True, default=str) + "\n").encode()
  writers.atomic_write(path, data)


def _log_event(path: str, event: str, **fields) -> None:
  """Appends one line to the member's events.jsonl (one write on an O_APPEND descriptor: lines never interleave)."""
  line = json.dumps({"event": event, "time": time.time(), "host": socket.gethostname(), "pid": os.getpid(),
                     **fields}, default=str) + "\n"
  fd = os.open(os.path.join(path, summary.EVENTS_FILE), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
  try:
    os.write(fd, line.encode())
  finally:
    os.close(fd)


def check_workdir(workdir: str, members: Sequence[Member], sweep: Sweep) -> None:
  """Refuses a workdir that holds a different sweep, or a member trained with a different config.

  A field that the member's stored config lacks and the sweep holds at its task's default does not count: the
  code gained it after the member ran, and new fields default to what the code did before (as
  `workdir.differing_fields` lets a lone run resume).

  Raises:
    ValueError: naming the first difference.
  """
  existing = summary.read_json(os.path.join(workdir, summary.SWEEP_FILE))
  if existing is not None:
    old = [m["id"] for m in existing.get("members", [])]
    if old != [m.id for m in members]:
      raise ValueError(f"{workdir!r} holds a different sweep ({len(old)} members, now {len(members)}); use a new "
                       f"--workdir, or delete its {summary.SWEEP_FILE} to replace the sweep")
  for m in members:
    info = summary.read_json(os.path.join(summary.member_dir(workdir, m.id), summary.MEMBER_FILE))
    if info is None:
      continue
    old, new = _flatten(info["config"]), _flatten(_config_json(m.config))
    defaults = _flatten(_config_json(config_lib.defaults_for(m.config)))
    added = lambda key: key not in old and key in defaults and new.get(key) == defaults[key]
    for key in sorted(set(old) | set(new)):
      if old.get(key, "<missing>") != new.get(key, "<missing>") and not added(key):
        raise ValueError(f"member {m.id} in {workdir!r} was run with {key}={old.get(key, '<missing>')!r}, the sweep "
                         f"now sets {new.get(key, '<missing>')!r}; use a new --workdir or delete that member")


def write_sweep_file(workdir: str, members: Sequence[Member], sweep: Sweep, config_path: str | None = None) -> None:
  """Writes DIR/sweep.json (atomically; concurrent workers write the same content)."""
  seed, num_seeds = sweep.seed_range(members[0].config)
  _write_json(os.path.join(workdir, summary.SWEEP_FILE), {
      "config_file": config_path,
      "seed": seed,
      "num_seeds": num_seeds,
      "members": [{"id": m.id, "overrides": _canonical_overrides(m.overrides)}
                  for m in members],
  })


# ---------------------------------------------------------------------------------------------------------- claims


def _pid_alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True  # exists, owned by someone else
  return True


class Claim:
  """A worker's exclusive claim on a member: the lock file, refreshed by a heartbeat thread until released."""

  def __init__(self, path: str, token: str, stale_after_s: float):
    self.path = path
    self.token = token
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._beat, args=(max(stale_after_s / 5, 0.05),), daemon=True)
    self._thread.start()

  def _beat(self, interval: float) -> None:
    while not self._stop.wait(interval):
      try:
        os.utime(self.path)
      except OSError:
        return

  def release(self) -> None:
    """Stops the heartbeat and removes the lock, if it is still this claim's."""
    self._stop.set()
    self._thread.join()
    state = _read_lock(self.path)
    if state is not None and state[0].get("token") == self.token:
      try:
        os.unlink(self.path)
      except FileNotFoundError:
        pass


def _read_lock(path: str) -> tuple[dict, float] | None:
  """(content, mtime) of a lock, both from one open file; content {} while its creator is still writing it."""
  try:
    with open(path) as f:
      mtime = os.fstat(f.fileno()).st_mtime  # same inode as the content, even if the lock is replaced meanwhile
      text = f.read()
  except FileNotFoundError:
    return None
  try:
    content = json.loads(text)
  except ValueError:
    content = {}
  return (content if isinstance(content, dict) else {}), mtime


def _stale(lock: dict, mtime: float, stale_after_s: float, now: float) -> bool:
  if now - mtime > stale_after_s:
    return True
  return (lock.get("host") == socket.gethostname() and isinstance(lock.get("pid"), int)
          and not _pid_alive(lock["pid"]))


def lock_is_stale(path: str, stale_after_s: float) -> bool:
  """Whether a member's lock was left by a dead worker (see the module docstring); False when there is no lock."""
  state = _read_lock(path)
  return state is not None and _stale(*state, stale_after_s, time.time())


def try_claim(member_path: str, stale_after_s: float = 600.0) -> Claim | None:
  """Claims a member for this worker, taking over a stale lock; None when another live worker holds it."""
  path = os.path.join(member_path, summary.LOCK_FILE)
  token = uuid.uuid4().hex
  for _ in range(3):  # a lock released in between, then at most one takeover
    try:
      fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
      state = _read_lock(path)
      if state is None:
        continue  # released in between: try again
      if not _stale(*state, stale_after_s, time.time()):
        return None
      aside = f"{path}.stale.{token}"
      try:
        os.rename(path, aside)  # atomic: of several workers taking over, one moves it
      except FileNotFoundError:
        continue
      moved = _read_lock(aside)
      if moved is None or moved[0] != state[0]:
        # We moved a fresh lock that replaced the stale one after we read it: put it back and leave the member.
        try:
          os.link(aside, path)
        except FileExistsError:
          logging.warning("%s: could not restore a live worker's lock", path)
        os.unlink(aside)
        return None
      os.unlink(aside)
      logging.warning("%s: took over a stale lock (%s)", path, state[0])
      continue
    with os.fdopen(fd, "w") as f:
      json.dump({"host": socket.gethostname(), "pid": os.getpid(), "token": token, "time": time.time()}, f)
      f.flush()
      os.fsync(f.fileno())
    return Claim(path, token, stale_after_s)
  return None


# --------------------------------------------------------------------------------------------------------- running


def run_member(member: Member, workdir: str) -> str:
  """Trains one claimed member in DIR/members/<id>, recording done.json or error.json.

  Returns:
    'done' or 'failed'. Exceptions other than `Exception` (KeyboardInterrupt, SystemExit) propagate.
  """
  path = summary.member_dir(workdir, member.id)
  _write_json(os.path.join(path, summary.MEMBER_FILE), {
      "id": member.id, "overrides": _canonical_overrides(member.overrides), "config": _config_json(member.config)})
  _log_event(path, "start")
  start = time.time()
  try:
    rows = train.train_and_evaluate(member.config, path)
  except Exception as e:  # pylint: disable=broad-except
    # Any failure is a result of this member only: record it and let the sweep go on.
    _write_json(os.path.join(path, summary.ERROR_FILE), {
        "type": type(e).__name__, "message": str(e), "traceback": traceback.format_exc(), "time": time.time(),
        "host": socket.gethostname(), "pid": os.getpid()})
    _log_event(path, "failed", error=f"{type(e).__name__}: {e}")
    logging.warning("sweep member %s failed: %s: %s", member.id, type(e).__name__, e)
    return "failed"
  except BaseException:
    _log_event(path, "interrupted")
    raise
  _write_json(os.path.join(path, summary.DONE_FILE), {
      "seconds": time.time() - start, "time": time.time(), "host": socket.gethostname(), "final_rows": rows})
  if os.path.exists(os.path.join(path, summary.ERROR_FILE)):
    os.unlink(os.path.join(path, summary.ERROR_FILE))  # a retried member that now finished
  _log_event(path, "done")
  return "done"


# -------------------------------------------------------------------------------------------------------- packing


def _is_number(value: Any) -> bool:
  return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _field_value(config: ml_collections.ConfigDict, dotted: str) -> Any:
  """The value of a dotted field, or None when the config does not have it."""
  value = config
  for part in dotted.split("."):
    if not isinstance(value, ml_collections.ConfigDict) or part not in value:
      return None
    value = value[part]
  return value


def _vmaps_itself(config: ml_collections.ConfigDict) -> bool:
  return any(len(v) for field in ("vmap_hparams", "zip_hparams") for v in (config.get(field) or {}).values())


def _packs_objectives(member: Member) -> bool:
  """May `member` share a program with members of other objectives (an objective axis: distribution targets)?"""
  return train.task_name(member.config) == "toy" and not parallel.objective_axis(member.config)


def pack_key(member: Member, objectives: bool = True) -> str:
  """What members share when they may train in one packed program: their config less the packable values.

  The packable fields (`PACKABLE_FIELDS`) become per-replica values of the packed program, and on distribution
  targets the objective, its n_critic and weight clip (`AXIS_FIELDS`) its objective axis, so members that differ
  only there pack (with `objectives=False`, only in the packable numbers). A packable field that holds no number (an
  unset objective option) stays in the key; a member that vmaps hyper-parameters itself (vmap_hparams,
  zip_hparams) packs with no other.
  """
  if _vmaps_itself(member.config):
    return "alone:" + member.id
  flat = _flatten(_config_json(member.config))
  for path in PACKABLE_FIELDS:
    if _is_number(flat.get(path)):
      del flat[path]
  if objectives and _packs_objectives(member):
    for path in AXIS_FIELDS:
      flat.pop(path, None)
  return json.dumps(flat, sort_keys=True, default=str)


def _packed_values(member: Member) -> tuple:
  return tuple(_field_value(member.config, path) for path in (*PACKABLE_FIELDS, *AXIS_FIELDS))


def _validates(pack: Sequence[Member]) -> bool:
  """Does the packed config of `pack` validate (e.g. label smoothing cannot share a program with WGAN)?"""
  try:
    config = packed_config(pack)
    train.validate_config(config)
    engine.validate_replicas(config)
  except ValueError:
    return False
  return True


def plan_packs(members: Sequence[Member]) -> list[list[Member]]:
  """Groups members into packs: members that differ only in packable fields train as one program.

  Args:
    members: in grid order.

  Returns:
    The packs, ordered by their first member; members keep grid order inside a pack. A pack of one is a member
    trained alone; so is a member whose packable values repeat another's of its pack (their replicas would be
    indistinguishable).
  """
  groups: dict[str, list[Member]] = {}
  for member in members:
    groups.setdefault(pack_key(member), []).append(member)
  for key, group in list(groups.items()):
    if len(group) > 1 and not _validates(group):
      # Objectives that cannot share one program: pack by the learning rates (and the other numbers) only.
      del groups[key]
      for member in group:
        groups.setdefault(pack_key(member, objectives=False), []).append(member)
  packs = []
  for group in groups.values():
    seen, packed = set(), []
    for member in group:
      values = _packed_values(member)
      if values in seen:
        packs.append([member])
      else:
        seen.add(values)
        packed.append(member)
    packs.append(packed)
  order = {m.id: i for i, m in enumerate(members)}
  return sorted(packs, key=lambda p: order[p[0].id])


def packed_config(pack: Sequence[Member]) -> ml_collections.ConfigDict:
  """The config of a pack's program: the first member's, with the packable fields that differ zipped.

  Replica c × num_seeds + s of the program is seed s of member c (`parallel.replicas_of`: combinations outer).
  """
  config = copy.deepcopy(pack[0].config)
  with config.unlocked():
    if "zip_hparams" not in config:
      config.zip_hparams = ml_collections.ConfigDict()
    for path, name in PACKABLE_FIELDS.items():
      values = [_field_value(m.config, path) for m in pack]
      if len(set(values)) > 1:
        config.zip_hparams[name] = tuple(float(v) for v in values)
    axis = {field: tuple(_field_value(m.config, path) for m in pack) for path, field in AXIS_FIELDS.items()}
    if len(set(zip(*axis.values()))) > 1:
      config.objective_axis.update(axis)  # member i is entry i, zipped with zip_hparams
  return config


def pack_id(pack: Sequence[Member]) -> str:
  """A stable id of a pack: its size and a hash of its members' ids (in order)."""
  digest = hashlib.sha256("\n".join(m.id for m in pack).encode()).hexdigest()
  return f"{len(pack)}_members-{digest[:HASH_CHARS]}"


def _rows_per_member(path: str, num_members: int, num_seeds: int, drop: set[str]) -> list[list[dict]]:
  """A packed run's rows file (metrics.jsonl, probe.jsonl) split by member, without the columns in `drop`.

  Each evaluation writes one row per replica in replica order, and replica c × num_seeds + s is seed s of member c.

  Raises:
    ValueError: when the file does not hold one row per replica at each step.
  """
  per_member: list[list[dict]] = [[] for _ in range(num_members)]
  seen: dict[int, int] = {}
  for row in writers.read_metrics(path):
    replica = seen.get(row["step"], 0)
    seen[row["step"]] = replica + 1
    if replica >= num_members * num_seeds:
      raise ValueError(f"{path}: more than {num_members * num_seeds} rows (replicas) at step {row['step']}")
    per_member[replica // num_seeds].append({k: v for k, v in row.items() if k not in drop})
  if any(n != num_members * num_seeds for n in seen.values()):
    raise ValueError(f"{path}: a step without one row per replica ({num_members * num_seeds})")
  return per_member


def _split_pack(pack: Sequence[Member], config: ml_collections.ConfigDict, pack_path: str, workdir: str,
                start: float) -> None:
  """Writes each member's files from a finished pack run, as a lone run of the member would have written them.

  Per member: config.json (its own config), metrics.jsonl and probe.jsonl (its replicas' rows, without the
  packing-only hyper-parameter columns), a checkpoint of its replicas at the final step (restorable with its own
  config), and done.json.

  Raises:
    ValueError: when the pack's rows do not hold one row per replica at each step.
  """
  num_seeds = int(config.num_seeds)
  drop = set(parallel.replicas_of(config).hparams)
  files = {}
  for name in (writers.METRICS_FILE, probe.PROBE_FILE):
    if os.path.exists(os.path.join(pack_path, name)):
      files[name] = _rows_per_member(os.path.join(pack_path, name), len(pack), num_seeds, drop)
  _, _, state, step = train.load_latest(config, pack_path)
  for i, member in enumerate(pack):
    path = summary.member_dir(workdir, member.id)
    writers.write_config(path, member.config)
    for name, per_member in files.items():
      lines = "".join(json.dumps(row, allow_nan=True) + "\n" for row in per_member[i])
      writers.atomic_write(os.path.join(path, name), lines.encode())
    manager = checkpoint.create_manager(os.path.join(path, "checkpoints"),
                                        max_to_keep=member.config.get("keep_checkpoints", 3))
    checkpoint.save(manager, step, engine.replicas_alone(state, range(i * num_seeds, (i + 1) * num_seeds)))
    manager.close()  # waits for the asynchronous save
    final_rows = [r for r in files[writers.METRICS_FILE][i] if r["step"] == step]
    _write_json(os.path.join(path, summary.DONE_FILE), {
        "seconds": time.time() - start, "time": time.time(), "host": socket.gethostname(), "pack": pack_id(pack),
        "final_rows": final_rows})
    if os.path.exists(os.path.join(path, summary.ERROR_FILE)):
      os.unlink(os.path.join(path, summary.ERROR_FILE))  # a retried member that now finished
    _log_event(path, "done", pack=pack_id(pack))


def run_pack(pack: Sequence[Member], workdir: str) -> dict[str, str]:
  """Trains claimed members as one packed program in DIR/packs/<pack id>, then writes each member's files.

  A pack of one is `run_member`. When the packed run fails (e.g. one member diverges: `engine.NonFiniteError`), each
  member runs alone with `run_member`, so a failure stays the failing member's.

  Returns:
    member id -> 'done' or 'failed'.
  """
  if len(pack) == 1:
    return {pack[0].id: run_member(pack[0], workdir)}
  pid = pack_id(pack)
  paths = [summary.member_dir(workdir, m.id) for m in pack]
  for member, path in zip(pack, paths):
    _write_json(os.path.join(path, summary.MEMBER_FILE), {
        "id": member.id, "overrides": _canonical_overrides(member.overrides), "config": _config_json(member.config)})
    _log_event(path, "start", pack=pid)
  start = time.time()
  try:
    config = packed_config(pack)
    train.train_and_evaluate(config, os.path.join(workdir, PACKS_DIR, pid))
    _split_pack(pack, config, os.path.join(workdir, PACKS_DIR, pid), workdir, start)
  except Exception as e:  # pylint: disable=broad-except
    # Which member failed is not known here (one replica's NaN stops the whole program): run each alone.
    logging.warning("sweep pack %s failed (%s: %s); running its %d members alone", pid, type(e).__name__, e,
                    len(pack))
    for path in paths:
      _log_event(path, "pack_failed", pack=pid, error=f"{type(e).__name__}: {e}")
    return {m.id: run_member(m, workdir) for m in pack}
  except BaseException:
    for path in paths:
      _log_event(path, "interrupted", pack=pid)
    raise
  return {m.id: "done" for m in pack}


def _claim(member: Member, workdir: str, retry_failed: bool, stale_after_s: float
           ) -> tuple[str | None, Claim | None]:
  """(None, the claim) on a member to run, or (its outcome, None) when it is finished, failed or another's."""
  path = summary.member_dir(workdir, member.id)
  os.makedirs(path, exist_ok=True)
  status = summary.member_status(path)
  if status == "done" or (status == "failed" and not retry_failed):
    return "skipped_" + status, None
  claim = try_claim(path, stale_after_s)
  if claim is None:
    return "locked", None
  # Checked again under the claim: another worker may have finished it since we looked.
  status = summary.member_status(path)
  if status == "done" or (status == "failed" and not retry_failed):
    claim.release()
    return "skipped_" + status, None
  return None, claim


def _started_alone(member: Member, workdir: str) -> bool:
  """Whether a member has checkpoints of its own (a lone run that stopped): it resumes alone, not in a pack."""
  path = os.path.join(summary.member_dir(workdir, member.id), "checkpoints")
  return os.path.isdir(path) and bool(os.listdir(path))


def run_members(members: Sequence[Member], workdir: str, retry_failed: bool = False,
                stale_after_s: float = 600.0, pack: bool = True) -> dict[str, str]:
  """One worker: runs each member that is not finished, failed or claimed by another worker, in order.

  Args:
    members: in grid order.
    workdir: the sweep directory.
    retry_failed: run members with an error.json again.
    stale_after_s: heartbeat age after which another worker's lock counts as stale.
    pack: train the members of each pack (`plan_packs`) that this worker claims as one program (`run_pack`).

  Returns:
    member id -> one of `OUTCOMES`.
  """
  outcomes = {}
  for group in plan_packs(members) if pack else [[m] for m in members]:
    claims = {}
    try:
      for member in group:
        outcome, claim = _claim(member, workdir, retry_failed, stale_after_s)
        if claim is None:
          outcomes[member.id] = outcome
        else:
          claims[member.id] = claim
      ready = [m for m in group if m.id in claims]
      alone = [m for m in ready if _started_alone(m, workdir)]
      together = [m for m in ready if not _started_alone(m, workdir)]
      for part in [[m] for m in alone] + ([together] if together else []):
        logging.info("sweep member%s %s: training", "s" if len(part) > 1 else "", ", ".join(m.id for m in part))
        outcomes.update(run_pack(part, workdir))
    finally:
      for claim in claims.values():
        claim.release()
  return {m.id: outcomes[m.id] for m in members}


def _worker(members: Sequence[Member], workdir: str, retry_failed: bool, stale_after_s: float, pack: bool
            ) -> dict[str, str]:
  writers.quiet_library_logs()
  return run_members(members, workdir, retry_failed, stale_after_s, pack)


@dataclasses.dataclass
class Report:
  """What one `run` did: member id -> outcome (`OUTCOMES`) for this shard's members, and the results files."""
  workdir: str
  outcomes: dict[str, str]
  results: list[str]

  def ids(self, outcome: str) -> list[str]:
    return [k for k, v in self.outcomes.items() if v == outcome]

  def failure_line(self) -> str | None:
    """One line naming the failed members (failed now or before), or None when none failed."""
    failed = self.ids("failed") + self.ids("skipped_failed")
    if not failed:
      return None
    return f"{len(failed)} of {len(self.outcomes)} members failed: {', '.join(failed)}"

  def format(self) -> str:
    """A few lines for the terminal."""
    counts = ", ".join(f"{len(self.ids(o))} {o.replace('_', ' ')}" for o in OUTCOMES if self.ids(o))
    lines = [f"sweep {self.workdir}: {len(self.outcomes)} members in this shard: {counts}"]
    for mid in self.ids("failed") + self.ids("skipped_failed"):
      error = summary.read_json(os.path.join(summary.member_dir(self.workdir, mid), summary.ERROR_FILE)) or {}
      lines.append(f"  failed: {mid}: {error.get('type', '?')}: {error.get('message', '?')}")
    for mid in self.ids("locked"):
      lines.append(f"  locked: {mid}: another worker runs it (re-run later to take it over if that worker died)")
    lines.append(f"results: {', '.join(self.results)}")
    return "\n".join(lines)


def _merge_outcomes(results: Iterable[dict[str, str]]) -> dict[str, str]:
  rank = {"done": 0, "failed": 0, "skipped_done": 1, "skipped_failed": 1, "locked": 2}
  merged = {}
  for outcomes in results:
    for mid, outcome in outcomes.items():
      if mid not in merged or rank[outcome] < rank[merged[mid]]:
        merged[mid] = outcome
  return merged


def prepare(config: ml_collections.ConfigDict, sweep: Sweep, workdir: str, *, shard_index: int = 0,
            num_shards: int = 1, stale_after_s: float = 600.0, config_path: str | None = None,
            pack: bool = False) -> list[Member]:
  """Expands and validates the sweep, claims `workdir` for it (sweep.json), and returns this shard's members.

  With `pack`, the shards split the packs (`plan_packs`), not the members, so a pack stays in one shard (its
  members are neighbours in a grid whose last axis is packable, and sharding members would spread them).

  Raises:
    ValueError: for an invalid sweep or shard, or a workdir holding another sweep, before anything trains.
  """
  if not stale_after_s > 0:
    raise ValueError(f"stale_after_s must be > 0, got {stale_after_s!r}")
  members = expand(config, sweep)
  if pack:
    mine = [m for p in shard(plan_packs(members), shard_index, num_shards) for m in p]
  else:
    mine = shard(members, shard_index, num_shards)
  check_workdir(workdir, members, sweep)
  os.makedirs(os.path.join(workdir, summary.MEMBERS_DIR), exist_ok=True)
  write_sweep_file(workdir, members, sweep, config_path)
  return mine


def run(config: ml_collections.ConfigDict, sweep: Sweep, workdir: str, *, shard_index: int = 0, num_shards: int = 1,
        processes: int = 1, retry_failed: bool = False, stale_after_s: float = 600.0, pack: bool = True,
        config_path: str | None = None) -> Report:
  """Expands and validates the sweep, runs this shard's members, and collects DIR/results.csv.

  Args:
    config: the base training config (`get_config()`, with command-line overrides).
    sweep: the grid and seeds (`get_sweep()`).
    workdir: the sweep directory.
    shard_index: run members shard_index, shard_index + num_shards, … (with `pack`, packs: see `prepare`)
    num_shards: number of shards (e.g. SLURM array tasks).
    processes: local workers: this process and processes − 1 spawned ones (1 = one member after another here).
    retry_failed: run members with an error.json again (they resume from their last good checkpoint).
    stale_after_s: heartbeat age after which another worker's lock counts as stale.
    pack: train members that differ only in packable fields (learning rates, `PACKABLE_FIELDS`; objectives,
      `AXIS_FIELDS`) as one program each (`plan_packs`, `run_pack`); their directories and rows are those of lone
      runs.
    config_path: recorded in sweep.json.

  Returns:
    The `Report`.

  Raises:
    ValueError: for an invalid sweep, shard or process count, or a workdir holding another sweep, before anything
      trains.
  """
  if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
    raise ValueError(f"processes must be an integer >= 1, got {processes!r}")
  mine = prepare(config, sweep, workdir, shard_index=shard_index, num_shards=num_shards,
                 stale_after_s=stale_after_s, config_path=config_path, pack=pack)
  workers = min(processes, len(mine))
  if workers <= 1:
    outcomes = run_members(mine, workdir, retry_failed, stale_after_s, pack)
  else:
    # This process is one of the workers; the others are spawned, not forked (a forked child would inherit JAX's
    # runtime threads in an undefined state). Each walks the whole shard and claims the next free member.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(workers - 1, mp_context=context) as pool:
      futures = [pool.submit(_worker, mine, workdir, retry_failed, stale_after_s, pack) for _ in range(workers - 1)]
      results = [run_members(mine, workdir, retry_failed, stale_after_s, pack)]
      lost = 0
      for future in futures:
        try:
          results.append(future.result())
        except concurrent.futures.process.BrokenProcessPool:
          lost += 1
    if lost:
      # A worker died (killed, out of memory): the pool is gone with it. Its members hold locks of dead processes,
      # which `try_claim` takes over, so this process finishes them, resuming from their checkpoints.
      logging.warning("%d sweep worker(s) died; this process takes over their members.", lost)
      results.append(run_members(mine, workdir, retry_failed, stale_after_s, pack))
    outcomes = _merge_outcomes(results)
  outcomes = {m.id: outcomes[m.id] for m in mine}
  return Report(workdir, outcomes, summary.write_results(workdir))


def run_file(config_path: str, config: ml_collections.ConfigDict, workdir: str, **kwargs) -> Report:
  """`run` with the sweep of a config file's `get_sweep()` (`config_path` as given to --config, `:arg` allowed)."""
  return run(config, load_sweep(config_path), workdir, config_path=config_path, **kwargs)
