"""The divergence probe over training: its estimates beside the exact values and the training discriminator's.

Per divergence (JS, KL(p‖g), KL(g‖p), W1) against the generator step: the exact value, the probe's estimate (fresh
critics trained against the frozen generator, `probe.py`) with its 95% interval, and what the training
discriminator's own outputs say (`js_lower_bound`, the KL plug-ins, the critic's W1), each a mean over seeds. It
reads a run's probe.jsonl; with no run given it trains its own (the demo's target and generator, probed every
`probe_every` steps), which shows how far below the exact JS the mid-game discriminator's bound sits.
"""
import os
import tempfile

from matplotlib.figure import Figure
import ml_collections
import numpy as np

from gan_jax import config as config_lib
from gan_jax import plotting
from gan_jax import probe
from gan_jax import train
from gan_jax import writers
from gan_jax.paper_figures import common

Data = common.Data

# Each divergence: the probe's estimate of it and the training discriminator's estimate (by objective family).
PANELS = {"js": ("js_probe", "js_lower_bound"), "kl_pg": ("kl_pg_probe", "kl_pg_plugin"),
          "kl_gp": ("kl_gp_probe", "kl_gp_plugin"), "w1": ("w1_probe", "w1_critic")}


def default_config() -> ml_collections.ConfigDict:
  """The settings behind the published-looking figure (about two minutes on 2 CPU cores)."""
  t = ml_collections.ConfigDict()
  t.run_dir = ""          # a run with probe.jsonl; "" trains the run below (write_figures: WORKDIR/<name>_sweep).
  t.objective = "minimax"
  t.num_seeds = 2
  t.num_steps = 1200
  t.probe_every = 200
  t.probe_steps = 1000    # each probe critic's training steps
  t.probe_critics = 2
  t.probe_w1 = True       # the W1 critic (its gradient penalty makes it the probe's costliest part)
  # Held-out sizes: the run's evaluation samples per player, and the probe's train / validation / test splits.
  t.eval_samples = 4096
  t.probe_num_train, t.probe_num_validation, t.probe_num_test = 32768, 2048, 4096
  return t


def testing_config() -> ml_collections.ConfigDict:
  """`default_config` shrunk for tests: one seed, a few steps and a probe of seconds."""
  t = default_config()
  t.num_seeds = 1
  t.num_steps = 40
  t.probe_every = 20
  t.probe_steps = 100
  t.probe_w1 = False
  t.eval_samples = 256
  t.probe_num_train, t.probe_num_validation, t.probe_num_test = 4096, 512, 1024
  return t


def run_config(cfg: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The figure's own run: `configs/demo.py`'s target, players and optimizers under `cfg.objective`, probed every
  `cfg.probe_every` steps."""
  c = config_lib.base_config()
  c.target, c.generator, c.objective = "mixture_1d", "flow1d", cfg.objective
  c.generator_kwargs.num_units = 8
  c.optimizer_g = config_lib.optimizer_config("adam", 3e-3, b1=0.5, b2=0.999)
  c.optimizer_d = config_lib.optimizer_config("adam", 3e-3, b1=0.5, b2=0.999)
  c.num_seeds, c.num_steps = cfg.num_seeds, cfg.num_steps
  c.eval_every = c.probe_every = cfg.probe_every
  c.checkpoint_every, c.plot_every = cfg.num_steps, 0
  c.probe.num_steps, c.probe.num_critics, c.probe.w1 = cfg.probe_steps, cfg.probe_critics, bool(cfg.probe_w1)
  c.eval_samples = cfg.eval_samples
  c.probe.num_train, c.probe.num_validation = cfg.probe_num_train, cfg.probe_num_validation
  c.probe.num_test = cfg.probe_num_test
  return c


def _finite_mean(values: list[float]) -> float:
  """The mean of the finite values; NaN when there are none (a metric the objective does not log)."""
  finite = [v for v in values if v is not None and np.isfinite(v)]
  return float(np.mean(finite)) if finite else float("nan")


def compute(cfg: ml_collections.ConfigDict) -> Data:
  """Per divergence and step: the exact value, the probe's estimate and the training discriminator's, over seeds.

  Args:
    cfg: `default_config()`.

  Returns:
    run_dir, objective, divergences (those present), steps (s,), and per divergence d: exact_<d>, probe_<d>,
    probe_stderr_<d> (the mean of the seeds' held-out standard errors), bound_<d> (NaN where the objective logs
    none), each (s,), means over seeds.

  Raises:
    ValueError: an invalid field, or a run directory without probe rows.
  """
  common.check_positive_int(cfg, "probe_over_training", "num_seeds", "num_steps", "probe_every", "probe_steps",
                            "probe_critics", "eval_samples", "probe_num_train", "probe_num_validation",
                            "probe_num_test")
  workdir = cfg.run_dir or tempfile.mkdtemp(prefix="gan_jax_probe_over_training_")
  path = os.path.join(workdir, probe.PROBE_FILE)
  if not cfg.run_dir or not os.path.exists(path):
    if cfg.run_dir and os.path.exists(os.path.join(workdir, writers.CONFIG_FILE)) and not os.path.exists(
        os.path.join(workdir, "checkpoints")):
      common.fail("probe_over_training.run_dir", cfg.run_dir, "a run directory with probe.jsonl, or an empty one")
    train.train_and_evaluate(run_config(cfg), workdir)
  rows = writers.read_metrics(path)
  if not rows:
    common.fail("probe_over_training.run_dir", cfg.run_dir, "a run directory with probe.jsonl rows")
  steps = np.array(sorted({r["step"] for r in rows}))
  data: Data = {"run_dir": workdir, "objective": rows[0].get("objective", ""), "steps": steps}
  present = []
  for d, (estimate, bound) in PANELS.items():
    if not any(d in r for r in rows):
      continue
    present.append(d)
    mean = lambda key: np.array([_finite_mean([r.get(key, np.nan) for r in rows if r["step"] == s])
                                 for s in steps])
    data[f"exact_{d}"], data[f"probe_{d}"] = mean(d), mean(estimate)
    data[f"probe_stderr_{d}"], data[f"bound_{d}"] = mean(estimate + "_stderr"), mean(bound)
  data["divergences"] = tuple(present)
  return data


def figure(data: Data) -> Figure:
  """One panel per divergence: exact (solid), probe ± 1.96·stderr (band), training discriminator (dashed)."""
  fig, axes = plotting.new_figure(ncols=len(data["divergences"]), panel_size=(3.6, 3.0))
  steps = data["steps"]
  for ax, d in zip(axes, data["divergences"]):
    (c_exact, _, _), (c_probe, _, _), (c_bound, _, _) = plotting.SERIES_STYLES[:3]
    ax.plot(steps, data[f"exact_{d}"], color=c_exact, label="exact")
    ax.plot(steps, data[f"probe_{d}"], color=c_probe, marker="o", markersize=3, label="probe (fresh critics)")
    half = probe.Z95 * data[f"probe_stderr_{d}"]
    ax.fill_between(steps, data[f"probe_{d}"] - half, data[f"probe_{d}"] + half, color=c_probe, alpha=0.2,
                    linewidth=0)
    if np.isfinite(data[f"bound_{d}"]).any():
      ax.plot(steps, data[f"bound_{d}"], color=c_bound, linestyle="--", label="training discriminator")
    label = plotting.DIVERGENCE_LABELS.get(d, d)
    plotting.style_axes(ax, "generator step", label, title=label)
  axes[0].legend(fontsize=plotting.FONT_SIZE - 2)
  fig.suptitle(f"Probe vs exact over training ({data['objective']}, mean over seeds)",
               fontsize=plotting.FONT_SIZE + 1)
  return fig
