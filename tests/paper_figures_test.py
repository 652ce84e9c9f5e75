"""Tests for the gan_jax/paper_figures/ package and experiments/figures.py: each figure's numbers against an independent
reference (closed forms, scipy.integrate.quad, REFERENCES.md), plus house-style checks on the drawn figures."""
import json
import math
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.lines import Line2D
from scipy import integrate
from scipy import special
from scipy import stats

from gan_jax import nash
from gan_jax import objectives
from gan_jax import paper_figures
from gan_jax import writers
from gan_jax.paper_figures import divergence_trajectories
from gan_jax.paper_figures import generator_costs

ROOT = pathlib.Path(__file__).resolve().parents[1]
LOG2 = math.log(2.0)
# REFERENCES.md (quad): p = N(0, 1), g = N(μ, 1): μ -> (JSD, V(D*, G)).
GOLDEN_JSD = {0.5: (0.030311, -1.325672), 1.0: (0.111421, -1.163451), 2.0: (0.336831, -0.712633)}
# REFERENCES.md: minimax generator gradient with the optimal D, 2·dJSD/dθ, as published (2-3 significant digits).
PUBLISHED_GRADIENTS = {0.5: 0.235, 1.0: 0.398, 2.0: 0.450, 4.0: 0.137, 8.0: 0.0004}


@pytest.fixture(scope="module")
def config():
  return paper_figures.testing_config()


_CACHE = {}


def figure(name, config):
  """(figure, data) of `name`, computed once per test session."""
  if name not in _CACHE:
    _CACHE[name] = paper_figures.make_figure(name, config)
  return _CACHE[name]


def quad_jsd(log_p, log_g, lo, hi):
  """JSD(p‖g) in float64 by scipy.integrate.quad (independent of the library's quadrature)."""
  def terms(x):
    lp, lg = log_p(x), log_g(x)
    lm = np.logaddexp(lp, lg) - LOG2
    return 0.5 * (np.exp(lp) * (lp - lm) + np.exp(lg) * (lg - lm))
  return integrate.quad(terms, lo, hi, limit=400, epsabs=1e-13, epsrel=1e-12)[0]


def check_house_style(fig):
  """Every visible panel has axis labels; panels with several series tell them apart without colour."""
  for ax in fig.axes:
    if not ax.get_visible():
      continue
    assert ax.get_xlabel() or ax.get_ylabel(), f"unlabelled panel {ax.get_title()!r}"
    styles = [(str(l.get_linestyle()), str(l.get_marker())) for l in ax.get_lines()
              if isinstance(l, Line2D) and not l.get_label().startswith("_")]
    assert len(styles) == len(set(styles)), f"series share a line style and marker in {ax.get_title()!r}"
  assert any(ax.get_legend() is not None for ax in fig.axes) or fig.legends, "no legend"


# --- nash ------------------------------------------------------------------------------------------------------

def test_nash_matches_references(config):
  fig, data = figure("nash", config)
  rows = {r["mu"]: r for r in data["theorem"] if r["target"] == "N(0,1)"}
  for mu, (jsd, value) in GOLDEN_JSD.items():
    assert rows[mu]["jsd"] == pytest.approx(jsd, abs=2e-6)
    assert rows[mu]["value"] == pytest.approx(value, abs=2e-6)
  check_house_style(fig)


# --- goodfellow_fig1 -------------------------------------------------------------------------------------------

def test_goodfellow_fig1_converges_towards_d_one_half(config):
  fig, data = figure("goodfellow_fig1", config)
  js = data["js"]
  assert np.all(np.diff(js) < 0), f"exact JSD must decrease across stages, got {js}"
  assert js[-1] < 0.1 * js[0]
  half = data["mean_abs_d_half"]
  assert half[0] > 0.2, "the first stage should show a discriminating D (Fig. 1a)"
  assert half[-1] < 0.25 * half[0], f"E_p|D − ½| must shrink, got {half}"
  check_house_style(fig)


def test_goodfellow_fig1_exact_numbers_against_scipy(config):
  _, data = figure("goodfellow_fig1", config)
  # gaussian_1d = N(2, 0.5²); the affine generator is N(loc, scale²) at each stage.
  p = stats.norm(2.0, 0.5)
  for i, (loc, scale) in enumerate(zip(data["g_loc"], data["g_scale"])):
    g = stats.norm(loc, scale)
    lo, hi = min(2.0 - 5.0, loc - 12 * scale), max(2.0 + 5.0, loc + 12 * scale)
    assert data["js"][i] == pytest.approx(quad_jsd(p.logpdf, g.logpdf, lo, hi), abs=2e-5)
    x = data["x"].astype(np.float64)
    d_star = special.expit(p.logpdf(x) - g.logpdf(x))  # Goodfellow et al. 2014, Prop. 1.
    np.testing.assert_allclose(data["d_star"][i], d_star, atol=2e-5)
    np.testing.assert_allclose(data["g"][i], g.pdf(x), atol=1e-5, rtol=1e-4)
  np.testing.assert_allclose(data["p"], p.pdf(data["x"].astype(np.float64)), atol=1e-6, rtol=1e-5)


# --- generator_costs -------------------------------------------------------------------------------------------

def test_generator_costs_match_closed_forms(config):
  fig, data = figure("generator_costs", config)
  d = data["d"].astype(np.float64)
  np.testing.assert_allclose(data["cost_minimax"], np.log1p(-d), rtol=2e-5, atol=1e-6)
  np.testing.assert_allclose(data["cost_non_saturating"], -np.log(d), rtol=2e-5, atol=1e-6)
  np.testing.assert_allclose(data["cost_maximum_likelihood"], -0.5 * d / (1.0 - d), rtol=2e-5, atol=1e-6)
  check_house_style(fig)


def test_generator_cost_slopes_and_saturation(config):
  _, data = figure("generator_costs", config)
  at = data["slope_at"]
  # dJ/dD of log(1 − D), −log D and −½D/(1 − D).
  np.testing.assert_allclose(data["slope_d_minimax"], -1.0 / (1.0 - at), rtol=1e-3)
  np.testing.assert_allclose(data["slope_d_non_saturating"], -1.0 / at, rtol=1e-3)
  np.testing.assert_allclose(data["slope_d_maximum_likelihood"], -0.5 / (1.0 - at) ** 2, rtol=1e-3)
  # In the logit (what backpropagates): −D, −(1 − D), −½·D/(1 − D).
  np.testing.assert_allclose(data["slope_logit_minimax"], -at, rtol=1e-4)
  np.testing.assert_allclose(data["slope_logit_non_saturating"], -(1.0 - at), rtol=1e-4)
  np.testing.assert_allclose(data["slope_logit_maximum_likelihood"], -0.5 * at / (1.0 - at), rtol=1e-4)
  # Saturation at D(G(z)) → 0: the minimax cost's logit gradient vanishes, the non-saturating one does not.
  small = np.argmin(at)
  assert at[small] <= 1e-3
  assert abs(data["slope_logit_minimax"][small]) < 2e-3
  assert abs(data["slope_logit_non_saturating"][small]) > 0.99


# --- gradient_vanishing ----------------------------------------------------------------------------------------

def _scipy_two_djs_dtheta(theta, h=1e-4):
  # Independent of the library: central difference of JSD(N(0,1)‖N(θ,1)) by quad, in float64.
  jsd = lambda t: quad_jsd(stats.norm(0, 1).logpdf, stats.norm(t, 1).logpdf, min(0.0, t) - 15, max(0.0, t) + 15)
  return 2.0 * (jsd(theta + h) - jsd(theta - h)) / (2 * h)


def test_minimax_gradient_with_optimal_d_matches_published_numbers(config):
  _, data = figure("gradient_vanishing", config)
  got = dict(zip(data["published_thetas"].tolist(), data["minimax_published_exact"]))
  for theta, published in PUBLISHED_GRADIENTS.items():
    if theta < 8:
      assert got[theta] == pytest.approx(published, abs=6e-4), theta  # 3 significant digits.
    else:
      assert round(got[theta], 4) == published  # REFERENCES.md gives 1 significant digit at θ = 8.
    assert got[theta] == pytest.approx(_scipy_two_djs_dtheta(theta), rel=1e-3, abs=1e-6), theta


def test_optimal_d_gradients_against_closed_form(config):
  _, data = figure("gradient_vanishing", config)
  # With D* frozen at θ: ∂/∂θ E log(1 − D*) = θ·E σ(−θ²/2 − θz), ∂/∂θ E −log D* = θ·E σ(θ²/2 + θz), z ~ N(0, 1).
  for theta, mm, ns, two_djs in zip(data["thetas"], data["minimax_exact"], data["non_saturating_exact"],
                                    data["two_djs_dtheta"]):
    theta = float(theta)
    e = lambda sign: integrate.quad(lambda z: stats.norm.pdf(z) * special.expit(sign * (theta**2 / 2 + theta * z)),
                                    -15, 15, points=[-theta / 2], limit=200)[0]
    assert mm == pytest.approx(theta * e(-1.0), rel=2e-3, abs=1e-7)
    assert ns == pytest.approx(theta * e(1.0), rel=2e-3)
    assert two_djs == pytest.approx(mm, rel=2e-3, abs=1e-7)  # the library's autodiff through its JSD quadrature.
  assert np.all(np.diff(data["non_saturating_exact"]) > 0), "the non-saturating gradient grows with θ"
  assert data["minimax_exact"][-1] < 1e-3 < data["non_saturating_exact"][-1]


def test_trained_discriminator_trend(config):
  fig, data = figure("gradient_vanishing", config)
  mm, ns = data["minimax_norm"], data["non_saturating_norm"]
  early, late = slice(1, 51), slice(-100, None)
  # Arjovsky & Bottou 2017, Fig. 2: as D trains, the minimax generator gradient decays by orders of magnitude.
  assert np.median(mm[late]) < 0.1 * np.max(mm[early])
  # Fig. 3: the −log D gradient does not vanish; it grows towards its optimal-D value.
  assert np.median(ns[late]) > 5 * np.median(ns[early])
  assert np.median(ns[late]) > 0.3 * data["non_saturating_optimal_norm"]
  assert np.median(ns[late]) > 1000 * np.median(mm[late])
  assert np.median(ns[late]) < 1.1 * data["non_saturating_optimal_norm"]
  check_house_style(fig)


# --- wgan_parallel_lines ---------------------------------------------------------------------------------------

def test_parallel_lines_values(config):
  fig, data = figure("wgan_parallel_lines", config)
  thetas = data["thetas"]
  zero = thetas == 0.0
  assert zero.any()
  # Arjovsky et al. 2017, Example 1: W1 = |θ|, JS = log 2 and KL = +∞ for θ ≠ 0; all 0 at θ = 0.
  np.testing.assert_allclose(data["w1"], np.abs(thetas), atol=1e-6)
  np.testing.assert_allclose(data["js"][~zero], LOG2, atol=1e-6)
  assert np.all(np.isinf(data["kl"][~zero])) and np.all(data["kl"][~zero] > 0)
  assert np.all(data["js"][zero] == 0.0) and np.all(data["kl"][zero] == 0.0)
  # Sample-based W1 (optimal assignment, biased upward by O(1/n) in the vertical coordinate).
  err = data["w1_sample"] - np.abs(data["sample_thetas"])
  assert np.all(err > -3 * data["w1_sample_stderr"] - 1e-3), err
  assert np.all(err < 0.05), err
  check_house_style(fig)


# --- optimal_critic --------------------------------------------------------------------------------------------

def test_optimal_critic_saturation_and_linear_critic(config):
  fig, data = figure("optimal_critic", config)
  theta, scale = data["theta"], data["scale"]
  # D* for N(0, σ²) vs N(θ, σ²): logit (θ² − 2θx)/(2σ²), derivative D*(1 − D*)·(−θ/σ²); here in float64.
  x = data["fake"].astype(np.float64)
  logit = (theta**2 - 2 * theta * x) / (2 * scale**2)
  closed = -special.expit(logit) * special.expit(-logit) * theta / scale**2
  np.testing.assert_allclose(data["d_star_grad_fake"], closed, rtol=2e-2, atol=1e-12)
  assert np.max(np.abs(data["d_star_grad_fake"])) < 1e-3
  np.testing.assert_allclose(data["d_star"], special.expit((theta**2 - 2 * theta * data["x"]) / (2 * scale**2)),
                             atol=1e-5)
  # The WGAN-GP critic is nearly linear between the modes: |f′| ≈ 1 (Arjovsky et al. 2017, Fig. 2) and, for the
  # penalised objective, ≈ 1 + θ/(2λ) (pointwise optimum with interpolate density 1/θ).
  slope = abs(data["critic_slope"])
  assert slope == pytest.approx(1.0, abs=0.2)
  assert slope == pytest.approx(1.0 + theta / (2 * config.optimal_critic.gradient_penalty_weight), abs=0.08)
  lo, hi = data["gap"]
  inside = (data["x"] >= lo) & (data["x"] <= hi)
  residual = data["critic"][inside] - (data["critic_slope"] * data["x"][inside] + data["critic_intercept"])
  assert np.max(np.abs(residual)) < 0.1 * slope * (hi - lo), "critic is not close to linear on the gap"
  check_house_style(fig)


# --- dirac_gan -------------------------------------------------------------------------------------------------

def test_dirac_gan_numbers(config):
  fig, data = figure("dirac_gan", config)
  np.testing.assert_allclose(data["eig_minimax"], [-0.5j, 0.5j], atol=1e-5)
  np.testing.assert_allclose(data["eig_wgan"], [-1j, 1j], atol=1e-5)
  for gamma, eig in zip(data["gammas"], data["r1_eig_jacobian"]):
    expected = np.sort_complex(np.roots([1.0, gamma, 0.25]).astype(np.complex128))
    np.testing.assert_allclose(np.sort_complex(eig), expected, atol=1e-5)
  sim = data["norm_minimax_simultaneous"]
  assert sim[-1] > 1.25 * sim[0] and np.all(np.diff(sim) > 0)
  assert data["norm_r1_simultaneous"][-1] < 1e-3 * data["norm_r1_simultaneous"][0]
  # The plotted field is the library's v: check one arrow by hand (minimax, v = (ψσ(ψθ), −θσ(ψθ))).
  grid = data["grid"]
  i, j = 1, len(grid) - 2
  theta, psi = grid[j], grid[i]
  s = special.expit(psi * theta)
  np.testing.assert_allclose(data["field_minimax"][i, j], [psi * s, -theta * s], rtol=1e-5)
  check_house_style(fig)


# --- probe_over_training ------------------------------------------------------------------------------------------

def test_probe_over_training_reads_a_runs_probe_rows(tmp_path):
  """The panels from a hand-written probe.jsonl: seed means per step, NaN where nothing was logged."""
  run = tmp_path / "run"
  run.mkdir()
  rows = [{"step": step, "seed": seed, "objective": "minimax", "js": 0.3 - 0.01 * step + 0.02 * seed,
           "js_probe": 0.29 - 0.01 * step + 0.02 * seed, "js_probe_stderr": 0.01 * (seed + 1),
           "js_lower_bound": 0.05 * seed, "w1": 1.0 + seed, "w1_probe": float("nan"),
           "w1_probe_stderr": float("nan")} for step in (0, 10) for seed in (0, 1)]
  writers.append_rows(str(run / "probe.jsonl"), rows)
  config = paper_figures.testing_config()
  config.probe_over_training.run_dir = str(run)
  fig, data = paper_figures.make_figure("probe_over_training", config)
  check_house_style(fig)
  assert data["steps"].tolist() == [0, 10] and data["objective"] == "minimax"
  assert data["divergences"] == ("js", "w1")  # the KL columns were not logged
  np.testing.assert_allclose(data["exact_js"], [0.31, 0.21])
  np.testing.assert_allclose(data["probe_js"], [0.30, 0.20])
  np.testing.assert_allclose(data["probe_stderr_js"], [0.015, 0.015])
  np.testing.assert_allclose(data["bound_js"], [0.025, 0.025])
  np.testing.assert_allclose(data["exact_w1"], [1.5, 1.5])
  assert np.isnan(data["probe_w1"]).all() and np.isnan(data["bound_w1"]).all()


@pytest.mark.slow  # ~30 s: trains and probes its own run; the panels are checked by the test above
def test_probe_over_training_plots_the_probe_beside_exact_and_training_bound(tmp_path):
  config = paper_figures.testing_config()
  config.probe_over_training.run_dir = str(tmp_path / "run")
  fig, data = paper_figures.make_figure("probe_over_training", config)
  check_house_style(fig)
  assert data["steps"].tolist() == [0, 20, 40]
  assert data["divergences"] == ("js", "kl_pg", "kl_gp", "w1")
  rows = writers.read_metrics(str(tmp_path / "run" / "probe.jsonl"))
  # The panel values are the seed means of the run's probe rows.
  at_20 = [r for r in rows if r["step"] == 20]
  assert len(at_20) == config.probe_over_training.num_seeds
  assert data["probe_js"][1] == pytest.approx(np.mean([r["js_probe"] for r in at_20]))
  assert data["exact_js"][1] == pytest.approx(np.mean([r["js"] for r in at_20]))
  # Fresh critics see the untrained generator's JS (0.3–0.4) within 0.05; the mid-game discriminator does not.
  assert np.all(np.abs(data["probe_js"] - data["exact_js"]) < 0.05)
  assert data["bound_js"][0] < data["exact_js"][0] - 0.2
  assert np.isnan(data["bound_w1"]).all()  # the minimax discriminator has no W1 estimate
  assert np.isnan(data["probe_w1"]).all() and np.isfinite(data["exact_w1"]).all()  # the test's probe skips W1
  # A second call reads the run's probe.jsonl instead of training again.
  _, again = paper_figures.make_figure("probe_over_training", config)
  assert again["probe_js"].tolist() == data["probe_js"].tolist()


# --- registry, config, entry point -----------------------------------------------------------------------------

def test_registry_and_bad_input():
  assert set(paper_figures.FIGURES) == {"nash", "goodfellow_fig1", "generator_costs", "gradient_vanishing",
                                        "wgan_parallel_lines", "optimal_critic", "dirac_gan",
                                        "divergence_trajectories", "mode_coverage", "probe_over_training"}
  with pytest.raises(ValueError, match="unknown figure 'bogus'; valid names: nash, goodfellow_fig1"):
    paper_figures.figure_names("bogus")
  c = paper_figures.testing_config()
  c.goodfellow_fig1.stages = (100, 150)
  with pytest.raises(ValueError, match=r"config.goodfellow_fig1.stages=\(100, 150\) is invalid"):
    paper_figures.make_figure("goodfellow_fig1", c)
  c = paper_figures.testing_config()
  c.generator_costs.slope_at = (0.0,)
  with pytest.raises(ValueError, match="slope_at"):
    paper_figures.make_figure("generator_costs", c)
  c = paper_figures.testing_config()
  c.optimal_critic.theta = 0.5
  with pytest.raises(ValueError, match="config.optimal_critic.theta=0.5"):
    paper_figures.make_figure("optimal_critic", c)


def test_every_figure_module_follows_the_protocol():
  for name in paper_figures.FIGURES:
    module = paper_figures.figure_module(name)
    for attr in ("default_config", "testing_config", "compute", "figure"):
      assert callable(getattr(module, attr, None)), (name, attr)
    assert paper_figures.default_config()[name] == module.default_config()
    assert paper_figures.testing_config()[name] == module.testing_config()
  # The Nash figure's settings are the library's (configs/nash.py returns the same), not read from a checkout.
  assert paper_figures.default_config().nash == nash.default_config()
  with pytest.raises(ValueError, match="unknown figure 'bogus'"):
    paper_figures.figure_module("bogus")


def _run_cli(*args):
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  return subprocess.run([sys.executable, str(ROOT / "experiments" / "figures.py"), *args], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=120)


def test_cli_unknown_figure_is_one_line_error(tmp_path):
  out = _run_cli("--figure=bogus", f"--workdir={tmp_path}")
  assert out.returncode != 0
  assert "Traceback" not in out.stderr
  last = out.stderr.strip().splitlines()[-1]
  assert last.startswith("figures: error: unknown figure 'bogus'; valid names:")
  assert "dirac_gan" in last and "all" in last
  assert not list(tmp_path.iterdir())


def test_cli_writes_png_pdf_and_data(tmp_path):
  out = _run_cli("--figure=generator_costs", f"--workdir={tmp_path}", "--config.generator_costs.num_points=49")
  assert out.returncode == 0, out.stderr
  for ext in ("png", "pdf", "json"):
    assert (tmp_path / f"generator_costs.{ext}").stat().st_size > 1000
  data = json.loads((tmp_path / "generator_costs.json").read_text())
  d = np.asarray(data["d"])
  assert len(d) == 49
  np.testing.assert_allclose(data["cost_non_saturating"], -np.log(d), rtol=2e-5)
  assert (tmp_path / "generator_costs.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  assert (tmp_path / "generator_costs.pdf").read_bytes()[:5] == b"%PDF-"


@pytest.mark.slow
def test_write_all_figures(tmp_path):
  written = paper_figures.write_figures("all", str(tmp_path), paper_figures.testing_config())
  assert set(written) == set(paper_figures.FIGURES)
  for name in written:
    for ext in ("png", "pdf"):
      assert (tmp_path / f"{name}.{ext}").stat().st_size > 1000
    json.loads((tmp_path / f"{name}.json").read_text(), parse_constant=float)
  # Round trip of one number through the JSON: W1 = |θ| on the parallel lines.
  lines = json.loads((tmp_path / "wgan_parallel_lines.json").read_text())
  np.testing.assert_allclose(lines["w1"], np.abs(lines["thetas"]), atol=1e-6)


def test_objectives_are_the_source_of_the_costs():
  # The figure's costs are the engine's generator losses, not re-typed formulas.
  assert generator_costs.GENERATOR_COSTS["minimax"] is objectives.minimax_generator_loss
  assert generator_costs.GENERATOR_COSTS["non_saturating"] is objectives.non_saturating_generator_loss
  assert generator_costs.GENERATOR_COSTS["maximum_likelihood"] is objectives.maximum_likelihood_generator_loss


# --- divergence_trajectories -----------------------------------------------------------------------------------

def _bootstrap_ci_numpy(values, num_resamples, seed=0):
  """Percentile bootstrap of the mean, written out in NumPy (the protocol of gan_jax/stats.py's docstring)."""
  x = np.asarray(values, float)
  x = x[np.isfinite(x)]
  if x.size < 2:
    return math.nan, math.nan
  means = x[np.random.default_rng(seed).integers(0, x.size, size=(num_resamples, x.size))].mean(axis=1)
  return tuple(np.quantile(means, [0.025, 0.975]))


def _expected_curves(sweep_dir, target, metrics, num_resamples):
  """objective -> metric -> (steps, mean, ci_low, ci_high), straight from each finished member's metrics.jsonl."""
  info = json.loads((pathlib.Path(sweep_dir) / "sweep.json").read_text())
  runs = {}  # objective -> (member, seed) -> step -> row
  for member in info["members"]:
    path = pathlib.Path(sweep_dir) / "members" / member["id"]
    if not (path / "done.json").exists():
      continue
    for line in (path / "metrics.jsonl").read_text().splitlines():
      row = json.loads(line)
      if row["target"] == target:
        runs.setdefault(row["objective"], {}).setdefault((member["id"], row["seed"]), {})[row["step"]] = row
  out = {}
  for objective, by_run in runs.items():
    out[objective] = {}
    for metric in metrics:
      steps = sorted({s for rows in by_run.values() for s, r in rows.items() if metric in r})
      table = np.array([[by_run[run].get(s, {}).get(metric, np.nan) for run in sorted(by_run)] for s in steps],
                       float)
      finite_mean = [np.mean(v[np.isfinite(v)]) for v in table]
      cis = np.array([_bootstrap_ci_numpy(v, num_resamples) for v in table])
      out[objective][metric] = (np.array(steps), np.array(finite_mean), cis[:, 0], cis[:, 1])
  return out


def _write_synthetic_sweep(root, members):
  """A sweep directory by hand: members = {id: (objective, status, {(seed, step): js})}; target mixture_1d."""
  (root / "members").mkdir(parents=True)
  (root / "sweep.json").write_text(json.dumps({
      "members": [{"id": mid, "overrides": {"objective": objective}} for mid, (objective, _, _) in members.items()],
      "seed": 0, "num_seeds": 3}))
  for mid, (objective, status, values) in members.items():
    path = root / "members" / mid
    path.mkdir()
    (path / "member.json").write_text(json.dumps({"overrides": {"objective": objective},
                                                  "config": {"objective": objective, "target": "mixture_1d"}}))
    (path / ("done.json" if status == "done" else "error.json")).write_text("{}")
    rows = [{"step": step, "seed": seed, "objective": objective, "target": "mixture_1d", "js": js}
            for (seed, step), js in sorted(values.items())]
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_divergence_trajectories_known_answer_on_a_synthetic_sweep(tmp_path, config):
  # Two members share 'minimax' (pooled: 4 runs), one 'wasserstein' member has identical seeds (CI = the value),
  # and a failed member must be left out.
  _write_synthetic_sweep(tmp_path, {
      "a": ("minimax", "done", {(0, 0): 0.6, (1, 0): 0.4, (0, 10): 0.2, (1, 10): 0.1}),
      "b": ("minimax", "done", {(0, 0): 0.5, (1, 0): 0.7, (0, 10): 0.3, (1, 10): 0.0}),
      "c": ("wasserstein", "done", {(0, 0): 0.5, (1, 0): 0.5, (2, 0): 0.5, (0, 10): 0.25, (1, 10): 0.25,
                                    (2, 10): 0.25}),
      "d": ("non_saturating", "failed", {(0, 0): 9.0}),
  })
  c = config.divergence_trajectories.copy_and_resolve_references()
  c.sweep_dir = str(tmp_path)
  data = divergence_trajectories.compute(c)
  assert data["objectives"] == ("minimax", "wasserstein") and data["metrics"] == ("js",)
  assert data["num_runs"] == {"minimax": 4, "wasserstein": 3}
  mm, ws = data["curves"]["minimax"]["js"], data["curves"]["wasserstein"]["js"]
  np.testing.assert_array_equal(mm["steps"], [0, 10])
  np.testing.assert_allclose(mm["mean"], [0.55, 0.15], rtol=1e-12)
  np.testing.assert_allclose(ws["ci_low"], [0.5, 0.25])
  np.testing.assert_allclose(ws["ci_high"], [0.5, 0.25])
  # Four runs: the CI of the mean lies inside [min, max] and strictly brackets the mean here.
  assert np.all(mm["ci_low"] < mm["mean"]) and np.all(mm["mean"] < mm["ci_high"])
  assert np.all(mm["ci_low"] >= [0.4, 0.0]) and np.all(mm["ci_high"] <= [0.7, 0.3])
  expected = _expected_curves(tmp_path, "mixture_1d", ("js",), c.num_resamples)
  for objective in data["objectives"]:
    got = data["curves"][objective]["js"]
    steps, mean, low, high = expected[objective]["js"]
    np.testing.assert_array_equal(got["steps"], steps)
    np.testing.assert_allclose(got["mean"], mean, rtol=1e-12)
    np.testing.assert_allclose(got["ci_low"], low, rtol=1e-12)
    np.testing.assert_allclose(got["ci_high"], high, rtol=1e-12)
  check_house_style(divergence_trajectories.figure(data))


def test_divergence_trajectories_without_a_sweep_is_one_clear_error(tmp_path, config):
  c = config.divergence_trajectories.copy_and_resolve_references()
  c.sweep_dir = str(tmp_path)
  with pytest.raises(ValueError, match=r"is not a sweep directory \(no sweep.json\)") as e:
    divergence_trajectories.compute(c)
  assert "\n" not in str(e.value)
  c.metrics = ("js", "bogus")
  with pytest.raises(ValueError, match="config.divergence_trajectories.metrics"):
    divergence_trajectories.compute(c)


@pytest.mark.slow  # ~25 s cold (a sweep of 6 runs)
def test_divergence_trajectories_runs_its_own_sweep_and_matches_numpy(tmp_path, config):
  # sweep_dir empty: the figure trains configs/sweeps/figures.py (2 objectives × 3 seeds) into run_dir first.
  c = config.divergence_trajectories.copy_and_resolve_references()
  c.run_dir = str(tmp_path / "sweep")
  fig, data = figure_with(c)
  assert data["sweep_dir"] == c.run_dir and data["target"] == "mixture_1d"
  assert data["objectives"] == ("minimax", "non_saturating")
  assert data["metrics"] == ("js", "kl_pg", "kl_gp", "w1")
  expected = _expected_curves(c.run_dir, "mixture_1d", data["metrics"], c.num_resamples)
  for objective in data["objectives"]:
    assert data["num_runs"][objective] == 3
    for metric in data["metrics"]:
      got = data["curves"][objective][metric]
      steps, mean, low, high = expected[objective][metric]
      np.testing.assert_array_equal(got["steps"], steps)
      assert got["steps"].tolist() == [0, 5, 10, 15, 20]
      np.testing.assert_allclose(got["mean"], mean, rtol=1e-12)
      np.testing.assert_allclose(got["ci_low"], low, rtol=1e-12)
      np.testing.assert_allclose(got["ci_high"], high, rtol=1e-12)
      assert np.all(np.isfinite(got["mean"])) and np.all(got["ci_low"] <= got["ci_high"])
  # The plotted lines are the data's means.
  lines = [l for l in fig.axes[0].get_lines() if not l.get_label().startswith("_")]
  np.testing.assert_allclose(lines[0].get_ydata(), data["curves"]["minimax"]["js"]["mean"])
  check_house_style(fig)


def figure_with(cfg):
  """(figure, data) of divergence_trajectories for a given sub-config."""
  data = divergence_trajectories.compute(cfg)
  return divergence_trajectories.figure(data), data


# --- mode_coverage ---------------------------------------------------------------------------------------------

def _mode_quality_numpy(samples, locs, scale, num_std):
  """(modes covered, fraction high quality) by the VEEGAN / PacGAN rule, in float64 NumPy."""
  dist = np.linalg.norm(samples[:, None, :].astype(np.float64) - locs[None].astype(np.float64), axis=-1)
  nearest = dist.argmin(axis=1)
  high = dist[np.arange(len(samples)), nearest] <= num_std * scale[nearest]
  return len(np.unique(nearest[high])), float(high.mean())


@pytest.mark.slow  # ~25 s cold (trains on two 2-D targets)
def test_mode_coverage_numbers_are_mode_quality_of_the_plotted_samples(config):
  fig, data = figure("mode_coverage", config)
  cfg = config.mode_coverage
  assert data["targets"] == ("ring", "grid")
  np.testing.assert_allclose(data["scale_ring"], 0.01)
  np.testing.assert_allclose(data["scale_grid"], 0.05)
  assert data["num_modes_ring"] == 8 and data["num_modes_grid"] == 25
  for t in data["targets"]:
    for name in ("data",) + tuple(cfg.objectives):
      samples = data[f"samples_{t}_{name}"]
      assert samples.shape == (cfg.num_samples, 2) and np.all(np.isfinite(samples))
      covered, high = _mode_quality_numpy(samples, data[f"locs_{t}"], data[f"scale_{t}"], cfg.num_std)
      assert data[f"modes_covered_{t}_{name}"] == covered, (t, name)
      assert data[f"high_quality_{t}_{name}"] == pytest.approx(high, abs=1.5 / cfg.num_samples), (t, name)
    # Sanity: the target's own samples cover every mode, at the χ₂ ceiling 1 − e^(−9/2) within binomial noise.
    assert data[f"modes_covered_{t}_data"] == data[f"num_modes_{t}"]
    ceiling = 1.0 - math.exp(-cfg.num_std**2 / 2)
    assert data["high_quality_ceiling"] == pytest.approx(ceiling, rel=1e-12)
    sd = math.sqrt(ceiling * (1 - ceiling) / cfg.num_samples)
    assert abs(data[f"high_quality_{t}_data"] - ceiling) < 5 * sd
  # The panel titles show exactly those numbers.
  titles = [ax.get_title() for ax in fig.axes]
  k = data["modes_covered_grid_minimax"]
  assert any(t.startswith("grid, minimax") and f"{k}/25 modes covered" in t
             and f"{100 * data['high_quality_grid_minimax']:.1f}% HQ" in t for t in titles), titles
  check_house_style(fig)


def test_mode_coverage_bad_config():
  c = paper_figures.testing_config()
  c.mode_coverage.targets = ("mixture_1d",)
  with pytest.raises(ValueError, match="config.mode_coverage.targets"):
    paper_figures.make_figure("mode_coverage", c)
  c = paper_figures.testing_config()
  c.mode_coverage.objectives = ("no_such_objective",)
  with pytest.raises(ValueError, match="no_such_objective"):
    paper_figures.make_figure("mode_coverage", c)
