"""Tests for gan_jax.evaluation: the discriminator estimates come from the objective, and an objective axis drops
the columns only other objectives log."""
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import evaluation
from gan_jax import objectives

REAL = jnp.asarray([-2.0, -0.5, 0.0, 1.5, 3.0], jnp.float32)
FAKE = jnp.asarray([-3.0, -1.0, 0.25, 2.0], jnp.float32)


@pytest.mark.parametrize("name", objectives.OBJECTIVES)
def test_discriminator_estimates_are_the_objectives_own(name):
  objective = objectives.get_objective(name)
  estimates = evaluation.discriminator_estimates(objective, REAL, FAKE)
  expected = objective.estimates(REAL, FAKE)
  assert estimates.keys() == expected.keys() and expected
  for key, value in expected.items():
    np.testing.assert_array_equal(estimates[key], value, err_msg=key)


def test_an_objective_without_estimates_logs_none():
  silent = objectives.get_objective("hinge")._replace(estimates=lambda real_out, fake_out: {})
  assert evaluation.discriminator_estimates(silent, REAL, FAKE) == {}
  logistic = {"v_d", "js_lower_bound", "kl_pg_plugin", "kl_gp_plugin", "d_vs_dstar", "v_gap"}
  assert evaluation.eval_drop((objectives.get_objective("minimax"), silent)) == (frozenset(), frozenset(logistic))


def test_eval_drop_keeps_each_objectives_own_columns():
  axis = tuple(objectives.get_objective(n) for n in ("minimax", "least_squares", "hinge", "wasserstein", "fgan_kl"))
  drop = evaluation.eval_drop(axis)
  every = {"v_d", "js_lower_bound", "kl_pg_plugin", "kl_gp_plugin", "d_vs_dstar", "v_gap", "tv_lower_bound",
           "w1_critic", "f_lower_bound"}
  own = [{"v_d", "js_lower_bound", "kl_pg_plugin", "kl_gp_plugin", "d_vs_dstar", "v_gap"}, {"js_lower_bound"},
         {"tv_lower_bound"}, {"w1_critic"}, {"f_lower_bound"}]
  assert drop == tuple(frozenset(every - o) for o in own)
