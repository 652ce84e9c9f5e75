"""One benchmark in a fresh process: `python -m bench.child SIDE TASK ARGS_JSON RESULT_PATH`.

SIDE is 'jax' or 'torch'; only that side's library is imported, so memory and thread settings stay per process.
The result (or the error) is written as JSON to RESULT_PATH; the parent adds the process's peak RSS.
"""
import importlib.abc
import json
import sys
import traceback

# JAX tasks that time a user's command (`make demo`, `experiments/sweep.py`) run as that command's environment
# would: without PyTorch, which only the bench extra installs. tensorboardX imports torch whenever it is
# installed, which would add ~1 s of start-up and ~0.3 GB to these processes that a user's run never pays.
WITHOUT_TORCH = frozenset({"demo", "sweep_wall"})


class _HideTorch(importlib.abc.MetaPathFinder):
  """Makes `import torch` fail as it does where PyTorch is not installed."""

  def find_spec(self, name, path=None, target=None):
    if name == "torch" or name.startswith("torch."):
      raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    return None


def main(argv: list[str]) -> int:
  side, task, args, result_path = argv[1], argv[2], json.loads(argv[3]), argv[4]
  if side == "jax" and task in WITHOUT_TORCH:
    sys.meta_path.insert(0, _HideTorch())
  try:
    if side == "jax":
      from bench import jax_tasks as tasks
    elif side == "torch":
      from bench import torch_tasks as tasks
    else:
      raise ValueError(f"side must be 'jax' or 'torch', got {side!r}")
    result = {"ok": True, **tasks.TASKS[task](**args)}
  except Exception as e:  # Recorded in the results instead of crashing the whole benchmark.
    result = {"ok": False, "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(limit=8)}
  with open(result_path, "w") as f:
    json.dump(result, f)
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv))
