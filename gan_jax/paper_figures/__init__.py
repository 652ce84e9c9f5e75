"""The figures of the papers behind the ablation, recomputed by the library: one module per figure, chosen by name.

Every figure module `gan_jax.paper_figures.<name>` defines `default_config()` and `testing_config()` (its own
settings), `compute(cfg) -> dict` (pure apart from training runs: numbers only, NumPy arrays and floats) and
`figure(data) -> Figure`. `make_figure(name, config)` runs both and `write_figures` saves `NAME.png`, `NAME.pdf`
and `NAME.json` (the data). Tests check the numbers in `data`, never only the files. A module is imported only
when its figure is asked for, so drawing one figure does not load the others' dependencies.

- `nash`: Goodfellow et al. 2014, Prop. 1 / Thm. 1 (`gan_jax.nash.run_nash`).
- `goodfellow_fig1`: Goodfellow et al. 2014, Fig. 1: data, generator and D at training stages, beside D*.
- `generator_costs`: Goodfellow 2016 (NIPS tutorial), Fig. 16: generator cost against D(G(z)).
- `gradient_vanishing`: Arjovsky & Bottou 2017, Figs. 2–3: generator gradients as D approaches optimality.
- `wgan_parallel_lines`: Arjovsky et al. 2017, Fig. 1: JS, KL and W1 on the parallel lines.
- `optimal_critic`: Arjovsky et al. 2017, Fig. 2: a saturated D* against an (almost) linear WGAN-GP critic.
- `dirac_gan`: Mescheder et al. 2018, Figs. 1–3: Dirac-GAN vector fields, trajectories and eigenvalues.
- `divergence_trajectories` (Fig. 7): exact JS, KL both ways and W1 against steps per objective, from a sweep
  directory: mean over (member, seed) runs ± 95% bootstrap CI (`stats.seed_statistics`).
- `probe_over_training`: the divergence probe's estimates (`probe.py`) against the exact values over training,
  beside the training discriminator's own bound.
- `mode_coverage` (Fig. 8): ring and grid samples per objective after a short training, with modes covered and %
  high quality (`metrics.mode_quality`, the VEEGAN / PacGAN protocol).

Training runs go through the engine (`train.build_gan`, `engine.init_states`, `toy_task.train_steps` /
`engine.train_step`); a frozen player is an optimizer that outputs zero updates (`optax.set_to_zero`).
"""
import importlib
import json
import os
from types import ModuleType
from typing import Any

from matplotlib.figure import Figure
import ml_collections

from gan_jax import plotting
from gan_jax.paper_figures import common

# The registry: figure name = module name under gan_jax/paper_figures/, in the order 'all' draws them.
FIGURES: tuple[str, ...] = ("nash", "goodfellow_fig1", "generator_costs", "gradient_vanishing",
                            "wgan_parallel_lines", "optimal_critic", "dirac_gan", "divergence_trajectories",
                            "mode_coverage", "probe_over_training")


def figure_names(name: str) -> tuple[str, ...]:
  """The figures `name` selects: itself, or every figure for 'all'.

  Raises:
    ValueError: for an unknown name (the message lists the valid ones).
  """
  if name == "all":
    return FIGURES
  if name not in FIGURES:
    raise ValueError(f"unknown figure {name!r}; valid names: {', '.join(FIGURES)}, all")
  return (name,)


def figure_module(name: str) -> ModuleType:
  """The module of figure `name` (imported on first use).

  Raises:
    ValueError: for an unknown name.
  """
  if name not in FIGURES:
    figure_names(name)  # the one-line error listing the valid names
    raise ValueError(f"figure_module takes one figure, got {name!r}")
  return importlib.import_module(f"gan_jax.paper_figures.{name}")


def default_config() -> ml_collections.ConfigDict:
  """One sub-config per figure: each module's `default_config()` (about a minute in all on 2 CPU cores).

  Override on the command line, e.g. `--config.optimal_critic.num_steps=4000`.
  """
  return ml_collections.ConfigDict({name: figure_module(name).default_config() for name in FIGURES})


def testing_config() -> ml_collections.ConfigDict:
  """One sub-config per figure: each module's `testing_config()` (fewer steps and points, same checks)."""
  return ml_collections.ConfigDict({name: figure_module(name).testing_config() for name in FIGURES})


def make_figure(name: str, config: ml_collections.ConfigDict | None = None) -> tuple[Figure, common.Data]:
  """Computes figure `name` and draws it.

  Args:
    name: one of `FIGURES`.
    config: a `default_config()`-shaped config (default: `default_config()`); only `config[name]` is read.

  Returns:
    (figure, data): data holds every number the figure shows.

  Raises:
    ValueError: for an unknown name or an invalid field of `config[name]`.
  """
  if name == "all":
    raise ValueError("make_figure draws one figure; use write_figures for 'all'")
  module = figure_module(name)
  cfg = module.default_config() if config is None else config[name]
  data = module.compute(cfg)
  return module.figure(data), data


def write_figures(name: str, workdir: str, config: ml_collections.ConfigDict | None = None
                  ) -> dict[str, common.Data]:
  """Computes and writes WORKDIR/NAME.png, NAME.pdf and NAME.json (the data) for `name` or 'all'.

  Args:
    name: one of `FIGURES`, or 'all'.
    workdir: output directory (created if missing).
    config: a `default_config()`-shaped config (default: `default_config()`).

  Returns:
    name -> data, for each figure written.

  Raises:
    ValueError: for an unknown name or an invalid field, before any file is written.
  """
  names = figure_names(name)
  config = (default_config() if config is None else config).copy_and_resolve_references()
  out: dict[str, Any] = {}
  for n in names:
    # A figure that runs its own sweep keeps it beside its output, so a second call resumes instead of retraining.
    if "run_dir" in config[n] and not config[n].run_dir:
      config[n].run_dir = os.path.join(workdir, f"{n}_sweep")
    fig, data = make_figure(n, config)
    plotting.save(fig, os.path.join(workdir, n))
    with open(os.path.join(workdir, f"{n}.json"), "w") as f:
      json.dump(common.plain(data), f)
    out[n] = data
  return out
