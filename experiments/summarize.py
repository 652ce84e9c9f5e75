"""Summarises a sweep: final and best divergences per member over seeds (mean, std, 95% bootstrap CI), ranked.

  python experiments/summarize.py --workdir=runs/sweep_objectives [--rank_by=kl_pg] [--metrics=js,w1]

Writes WORKDIR/summary.md, summary.csv, ranking.csv and refreshes results.csv; prints the Markdown.
"""

from absl import app
from absl import flags

from gan_jax import cli
from gan_jax import summary

_WORKDIR = flags.DEFINE_string("workdir", None, "Sweep directory (written by experiments/sweep.py).")
_RANK_BY = flags.DEFINE_string("rank_by", None, "Metric whose final mean over seeds ranks the members (default: js, "
                               "or fcd for image sweeps).")
_METRICS = flags.DEFINE_list("metrics", None, "Metrics to summarise (default: every divergence logged).")
flags.mark_flags_as_required(["workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  try:
    print(summary.summarize(_WORKDIR.value, metrics=_METRICS.value, rank_by=_RANK_BY.value))
  except (ValueError, OSError) as e:
    cli.usage_error(e)  # exit status 2: bad input, nothing ran


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags)
