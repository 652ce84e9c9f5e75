"""How good is the divergence probe? Its estimates against exact values on pairs whose divergences are known.

`make probe-table` (`experiments/probe_validation.py`) regenerates the README's validation table: for each case
below, the exact JS, KL both ways and (1-D) W1 — quadrature in 1-D, Monte Carlo with 10⁶ samples in 2-D
(`divergences.py`, themselves checked against closed forms and scipy) — beside the probe's estimate over
`reps` independent repetitions (fresh samples, fresh critics): the mean over repetitions with its 95% Student-t
interval, the relative error of that mean, and the coverage of the probe's own stated interval
(`probe.interval`: the fraction of repetitions whose interval contains the exact value). The acceptance targets
at 4,096 held-out samples per side: JS within 3% relative or 0.005 nats absolute, 1-D W1 within 5%.

Cases: 1-D Gaussians at several separations and scale ratios, the bimodal target against a Gaussian, the PacGAN
ring and grid against a Gaussian (2-D; their modes are 0.01 and 0.05 wide, so they get a larger critic), and
the final generators of `make demo`'s runs (flow generators with exact densities) against the demo's target.
"""
import dataclasses
import json
import math
import os
from typing import Any, Callable, NamedTuple

import jax
import numpy as np

from gan_jax import distributions
from gan_jax import divergences
from gan_jax import models
from gan_jax import probe
from gan_jax import probe_runs
from gan_jax import stats
from gan_jax import train
from gan_jax import writers

# Samples behind the Monte Carlo exact values in 2-D (their standard errors are in the table).
EXACT_MC_SAMPLES = 1_000_000
# The acceptance targets: JS within 3% relative or 0.005 nats absolute; W1 within 5% relative.
JS_RELATIVE, JS_ABSOLUTE, W1_RELATIVE = 0.03, 0.005, 0.05
# The 2-D cases' critics: the ring's and grid's modes are 0.01 and 0.05 wide. No W1 critic: W1 has no exact
# value in 2-D to compare with.
WIDE_CRITIC = dict(features=128, depth=3, num_steps=4000, w1=False)


class Case(NamedTuple):
  """A pair of distributions with exact divergences."""
  name: str
  description: str
  p: Any                              # distribution with sample / log_prob
  g: Any                              # distribution with sample / log_prob
  spec_changes: dict[str, Any] = {}   # `probe.ProbeSpec` fields this case changes


def gaussian(loc: float, scale: float) -> distributions.Gaussian:
  return distributions.Gaussian(loc, scale)


def analytic_cases() -> list[Case]:
  """The cases whose distributions are closed-form: 1-D Gaussians, the bimodal target, the ring and grid."""
  std = gaussian(0.0, 1.0)
  mixture = distributions.GaussianMixture(locs=[[-2.0], [2.0]], scales=[[0.5], [0.5]], weights=[0.5, 0.5])
  iso = lambda s: distributions.Gaussian([0.0, 0.0], [s, s])
  return [
      Case("shift_0.5", "N(0, 1) vs N(0.5, 1)", std, gaussian(0.5, 1.0)),
      Case("shift_1", "N(0, 1) vs N(1, 1)", std, gaussian(1.0, 1.0)),
      Case("shift_2", "N(0, 1) vs N(2, 1)", std, gaussian(2.0, 1.0)),
      Case("shift_4", "N(0, 1) vs N(4, 1)", std, gaussian(4.0, 1.0)),
      Case("scale_2", "N(0, 1) vs N(0, 2²)", std, gaussian(0.0, 2.0)),
      Case("scale_0.5", "N(0, 1) vs N(0, 0.5²)", std, gaussian(0.0, 0.5)),
      Case("mixture_vs_gaussian", "mixture_1d vs N(0, 2²)", mixture, gaussian(0.0, 2.0)),
      Case("ring_vs_gaussian", "ring (8 modes, σ 0.01) vs N(0, I)", distributions.ring(), iso(1.0), WIDE_CRITIC),
      Case("grid_vs_gaussian", "grid (25 modes, σ 0.05) vs N(0, 2²I)", distributions.grid(), iso(2.0), WIDE_CRITIC),
  ]


def demo_cases(demo_dir: str) -> list[Case]:
  """The final generator (seed 0) of each run in `make demo`'s directory against the demo's target.

  Raises:
    ValueError: `demo_dir` holds no run, or a run's generator has no density.
  """
  cases = []
  for workdir in probe_runs.run_dirs(demo_dir):
    config = writers.read_config(workdir)
    gan, target, state, step = train.load_latest(config, workdir)
    if not models.is_invertible(gan.players.generator):
      raise ValueError(f"{workdir}: generator {config.generator!r} has no density; allowed: invertible generators")
    g = models.GeneratorDistribution(gan.players.generator, jax.tree.map(lambda x: x[0], state.g_params))
    cases.append(Case(f"demo_{os.path.basename(workdir)}",
                      f"{config.target} vs the {config.objective} generator (seed 0, step {step})", target, g))
  return cases


def exact_values(case: Case) -> dict[str, tuple[float, float]]:
  """{name: (exact value, its Monte Carlo standard error or 0)} for js, kl_pg, kl_gp and (1-D) w1."""
  keys = jax.random.split(jax.random.key(20261203), 3)
  out = {}
  for name, (a, b), key in (("js", (case.p, case.g), keys[0]), ("kl_pg", (case.p, case.g), keys[1]),
                            ("kl_gp", (case.g, case.p), keys[2])):
    fn = divergences.js if name == "js" else divergences.kl
    est = fn(a, b, key=key, num_samples=EXACT_MC_SAMPLES)
    out[name] = (float(est.value), float(est.stderr))
  if case.p.dim == 1:
    out["w1"] = (float(divergences.w1(case.p, case.g).value), 0.0)
  return out


# Each estimate of the probe and the exact divergence it estimates.
ESTIMATES_OF = {"js": "js", "kl_pg": "kl_pg", "kl_pg_nwj": "kl_pg", "kl_gp": "kl_gp", "kl_gp_nwj": "kl_gp",
                "w1": "w1"}


def meets_target(name: str, exact: float, mean: float) -> bool | None:
  """Whether an estimate's mean meets its acceptance target (None: no target, i.e. KL)."""
  if name == "js":
    return abs(mean - exact) <= max(JS_RELATIVE * abs(exact), JS_ABSOLUTE)
  if name == "w1":
    return abs(mean - exact) <= W1_RELATIVE * abs(exact)
  return None


def run_case(case: Case, spec: probe.ProbeSpec, reps: int, key: jax.Array,
             estimate: Callable[..., dict] = probe.estimate_samplers) -> list[dict]:
  """The table rows of one case: one per estimate, over `reps` independent repetitions of the probe.

  Returns:
    Rows with case, estimate, exact (and exact_stderr), mean, ci_low, ci_high (95% Student-t over repetitions),
    rel_error, coverage (of `probe.interval`), target_met (None where no target), stderr and critic_std (means).
  """
  spec = spec.replace(**case.spec_changes)
  exact = exact_values(case)
  results = [estimate(case.p.sample, case.g.sample, k, spec) for k in jax.random.split(key, reps)]
  rows = []
  for name, truth in ESTIMATES_OF.items():
    if truth not in exact:
      continue
    value, value_stderr = exact[truth]
    values = np.array([r[name] for r in results])
    mean = float(values.mean())
    low, high = stats.t_interval(values) if reps > 1 else (math.nan, math.nan)
    covered = [lo <= value <= hi for lo, hi in (probe.interval(r, name) for r in results)]
    rows.append({
        "case": case.name, "description": case.description, "estimate": name, "exact": value,
        "exact_stderr": value_stderr, "mean": mean, "ci_low": float(low), "ci_high": float(high),
        "rel_error": (mean - value) / abs(value) if value else math.nan,
        "coverage": float(np.mean(covered)), "target_met": meets_target(name, value, mean), "reps": reps,
        "stderr": float(np.mean([r[name + "_stderr"] for r in results])),
        "critic_std": float(np.mean([r[name + "_critic_std"] for r in results])),
    })
  return rows


def validation_table(spec: probe.ProbeSpec, reps: int, demo_dir: str | None = None, names: tuple[str, ...] = (),
                     seed: int = 0, log: Callable[[str], None] = lambda _: None) -> list[dict]:
  """Every case's rows (`run_case`); `names` selects cases (empty = all), `demo_dir` adds `demo_cases`.

  Raises:
    ValueError: an unknown case name (the message lists them) or a bad `reps`.
  """
  if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
    raise ValueError(f"reps={reps!r} is invalid; allowed: an integer >= 1")
  cases = analytic_cases() + (demo_cases(demo_dir) if demo_dir else [])
  known = [c.name for c in cases]
  for name in names:
    if name not in known:
      raise ValueError(f"case {name!r} is unknown; allowed: {', '.join(known)}")
  rows = []
  for i, case in enumerate(cases):
    if names and case.name not in names:
      continue
    log(f"probe validation: {case.name} ({case.description}), {reps} repetitions")
    rows += run_case(case, spec, reps, jax.random.fold_in(jax.random.key(seed), i))
  return rows


def format_markdown(rows: list[dict]) -> str:
  """The README table: one line per case and estimate."""
  lines = ["| case | estimate | exact | probe mean [95% CI] | rel. error | coverage | target |",
           "|---|---|---|---|---|---|---|"]
  for r in rows:
    exact = f"{r['exact']:.4f}" + (f" ± {r['exact_stderr']:.4f}" if r["exact_stderr"] else "")
    ci = f"{r['mean']:.4f} [{r['ci_low']:.4f}, {r['ci_high']:.4f}]"
    target = {True: "met", False: "**missed**", None: "—"}[r["target_met"]]
    lines.append(f"| {r['case']} | {r['estimate']} | {exact} | {ci} | {100 * r['rel_error']:+.1f}% | "
                 f"{100 * r['coverage']:.0f}% | {target} |")
  return "\n".join(lines)


def format_compact(rows: list[dict]) -> str:
  """One line per case: each divergence's exact value and the probe's mean with its relative error."""
  by_case: dict[str, dict[str, dict]] = {}
  for r in rows:
    by_case.setdefault(r["case"], {})[r["estimate"]] = r
  cell = lambda r: f"{r['mean']:.4g} ({100 * r['rel_error']:+.0f}%)" + ("" if r["target_met"] is not False else " ✗")
  lines = ["| case | JS exact | JS probe | W1 exact | W1 probe | KL(p‖g) exact | plug-in | NWJ | KL(g‖p) exact | "
           "plug-in | NWJ |", "|---|" + "---|" * 10]
  for case, r in by_case.items():
    w1 = (f"{r['w1']['exact']:.4g} | {cell(r['w1'])}") if "w1" in r else "— | —"
    lines.append(f"| {case} | {r['js']['exact']:.4g} | {cell(r['js'])} | {w1} | {r['kl_pg']['exact']:.4g} | "
                 f"{cell(r['kl_pg'])} | {cell(r['kl_pg_nwj'])} | {r['kl_gp']['exact']:.4g} | {cell(r['kl_gp'])} | "
                 f"{cell(r['kl_gp_nwj'])} |")
  return "\n".join(lines)


def write_table(rows: list[dict], workdir: str, spec: probe.ProbeSpec) -> str:
  """Writes workdir/probe_validation.md (the probe's settings and the table) and .json; returns the Markdown."""
  os.makedirs(workdir, exist_ok=True)
  text = (f"Probe settings: {dataclasses.asdict(spec)}; the 2-D cases change {WIDE_CRITIC}.\n\n"
          + format_markdown(rows) + "\n")
  writers.atomic_write(os.path.join(workdir, "probe_validation.md"), text.encode("utf-8"))
  data = {"spec": dataclasses.asdict(spec), "wide_critic": WIDE_CRITIC, "rows": rows}
  writers.atomic_write(os.path.join(workdir, "probe_validation.json"),
                       json.dumps(data, indent=1, allow_nan=True).encode("utf-8"))
  return text
