r"""Goodfellow et al. 2014, Prop. 1 and Thm. 1, as numbers: prints the tables, writes figure, table and JSON.

  .venv/bin/python experiments/nash_equilibrium.py --config=configs/nash.py --workdir=runs/demo

Writes WORKDIR/nash.png, nash.pdf, nash_table.txt and nash.json. The logic lives in the library (`gan_jax.nash`
computes, `gan_jax.paper_figures.nash` draws and writes) so that notebooks can import it; this file is
intentionally only flags and one call.
"""
import sys

from absl import app
from absl import flags
from ml_collections import config_flags

from gan_jax import cli
from gan_jax.paper_figures import nash as nash_figure

_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for nash.png/pdf, nash_table.txt and nash.json.")
config_flags.DEFINE_config_file("config", None, "Path to the config file (configs/nash.py).", lock_config=True)
flags.mark_flags_as_required(["config", "workdir"])


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError("Too many command-line arguments.")
  try:
    print(nash_figure.run_and_save(flags.FLAGS.config, _WORKDIR.value), end="")
  except ValueError as e:
    # One line on stderr and a non-zero exit, not a traceback: bad input is the user's to fix.
    sys.exit(f"nash_equilibrium: error: {e}")


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags)
