r"""The paper figures of the ablation, recomputed by the library: writes WORKDIR/NAME.png, NAME.pdf and NAME.json.

  .venv/bin/python experiments/figures.py --figure=all --workdir=runs/figures
  .venv/bin/python experiments/figures.py --figure=dirac_gan --workdir=runs/figures \
      --config.dirac_gan.num_steps=600

Figures: nash, goodfellow_fig1, generator_costs, gradient_vanishing, wgan_parallel_lines, optimal_critic,
divergence_trajectories (from a sweep; runs a tiny one when --config.divergence_trajectories.sweep_dir is empty),
mode_coverage,
dirac_gan (or all). Every field of `gan_jax.paper_figures.default_config()` can be overridden with
--config.<figure>.<field>=value. The logic lives in `gan_jax.paper_figures`; this file is only flags and one call.
"""
import sys

from absl import app
from absl import flags
from ml_collections import config_flags

from gan_jax import cli
from gan_jax import paper_figures
from gan_jax import writers

_FIGURE = flags.DEFINE_string("figure", None, "Figure name, or 'all'.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for NAME.png, NAME.pdf and NAME.json.")
_CONFIG = config_flags.DEFINE_config_dict("config", paper_figures.default_config(), "Per-figure settings.")
flags.mark_flags_as_required(["figure", "workdir"])


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  writers.quiet_library_logs()
  try:
    written = paper_figures.write_figures(_FIGURE.value, _WORKDIR.value, _CONFIG.value)
  except ValueError as e:
    # One line on stderr and a non-zero exit, not a traceback: bad input is the user's to fix.
    sys.exit(f"figures: error: {e}")
  for name in written:
    print(f"wrote {_WORKDIR.value}/{name}.png, .pdf, .json")


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags)
