"""Benchmarks of the PyTorch reference; each runs inside its own child process, which never imports JAX.

Parameters and real batches come from the .npz that `jax_tasks.export` wrote, so both sides train the same
weights on the same data.

Denormals are flushed to zero (`torch.set_flush_denormal(True)`), as XLA does on CPU, so both sides do the same
arithmetic; on an idle machine it makes no measurable difference to this workload.

PyTorch's OpenMP threads busy-wait at barriers: with 2 threads on 2 cores, any other process on the machine can
slow the eager step down by 10–30× (seen in a disturbed run), so the runner reports other processes' CPU use
next to every measurement.
"""
import time
from typing import Any

import numpy as np
import torch

from bench import timing
from bench import torch_dcgan
from bench import torch_reference


def _setup(threads: int, params_path: str, batch_size: int, torch_kwargs: dict[str, Any]
           ) -> tuple[torch_reference.TorchGAN, list[torch.Tensor]]:
  torch.set_num_threads(threads)
  torch.set_flush_denormal(True)
  data = np.load(params_path)
  player = lambda p: {k.split("/", 1)[1]: data[k] for k in data.files if k.startswith(p + "/")}
  model = torch_reference.TorchGAN(player("g"), player("d"), **torch_kwargs)
  reals = [torch.from_numpy(np.ascontiguousarray(r)) for r in data[f"real/{batch_size}"]]
  return model, reals


def _timed(step_fn, reals: list[torch.Tensor], steps: int, reps: int, warmup: int) -> dict[str, Any]:
  start = time.perf_counter()
  step_fn(reals[0])
  first = time.perf_counter() - start
  for i in range(warmup):
    step_fn(reals[i % len(reals)])

  def run():
    for i in range(steps):
      step_fn(reals[i % len(reals)])

  times = timing.repeat(run, reps)
  return {"first_call_s": first, "steps_per_rep": steps,
          "step_ms": timing.summary([1e3 * t / steps for t in times]),
          "steps_per_s": timing.summary([steps / t for t in times])}


def eager(batch_size: int, threads: int, steps: int, reps: int, params_path: str, torch_kwargs: dict[str, Any],
          warmup: int = 20) -> dict[str, Any]:
  """The PyTorch step in eager mode (fused CPU Adam)."""
  model, reals = _setup(threads, params_path, batch_size, torch_kwargs)
  out = _timed(model.random_step, reals, steps, reps, warmup)
  return {"impl": f"PyTorch eager ({threads} thread{'s' if threads > 1 else ''})", "batch_size": batch_size,
          "threads": threads, "torch": torch.__version__, **out}


def compiled(batch_size: int, threads: int, steps: int, reps: int, params_path: str, torch_kwargs: dict[str, Any],
             warmup: int = 20) -> dict[str, Any]:
  """The PyTorch step under `torch.compile` (default mode); compile time is the first calls' excess."""
  model, reals = _setup(threads, params_path, batch_size, torch_kwargs)
  step = torch_reference.compiled_step(model)
  # The first calls trace and compile (dynamo may recompile once the optimizer state exists).
  start = time.perf_counter()
  for i in range(3):
    step(reals[i])
  compile_s = time.perf_counter() - start
  out = _timed(step, reals, steps, reps, warmup)
  return {"impl": f"torch.compile ({threads} thread{'s' if threads > 1 else ''})", "batch_size": batch_size,
          "threads": threads, "torch": torch.__version__, "compile_s": compile_s, **out}


def dcgan_eager(batch_size: int, threads: int, steps: int, reps: int, params_path: str, torch_kwargs: dict[str, Any],
                warmup: int = 3) -> dict[str, Any]:
  """The PyTorch DCGAN step in eager mode (`torch_dcgan`), from the variables and batches `jax_tasks.dcgan_export`
  wrote."""
  torch.set_num_threads(threads)
  torch.set_flush_denormal(True)
  data = np.load(params_path)
  player = lambda p: {k.split("/", 1)[1]: data[k] for k in data.files if k.startswith(p + "/")}
  model = torch_dcgan.TorchDCGAN(player("g"), player("d"), **torch_kwargs)
  reals = [torch.from_numpy(np.ascontiguousarray(r)) for r in data["real"]]
  if reals[0].shape[0] != batch_size:
    raise ValueError(f"{params_path} holds batches of {reals[0].shape[0]}, not {batch_size}")
  out = _timed(model.random_step, reals, steps, reps, warmup)
  return {"impl": f"PyTorch eager ({threads} thread{'s' if threads > 1 else ''})", "batch_size": batch_size,
          "threads": threads, "torch": torch.__version__, **out}


TASKS = {"eager": eager, "compiled": compiled, "dcgan_eager": dcgan_eager}
