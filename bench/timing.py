"""Timing helpers shared by every benchmark: repeat-and-summarise, and JAX compile time from jax.monitoring."""
import contextlib
import statistics
import time
from typing import Callable, Iterator

# jax.monitoring events that make up "compile time": tracing to a jaxpr, lowering to StableHLO, XLA compilation.
COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)


def summary(samples: list[float]) -> dict[str, float]:
  """Median, min and max of repeated measurements (and their count)."""
  return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "n": len(samples)}


def repeat(fn: Callable[[], None], reps: int) -> list[float]:
  """Wall seconds of `reps` calls of `fn` (which must block until its work is done)."""
  times = []
  for _ in range(reps):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return times


class CompileClock:
  """Accumulates JAX's own compile-time events (trace + lower + XLA compile) from the moment it is installed.

  One listener per process (listeners cannot be scoped), read as deltas with `measure`.
  """

  def __init__(self):
    import jax  # Only JAX children use this.
    self.seconds = 0.0
    self.by_event = {e: 0.0 for e in COMPILE_EVENTS}
    self.by_function: dict[str, float] = {}
    jax.monitoring.register_event_duration_secs_listener(self._on_event)

  def _on_event(self, event: str, duration_secs: float, **kwargs) -> None:
    if event in self.by_event:
      self.by_event[event] += duration_secs
      self.seconds += duration_secs
      name = str(kwargs.get("fun_name", "?"))
      self.by_function[name] = self.by_function.get(name, 0.0) + duration_secs

  @contextlib.contextmanager
  def measure(self) -> Iterator[dict[str, float]]:
    """Yields a dict whose 'compile_s' holds the compile seconds spent inside the block, once it exits."""
    out = {}
    start = self.seconds
    try:
      yield out
    finally:
      out["compile_s"] = self.seconds - start
