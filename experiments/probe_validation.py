r"""The probe's validation table: estimates against exact divergences (`gan_jax.probe_validation`).

  make probe-table
  .venv/bin/python experiments/probe_validation.py --workdir=runs/probe_validation --demo_dir=runs/demo \
      [--reps=4] [--cases=shift_1,scale_2]

Writes WORKDIR/probe_validation.md (the README's table) and probe_validation.json, and prints the table. Each
repetition trains 4 critics of each kind; on 2 heavily shared cores the ten 1-D cases × 4 repetitions took 45
minutes and the two 2-D cases (wider critics) × 2 repetitions 31.
"""
from absl import app
from absl import flags
from absl import logging

from gan_jax import cli
from gan_jax import probe
from gan_jax import probe_validation
from gan_jax import writers

_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for probe_validation.md and .json.")
_DEMO_DIR = flags.DEFINE_string("demo_dir", None, "`make demo`'s directory: adds its final generators as cases.")
_REPS = flags.DEFINE_integer("reps", 4, "Independent repetitions of the probe per case.")
_CASES = flags.DEFINE_list("cases", [], "Cases to run (default: all).")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the repetitions.")
flags.mark_flags_as_required(["workdir"])


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  writers.quiet_library_logs()
  spec = probe.ProbeSpec()
  try:
    rows = probe_validation.validation_table(spec, _REPS.value, _DEMO_DIR.value, tuple(_CASES.value), _SEED.value,
                                             log=lambda line: logging.info("%s", line))
  except ValueError as e:
    cli.usage_error(e)  # exit status 2: bad input, nothing ran
  print(probe_validation.write_table(rows, _WORKDIR.value, spec))


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags)
