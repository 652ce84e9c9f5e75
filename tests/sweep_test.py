"""Tests of sweeps: grid expansion, stable ids, sharding, claims, and tiny real sweeps (failure isolation, resume,
skip, concurrent workers, one-line errors of the entry points)."""
import glob
import importlib.util
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time

from hypothesis import given
from hypothesis import strategies as st
import jax
import ml_collections
import numpy as np
import pytest

from gan_jax import compare
from gan_jax import config as config_lib
from gan_jax import parallel
from gan_jax import summary
from gan_jax import sweep
from gan_jax import train
from gan_jax import writers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTING_SWEEP = os.path.join(ROOT, "configs", "sweeps", "testing.py")
# Loaded under its own name: `import testing` would clash with configs/testing.py, which train_test imports.
_spec = importlib.util.spec_from_file_location("sweeps_testing_config", TESTING_SWEEP)
testing_sweep = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(testing_sweep)


# --------------------------------------------------------------------------------------------------- grid expansion


def test_product_of_a_dict_is_itertools_product():
  grid = sweep.product({"a": [1, 2], "b": ["x", "y", "z"]})
  assert grid == [{"a": a, "b": b} for a, b in itertools.product([1, 2], ["x", "y", "z"])]


def test_product_with_a_zipped_factor():
  grid = sweep.product({"objective": ["minimax", "wasserstein"]},
                       sweep.zip_({"optimizer_g.learning_rate": [1e-4, 1e-3, 1e-2],
                                   "optimizer_d.learning_rate": [2e-4, 2e-3, 2e-2]}))
  assert len(grid) == 2 * 3
  assert grid[0] == {"objective": "minimax", "optimizer_g.learning_rate": 1e-4, "optimizer_d.learning_rate": 2e-4}
  assert grid[5] == {"objective": "wasserstein", "optimizer_g.learning_rate": 1e-2, "optimizer_d.learning_rate": 2e-2}
  assert [g["optimizer_g.learning_rate"] * 2 for g in grid] == [g["optimizer_d.learning_rate"] for g in grid]


def test_zip_of_grids_and_concatenation():
  grid = sweep.zip_(sweep.product({"a": [1, 2]}), {"b": [3, 4]}) + [{"c": 0}]
  assert grid == [{"a": 1, "b": 3}, {"a": 2, "b": 4}, {"c": 0}]
  assert sweep.product() == [{}] and sweep.zip_() == [{}]


@pytest.mark.parametrize("make, message", [
    (lambda: sweep.zip_({"a": [1, 2], "b": [1, 2, 3]}), "equal lengths"),
    (lambda: sweep.zip_({"a": [1, 2]}, {"b": [1]}), "equal length"),
    (lambda: sweep.product({"a": [1]}, {"a": [2]}), "sets field 'a' twice"),
    (lambda: sweep.product({"a": []}), "empty list"),
    (lambda: sweep.product({"a": 1e-3}), "needs a list of values"),
    (lambda: sweep.product(["a"]), "a sweep factor must be"),
])
def test_bad_grids(make, message):
  with pytest.raises(ValueError, match=message):
    make()


def test_sweep_seeds():
  c = config_lib.base_config()
  assert sweep.Sweep([{}], seeds=3).seed_range(c) == (0, 3)
  assert sweep.Sweep([{}], seeds=range(4, 6)).seed_range(c) == (4, 2)
  assert sweep.Sweep([{}], seeds=[7]).seed_range(c) == (7, 1)
  assert sweep.Sweep([{}]).seed_range(c) == (c.seed, c.num_seeds)
  for bad in (0, [0, 2], [], [-1, 0], True, "3", [0.5]):
    with pytest.raises(ValueError, match="Sweep.seeds"):
      sweep.Sweep([{}], seeds=bad).seed_range(c)


# ------------------------------------------------------------------------------------------------------------ ids


def test_member_id_is_pinned_and_order_independent():
  # sha256(b'{"n_critic":5,"objective":"minimax"}') starts with 83d1d2b800 (checked with `hashlib` by hand).
  assert sweep.member_id({"objective": "minimax", "n_critic": 5}) == "n_critic=5,objective=minimax-83d1d2b800"
  assert sweep.member_id({"n_critic": 5, "objective": "minimax"}) == "n_critic=5,objective=minimax-83d1d2b800"
  assert sweep.member_id({}) == "base-44136fa355"
  # Tuples and lists, NumPy and Python scalars, dict order inside a sub-config: the same overrides.
  assert sweep.member_id({"x": (1.0, 2.0)}) == sweep.member_id({"x": [np.float64(1.0), 2.0]})
  assert (sweep.member_id({"optimizer_d": {"name": "sgd", "learning_rate": 0.1}})
          == sweep.member_id({"optimizer_d": config_lib.optimizer_config("sgd", 0.1)}))


_keys = st.sampled_from(["objective", "n_critic", "optimizer_g.learning_rate", "target", "a.b/c d"])
_values = st.one_of(st.integers(-3, 3), st.floats(allow_nan=False, width=32), st.text(max_size=4), st.booleans(),
                    st.none(), st.tuples(st.integers(0, 2), st.integers(0, 2)))


@given(st.dictionaries(_keys, _values, max_size=4), st.dictionaries(_keys, _values, max_size=4))
def test_member_ids_distinct_for_distinct_overrides(a, b):
  canonical = lambda d: json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}, sort_keys=True)
  assert (sweep.member_id(a) == sweep.member_id(b)) == (canonical(a) == canonical(b))
  assert sweep.member_id(a) == sweep.member_id(dict(reversed(list(a.items()))))
  mid = sweep.member_id(a)
  assert set(mid) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._=,+-")
  assert len(mid) <= sweep.MAX_READABLE + 1 + sweep.HASH_CHARS


def test_member_id_rejects_objects():
  with pytest.raises(ValueError, match="has value .* of type object"):
    sweep.member_id({"x": object()})


# -------------------------------------------------------------------------------------------------------- sharding


@given(st.integers(0, 40), st.integers(1, 12))
def test_shards_partition_the_members(num_members, num_shards):
  members = [f"m{i}" for i in range(num_members)]
  shards = [sweep.shard(members, i, num_shards) for i in range(num_shards)]
  assert sorted(itertools.chain(*shards)) == sorted(members)  # every member exactly once
  assert max(map(len, shards)) - min(map(len, shards)) <= 1
  assert shards[0] == members[::num_shards]


@pytest.mark.parametrize("index, num", [(2, 2), (-1, 2), (0, 0), (0.0, 1), (True, 2)])
def test_bad_shards(index, num):
  with pytest.raises(ValueError, match="shard_index|num_shards"):
    sweep.shard([1, 2], index, num)


# --------------------------------------------------------------------------------------- overrides and validation


def test_apply_overrides():
  base = config_lib.base_config()
  base.lock()
  c = sweep.apply_overrides(base, {"optimizer_g.learning_rate": 3e-3, "n_critic": 5,
                                   "objective_kwargs.real_target": 0.9,  # a new keyword argument: allowed
                                   "optimizer_d": {"name": "sgd", "learning_rate": 0.1}})
  assert (c.optimizer_g.learning_rate, c.n_critic, c.objective_kwargs.real_target) == (3e-3, 5, 0.9)
  assert c.optimizer_d.to_dict() == {"name": "sgd", "learning_rate": 0.1}
  assert c.is_locked
  assert (base.optimizer_g.learning_rate, base.n_critic, base.optimizer_d.name) == (1e-3, 1, "adam")  # unchanged
  for overrides, message in (({"optimizer_g.learnin_rate": 1.0}, "unknown field 'optimizer_g.learnin_rate'"),
                             ({"nope.x": 1}, "unknown field 'nope.x'"),
                             ({"n_critic.x": 1}, "unknown field 'n_critic.x'"),
                             ({"n_critic": "five"}, "sets 'n_critic' to 'five'")):
    with pytest.raises(ValueError, match=message):
      sweep.apply_overrides(base, overrides)


def test_compare_objective_config_uses_the_same_overrides():
  c = config_lib.base_config()
  c.objectives = ("minimax", "wasserstein")
  c.overrides = ml_collections.ConfigDict({"wasserstein": {"n_critic": 5}})
  w = compare.objective_config(c, "wasserstein")
  assert (w.objective, w.n_critic, "objectives" in w, "overrides" in w) == ("wasserstein", 5, False, False)
  assert compare.objective_config(c, "minimax").n_critic == 1
  c.overrides = ml_collections.ConfigDict({"minimax": {"n_critics": 5}})
  with pytest.raises(ValueError, match=r"config.overrides.minimax sets unknown field 'n_critics'"):
    compare.objective_config(c, "minimax")


def test_expand_sets_seeds_and_validates_every_member():
  members = sweep.expand(testing_sweep.get_config(), testing_sweep.get_sweep("nan"))
  assert [m.id for m in members] == [sweep.member_id(g) for g in testing_sweep.get_sweep("nan").grid]
  assert all((m.config.seed, m.config.num_seeds) == (0, 2) for m in members)
  assert members[1].config.checkpoint_every == 4 and members[2].config.optimizer_g.name == "sgd"
  base = testing_sweep.get_config()
  for grid, message in (([{"objective": "nope"}], r"sweep member objective=nope-\w+: config.objective='nope'"),
                        ([{"seed": 3}], "seeds are set by Sweep.seeds"),
                        ([{"n_critic": 2}, {"n_critic": 2}], "the same overrides twice"),
                        ([], "grid is empty"),
                        ([{"n_critic": 0}], r"config.n_critic=0 is invalid")):
    with pytest.raises(ValueError, match=message):
      sweep.expand(base, sweep.Sweep(grid, seeds=1))


def test_load_sweep(tmp_path):
  assert len(sweep.load_sweep(TESTING_SWEEP + ":four").grid) == 4
  (tmp_path / "none.py").write_text("def get_config():\n  return None\n")
  (tmp_path / "wrong.py").write_text("def get_sweep():\n  return [{}]\n")
  with pytest.raises(ValueError, match="defines no get_sweep()"):
    sweep.load_sweep(str(tmp_path / "none.py"))
  with pytest.raises(ValueError, match="must return a gan_jax.sweep.Sweep, got list"):
    sweep.load_sweep(str(tmp_path / "wrong.py"))
  with pytest.raises(ValueError, match="does not exist"):
    sweep.load_sweep(str(tmp_path / "missing.py"))


def test_invalid_sweep_fails_before_training(tmp_path, monkeypatch):
  monkeypatch.setattr(train, "train_and_evaluate", lambda *a: pytest.fail("trained an invalid sweep"))
  for variant, message in (("bad_field", "unknown field 'optimizer_g.learnin_rate'"),
                           ("bad_value", "config.objective='no_such_objective'")):
    with pytest.raises(ValueError, match=message):
      sweep.run_file(f"{TESTING_SWEEP}:{variant}", testing_sweep.get_config(), str(tmp_path / variant))
    assert not os.path.exists(tmp_path / variant)


def test_a_member_run_before_a_field_existed_resumes_only_at_its_default(tmp_path):
  # objective_axis joined the config after sweeps had run: a member stored without it must resume while the sweep
  # leaves it at its default, and be refused once the sweep sets it to something the member never did.
  members = sweep.expand(testing_sweep.get_config(), testing_sweep.get_sweep("four"))
  stored = json.loads(json.dumps(members[0].config.to_dict(), default=writers.json_default))
  del stored["objective_axis"]
  path = summary.member_dir(str(tmp_path), members[0].id)
  os.makedirs(path)
  with open(os.path.join(path, summary.MEMBER_FILE), "w") as f:
    json.dump({"config": stored, "id": members[0].id, "overrides": {}}, f)
  sweep.check_workdir(str(tmp_path), members, testing_sweep.get_sweep("four"))
  with members[0].config.unlocked():
    members[0].config.objective_axis.objectives = ("minimax", "wasserstein")
  with pytest.raises(ValueError, match=r"was run with objective_axis.objectives='<missing>', the sweep now sets "):
    sweep.check_workdir(str(tmp_path), members, testing_sweep.get_sweep("four"))


# ---------------------------------------------------------------------------------------------------------- claims


def _dead_pid():
  p = subprocess.Popen(["true"])
  p.wait()
  return p.pid


def _write_lock(member_path, **content):
  os.makedirs(member_path, exist_ok=True)
  path = os.path.join(member_path, summary.LOCK_FILE)
  with open(path, "w") as f:
    json.dump({"token": "other", **content}, f)
  return path


def test_claim_is_exclusive_and_released(tmp_path):
  path = str(tmp_path / "m")
  os.makedirs(path)
  first = sweep.try_claim(path)
  assert first is not None and sweep.try_claim(path) is None
  first.release()
  assert not os.path.exists(os.path.join(path, summary.LOCK_FILE))
  second = sweep.try_claim(path)
  assert second is not None
  second.release()


def test_stale_locks_are_taken_over_and_live_ones_respected(tmp_path):
  here = socket.gethostname()
  # Same host, dead process: stale at once.
  dead = str(tmp_path / "dead")
  _write_lock(dead, host=here, pid=_dead_pid())
  assert sweep.lock_is_stale(os.path.join(dead, summary.LOCK_FILE), 600)
  claim = sweep.try_claim(dead)
  assert claim is not None and claim.token != "other"
  claim.release()
  # Same host, live process (this one): not stale.
  live = str(tmp_path / "live")
  _write_lock(live, host=here, pid=os.getpid())
  assert sweep.try_claim(live) is None
  # Another host: stale only once its heartbeat is older than stale_after_s.
  remote = str(tmp_path / "remote")
  lock = _write_lock(remote, host="elsewhere", pid=1)
  assert sweep.try_claim(remote, stale_after_s=600) is None
  os.utime(lock, (time.time() - 700, time.time() - 700))
  claim = sweep.try_claim(remote, stale_after_s=600)
  assert claim is not None
  assert not [f for f in os.listdir(remote) if ".stale." in f]  # the moved-aside lock was removed
  claim.release()


def test_heartbeat_keeps_a_long_claim_fresh_and_release_spares_other_locks(tmp_path):
  path = str(tmp_path / "m")
  os.makedirs(path)
  claim = sweep.try_claim(path, stale_after_s=0.5)
  time.sleep(1.0)  # twice stale_after_s: only the heartbeat keeps it fresh
  assert not sweep.lock_is_stale(claim.path, 0.5)
  assert sweep.try_claim(path, stale_after_s=0.5) is None
  claim.release()
  # A claim whose lock was replaced (taken over) does not delete the new owner's lock.
  claim = sweep.try_claim(path)
  _write_lock(path, host="elsewhere", pid=1)
  claim.release()
  assert os.path.exists(os.path.join(path, summary.LOCK_FILE))


# ------------------------------------------------------------------------------------------------ tiny real sweeps


def _metrics(path):
  with open(os.path.join(path, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f]


def _events(path):
  with open(os.path.join(path, summary.EVENTS_FILE)) as f:
    return [json.loads(line)["event"] for line in f]


@pytest.mark.slow  # ~30 s cold (five sweep passes); launch_test runs a sweep end to end by default
def test_sweep_isolates_a_failure_skips_finished_and_resumes_unfinished(tmp_path, monkeypatch):
  workdir = str(tmp_path / "sweep")
  config = testing_sweep.get_config()
  report = sweep.run_file(TESTING_SWEEP + ":nan", config, workdir)
  good, good2, bad = [m.id for m in sweep.expand(config, testing_sweep.get_sweep("nan"))]
  assert report.outcomes == {good: "done", good2: "done", bad: "failed"}
  error = summary.read_json(os.path.join(summary.member_dir(workdir, bad), summary.ERROR_FILE))
  assert error["type"] == "NonFiniteError" and "non-finite loss or parameters at step 1" in error["message"]
  assert "failed: " + bad in report.format()
  assert report.failure_line() == f"1 of 3 members failed: {bad}"  # experiments/sweep.py exits with it

  # results.csv: one row per (member, seed, step) logged, overrides and metrics as columns, values as logged.
  import csv  # pylint: disable=g-import-not-at-top
  with open(os.path.join(workdir, summary.RESULTS_CSV)) as f:
    rows = list(csv.DictReader(f))
  assert len(rows) == 2 * (2 * 3) + 2  # two members × 2 seeds × steps 0, 2, 4; the failed one kept step 0
  for member in (good, good2, bad):
    logged = _metrics(summary.member_dir(workdir, member))
    mine = [r for r in rows if r["member"] == member]
    assert len(mine) == len(logged)
    for row, want in zip(mine, sorted(logged, key=lambda r: (r["seed"], r["step"]))):
      assert (int(row["seed"]), int(row["step"])) == (want["seed"], want["step"])
      assert float(row["js"]) == pytest.approx(want["js"], rel=1e-12)
  assert {r["checkpoint_every"] for r in rows if r["member"] == good2} == {"4"}
  assert {r["status"] for r in rows if r["member"] == bad} == {"failed"}

  # Re-running trains nothing: finished and failed members are skipped, their files untouched.
  done_file = os.path.join(summary.member_dir(workdir, good), summary.DONE_FILE)
  mtime = os.stat(done_file).st_mtime_ns
  calls = []
  real_train = train.train_and_evaluate
  monkeypatch.setattr(train, "train_and_evaluate", lambda c, w: calls.append(w) or real_train(c, w))
  report = sweep.run_file(TESTING_SWEEP + ":nan", config, workdir)
  assert calls == [] and os.stat(done_file).st_mtime_ns == mtime
  assert report.outcomes == {good: "skipped_done", good2: "skipped_done", bad: "skipped_failed"}
  assert report.failure_line() == f"1 of 3 members failed: {bad}"

  # A member killed after its step-2 checkpoint (no done.json, no later checkpoint) resumes from step 2 and ends
  # with the same metrics as an uninterrupted run.
  path = summary.member_dir(workdir, good)
  before = _metrics(path)
  os.unlink(done_file)
  import shutil  # pylint: disable=g-import-not-at-top
  shutil.rmtree(os.path.join(path, "checkpoints", "4"))
  report = sweep.run_file(TESTING_SWEEP + ":nan", config, workdir)
  assert calls == [path] and report.outcomes[good] == "done"
  assert _metrics(path) == before
  assert _events(path) == ["start", "done", "start", "done"]

  # --retry_failed runs the failed member again (it fails again, deterministically).
  report = sweep.run_file(TESTING_SWEEP + ":nan", config, workdir, retry_failed=True)
  assert report.outcomes == {good: "skipped_done", good2: "skipped_done", bad: "failed"}
  assert _events(summary.member_dir(workdir, bad)) == ["start", "failed", "start", "failed"]

  # The same directory with a changed base config or another grid is refused before anything runs.
  with config.unlocked():
    config.num_steps = 6
  with pytest.raises(ValueError, match=r"was run with num_steps=4, the sweep now sets 6"):
    sweep.run_file(TESTING_SWEEP + ":nan", config, workdir)
  with pytest.raises(ValueError, match="holds a different sweep"):
    sweep.run_file(TESTING_SWEEP + ":four", testing_sweep.get_config(), workdir)


def _run_script(*args):
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)


@pytest.mark.slow  # ~65 s cold (several processes); member locking is checked in-process by default
def test_concurrent_workers_run_every_member_exactly_once(tmp_path):
  workdir = str(tmp_path / "sweep")
  args = ["experiments/sweep.py", f"--config={TESTING_SWEEP}:four", f"--workdir={workdir}"]
  # Three workers on one directory and one sweep: a process with two local workers, and a second command.
  procs = [_run_script(*args, "--processes=2"), _run_script(*args)]
  outs = [p.communicate(timeout=300) for p in procs]
  for p, (out, err) in zip(procs, outs):
    assert p.returncode == 0, err[-3000:]
    assert "4 members in this shard" in out
  members = summary.read_sweep(workdir)["members"]
  assert len(members) == 4
  for m in members:
    path = summary.member_dir(workdir, m["id"])
    assert _events(path) == ["start", "done"], m["id"]  # claimed and trained by exactly one worker
    assert sorted((r["seed"], r["step"]) for r in _metrics(path)) == [(s, t) for s in (0, 1) for t in (0, 2, 4)]
    assert not os.path.exists(os.path.join(path, summary.LOCK_FILE))
  with open(os.path.join(workdir, summary.RESULTS_CSV)) as f:
    assert len(f.readlines()) == 1 + 4 * 2 * 3  # complete: the last collection saw every member


def test_entry_points_print_one_error_line(tmp_path):
  procs = {
      "bad_field": _run_script("experiments/sweep.py", f"--config={TESTING_SWEEP}:bad_field",
                               f"--workdir={tmp_path / 'a'}"),
      "shard": _run_script("experiments/sweep.py", f"--config={TESTING_SWEEP}", f"--workdir={tmp_path / 'b'}",
                           "--shard_index=3", "--num_shards=2"),
      "summarize": _run_script("experiments/summarize.py", f"--workdir={tmp_path}"),
  }
  expected = {
      "bad_field": "unknown field 'optimizer_g.learnin_rate'",
      "shard": "need 0 <= shard_index < num_shards, got shard_index=3, num_shards=2",
      "summarize": "is not a sweep directory (no sweep.json)",
  }
  for name, p in procs.items():
    _, err = p.communicate(timeout=120)
    lines = [l for l in err.splitlines() if l.strip()]
    assert p.returncode != 0, name
    assert "Traceback" not in err, err
    assert lines[-1].startswith("error: ") and expected[name] in lines[-1], (name, err)
  assert not os.path.exists(tmp_path / "a") and not os.path.exists(tmp_path / "b")


@pytest.mark.slow  # ~60 s cold (a spawned worker is killed mid-member)
def test_a_killed_worker_does_not_end_the_sweep(tmp_path):
  workdir = str(tmp_path / "sweep")
  proc = _run_script("experiments/sweep.py", f"--config={TESTING_SWEEP}:four", f"--workdir={workdir}",
                     "--processes=2")
  killed, deadline = None, time.time() + 240
  while killed is None and time.time() < deadline and proc.poll() is None:
    for lock in glob.glob(os.path.join(workdir, summary.MEMBERS_DIR, "*", summary.LOCK_FILE)):
      try:
        with open(lock) as f:
          pid = json.load(f).get("pid")
      except (OSError, ValueError):
        continue
      if pid and pid != proc.pid:
        os.kill(pid, signal.SIGKILL)  # a spawned worker, mid-member
        killed = pid
        break
    time.sleep(0.02)
  assert killed is not None, "no worker was caught holding a member"
  out, err = proc.communicate(timeout=300)
  assert proc.returncode == 0 and "Traceback" not in err, err[-3000:]
  assert "4 members in this shard: 4 done" in out
  for m in summary.read_sweep(workdir)["members"]:
    path = summary.member_dir(workdir, m["id"])
    assert _events(path)[-1] == "done", m["id"]
    assert sorted((r["seed"], r["step"]) for r in _metrics(path)) == [(s, t) for s in (0, 1) for t in (0, 2, 4)]
  with open(os.path.join(workdir, summary.RESULTS_CSV)) as f:
    assert len(f.readlines()) == 1 + 4 * 2 * 3


# ------------------------------------------------------------------------------------------------------- packing

OBJECTIVES_SWEEP = os.path.join(ROOT, "configs", "sweeps", "objectives.py")


def test_plan_packs_puts_the_objectives_sweep_in_two_programs(tmp_path):
  config = config_lib.load_config_file(OBJECTIVES_SWEEP)
  members = sweep.expand(config, sweep.load_sweep(OBJECTIVES_SWEEP))
  packs = sweep.plan_packs(members)
  # Objective, n_critic and learning rates are per-replica values; the target is not: one program per target.
  assert len(members) == 36 and [len(p) for p in packs] == [18] * 2
  assert [m.id for p in packs for m in p] == [m.id for m in members]  # grid order
  assert [{m.config.target for m in p} for p in packs] == [{"mixture_1d"}, {"gaussian_1d"}]
  for p in packs:
    packed = sweep.packed_config(p)
    # Zipped, not crossed: member i is entry i of the objective axis and of the learning rates, × 3 seeds.
    assert tuple(packed.zip_hparams.g_learning_rate) == tuple(m.config.optimizer_g.learning_rate for m in p)
    assert tuple(packed.zip_hparams.d_learning_rate) == tuple(m.config.optimizer_d.learning_rate for m in p)
    assert tuple(packed.objective_axis.objectives) == tuple(m.config.objective for m in p)
    assert tuple(packed.objective_axis.n_critic) == tuple(m.config.n_critic for m in p)
    replicas = parallel.replicas_of(packed)
    assert replicas.size == 54 and list(replicas.seeds) == [0, 1, 2] * 18
    np.testing.assert_array_equal(replicas.objectives, np.repeat(np.arange(18), 3))
    np.testing.assert_allclose(replicas.hparams["g_learning_rate"][:9], np.repeat([3e-4, 1e-3, 3e-3], 3), rtol=1e-6)
    assert sweep.pack_id(p) == sweep.pack_id(list(p)) and sweep.pack_id(p) != sweep.pack_id(packs[0][:2])
  # Objectives that cannot share a program (vmapped label smoothing is for logistic losses only) pack as before.
  smoothing = sweep.expand(config, sweep.Sweep(grid=[
      {"objective": "minimax", "objective_kwargs.real_target": 0.9},
      {"objective": "minimax", "objective_kwargs.real_target": 1.0},
      {"objective": "wasserstein", "objective_kwargs.real_target": 1.0}], seeds=1))
  assert [[m.config.objective for m in p] for p in sweep.plan_packs(smoothing)] == [["minimax"] * 2, ["wasserstein"]]
  # Shards split packs, not members (the learning rates are the grid's fastest axis: members would split packs).
  mine = sweep.prepare(config, sweep.load_sweep(OBJECTIVES_SWEEP), str(tmp_path), shard_index=1, num_shards=2,
                       pack=True)
  assert [m.id for m in mine] == [m.id for p in packs[1::2] for m in p]
  # A member that vmaps hyper-parameters itself, or repeats another's values, trains alone.
  with config.unlocked():
    config.vmap_hparams.r1_weight = (0.0, 1.0)
  assert [len(p) for p in sweep.plan_packs(sweep.expand(config, sweep.load_sweep(OBJECTIVES_SWEEP)))] == [1] * 36
  twins = sweep.expand(testing_sweep.get_config(), sweep.Sweep(
      [{"optimizer_g.learning_rate": 1e-3}, {"optimizer_g.learning_rate": 2e-3}, {"n_critic": 1}], seeds=1))
  assert [[m.id for m in p] for p in sweep.plan_packs(twins)] == [[twins[0].id, twins[1].id], [twins[2].id]]


# The first two members of the sweep file's `lrs` variant: a pack of the shape of `lrs_nan` (two members with zipped
# learning rates, two seeds), so the packed program and the first member's lone program are the ones
# test_a_diverging_member_of_a_pack_fails_alone compiles (the persistent compilation cache shares them), and each
# member fewer is one lone program fewer to compile.
_LRS = sweep.Sweep(grid=sweep.zip_({"optimizer_g.learning_rate": [1e-3, 3e-3],
                                    "optimizer_d.learning_rate": [2e-3, 6e-3]}), seeds=2)


def test_a_packed_sweep_writes_what_lone_members_write(tmp_path, monkeypatch):
  config = testing_sweep.get_config()
  packed_dir, lone_dir = str(tmp_path / "packed"), str(tmp_path / "lone")
  calls = []
  real_train = train.train_and_evaluate
  monkeypatch.setattr(train, "train_and_evaluate", lambda c, w: calls.append(w) or real_train(c, w))
  report = sweep.run(config, _LRS, packed_dir)
  members = sweep.expand(config, _LRS)
  assert report.outcomes == {m.id: "done" for m in members}
  assert len(calls) == 1 and calls[0].startswith(os.path.join(packed_dir, sweep.PACKS_DIR))  # one program
  # Zipped: 2 members × 2 seeds = 4 replicas per evaluation (a product would give 8).
  assert len(_metrics(calls[0])) == 4 * 3
  sweep.run(config, _LRS, lone_dir, pack=False)
  assert len(calls) == 1 + 2

  for m in members:
    packed, lone = summary.member_dir(packed_dir, m.id), summary.member_dir(lone_dir, m.id)
    packed_rows, lone_rows = _metrics(packed), _metrics(lone)
    assert [list(r) for r in packed_rows] == [list(r) for r in lone_rows]  # same columns, same order
    for a, b in zip(packed_rows, lone_rows):
      for key, value in b.items():
        if isinstance(value, float):  # vmapped learning rates are not bit-identical to constants
          assert a[key] == pytest.approx(value, rel=1e-4, abs=1e-5), (m.id, key)
        else:
          assert a[key] == value, (m.id, key)
    config_json = lambda path: summary.read_json(os.path.join(path, "config.json"))
    assert config_json(packed) == config_json(lone)
    done = summary.read_json(os.path.join(packed, summary.DONE_FILE))
    assert [(r["seed"], r["step"]) for r in done["final_rows"]] == [(0, 4), (1, 4)]
    assert _events(packed) == ["start", "done"]
    # The member's own checkpoint: its replicas, restorable with its own config, as the lone run's.
    _, _, state, step = train.load_latest(m.config, packed)
    _, _, lone_state, _ = train.load_latest(m.config, lone)
    assert step == 4 and state.hparams == {} and list(np.asarray(state.key)[:, 1]) == [0, 1]
    for x, y in zip(jax.tree.leaves(state), jax.tree.leaves(lone_state)):
      np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-4, atol=1e-5)

  import csv  # pylint: disable=g-import-not-at-top
  tables = []
  for d in (packed_dir, lone_dir):
    with open(os.path.join(d, summary.RESULTS_CSV)) as f:
      tables.append(list(csv.DictReader(f)))
  assert list(tables[0][0]) == list(tables[1][0]) and len(tables[0]) == len(tables[1]) == 2 * 2 * 3
  assert [(r["member"], r["seed"], r["step"]) for r in tables[0]] == [(r["member"], r["seed"], r["step"])
                                                                      for r in tables[1]]

  # Re-running a finished packed sweep trains nothing.
  report = sweep.run(config, _LRS, packed_dir)
  assert report.outcomes == {m.id: "skipped_done" for m in members} and len(calls) == 3


@pytest.mark.slow  # ~40 s cold: the packed program and four lone ones
def test_members_of_other_objectives_packed_equal_lone_members(tmp_path):
  config = testing_sweep.get_config()
  packed_dir, lone_dir = str(tmp_path / "packed"), str(tmp_path / "lone")
  assert len(os.listdir(tmp_path)) == 0
  sweep.run_file(TESTING_SWEEP + ":objectives", config, packed_dir)
  assert len(os.listdir(os.path.join(packed_dir, sweep.PACKS_DIR))) == 1  # one program for the 4 members
  sweep.run_file(TESTING_SWEEP + ":objectives", config, lone_dir, pack=False)
  for m in sweep.expand(config, testing_sweep.get_sweep("objectives")):
    packed, lone = summary.member_dir(packed_dir, m.id), summary.member_dir(lone_dir, m.id)
    packed_rows, lone_rows = _metrics(packed), _metrics(lone)
    assert [list(r) for r in packed_rows] == [list(r) for r in lone_rows]  # same columns, same order
    for a, b in zip(packed_rows, lone_rows):
      for key, value in b.items():
        if isinstance(value, float):
          assert a[key] == pytest.approx(value, rel=1e-5, abs=1e-6), (m.id, key)
        else:
          assert a[key] == value, (m.id, key)
    _, _, state, _ = train.load_latest(m.config, packed)
    _, _, lone_state, _ = train.load_latest(m.config, lone)
    for x, y in zip(jax.tree.leaves(state), jax.tree.leaves(lone_state)):
      np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)


def test_a_diverging_member_of_a_pack_fails_alone(tmp_path):
  workdir = str(tmp_path / "sweep")
  report = sweep.run_file(TESTING_SWEEP + ":lrs_nan", testing_sweep.get_config(), workdir)
  good, bad = [m.id for m in sweep.expand(testing_sweep.get_config(), testing_sweep.get_sweep("lrs_nan"))]
  assert report.outcomes == {good: "done", bad: "failed"}
  assert not os.path.exists(os.path.join(summary.member_dir(workdir, good), summary.ERROR_FILE))
  error = summary.read_json(os.path.join(summary.member_dir(workdir, bad), summary.ERROR_FILE))
  assert error["type"] == "NonFiniteError" and "at step 1" in error["message"]
  assert _events(summary.member_dir(workdir, good)) == ["start", "pack_failed", "start", "done"]
  assert _events(summary.member_dir(workdir, bad)) == ["start", "pack_failed", "start", "failed"]
  assert sorted((r["seed"], r["step"]) for r in _metrics(summary.member_dir(workdir, good))) == [
      (s, t) for s in (0, 1) for t in (0, 2, 4)]
