"""Tests of the distribution-target task: config checks, learning (exact JS falls), 2-D evaluation, Dirac-GAN."""
import os
import sys

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from gan_jax import config as config_lib
from gan_jax import engine
from gan_jax import targets as targets_lib
from gan_jax import toy_task
from gan_jax import train
from gan_jax import writers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_config = config_lib.testing_config


@pytest.mark.parametrize("field, value, needle", [
    ("objective", "nope", "config.objective='nope'"),
    ("target", "moon", "config.target='moon'"),
    ("generator", "gru", "config.generator='gru'"),
    ("num_steps", 0, "config.num_steps=0"),
    ("batch_size", -4, "config.batch_size=-4"),
    ("eval_every", 0, "config.eval_every=0"),
    ("n_critic", 0, "config.n_critic=0"),
    ("update_mode", "sideways", "config.update_mode='sideways'"),
    ("seed", -1, "config.seed=-1"),
])
def test_invalid_config_raises_one_clear_error(field, value, needle):
  with pytest.raises(ValueError, match="^" + __import__("re").escape(needle)):
    train.build_gan(_config(**{field: value}))


@pytest.mark.parametrize("objective", ["non_saturating", "minimax"])
def test_learning_drives_exact_js_down(objective, tmp_path):
  """A real learning check: exact JS below 0.01 and D close to D* on the 1-D Gaussian target."""
  # Evaluated at the first and the last step only: the test reads no other row.
  config = _config(target="gaussian_1d", generator="affine", objective=objective, num_steps=1500,
                   eval_every=1500, batch_size=256, eval_samples=4096, checkpoint_every=0,
                   generator_kwargs=ml_collections.ConfigDict())
  config.discriminator_kwargs.features = 32
  config.discriminator_kwargs.depth = 2
  config.optimizer_g.learning_rate = config.optimizer_d.learning_rate = 3e-3
  rows = train.train_and_evaluate(config, str(tmp_path))
  first = writers.read_metrics(str(tmp_path / "metrics.jsonl"))[0]
  assert first["step"] == 0
  assert first["js"] > 0.3
  assert rows[0]["js"] < 0.01, rows[0]
  assert rows[0]["d_vs_dstar"] < 0.1, rows[0]


def test_ring_with_mlp_generator_logs_kde_ot_and_modes(tmp_path):
  config = _config(target="ring", generator="mlp", generator_kwargs=ml_collections.ConfigDict(), num_steps=2,
                   eval_every=2, eval_w1_samples=200)
  rows = train.train_and_evaluate(config, str(tmp_path))
  for key in ("js_kde", "js_kde_stderr", "kl_pg_kde", "w1_ot", "w1_ot_stderr", "modes_covered", "high_quality",
              "js_lower_bound"):
    assert key in rows[0], key
  assert "js" not in rows[0]  # No exact divergences without a generator density.
  assert 0 <= rows[0]["modes_covered"] <= 8 and 0.0 <= rows[0]["high_quality"] <= 1.0
  assert 0.0 <= rows[0]["js_kde"] <= np.log(2) + 4 * rows[0]["js_kde_stderr"]


def test_dirac_gan_through_build_gan_spirals_out_unless_r1(tmp_path):
  """Mescheder et al. 2018: simultaneous GD on the Dirac-GAN moves away from (θ, ψ) = (0, 0); R1 (γ = 1) converges."""
  sys.path.insert(0, os.path.join(ROOT, "configs"))
  import dirac as dirac_config  # pylint: disable=g-import-not-at-top

  def final_radius(r1_weight):
    config = dirac_config.get_config()
    config.r1_weight = r1_weight
    gan = train.build_gan(config)
    target = targets_lib.get_target(config.target)
    state = engine.init_states(gan, engine.seeds_of(config))
    state = state.replace(g_params={"params": {"theta": jnp.ones_like(state.g_params["params"]["theta"])}})
    state, _ = jax.jit(jax.vmap(lambda s: toy_task.train_steps(gan, target, s, 300)))(state)
    theta = float(state.g_params["params"]["theta"][0, 0])
    psi = float(jax.tree.leaves(state.d_params)[0].reshape(-1)[0])
    return np.hypot(theta, psi)

  assert final_radius(0.0) > 1.0
  assert final_radius(1.0) < 0.05
  rows = train.train_and_evaluate(dirac_config.get_config(), str(tmp_path))
  assert "v_d" in rows[0] and "js" not in rows[0] and "js_kde" not in rows[0]


@pytest.mark.parametrize("name", sorted(targets_lib.TARGETS))
def test_target_samples_are_prefix_stable(name):
  # An objective axis masks the extra critic steps of a replica with a smaller n_critic: it trains on the first
  # n_critic batches of the longest draw, which are its lone run's only when a draw is a prefix of a longer one.
  target, key = targets_lib.get_target(name), jax.random.PRNGKey(3)
  np.testing.assert_array_equal(jax.jit(target.sample, static_argnums=1)(key, 96)[:32],
                                jax.jit(target.sample, static_argnums=1)(key, 32))
