"""`make bench`: gan-jax vs PyTorch on the reference workload, the hardware limit, seeds, divergences, memory.

  python -m bench                           # everything (~22 min on 2 CPU cores), writes bench/results.{md,json}
  python -m bench --quick --out=/tmp/b      # a tiny smoke run
  python -m bench --only=throughput,hardware
  python -m bench --wait_idle_s=120         # on a shared machine: wait for idle CPUs before each measurement
  python -m bench --device=gpu              # JAX side on a GPU (needs a CUDA jaxlib; PyTorch stays on the CPU)

Parts: crosscheck, throughput, hardware (sgemm + step FLOPs), compile, seeds, data_parallel (strong and weak
scaling over 1, 2, 4 devices: fake CPU devices sharing the cores on --device=cpu, so mostly overhead), divergences,
demo (`make demo`'s wall time, compile share and memory), dcgan (a DCGAN step on 28×28 at batch 64, gan-jax vs
PyTorch eager, with its own cross-check), sweep_plan (how many programs configs/sweeps/objectives.py's members
train as: planned, not trained), sweep (that sweep trained packed and unpacked, without a persistent compilation
cache, and its packed programs' pure training arithmetic: ~15 of the run's minutes); every part reports its
processes' peak memory.
"""
import os

from absl import app
from absl import flags

from bench import runner

_QUICK = flags.DEFINE_bool("quick", False, "Tiny sizes and few repetitions (a smoke test).")
_ONLY = flags.DEFINE_list("only", list(runner.PARTS), f"Parts to run: {', '.join(runner.PARTS)}.")
_DEVICE = flags.DEFINE_enum("device", "cpu", list(runner.DEVICES), "JAX backend of the JAX side.")
_WAIT_IDLE = flags.DEFINE_float("wait_idle_s", 0.0, "Before each measurement, wait up to this many seconds for "
                                 "other processes to leave the CPUs idle (for shared machines).")
_OUT = flags.DEFINE_string("out", os.path.dirname(os.path.abspath(__file__)), "Directory for results.md/json.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  try:
    results = runner.run(tuple(_ONLY.value), _QUICK.value, _DEVICE.value, _OUT.value,
                         wait_idle_s=_WAIT_IDLE.value)
  except ValueError as e:
    raise app.UsageError(str(e)) from None
  for t in results["targets"]:
    print(f"{t['status']:>12}  {t['target']}")
  print(f"wrote {os.path.join(_OUT.value, 'results.md')} and results.json")


if __name__ == "__main__":
  app.run(main)
