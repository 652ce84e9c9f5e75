"""Tests of the divergence probe: estimates against closed forms, its bounds' properties, splits and bad input."""
import math
import re

import hypothesis
from hypothesis import strategies as st
import jax
import numpy as np
import pytest

from gan_jax import distributions
from gan_jax import divergences
from gan_jax import probe

# A small probe (seconds on 2 cores): fewer samples and steps than the default, same critics.
SMALL = probe.ProbeSpec(num_critics=2, num_steps=600, batch_size=256, num_train=8192, num_validation=1024,
                        num_test=4096)


@pytest.fixture(scope="module")
def shift_1():
  """N(0, 1) vs N(1, 1): JS 0.1114 (quadrature), KL 1/2 both ways, W1 = 1 (closed forms)."""
  p, g = distributions.Gaussian(0.0, 1.0), distributions.Gaussian(1.0, 1.0)
  return probe.estimate_samplers(p.sample, g.sample, jax.random.key(0), SMALL)


def test_estimates_match_closed_forms(shift_1):
  # KL(N(0,1)‖N(1,1)) = Δ²/2 = 0.5 both ways; W1 = |Δ| = 1; JS by quadrature (divergences_test checks it).
  js = float(divergences.js(distributions.Gaussian(0.0, 1.0), distributions.Gaussian(1.0, 1.0)).value)
  assert js == pytest.approx(0.11142, abs=1e-4)
  assert shift_1["js"] == pytest.approx(js, abs=0.015)
  assert shift_1["w1"] == pytest.approx(1.0, rel=0.08)
  for name in ("kl_pg", "kl_gp", "kl_pg_nwj", "kl_gp_nwj"):
    assert shift_1[name] == pytest.approx(0.5, rel=0.25), name


def test_every_estimate_has_a_stderr_and_critic_spread(shift_1):
  assert shift_1["num_critics"] == SMALL.num_critics
  for name in probe.ESTIMATES:
    assert 0 < shift_1[name + "_stderr"] < 0.2 * max(abs(shift_1[name]), 0.1), name
    assert shift_1[name + "_critic_std"] >= 0, name
  low, high = probe.interval(shift_1, "js")
  assert low < shift_1["js"] < high
  # JS's held-out error: ½·√(Var_p/n + Var_g/n) at 4,096 samples per side is a few thousandths here.
  assert 0.001 < shift_1["js_stderr"] < 0.01


def test_same_distribution_gives_near_zero():
  p = distributions.Gaussian(0.0, 1.0)
  out = probe.estimate_samplers(p.sample, p.sample, jax.random.key(1), SMALL)
  assert abs(out["js"]) < 0.01
  assert abs(out["w1"]) < 0.1
  assert abs(out["kl_pg_nwj"]) < 0.05 and abs(out["kl_gp_nwj"]) < 0.05


def test_same_key_same_estimates_and_arrays_match_samplers():
  p, g = distributions.Gaussian(0.0, 1.0), distributions.Gaussian(0.5, 1.0)
  spec = SMALL.replace(num_steps=100, validate_every=50)
  a = probe.estimate_samplers(p.sample, g.sample, jax.random.key(2), spec)
  b = probe.estimate_samplers(p.sample, g.sample, jax.random.key(2), spec)
  assert a == b
  # The array interface splits given samples (here into the samplers' split sizes: the same compiled program);
  # with enough of them it estimates the same quantity.
  n = spec.num_train + spec.num_validation + spec.num_test
  real, fake = p.sample(jax.random.key(3), n), g.sample(jax.random.key(4), n)
  c = probe.estimate(real, fake, jax.random.key(5), spec)
  assert c["w1"] == pytest.approx(a["w1"], abs=0.1)


def test_split_samples_is_a_disjoint_partition():
  spec = SMALL.replace(num_test=30, num_validation=20, batch_size=10)
  real = np.arange(100, dtype=np.float32)[:, None]
  fake = -np.arange(1, 81, dtype=np.float32)[:, None]
  splits = probe.split_samples(real, fake, spec, jax.random.key(0))
  (p_train, g_train), (p_val, g_val), (p_test, g_test) = splits.train, splits.validation, splits.test
  assert (len(p_test), len(p_val), len(p_train)) == (30, 20, 50)
  assert (len(g_test), len(g_val), len(g_train)) == (30, 20, 30)
  assert sorted(np.concatenate([p_train, p_val, p_test])[:, 0].tolist()) == list(range(100))
  assert sorted(np.concatenate([g_train, g_val, g_test])[:, 0].tolist()) == sorted((-np.arange(1, 81)).tolist())


@pytest.mark.parametrize("real, fake, needle", [
    (np.zeros((9000, 2)), np.zeros((9000, 3)), "real samples have dimension 2 and fake samples 3"),
    (np.zeros((100, 1)), np.zeros((9000, 1)), "real samples: 100 is too few; allowed: at least"),
    (np.zeros(9000), np.zeros((9000, 1)), "real samples has shape (9000,); allowed: a 2-D array"),
    (np.zeros((9000, 1)), np.full((9000, 1), np.nan), "fake samples hold 9000 non-finite values"),
])
def test_bad_samples_give_one_line(real, fake, needle):
  with pytest.raises(ValueError, match=re.escape(needle)) as e:
    probe.estimate(real, fake, jax.random.key(0), SMALL)
  assert "\n" not in str(e.value)


@pytest.mark.parametrize("fields, needle", [
    ({"num_critics": 0}, "config.probe.num_critics=0 is invalid; allowed: an integer >= 1"),
    ({"learning_rate": -1.0}, "config.probe.learning_rate=-1.0 is invalid; allowed: a finite number > 0"),
    ({"activation": "swish"}, "config.probe.activation='swish' is invalid; allowed: elu | gelu"),
    ({"num_steps": 150}, "config.probe.num_steps=150 is invalid; allowed: a multiple of validate_every (100)"),
    ({"batch_size": 10**6}, "config.probe.batch_size=1000000 is invalid; allowed: at most num_train"),
    ({"depht": 2}, "config.probe.depht is not a probe field; allowed: num_critics, features"),
    ({"w1": "yes"}, "config.probe.w1='yes' is invalid; allowed: True | False"),
])
def test_bad_probe_config_gives_one_line(fields, needle):
  with pytest.raises(ValueError, match="^" + re.escape(needle)):
    probe.spec_from_config(fields)


def test_rows_copy_the_run_columns_and_name_the_estimates():
  metrics = [{"step": 5, "seed": s, "objective": "minimax", "target": "t", "js": 0.1 * s, "loss_d": 1.0,
              "g_learning_rate": 0.01} for s in range(2)]
  estimates = {f"{n}{stat}": np.array([1.0, 2.0]) for n in probe.ESTIMATES for stat in ("", "_stderr",
                                                                                        "_critic_std")}
  rows = probe.rows(metrics, estimates, keep=("g_learning_rate",))
  assert [r["seed"] for r in rows] == [0, 1]
  assert rows[1]["js"] == pytest.approx(0.1) and rows[1]["js_probe"] == 2.0 and rows[1]["w1_probe_stderr"] == 2.0
  assert rows[0]["g_learning_rate"] == 0.01 and "loss_d" not in rows[0]
  assert "kl_pg_nwj_probe_critic_std" in rows[0]


@hypothesis.given(st.lists(st.floats(-5, 5), min_size=2, max_size=30), st.floats(-3, 3))
def test_mean_and_stderr_is_the_difference_of_means(a, shift):
  a = np.asarray(a, np.float32)
  b = a[::-1] + np.float32(shift)
  value, stderr = probe.mean_and_stderr(a, b)
  assert float(value) == pytest.approx(float(a.mean() - b.mean()), abs=1e-4)
  expected = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
  assert float(stderr) == pytest.approx(expected, rel=1e-3, abs=1e-5)


@pytest.mark.slow  # 20 s of compilation for an option (spec.w1); the estimates it leaves are tested by default
def test_without_the_w1_critic_the_other_estimates_are_unchanged():
  p, g = distributions.Gaussian(0.0, 1.0), distributions.Gaussian(1.0, 1.0)
  spec = SMALL.replace(num_steps=100, validate_every=50)
  full = probe.estimate_samplers(p.sample, g.sample, jax.random.key(0), spec)
  cheap = probe.estimate_samplers(p.sample, g.sample, jax.random.key(0), spec.replace(w1=False))
  assert math.isnan(cheap["w1"]) and math.isnan(cheap["w1_stderr"]) and not math.isnan(full["w1"])
  for name in ("js", "kl_pg", "kl_gp", "kl_pg_nwj", "kl_gp_nwj"):
    assert cheap[name] == full[name], name
