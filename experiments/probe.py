r"""The divergence probe on a run's checkpoint: fresh critics estimate JS, KL both ways and W1 of each replica.

  .venv/bin/python experiments/probe.py --workdir=runs/demo/minimax [--step=1500] [--probe.num_steps=4000]

Writes WORKDIR/probe.jsonl (one row per replica and probed step: each estimate with its held-out standard error
and spread over critics, beside the exact divergences and the training discriminator's bounds of that step) and
prints a table. A directory of runs (`make demo`'s runs/demo) probes each run in it. `--probe.<field>` overrides
a `gan_jax.probe.ProbeSpec` field of the run's `config.probe`. The logic lives in `gan_jax.probe_runs`.
"""
from absl import app
from absl import flags
import ml_collections
from ml_collections import config_dict
from ml_collections import config_flags

from gan_jax import cli
from gan_jax import probe
from gan_jax import probe_runs
from gan_jax import writers

_WORKDIR = flags.DEFINE_string("workdir", None, "A training run's directory, or a directory of runs.")
_STEP = flags.DEFINE_integer("step", None, "A saved step to probe (default: the latest checkpoint).")
# Unset fields (None) keep the run's own `config.probe`.
_PROBE = config_flags.DEFINE_config_dict("probe", ml_collections.ConfigDict(
    {k: config_dict.placeholder(type(v)) for k, v in probe.spec_fields().items()}), "ProbeSpec overrides.")
flags.mark_flags_as_required(["workdir"])


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  writers.quiet_library_logs()
  overrides = {k: v for k, v in _PROBE.value.items() if v is not None}
  try:
    runs = probe_runs.run_dirs(_WORKDIR.value)
    for workdir in runs:
      rows = probe_runs.probe_run(workdir, _STEP.value, overrides)
      print(f"{workdir}: wrote {len(rows)} rows to probe.jsonl\n{probe_runs.format_rows(rows)}")
  except ValueError as e:
    cli.usage_error(e)  # exit status 2: bad input, nothing ran


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags)
