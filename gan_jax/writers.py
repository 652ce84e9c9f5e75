"""Metrics out: JSON lines plus TensorBoard, written by process 0 only; a progress line with steps/s and ETA.

The pattern of `clu.metric_writers.create_default_writer(workdir, just_logging=jax.process_index() != 0)` from the
Flax ImageNet example, without clu: TensorBoard event files come from tensorboardX, which needs no TensorFlow.

`<workdir>/metrics.jsonl` holds one JSON object per line and is the source of truth for figures. It survives a kill
at any moment: each `write_rows` call is one `os.write` on an `O_APPEND` descriptor followed by `fsync`, so at worst
the final line is truncated, and `read_metrics` skips it. On resume from a checkpoint at step k, call
`truncate_metrics(path, k)` before writing again, so re-run steps k+1.. are neither lost nor duplicated.
"""
import collections
from collections.abc import Callable, Iterator, Mapping
import contextlib
import json
import logging as logging_std
import math
import numbers
import os
import tempfile
import time
from typing import Any
import warnings

from absl import logging
import jax
import numpy as np
import tensorboardX

METRICS_FILE = "metrics.jsonl"
CONFIG_FILE = "config.json"
TIMING_FILE = "timing.json"
TENSORBOARD_DIR = "tensorboard"


class MetricWriter:
  """Writes metric rows to `<workdir>/metrics.jsonl` and TensorBoard event files under `<workdir>/tensorboard`.

  Only the process with `jax.process_index() == 0` writes files: the others pass `just_logging=True`, which makes
  every method a no-op except for absl logging.
  """

  def __init__(self, workdir: str, *, just_logging: bool = False):
    """Opens the writer.

    Args:
      workdir: experiment directory; created if missing (unless `just_logging`).
      just_logging: only log rows with absl logging; write no files.
    """
    self.workdir = os.fspath(workdir)
    self.just_logging = just_logging
    self.metrics_path = os.path.join(self.workdir, METRICS_FILE)
    self._tb = None
    if not just_logging:
      os.makedirs(self.workdir, exist_ok=True)
      self._tb = tensorboardX.SummaryWriter(logdir=os.path.join(self.workdir, TENSORBOARD_DIR))

  def write_rows(self, rows: list[dict]) -> None:
    """Appends rows to metrics.jsonl (one JSON object per line) and their numeric fields to TensorBoard.

    Args:
      rows: flat dicts of scalars (Python or NumPy bool/int/float/str, 0-d arrays, None); each must hold integer
        'step' and 'seed'. NaN and ±inf are written as JSON `NaN` / `Infinity` (Python's `allow_nan`) and read back
        by `read_metrics`. TensorBoard gets every finite numeric field except step and seed, tagged
        f"{key}/seed_{seed}" at global step `row['step']`.

    Raises:
      ValueError: if a row is not a dict, lacks an integer step or seed, or holds a non-scalar value.
    """
    clean = [_clean_row(row) for row in rows]
    if not clean:
      return
    for row in clean:
      logging.debug("%s", _format_row(row))
    if self.just_logging:
      return
    append_rows(self.metrics_path, clean)
    for row in clean:
      step, seed = row["step"], row["seed"]
      for key, value in row.items():
        # Non-finite values stay in metrics.jsonl only: tensorboardX warns once per value, burying the one line
        # that says why a run stopped.
        if key in ("step", "seed") or value is None or isinstance(value, str) or not math.isfinite(value):
          continue
        self._tb.add_scalar(f"{key}/seed_{seed}", float(value), global_step=step)

  def write_images(self, step: int, images: dict[str, np.ndarray]) -> None:
    """Writes images to TensorBoard.

    Args:
      step: global step.
      images: tag -> HWC image with C in {1, 3, 4} (or HW grayscale); uint8 in [0, 255] or float in [0, 1]
        (clipped; NaN shown as 0).

    Raises:
      ValueError: if an image has the wrong rank, channel count or dtype.
    """
    step = _as_int("step", step)
    prepared = {tag: _to_uint8_hwc(tag, image) for tag, image in images.items()}
    logging.info("[%d] images: %s", step, ", ".join(f"{t}{list(i.shape)}" for t, i in prepared.items()))
    if self.just_logging:
      return
    for tag, image in prepared.items():
      self._tb.add_image(tag, image, global_step=step, dataformats="HWC")

  def flush(self) -> None:
    """Flushes TensorBoard events to disk (metric rows are already fsynced by `write_rows`)."""
    if self._tb is not None:
      self._tb.flush()

  def close(self) -> None:
    """Flushes and closes the TensorBoard writer; safe to call twice."""
    if self._tb is not None:
      self._tb.close()
      self._tb = None
    self.just_logging = True  # later writes only log instead of failing on a closed writer

  def __enter__(self) -> "MetricWriter":
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()


def create_writer(workdir: str) -> MetricWriter:
  """Returns a `MetricWriter` that writes files only on process 0."""
  return MetricWriter(workdir, just_logging=jax.process_index() != 0)


def write_config(workdir: str, config: Any) -> str:
  """Writes `<workdir>/config.json` (sorted keys) on process 0; other processes write nothing.

  Args:
    workdir: experiment directory; created if missing.
    config: an `ml_collections.ConfigDict` / `FrozenConfigDict` or a (nested) dict of JSON-able values; tuples
      become lists and NumPy scalars Python numbers.

  Returns:
    The path of config.json.

  Raises:
    ValueError: if a config value cannot be written as JSON.
  """
  path = os.path.join(os.fspath(workdir), CONFIG_FILE)
  if jax.process_index() != 0:
    return path
  as_dict = config.to_dict() if hasattr(config, "to_dict") else config
  if not isinstance(as_dict, Mapping):
    raise ValueError(f"config must be a ConfigDict or a dict, got {type(config).__name__}")
  text = json.dumps(as_dict, sort_keys=True, indent=2, allow_nan=True, default=json_default) + "\n"
  os.makedirs(os.fspath(workdir), exist_ok=True)
  atomic_write(path, text.encode("utf-8"))
  return path


def read_config(workdir: str) -> Any:
  """The `ml_collections.ConfigDict` a run wrote to `<workdir>/config.json` (JSON lists stay lists).

  Raises:
    ValueError: when the workdir has no config.json.
  """
  import ml_collections  # only readers of old runs need it
  path = os.path.join(os.fspath(workdir), CONFIG_FILE)
  if not os.path.exists(path):
    raise ValueError(f"{path} not found: is {workdir!r} the workdir of a training run?")
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))


def read_metrics(path: str) -> list[dict]:
  """Reads metrics.jsonl, skipping (with a warning) a final line truncated by a kill.

  Args:
    path: a metrics.jsonl file.

  Returns:
    The rows in file order.

  Raises:
    ValueError: if a line other than the last one is not valid JSON (the file is corrupt, not just truncated).
  """
  rows, _, _ = _parse_metrics(path)
  return rows


def append_rows(path: str, rows: list[dict]) -> None:
  """Appends rows to a JSON-lines file (metrics.jsonl, probe.jsonl), durably, in one write.

  Args:
    path: the file; created if missing.
    rows: flat dicts of scalars, each with integer 'step' and 'seed' (see `MetricWriter.write_rows`).

  Raises:
    ValueError: if a row is not a dict, lacks an integer step or seed, or holds a non-scalar value.
  """
  clean = [_clean_row(row) for row in rows]
  if not clean:
    return
  # The whole chunk in one write on an O_APPEND fd: a kill can truncate only the last line, never interleave.
  # The fd is opened per call so a `truncate_metrics` (os.replace) in between is never written past.
  chunk = "".join(json.dumps(row, allow_nan=True) + "\n" for row in clean).encode("utf-8")
  fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
  try:
    view = memoryview(chunk)
    while view:  # a regular-file write is only short on errors such as a full disk; finish it if so
      view = view[os.write(fd, view):]
    os.fsync(fd)
  finally:
    os.close(fd)


def truncate_metrics(path: str, max_step: int) -> int:
  """Keeps only rows with step <= max_step, dropping a truncated final line; used when resuming.

  Call it before the run's `MetricWriter` writes again. The file is rewritten atomically (temporary file, fsync,
  `os.replace`); the kept lines are copied byte for byte. A missing file is left missing.

  Args:
    path: a metrics.jsonl file.
    max_step: the restored checkpoint's step.

  Returns:
    The number of rows kept.

  Raises:
    ValueError: if `max_step` is not an integer or a non-final line is corrupt.
  """
  max_step = _as_int("max_step", max_step)
  if not os.path.exists(path):
    return 0
  rows, lines, truncated = _parse_metrics(path, warn=False)
  kept = [line for row, line in zip(rows, lines) if row.get("step", -math.inf) <= max_step]
  if len(kept) < len(rows) or truncated:
    logging.info("%s: kept %d rows with step <= %d, dropped %d%s", path, len(kept), max_step,
                 len(rows) - len(kept), " and a truncated final line" if truncated else "")
    atomic_write(path, b"".join(kept))
  return len(kept)


class Progress:
  """Logs one progress line with step, steps/s and ETA (absl `logging.info`), at most every `every_seconds`."""

  def __init__(
      self,
      total_steps: int,
      *,
      start_step: int = 0,
      every_seconds: float = 5.0,
      prefix: str = "",
      clock: Callable[[], float] = time.monotonic,
  ):
    """Starts the clock.

    Args:
      total_steps: the step at which training ends.
      start_step: the step training starts (or resumes) from.
      every_seconds: minimum time between two printed lines; 0 prints on every update.
      prefix: text put before each line, e.g. a run name.
      clock: time source in seconds (tests pass a fake one).

    Raises:
      ValueError: if the steps are not integers with 0 <= start_step <= total_steps, or every_seconds < 0.
    """
    self.total_steps = _as_int("total_steps", total_steps)
    self.start_step = _as_int("start_step", start_step)
    if not 0 <= self.start_step <= self.total_steps:
      raise ValueError(f"need 0 <= start_step <= total_steps, got start_step={start_step}, total_steps={total_steps}")
    if not every_seconds >= 0:
      raise ValueError(f"every_seconds must be >= 0, got {every_seconds!r}")
    self.every_seconds = float(every_seconds)
    self.prefix = prefix
    self._clock = clock
    self._last_time = clock()
    self._last_step = self.start_step

  def update(self, step: int, extra: dict | None = None) -> str | None:
    """Logs a progress line if `every_seconds` have passed since the last one.

    Steps/s is measured since the last printed line (so compilation time fades out of the ETA).

    Args:
      step: the current step.
      extra: values appended as `key=value` (floats with 4 significant digits).

    Returns:
      The line it logged, or None.
    """
    step = _as_int("step", step)
    now = self._clock()
    elapsed = now - self._last_time
    if elapsed < self.every_seconds:
      return None
    rate = (step - self._last_step) / elapsed if elapsed > 0 else math.nan
    remaining = max(self.total_steps - step, 0)
    eta = _format_duration(remaining / rate) if rate > 0 else "?"
    percent = 100.0 * step / self.total_steps if self.total_steps else 100.0
    line = f"{self.prefix}step {step}/{self.total_steps} ({percent:.1f}%), {rate:.2f} steps/s, ETA {eta}"
    if extra:
      line += ", " + ", ".join(f"{k}={_format_value(v)}" for k, v in extra.items())
    logging.info("%s", line)
    self._last_time, self._last_step = now, step
    return line


def _clean_row(row: Any) -> dict:
  """Validates one metrics row and converts NumPy / 0-d array values to Python scalars."""
  if not isinstance(row, Mapping):
    raise ValueError(f"a metrics row must be a dict, got {type(row).__name__}")
  clean = {}
  for key, value in row.items():
    if not isinstance(key, str):
      raise ValueError(f"metric names must be strings, got {key!r}")
    if isinstance(value, (np.ndarray, np.generic, jax.Array)) and np.ndim(value) == 0:
      value = np.asarray(value).item()
    if value is not None and not isinstance(value, (bool, numbers.Real, str)):
      raise ValueError(f"metric {key!r} must be a scalar, got {type(value).__name__}")
    clean[key] = value
  for key in ("step", "seed"):
    if key not in clean:
      raise ValueError(f"a metrics row needs an integer {key!r}, got keys {sorted(clean)}")
    clean[key] = _as_int(key, clean[key])
  return clean


def _parse_metrics(path: str, warn: bool = True) -> tuple[list[dict], list[bytes], bool]:
  """Returns (rows, their raw lines, whether a truncated final line was skipped)."""
  with open(path, "rb") as f:
    data = f.read()
  lines = data.splitlines(keepends=True)
  rows, kept, truncated = [], [], False
  for number, line in enumerate(lines, start=1):
    if not line.strip():
      continue
    is_last = number == len(lines)
    try:
      row = json.loads(line)
      if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    except ValueError as e:
      if is_last:
        truncated = True
        break
      raise ValueError(f"{path}: line {number} is not a JSON object ({e})") from None
    if is_last and not line.endswith(b"\n"):
      truncated = True  # valid JSON that a kill may still have cut short (e.g. a number's last digits)
      break
    rows.append(row)
    kept.append(line)
  if truncated and warn:
    warnings.warn(f"{path}: skipped a truncated final line (the writer was killed mid-write)", stacklevel=3)
  return rows, kept, truncated


class PhaseClock:
  """Wall seconds a run spends per phase ('train', 'evaluate', 'plot', …), for `WORKDIR/timing.json`.

  Each phase's time ends when its results are on the host (the engine reads them back), so asynchronous dispatch
  does not move time between phases. A phase's first call includes compiling its program (or loading it from the
  persistent cache).
  """

  def __init__(self, clock: Callable[[], float] = time.perf_counter):
    """Starts the clock; `clock` is the time source in seconds (tests pass a fake one)."""
    self._clock = clock
    self._start = clock()
    self.seconds: dict[str, float] = collections.defaultdict(float)

  @contextlib.contextmanager
  def phase(self, name: str) -> Iterator[None]:
    """Adds the time spent inside the `with` block to phase `name`."""
    start = self._clock()
    try:
      yield
    finally:
      self.seconds[name] += self._clock() - start

  def record(self) -> dict:
    """{'wall_s': seconds since the start, 'phases_s': {phase: seconds}}; the rest of the wall time is Python."""
    return {"wall_s": self._clock() - self._start, "phases_s": dict(self.seconds)}

  def summary(self) -> str:
    """One line: total and per-phase seconds, largest first."""
    record = self.record()
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(record["phases_s"].items(), key=lambda kv: -kv[1]))
    return f"{record['wall_s']:.1f} s: {parts}"


def write_timing(workdir: str, record: dict) -> str:
  """Writes a `PhaseClock.record()` (plus any fields) to `WORKDIR/timing.json` (process 0 only); returns the path."""
  path = os.path.join(workdir, TIMING_FILE)
  if jax.process_index() == 0:
    atomic_write(path, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())
  return path


def read_timing(workdir: str) -> dict | None:
  """The `timing.json` of a run (its latest invocation), or None."""
  path = os.path.join(workdir, TIMING_FILE)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def atomic_write(path: str, data: bytes) -> None:
  """Replaces `path` with `data`: readers see the old or the new file, never a partial one."""
  directory = os.path.dirname(os.path.abspath(path))
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=os.path.basename(path) + ".", suffix=".tmp")
  try:
    with os.fdopen(fd, "wb") as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    os.chmod(tmp, 0o644)  # mkstemp creates 0600
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise
  dir_fd = os.open(directory, os.O_RDONLY)
  try:
    os.fsync(dir_fd)  # make the rename itself durable
  finally:
    os.close(dir_fd)


def _to_uint8_hwc(tag: str, image: Any) -> np.ndarray:
  """Converts an HW / HWC uint8 or float image to HWC uint8."""
  image = np.asarray(image)
  if image.ndim == 2:
    image = image[:, :, None]
  if image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
    raise ValueError(f"image {tag!r} must be HW or HWC with C in (1, 3, 4), got shape {image.shape}")
  if image.dtype == np.uint8:
    return image
  if not np.issubdtype(image.dtype, np.floating):
    raise ValueError(f"image {tag!r} must be uint8 or float, got dtype {image.dtype}")
  # tensorboardX would compute (x * 255).astype(uint8), which wraps around outside [0, 1].
  image = np.clip(np.nan_to_num(image.astype(np.float32), nan=0.0), 0.0, 1.0)
  return np.round(image * 255.0).astype(np.uint8)


def json_default(value: Any) -> Any:
  if isinstance(value, (np.ndarray, np.generic, jax.Array)):
    return np.asarray(value).tolist()
  raise ValueError(f"config value {value!r} of type {type(value).__name__} is not JSON-serializable")


def _as_int(name: str, value: Any) -> int:
  if isinstance(value, (np.ndarray, jax.Array)) and np.ndim(value) == 0:
    value = np.asarray(value).item()
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
    raise ValueError(f"{name} must be an integer, got {value!r}")
  return int(value)


def _format_value(value: Any) -> str:
  if isinstance(value, (float, np.floating)):
    return f"{value:.4g}"
  return str(value)


def _format_row(row: dict) -> str:
  fields = ", ".join(f"{k}={_format_value(v)}" for k, v in row.items() if k not in ("step", "seed"))
  return f"[{row['step']}] seed={row['seed']}: {fields}"


def _format_duration(seconds: float) -> str:
  seconds = int(round(seconds))
  hours, rest = divmod(seconds, 3600)
  minutes, secs = divmod(rest, 60)
  return f"{hours}:{minutes:02d}:{secs:02d}"


class _LibraryInfoFilter(logging_std.Filter):
  """Drops INFO-and-below records of noisy libraries (Orbax logs every save and restore step)."""
  NOISY = ("/orbax/", "/jax/_src/", "/etils/")

  def filter(self, record: logging_std.LogRecord) -> bool:
    return record.levelno > logging_std.INFO or not any(n in record.pathname for n in self.NOISY)


def quiet_library_logs() -> None:
  """Keeps the terminal to gan-jax's own progress lines: library INFO logs (Orbax, JAX) are dropped."""
  handler = logging.get_absl_handler()
  if not any(isinstance(f, _LibraryInfoFilter) for f in handler.filters):
    handler.addFilter(_LibraryInfoFilter())
