"""Tests for gan_jax.checkpoint: bit-identical round trips of a seeds-vmapped GAN state, keep-last-k, atomicity."""
import logging
import math
import os

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gan_jax import checkpoint

NUM_SEEDS = 4


def _state(seed: int = 0):
  """A GAN-like training state with a leading seeds axis on every leaf, as the engine vmaps it."""
  return _build_states(jax.vmap(jax.random.PRNGKey)(jnp.arange(NUM_SEEDS) + seed))


@jax.jit
@jax.vmap
def _build_states(key):
  # Compiled once: tracing the vmapped optax updates op by op on every call is slow.
  k_g, k_d, k_state = jax.random.split(key, 3)
  g_params = flax.core.freeze({"Dense_0": {"kernel": jax.random.normal(k_g, (4, 8)), "bias": jnp.zeros(8)}})
  d_params = {"Dense_0": {"kernel": jax.random.normal(k_d, (8, 1)), "bias": jnp.full((1,), 0.1)}}
  g_tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3))
  g_opt = g_tx.init(g_params)
  g_opt = g_tx.update(jax.tree.map(jnp.ones_like, g_params), g_opt, g_params)[1]  # mu, nu, count not all zero
  d_opt = optax.sgd(1e-2, momentum=0.9).init(d_params)
  return {
      "step": jnp.int32(17),
      "rng": k_state,
      "generator": {"params": g_params, "opt_state": g_opt},
      "discriminator": {"params": d_params, "opt_state": d_opt},
      "pair": (jnp.float32(1.5), jnp.arange(3, dtype=jnp.int32)),
  }


def _assert_bit_identical(got, want):
  assert jax.tree.structure(got) == jax.tree.structure(want)
  for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(np.asarray(a), np.asarray(b))
    # Bit patterns too, not just values (would catch -0.0 vs 0.0 or a NaN payload change).
    assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


@pytest.fixture
def manager(tmp_path):
  m = checkpoint.create_manager(str(tmp_path / "ckpt"), max_to_keep=2)
  yield m
  m.close()


def test_state_has_the_leaves_the_engine_uses():
  state = _state()
  assert state["rng"].dtype == jnp.uint32 and state["rng"].shape == (NUM_SEEDS, 2)
  assert state["step"].dtype == jnp.int32 and state["step"].shape == (NUM_SEEDS,)
  adam = state["generator"]["opt_state"][1][0]
  assert isinstance(adam, optax.ScaleByAdamState) and adam.count.dtype == jnp.int32
  assert isinstance(state["generator"]["opt_state"][0], optax.EmptyState)
  assert isinstance(state["generator"]["params"], flax.core.FrozenDict)
  assert all(leaf.shape[0] == NUM_SEEDS for leaf in jax.tree.leaves(state))


def test_round_trip_is_bit_identical(manager, caplog):
  state = _state()
  state["pair"] = (jnp.full((NUM_SEEDS,), -0.0), state["pair"][1])
  with caplog.at_level(logging.WARNING):
    checkpoint.save(manager, 17, state)
    restored, step = checkpoint.restore_latest(manager, _state(seed=100))
  assert step == 17
  _assert_bit_identical(restored, state)
  assert isinstance(restored["generator"]["params"], flax.core.FrozenDict)
  assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # no noise on the common path


def test_restore_into_eval_shape_target(manager):
  state = _state()
  checkpoint.save(manager, 5, state, wait=False)
  manager.wait_until_finished()
  restored, step = checkpoint.restore_latest(manager, jax.eval_shape(_state))
  assert step == 5
  _assert_bit_identical(restored, state)
  assert all(isinstance(leaf, jax.Array) for leaf in jax.tree.leaves(restored))


def test_restore_into_uncommitted_target_compiles_the_same_program(manager):
  # A jitted init returns uncommitted arrays; what orbax restores is committed to a device, and a committed input
  # lowers with sharding annotations: another program, so a resumed run would miss the compile cache.
  state = _state()
  assert not any(leaf.committed for leaf in jax.tree.leaves(state))
  checkpoint.save(manager, 3, state)
  restored, _ = checkpoint.restore_latest(manager, _state(seed=9))
  at_step = checkpoint.restore_step(manager, _state(seed=9), 3)
  _assert_bit_identical(restored, state)
  fn = jax.jit(lambda s: jax.tree.map(lambda x: x + 1, s))
  for got in (restored, at_step, checkpoint.uncommitted(jax.device_put(state, jax.devices()[0]))):
    assert not any(leaf.committed for leaf in jax.tree.leaves(got))
    assert fn.lower(got).as_text() == fn.lower(state).as_text()
  committed = jax.device_put(_state(seed=9), jax.devices()[0])
  assert all(leaf.committed for leaf in jax.tree.leaves(checkpoint.restore_step(manager, committed, 3)))


def test_restore_keeps_target_sharding(manager):
  devices = jax.devices()[:math.gcd(NUM_SEEDS, jax.device_count())]
  mesh = jax.sharding.Mesh(np.array(devices), ("seeds",))
  sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("seeds"))
  state = jax.device_put(_state(), sharding)
  checkpoint.save(manager, 1, state)
  restored, _ = checkpoint.restore_latest(manager, jax.device_put(_state(seed=7), sharding))
  _assert_bit_identical(restored, state)
  assert all(leaf.sharding == sharding for leaf in jax.tree.leaves(restored))


def test_typed_prng_keys_round_trip(manager):
  state = {"key": jax.vmap(jax.random.key)(jnp.arange(NUM_SEEDS)), "w": jnp.ones((NUM_SEEDS, 2))}
  checkpoint.save(manager, 2, state)
  for target in ({"key": jax.vmap(jax.random.key)(jnp.arange(NUM_SEEDS) + 9), "w": jnp.zeros((NUM_SEEDS, 2))},
                 jax.eval_shape(lambda: state)):
    restored, _ = checkpoint.restore_latest(manager, target)
    assert restored["key"].dtype == state["key"].dtype
    assert np.array_equal(jax.random.key_data(restored["key"]), jax.random.key_data(state["key"]))


def test_restore_latest_in_empty_directory_is_none(manager):
  assert checkpoint.latest_step(manager) is None
  assert checkpoint.restore_latest(manager, _state()) is None


def test_keeps_only_max_to_keep_and_restores_the_latest(manager, tmp_path):
  for step in (10, 20, 30):
    checkpoint.save(manager, step, _state(seed=step))
  assert checkpoint.latest_step(manager) == 30
  assert sorted(os.listdir(tmp_path / "ckpt")) == ["20", "30"]
  restored, step = checkpoint.restore_latest(manager, _state())
  assert step == 30
  _assert_bit_identical(restored, _state(seed=30))
  # A fresh manager (a resumed process) finds the same steps on disk.
  fresh = checkpoint.create_manager(str(tmp_path / "ckpt"), max_to_keep=2)
  assert checkpoint.latest_step(fresh) == 30 and fresh.all_steps() == [20, 30]
  fresh.close()


def test_unfinished_save_is_ignored(manager, tmp_path):
  checkpoint.save(manager, 3, _state())
  # What a kill mid-save leaves behind: orbax writes into <step>.orbax-checkpoint-tmp and renames when complete.
  partial = tmp_path / "ckpt" / "9.orbax-checkpoint-tmp" / "default.orbax-checkpoint-tmp"
  partial.mkdir(parents=True)
  (partial / "manifest.ocdbt").write_bytes(b"\0")
  fresh = checkpoint.create_manager(str(tmp_path / "ckpt"))
  assert checkpoint.latest_step(fresh) == 3
  assert checkpoint.restore_latest(fresh, _state())[1] == 3
  fresh.close()


def test_save_interval_and_force(tmp_path):
  m = checkpoint.create_manager(str(tmp_path / "ckpt"), save_interval_steps=10)
  checkpoint.save(m, 10, _state())
  checkpoint.save(m, 15, _state())  # not a multiple of 10: skipped
  assert m.all_steps() == [10]
  checkpoint.save(m, 15, _state(), force=True)
  assert m.all_steps() == [10, 15]
  m.close()


def test_mismatched_target_raises(manager):
  checkpoint.save(manager, 1, _state())
  wrong_dtype = _state()
  wrong_dtype["pair"] = (wrong_dtype["pair"][0].astype(jnp.float16), wrong_dtype["pair"][1])
  with pytest.raises(ValueError, match=r"pair/0 is float32\[4\] on disk but float16\[4\]"):
    checkpoint.restore_latest(manager, wrong_dtype)
  fewer_seeds = jax.tree.map(lambda x: x[:2], _state())
  with pytest.raises(ValueError, match=r"on disk but .*\[2"):
    checkpoint.restore_latest(manager, fewer_seeds)
  extra = dict(_state(), ema={"w": jnp.zeros(NUM_SEEDS)})
  with pytest.raises(ValueError, match="ema/w exists only in the target"):
    checkpoint.restore_latest(manager, extra)


@pytest.mark.parametrize("kwargs", [{"max_to_keep": 0}, {"save_interval_steps": 0}, {"max_to_keep": 1.5}])
def test_bad_manager_options_raise(tmp_path, kwargs):
  with pytest.raises(ValueError, match=next(iter(kwargs))):
    checkpoint.create_manager(str(tmp_path), **kwargs)


def test_bad_step_raises(manager):
  with pytest.raises(ValueError, match="step"):
    checkpoint.save(manager, -1, _state())


@flax.struct.dataclass
class _TrainState:
  step: jax.Array
  key: jax.Array
  params: dict


def test_struct_dataclass_state_round_trips(manager):
  state = _TrainState(step=jnp.full((NUM_SEEDS,), 3, jnp.int32),
                      key=jax.vmap(jax.random.PRNGKey)(jnp.arange(NUM_SEEDS)),
                      params={"w": jnp.linspace(-1.0, 1.0, NUM_SEEDS * 2).reshape(NUM_SEEDS, 2)})
  checkpoint.save(manager, 3, state)
  restored, _ = checkpoint.restore_latest(manager, jax.eval_shape(lambda: state))
  assert isinstance(restored, _TrainState)
  _assert_bit_identical(restored, state)


def test_relative_directory_works(tmp_path, monkeypatch):
  # Orbax rejects relative paths; `make demo` passes a relative workdir (runs/demo).
  monkeypatch.chdir(tmp_path)
  manager = checkpoint.create_manager("runs/rel/checkpoints")
  state = {"w": np.arange(3, dtype=np.float32)}
  checkpoint.save(manager, 1, state)
  restored, step = checkpoint.restore_latest(manager, state)
  assert step == 1 and np.array_equal(restored["w"], state["w"])
  assert (tmp_path / "runs" / "rel" / "checkpoints" / "1").is_dir()


def _damage(step_dir, how):
  """What a crashed disk or a careless user leaves: a deleted metadata file, a truncated or bit-flipped data file."""
  files = sorted(p for p in step_dir.rglob("*") if p.is_file())
  if how == "metadata":
    for p in files:
      if p.name.endswith("_METADATA") or p.name == "_CHECKPOINT_METADATA":
        p.unlink()
    return
  for data in (p for p in files if p.parent.name == "d"):  # the array chunks
    raw = bytearray(data.read_bytes())
    if how == "truncate":
      data.write_bytes(bytes(raw[: len(raw) // 2]))
    else:
      for i in range(0, len(raw), 7):
        raw[i] ^= 0xFF
      data.write_bytes(bytes(raw))


@pytest.mark.parametrize("how", ["metadata", "truncate", "bitflip"])
def test_damaged_latest_step_falls_back_to_the_previous_one(tmp_path, how, caplog):
  m = checkpoint.create_manager(str(tmp_path / "ckpt"), max_to_keep=3)
  checkpoint.save(m, 10, _state(seed=10))
  checkpoint.save(m, 20, _state(seed=20))
  m.close()
  _damage(tmp_path / "ckpt" / "20", how)
  fresh = checkpoint.create_manager(str(tmp_path / "ckpt"), max_to_keep=3)
  with caplog.at_level(logging.WARNING):
    restored, step = checkpoint.restore_latest(fresh, _state())
  assert step == 10
  _assert_bit_identical(restored, _state(seed=10))
  skipped = [r.getMessage() for r in caplog.records if "Skipped checkpoint step 20" in r.getMessage()]
  assert len(skipped) == 1 and "\n" not in skipped[0] and len(skipped[0]) < 300
  # The damaged step is gone, so the resumed run can save step 20 again.
  assert fresh.all_steps() == [10]
  checkpoint.save(fresh, 20, _state(seed=21))
  assert checkpoint.restore_latest(fresh, _state())[1] == 20
  fresh.close()


def test_no_restorable_step_is_one_clear_error(tmp_path):
  m = checkpoint.create_manager(str(tmp_path / "ckpt"))
  checkpoint.save(m, 5, _state())
  m.close()
  _damage(tmp_path / "ckpt" / "5", "metadata")
  fresh = checkpoint.create_manager(str(tmp_path / "ckpt"))
  with pytest.raises(ValueError, match=r"^no checkpoint in .* restores \(steps 5 all fail\)"):
    checkpoint.restore_latest(fresh, _state())
  fresh.close()
