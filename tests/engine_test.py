"""Tests of the engine: the step under every objective, clipping, simultaneous updates, EMA, key schedule, NaN stop,
objectives as a replica axis."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from gan_jax import checkpoint
from gan_jax import config as config_lib
from gan_jax import engine
from gan_jax import evaluation
from gan_jax import objectives
from gan_jax import parallel
from gan_jax import targets as targets_lib
from gan_jax import toy_task
from gan_jax import train
from gan_jax import writers

_config = config_lib.testing_config


# Four of the five f-GAN objectives run under slow: they share one code path (an output activation and a conjugate,
# whose values objectives_test checks for each f) and differ from fgan_kl only in those functions.
_F_GAN_SLOW = ("fgan_reverse_kl", "fgan_pearson", "fgan_hellinger", "fgan_js")


@pytest.mark.parametrize("objective", [pytest.param(o, marks=pytest.mark.slow) if o in _F_GAN_SLOW else o
                                       for o in objectives.OBJECTIVES])
def test_few_steps_every_objective(objective):
  config = _config(objective=objective, num_seeds=2)
  gan = train.build_gan(config)
  target = targets_lib.get_target(config.target)
  state = engine.init_states(gan, engine.seeds_of(config))
  new_state, metrics = jax.jit(jax.vmap(lambda s: toy_task.train_steps(gan, target, s, 3)))(state)
  assert int(new_state.step[0]) == 3
  for name, value in metrics.items():
    assert value.shape == (2, 3), name
    assert np.isfinite(np.asarray(value)).all(), name
  # Both players moved, and the two seeds are different replicas.
  for before, after in ((state.g_params, new_state.g_params), (state.d_params, new_state.d_params)):
    assert not all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(before), jax.tree.leaves(after)))
  leaf = jax.tree.leaves(new_state.g_params)[0]
  assert not np.array_equal(leaf[0], leaf[1])
  for key in ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm", "d_grad_norm", "g_param_norm", "d_param_norm"):
    assert key in metrics


def _tiny_image_config(kind):
  if kind == "dcgan":
    c = config_lib.image_config("digits")
    c.generator_kwargs.features = c.discriminator_kwargs.features = 8
  else:
    c = config_lib.image_to_image_config("super_resolution")
    c.generator_kwargs.features = c.discriminator_kwargs.features = 4
  return c


@pytest.mark.parametrize("kind", ["toy", "dcgan", "unet"])
def test_init_compiled_at_a_lower_optimisation_level_draws_the_same_bits(kind):
  # engine.INIT_COMPILER_OPTIONS only speeds up compiling: every parameter must equal the default compile's.
  c = config_lib.testing_config(num_seeds=2) if kind == "toy" else _tiny_image_config(kind)
  gan = train.build_gan(c)
  seeds = np.array([0, 1])
  keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray(seeds, jnp.uint32))
  default = jax.jit(lambda: jax.vmap(lambda k: engine.init_state(gan, k, {}))(keys))()
  fast = engine.init_states(gan, seeds)
  for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(default), jax.tree.leaves(fast)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=jax.tree_util.keystr(path))


def test_weight_clip_holds_after_every_step():
  config = _config(objective="wasserstein", n_critic=3)
  config.optimizer_d.learning_rate = 0.5
  gan = train.build_gan(config)
  target = targets_lib.get_target(config.target)
  state = engine.init_states(gan, engine.seeds_of(config))
  state, _ = jax.jit(jax.vmap(lambda s: toy_task.train_steps(gan, target, s, 2)))(state)
  c = gan.objective.weight_clip
  assert max(float(jnp.max(jnp.abs(p))) for p in jax.tree.leaves(state.d_params)) <= c


def test_simultaneous_generator_sees_old_discriminator():
  config = _config(update_mode="simultaneous")
  gan = train.build_gan(config)
  target = targets_lib.get_target(config.target)
  state = jax.tree.map(lambda x: x[0], engine.init_states(gan, engine.seeds_of(config)))

  @jax.jit  # one program for the step and the reference: eagerly, every small op compiled on its own took longer
  def step_and_by_hand(state):
    real = toy_task.sample_real(gan, target, state)
    new_state, _ = engine.train_step(gan, state, real)
    # Recompute the generator update by hand against the *old* discriminator.
    k_g = jax.random.split(jax.random.fold_in(state.key, state.step))[1]
    keys = gan.players.generator_keys(k_g)
    loss = lambda p: engine.generator_loss(gan, p, state.g_batch_stats, state.d_params, state.d_batch_stats,
                                           keys)[0]
    grads = jax.grad(loss)(state.g_params)
    updates, _ = gan.g_tx.update(grads, state.g_opt_state, state.g_params)
    return new_state, jax.tree.map(lambda p, u: p + u, state.g_params, updates)

  new_state, expected = step_and_by_hand(state)
  for a, b in zip(jax.tree.leaves(expected), jax.tree.leaves(new_state.g_params)):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("player, field, value", [
    ("optimizer_g", "name", "adamax"),
    ("optimizer_d", "learning_rate", 0.0),
    ("optimizer_g", "learning_rate", -1e-3),
])
def test_invalid_optimizer_raises(player, field, value):
  c = _config()
  c[player][field] = value
  with pytest.raises(ValueError, match=f"config.{player}.{field}="):
    train.build_gan(c)


def test_non_finite_stops_with_step_seed_objective_and_keeps_last_good(tmp_path):
  # Adam at 1e30 in a 2-seed run of the testing config: the training program of the diverging member that
  # sweep_test.test_a_diverging_member_of_a_pack_fails_alone runs alone (the persistent cache shares it).
  config = _config(num_seeds=2, num_steps=6, eval_every=2, checkpoint_every=2)
  config.optimizer_g.learning_rate = config.optimizer_d.learning_rate = 1e30
  with pytest.raises(engine.NonFiniteError,
                     match=r"at step \d+ \(seed \d+, objective 'non_saturating': [dg]_\w+ = (nan|inf)\)"):
    train.train_and_evaluate(config, str(tmp_path))
  rows = writers.read_metrics(str(tmp_path / "metrics.jsonl"))
  last_step = max(r["step"] for r in rows)
  manager = checkpoint.create_manager(str(tmp_path / "checkpoints"))
  assert checkpoint.latest_step(manager) == last_step
  assert all(np.isfinite(r["g_loss"]) for r in rows if "g_loss" in r)
  # The kept checkpoint can train: its whole state (optimizer moments included) is finite.
  _, _, state, _ = train.load_latest(config, str(tmp_path))
  assert np.asarray(engine.all_finite(state)).all()


def test_all_finite_reads_the_whole_state():
  gan = train.build_gan(_config())
  state = engine.init_states(gan, np.arange(3))
  assert np.asarray(engine.all_finite(state)).tolist() == [True, True, True]
  # An overflowed optimizer moment with finite parameters (what Adam's second moment did at a huge step).
  leaf = jax.tree.leaves(state.d_opt_state)[1]
  bad = jax.tree.map(lambda x: x.at[1].set(jnp.inf) if x is leaf else x, state.d_opt_state)
  assert np.asarray(engine.all_finite(state.replace(d_opt_state=bad))).tolist() == [True, False, True]


def test_first_non_finite_is_the_earliest_step_across_replicas():
  metrics = {k: np.ones((3, 5)) for k in ("d_loss", "g_loss", "d_grad_norm", "g_grad_norm")}
  finite = np.array([True, True, True])
  assert engine.first_non_finite(metrics, finite) is None
  metrics["d_loss"][0, 4] = np.nan
  metrics["g_grad_norm"][2, 1] = np.inf  # finite losses, an overflowing gradient: still a stop
  assert engine.first_non_finite(metrics, finite) == (2, 1, "g_grad_norm = inf")
  metrics["g_grad_norm"][2, 1] = 1.0
  assert engine.first_non_finite(metrics, finite) == (0, 4, "d_loss = nan")
  clean = {k: np.ones((3, 5)) for k in metrics}
  replica, offset, what = engine.first_non_finite(clean, np.array([True, False, True]))
  assert (replica, offset) == (1, -1) and "training state" in what


def test_generator_ema_follows_its_definition():
  config = _config(ema_decay=0.75)
  gan = train.build_gan(config)
  target = targets_lib.get_target(config.target)
  state = jax.tree.map(lambda x: x[0], engine.init_states(gan, engine.seeds_of(config)))
  one, _ = engine.train_step(gan, state, toy_task.sample_real(gan, target, state))
  two, _ = engine.train_step(gan, one, toy_task.sample_real(gan, target, one))
  # ema_1 = 0.75·θ_0 + 0.25·θ_1; ema_2 = 0.75·ema_1 + 0.25·θ_2 (by hand, in NumPy).
  for t0, t1, t2, ema in zip(*(jax.tree.leaves(s.g_params) for s in (state, one, two)),
                             jax.tree.leaves(two.ema_g_params)):
    expected = 0.75 * (0.75 * np.asarray(t0) + 0.25 * np.asarray(t1)) + 0.25 * np.asarray(t2)
    np.testing.assert_allclose(ema, expected, rtol=1e-6, atol=1e-7)


def test_key_schedule_is_fold_in_of_the_step():
  # Computed by hand from the replica's raw key: the schedule the docstring of engine.py states.
  gan = train.build_gan(_config())
  state = jax.tree.map(lambda x: x[0], engine.init_states(gan, engine.seeds_of(_config())))
  state = state.replace(step=jnp.asarray(7, jnp.int32))
  k = jax.random.fold_in(state.key, 7)
  np.testing.assert_array_equal(engine.step_key(state), k)
  np.testing.assert_array_equal(engine.data_key(state), jax.random.fold_in(k, 1))
  np.testing.assert_array_equal(engine.eval_key(state), jax.random.fold_in(k, 2))
  k_d, k_g = jax.random.split(k)
  for i in range(3):
    np.testing.assert_array_equal(jnp.stack(engine.critic_keys(state, i)),
                                  jax.random.split(jax.random.fold_in(k_d, i), 3))
  np.testing.assert_array_equal(engine.generator_keys(gan, state)[0], k_g)  # toy players: the key itself


@pytest.mark.parametrize("objective", ["non_saturating", "wgan_gp"])
def test_unrolled_and_scanned_critic_steps_agree(objective):
  # One step builder, two loop forms (image players unroll, toy players scan): the same numbers either way.
  config = _config(objective=objective, n_critic=3)
  gan = train.build_gan(config)
  unrolled = gan._replace(players=gan.players._replace(unroll_critic=True))
  target = targets_lib.get_target(config.target)
  state = jax.tree.map(lambda x: x[0], engine.init_states(gan, engine.seeds_of(config)))
  real = toy_task.sample_real(gan, target, state)
  # Both forms in one program: one compilation instead of two.
  (a, metrics_a), (b, metrics_b) = jax.jit(
      lambda s, r: (engine.train_step(gan, s, r), engine.train_step(unrolled, s, r)))(state, real)
  for x, y in zip(jax.tree.leaves((a, metrics_a)), jax.tree.leaves((b, metrics_b))):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)


# Objectives as a replica axis: a clipped critic with its own n_critic and a saturating loss, 2 seeds each; the
# critic first, so that the groups of equal n_critic (n_critic 1 first) go back to their places in the state.
_AXIS = ("wasserstein", "minimax")
_AXIS_STEPS = 3


def _axis_config(**overrides):
  # The affine generator without KDE compiles fastest (the flow's paths are the same step).
  config = _config(num_seeds=2, generator="affine", eval_kde_samples=0, **overrides)
  config.generator_kwargs = ml_collections.ConfigDict()
  return config


def _lone_config(objective):
  config = _axis_config(objective=objective, n_critic=3 if objective == "wasserstein" else 1)
  config.objective_kwargs.weight_clip = 0.05 if objective == "wasserstein" else None
  return config


def _trained_rows(config, groups=None):
  """(final state, rows of the final evaluation) of `config`'s replicas after `_AXIS_STEPS` steps in one chunk."""
  gan, target = train.build_gan(config), targets_lib.get_target(config.target)
  replicas = parallel.replicas_of(config)
  state = engine.init_states(gan, replicas)
  state, metrics, _ = toy_task.jitted_chunk(gan, target, parallel.create_layout(config), state, _AXIS_STEPS,
                                            groups=groups)(state)
  spec = toy_task.eval_spec(config)
  evals = jax.jit(jax.vmap(lambda s: evaluation.evaluate(gan, target, s, engine.eval_key(s), spec)))(state)
  drop = evaluation.eval_drop(gan.objectives) if gan.objectives else ()
  return state, engine.rows_of(config, config.target, _AXIS_STEPS, replicas, metrics, evals, eval_drop=drop)


@pytest.fixture(scope="module")
def lone_runs():
  return {o: _trained_rows(_lone_config(o)) for o in _AXIS}


@pytest.mark.parametrize("mode", engine.N_CRITIC_MODES)
def test_objective_axis_equals_each_objective_alone(mode, lone_runs):
  config = _axis_config(objective="minimax")
  config.objective_axis.update(dict(objectives=_AXIS, n_critic=(3, 1), weight_clip=(0.05, None), n_critic_mode=mode))
  gan = train.build_gan(config)
  replicas = parallel.replicas_of(config)
  np.testing.assert_array_equal(replicas.objectives, [0, 0, 1, 1])  # objectives outer, seeds inner
  groups = toy_task.critic_groups(gan, replicas, mode)
  assert len(groups) == (2 if mode == "group" else 1)
  state, rows = _trained_rows(config, groups)
  for j, objective in enumerate(_AXIS):
    lone_state, lone_rows = lone_runs[objective]
    mine = [r for r in rows if r["objective"] == objective]
    assert [r["seed"] for r in mine] == [r["seed"] for r in lone_rows]
    for row, lone_row in zip(mine, lone_rows):
      assert row.keys() == lone_row.keys()  # e.g. no js_lower_bound for the critic, no w1_critic for minimax
      for name, value in lone_row.items():
        if isinstance(value, float):
          np.testing.assert_allclose(row[name], value, rtol=1e-5, atol=1e-6, err_msg=f"{objective} {name}")
        else:
          assert row[name] == value, name
    picked = engine.objective_alone(state, np.flatnonzero(replicas.objectives == j))
    assert jax.tree.structure(picked) == jax.tree.structure(lone_state)  # the lone run's checkpoint tree
    for x, y in zip(jax.tree.leaves(picked), jax.tree.leaves(lone_state)):
      np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)
  clip = max(float(jnp.max(jnp.abs(p[:2]))) for p in jax.tree.leaves(state.d_params))
  assert clip <= np.float32(0.05)


def test_a_group_of_one_objective_steps_with_its_lone_program():
  # Bit-identical over long runs (a select over objectives may round differently in the last place).
  config = _axis_config(objective="minimax")
  config.objective_axis.update(dict(objectives=("wasserstein", "minimax", "non_saturating"), n_critic=(3, 1, 1)))
  gan = train.build_gan(config)
  critic = gan.with_n_critic(3)
  assert (critic.objectives, critic.objective.name, critic.n_critic) == ((), "wasserstein", 3)
  assert gan.with_n_critic(1).objectives == gan.objectives and not gan.with_n_critic(1).masks_critic


@pytest.mark.parametrize("field, value, needle", [
    ("objectives", ("minimax", "nope"), r"config.objective_axis.objectives=\('minimax', 'nope'\) is invalid; "
     "allowed: names of minimax"),
    ("n_critic", (1,), r"config.objective_axis.n_critic=\(1,\) is invalid; allowed: empty or 2 values"),
    ("n_critic", (1, 0), "allowed: integers >= 1"),
    ("weight_clip", (-1.0, None), "config.objective_axis='wasserstein' is invalid; allowed: weight_clip must be"),
    ("n_critic_mode", "both", "config.objective_axis.n_critic_mode='both' is invalid; allowed: group | mask"),
])
def test_objective_axis_bad_values_are_one_line(field, value, needle):
  config = _axis_config(objective="minimax")
  config.objective_axis.objectives = _AXIS
  config.objective_axis[field] = value
  with pytest.raises(ValueError, match=needle):
    train.build_gan(config)


def test_objective_axis_refuses_what_its_objectives_cannot_share():
  config = _axis_config(objective="non_saturating")
  config.objective_axis.objectives = _AXIS
  with pytest.raises(ValueError, match=r"config.objective='non_saturating' is invalid; allowed: one of config\."):
    train.build_gan(config)
  config.objective = "minimax"
  config.vmap_hparams.real_target = (0.9, 1.0)
  with pytest.raises(ValueError, match="label smoothing only for"):
    train.build_gan(config)
  image = config_lib.image_config("digits")
  image.objective_axis.objectives = ("non_saturating", "hinge")
  with pytest.raises(ValueError, match=r"config.objective_axis.objectives=.* allowed: \(\) for image runs"):
    train.build_gan(image)
