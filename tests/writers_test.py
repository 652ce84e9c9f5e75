"""Tests for gan_jax.writers: JSONL round trips, kill-truncated lines, resume truncation, TensorBoard, progress."""
import glob
import json
import math
import os
import struct

import ml_collections
import numpy as np
import pytest
from tensorboardX.proto import event_pb2

from gan_jax import writers


def _read_events(tb_dir):
  """Parses tensorboardX event files (TFRecord framing: u64 length, u32 crc, data, u32 crc)."""
  events = []
  for path in sorted(glob.glob(os.path.join(tb_dir, "events.out.tfevents.*"))):
    with open(path, "rb") as f:
      data = f.read()
    pos = 0
    while pos < len(data):
      (length,) = struct.unpack("<Q", data[pos:pos + 8])
      event = event_pb2.Event()
      event.ParseFromString(data[pos + 12:pos + 12 + length])
      events.append(event)
      pos += 12 + length + 4
  return events


def _scalars(tb_dir):
  return {(v.tag, e.step): v.simple_value for e in _read_events(tb_dir) for v in e.summary.value
          if v.HasField("simple_value")}


ROWS = [
    {"step": 1, "seed": 0, "d_loss": 0.5, "g_loss": float("nan"), "norm": float("inf"), "ok": True, "name": "a"},
    {"step": 1, "seed": 1, "d_loss": -1.25, "g_loss": float("-inf"), "norm": 3, "ok": False, "name": "b"},
    {"step": 2, "seed": 0, "d_loss": np.float32(0.25), "g_loss": 1e-30, "norm": np.int32(7), "ok": True, "name": "c"},
]


def _same(a, b):
  return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def test_rows_round_trip_with_nan_and_inf(tmp_path):
  with writers.MetricWriter(str(tmp_path)) as w:
    w.write_rows(ROWS[:2])
    w.write_rows(ROWS[2:])
  back = writers.read_metrics(str(tmp_path / "metrics.jsonl"))
  assert len(back) == 3
  for got, want in zip(back, ROWS):
    assert list(got) == list(want)
    assert all(_same(got[k], type(got[k])(v)) for k, v in want.items())
  assert math.isnan(back[0]["g_loss"]) and back[0]["norm"] == math.inf and back[1]["g_loss"] == -math.inf
  assert isinstance(back[2]["d_loss"], float) and isinstance(back[2]["norm"], int)


def test_truncated_last_line_is_skipped(tmp_path):
  path = tmp_path / "metrics.jsonl"
  with writers.MetricWriter(str(tmp_path)) as w:
    w.write_rows(ROWS[:2])
  with open(path, "ab") as f:
    f.write(b'{"step": 2, "seed": 0, "d_lo')
  with pytest.warns(UserWarning, match="truncated"):
    back = writers.read_metrics(str(path))
  assert [(r["step"], r["seed"]) for r in back] == [(1, 0), (1, 1)]


def test_valid_json_without_newline_counts_as_truncated(tmp_path):
  # A kill can cut "0.125" to "0.1": still valid JSON, but no trailing newline gives it away.
  path = tmp_path / "metrics.jsonl"
  path.write_bytes(b'{"step": 1, "seed": 0}\n{"step": 2, "seed": 0, "x": 0.1')
  with pytest.warns(UserWarning, match="truncated"):
    assert writers.read_metrics(str(path)) == [{"step": 1, "seed": 0}]


def test_corrupt_middle_line_raises(tmp_path):
  path = tmp_path / "metrics.jsonl"
  path.write_bytes(b'{"step": 1, "seed": 0}\n{"step": 2, "se\n{"step": 3, "seed": 0}\n')
  with pytest.raises(ValueError, match="line 2"):
    writers.read_metrics(str(path))


def test_truncate_metrics_then_resume_has_no_gaps_or_duplicates(tmp_path):
  path = str(tmp_path / "metrics.jsonl")
  with writers.MetricWriter(str(tmp_path)) as w:
    for step in range(1, 6):
      w.write_rows([{"step": step, "seed": s, "x": step + 0.5 * s} for s in range(2)])
  with open(path, "ab") as f:
    f.write(b'{"step": 6, "seed": 0, "x"')  # killed mid-write after the checkpoint at step 3
  assert writers.truncate_metrics(path, 3) == 6
  with open(path, "rb") as f:
    assert f.read().endswith(b"\n")
  assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
  with writers.MetricWriter(str(tmp_path)) as w:  # the resumed run re-does steps 4..6
    for step in range(4, 7):
      w.write_rows([{"step": step, "seed": s, "x": step + 0.5 * s} for s in range(2)])
  back = writers.read_metrics(path)
  assert [(r["step"], r["seed"]) for r in back] == [(t, s) for t in range(1, 7) for s in range(2)]
  assert writers.truncate_metrics(path, 100) == 12  # nothing to drop: file untouched
  assert writers.truncate_metrics(str(tmp_path / "missing.jsonl"), 3) == 0


def test_writer_survives_truncate_between_writes(tmp_path):
  path = str(tmp_path / "metrics.jsonl")
  with writers.MetricWriter(str(tmp_path)) as w:
    w.write_rows([{"step": 1, "seed": 0}, {"step": 2, "seed": 0}])
    writers.truncate_metrics(path, 1)
    w.write_rows([{"step": 2, "seed": 0}])
  assert [r["step"] for r in writers.read_metrics(path)] == [1, 2]


def test_tensorboard_scalars_and_images(tmp_path):
  w = writers.MetricWriter(str(tmp_path))
  w.write_rows(ROWS)
  w.write_images(2, {"samples": np.linspace(0, 1, 8 * 8 * 3, dtype=np.float32).reshape(8, 8, 3),
                     "gray": np.zeros((4, 5), np.uint8)})
  w.close()
  tb_dir = str(tmp_path / "tensorboard")
  assert glob.glob(os.path.join(tb_dir, "events.out.tfevents.*"))
  scalars = _scalars(tb_dir)
  assert scalars[("d_loss/seed_0", 1)] == 0.5
  assert scalars[("d_loss/seed_1", 1)] == -1.25
  assert scalars[("norm/seed_0", 2)] == 7.0
  # Non-finite values are in metrics.jsonl only (tensorboardX would print a warning for each).
  assert ("g_loss/seed_0", 1) not in scalars
  assert math.isnan(writers.read_metrics(str(tmp_path / "metrics.jsonl"))[0]["g_loss"])
  assert scalars[("ok/seed_1", 1)] == 0.0
  tags = {tag for tag, _ in scalars}
  assert not any(t.startswith(("name/", "step/", "seed/")) for t in tags)  # str fields and indices skipped
  images = {v.tag: v.image for e in _read_events(tb_dir) for v in e.summary.value if v.HasField("image")}
  assert (images["samples"].height, images["samples"].width, images["samples"].colorspace) == (8, 8, 3)
  assert (images["gray"].height, images["gray"].width) == (4, 5)


def test_just_logging_writes_no_files(tmp_path):
  workdir = tmp_path / "run"
  w = writers.MetricWriter(str(workdir), just_logging=True)
  w.write_rows(ROWS)
  w.write_images(1, {"x": np.zeros((2, 2, 3), np.uint8)})
  w.flush()
  w.close()
  assert not workdir.exists()


def test_create_writer_on_process_zero_writes(tmp_path):
  w = writers.create_writer(str(tmp_path))
  assert not w.just_logging
  w.close()


@pytest.mark.parametrize("row, match", [
    ({"seed": 0, "x": 1.0}, "'step'"),
    ({"step": 1, "x": 1.0}, "'seed'"),
    ({"step": 1.5, "seed": 0}, "step"),
    ({"step": True, "seed": 0}, "step"),
    ({"step": 1, "seed": 0, "x": [1.0]}, "'x'"),
    ({"step": 1, "seed": 0, "x": np.zeros(2)}, "'x'"),
])
def test_bad_rows_raise(tmp_path, row, match):
  with writers.MetricWriter(str(tmp_path), just_logging=True) as w:
    with pytest.raises(ValueError, match=match):
      w.write_rows([row])


def test_bad_images_raise(tmp_path):
  with writers.MetricWriter(str(tmp_path), just_logging=True) as w:
    with pytest.raises(ValueError, match="shape"):
      w.write_images(0, {"x": np.zeros((3, 8, 8, 2))})
    with pytest.raises(ValueError, match="dtype"):
      w.write_images(0, {"x": np.zeros((8, 8, 3), np.int32)})


def test_write_config_round_trips_a_config_dict(tmp_path):
  config = ml_collections.ConfigDict()
  config.seed = 3
  config.lr = 2e-4
  config.objective = "nonsaturating"
  config.use_ema = False
  config.model = ml_collections.ConfigDict({"widths": [64, 64], "depth": 2})
  config.optional = ml_collections.FieldReference(None, field_type=str)
  path = writers.write_config(str(tmp_path / "run"), config)
  assert path == str(tmp_path / "run" / "config.json")
  with open(path) as f:
    text = f.read()
  loaded = json.loads(text)
  assert list(loaded) == sorted(loaded)
  assert ml_collections.ConfigDict(loaded).to_dict() == config.to_dict()
  writers.write_config(str(tmp_path / "run"), {"b": np.float32(1.5), "a": (1, 2)})  # overwrite, plain dict
  with open(path) as f:
    assert json.load(f) == {"a": [1, 2], "b": 1.5}
  with pytest.raises(ValueError, match="not JSON-serializable"):
    writers.write_config(str(tmp_path), {"f": object()})


def test_progress_prints_rate_and_eta():
  now = [100.0]
  progress = writers.Progress(1000, start_step=100, every_seconds=5.0, prefix="run0: ", clock=lambda: now[0])
  now[0] += 1.0
  assert progress.update(150) is None  # too soon
  now[0] += 9.0
  line = progress.update(300, extra={"d_loss": 0.123456})
  # 200 steps in 10 s -> 20 steps/s; 700 steps left -> 35 s.
  assert line == "run0: step 300/1000 (30.0%), 20.00 steps/s, ETA 0:00:35, d_loss=0.1235"
  now[0] += 4.0
  assert progress.update(380) is None
  now[0] += 1.0
  assert "ETA 0:00:30" in progress.update(400)  # rate over the last 5 s only: 100 / 5 = 20 steps/s


def test_progress_bad_input_raises():
  with pytest.raises(ValueError, match="start_step"):
    writers.Progress(10, start_step=11)
  with pytest.raises(ValueError, match="every_seconds"):
    writers.Progress(10, every_seconds=-1.0)


def test_phase_clock_adds_time_per_phase_and_round_trips(tmp_path):
  now = [10.0]
  clock = writers.PhaseClock(clock=lambda: now[0])
  for phase, seconds in (("train", 3.0), ("evaluate", 1.0), ("train", 2.0)):
    with clock.phase(phase):
      now[0] += seconds
  now[0] += 0.5  # outside any phase
  with pytest.raises(RuntimeError), clock.phase("plot"):
    now[0] += 0.25
    raise RuntimeError("a failing phase still counts")
  record = clock.record()
  assert record == {"wall_s": 6.75, "phases_s": {"train": 5.0, "evaluate": 1.0, "plot": 0.25}}
  assert clock.summary() == "6.8 s: train 5.0 s, evaluate 1.0 s, plot 0.2 s"
  writers.write_timing(str(tmp_path), {**record, "end_step": 7})
  assert writers.read_timing(str(tmp_path)) == {**record, "end_step": 7}
  assert writers.read_timing(str(tmp_path / "none")) is None
