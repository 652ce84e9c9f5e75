"""Mode coverage (VEEGAN / PacGAN protocol): ring and grid samples per objective after a short training."""
import jax
from matplotlib.figure import Figure
import ml_collections
import numpy as np

from gan_jax import config as config_lib
from gan_jax import engine
from gan_jax import metrics
from gan_jax import plotting
from gan_jax import targets as targets_lib
from gan_jax import toy_task
from gan_jax import train
from gan_jax.paper_figures import common

Data = common.Data


def default_config() -> ml_collections.ConfigDict:
  """The settings behind the published-looking figure."""
  m = ml_collections.ConfigDict()
  m.targets = ("ring", "grid")
  m.objectives = ("minimax", "non_saturating", "wgan_gp")
  m.num_steps = 2000
  m.batch_size = 256
  m.features = 128                   # MLP width and depth of both players.
  m.depth = 3
  m.learning_rate = 1e-3
  m.num_samples = 2500               # samples drawn, plotted and scored per panel.
  m.num_std = 3.0                    # the quality radius in σ (VEEGAN / PacGAN).
  m.seed = 0
  return m


def testing_config() -> ml_collections.ConfigDict:
  """`default_config` shrunk for tests: two objectives, smaller players, fewer steps and samples."""
  m = default_config()
  m.objectives = ("minimax", "non_saturating")
  m.num_steps = 300
  m.batch_size = 128
  m.features = 32
  m.depth = 2
  m.num_samples = 1000
  return m


def compute(cfg: ml_collections.ConfigDict) -> Data:
  """Trains an MLP GAN per (target, objective) with the engine and scores its samples (VEEGAN / PacGAN protocol).

  Scores: `metrics.mode_quality` against the target's modes (σ = its per-mode scale): modes covered and the
  fraction of high-quality samples (within `num_std`·σ of the nearest mode). The target's own samples are scored
  the same way, as the 'data' column (all modes covered, ≈ `metrics.high_quality_ceiling(2)`).

  Args:
    cfg: `default_config()`.

  Returns:
    targets, objectives, num_std, high_quality_ceiling; per target t: locs_<t> (k, 2), scale_<t> (k,),
    num_modes_<t>; per t and column c (an objective or 'data'): samples_<t>_<c> (n, 2), modes_covered_<t>_<c>
    (int), high_quality_<t>_<c> (fraction in [0, 1]).

  Raises:
    ValueError: for an invalid field (an unknown target or objective included), before anything trains.
  """
  common.check_positive_int(cfg, "mode_coverage", "num_steps", "batch_size", "features", "depth", "num_samples")
  common.check_positive_float(cfg, "mode_coverage", "learning_rate", "num_std")
  if not cfg.targets or not cfg.objectives:
    common.fail("mode_coverage.targets", (tuple(cfg.targets), tuple(cfg.objectives)),
                "non-empty targets and objectives")
  data: Data = {"targets": tuple(cfg.targets), "objectives": tuple(cfg.objectives), "num_std": float(cfg.num_std),
                "high_quality_ceiling": metrics.high_quality_ceiling(2, cfg.num_std)}
  configs = {}
  for t in cfg.targets:
    if t not in ("ring", "grid"):
      common.fail("mode_coverage.targets", tuple(cfg.targets), "ring | grid (2-D mixtures with modes)")
    for o in cfg.objectives:
      c = common.engine_config(t, "mlp", o, cfg.batch_size, cfg.seed, cfg.learning_rate, cfg.learning_rate)
      c.generator_kwargs = ml_collections.ConfigDict(dict(features=cfg.features, depth=cfg.depth))
      c.discriminator_kwargs = ml_collections.ConfigDict(dict(features=cfg.features, depth=cfg.depth))
      # PacGAN / VEEGAN toy settings: Adam with β1 = 0.5.
      c.optimizer_g = config_lib.optimizer_config("adam", cfg.learning_rate, b1=0.5, b2=0.999)
      c.optimizer_d = config_lib.optimizer_config("adam", cfg.learning_rate, b1=0.5, b2=0.999)
      configs[t, o] = c
  gans = {k: train.build_gan(c) for k, c in configs.items()}  # validates every run before any trains

  key = jax.random.PRNGKey(cfg.seed)
  for t in cfg.targets:
    target = targets_lib.get_target(t)
    locs, scale = np.asarray(target.locs), np.asarray(target.scales)[:, 0]
    data.update({f"locs_{t}": locs, f"scale_{t}": scale, f"num_modes_{t}": int(locs.shape[0])})
    columns = {"data": np.asarray(target.sample(jax.random.fold_in(key, 0xDA7A), cfg.num_samples))}
    for o in cfg.objectives:
      gan = gans[t, o]
      state = engine.init_states(gan, np.array([cfg.seed]))
      state = jax.jit(jax.vmap(lambda s, gan=gan, target=target: toy_task.train_steps(gan, target, s,
                                                                                    cfg.num_steps)[0]))(state)
      columns[o] = np.asarray(gan.players.sample(common.first(state).g_params, jax.random.fold_in(key, 0x5A3B),
                                           cfg.num_samples))
    for name, samples in columns.items():
      q = metrics.mode_quality(samples, locs, scale, num_std=cfg.num_std)
      data[f"samples_{t}_{name}"] = samples
      data[f"modes_covered_{t}_{name}"] = int(q["modes_covered"])
      data[f"high_quality_{t}_{name}"] = float(q["high_quality"])
  return data


def figure(data: Data) -> Figure:
  """Rows: targets; columns: the target's own samples, then one per objective; the scores in the titles."""
  names = ("data",) + data["objectives"]
  fig, axes = plotting.new_figure(ncols=len(names), nrows=len(data["targets"]), panel_size=(3.0, 3.0))
  for row, t in enumerate(data["targets"]):
    locs = data[f"locs_{t}"]
    pad = 0.25 * float(np.ptp(locs[:, 0]))
    for col, name in enumerate(names):
      ax = axes[row * len(names) + col]
      samples = data[f"samples_{t}_{name}"]
      ax.scatter(samples[:, 0], samples[:, 1], s=2, color="#d62728" if name != "data" else "0.4", marker=".",
                 label="samples" if name != "data" else "data samples")
      ax.plot(locs[:, 0], locs[:, 1], linestyle="none", marker="+", color="#000000", markersize=7, label="modes")
      ax.set_xlim(locs[:, 0].min() - pad, locs[:, 0].max() + pad)
      ax.set_ylim(locs[:, 1].min() - pad, locs[:, 1].max() + pad)
      ax.set_aspect("equal")
      title = (f"{t}, {name}\n{data[f'modes_covered_{t}_{name}']}/{data[f'num_modes_{t}']} modes covered, "
               f"{100 * data[f'high_quality_{t}_{name}']:.1f}% HQ")
      plotting.style_axes(ax, "x₁", "x₂", title=title, legend_loc="upper right" if col == 0 else None)
  fig.suptitle(f"Mode coverage (VEEGAN / PacGAN): HQ = within {data['num_std']:g}σ of the nearest mode "
               f"(target ceiling {100 * data['high_quality_ceiling']:.1f}%)", fontsize=plotting.FONT_SIZE + 1)
  return fig
