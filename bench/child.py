"""One benchmark in a fresh process: `python -m bench.child SIDE TASK ARGS_JSON RESULT_PATH`.

SIDE is 'jax' or 'torch'; only that side's library is imported, so memory and thread settings stay per process.
The result (or the error) is written as JSON to RESULT_PATH; the parent adds the process's peak RSS.
"""
import json
import sys
import traceback


def main(argv: list[str]) -> int:
  side, task, args, result_path = argv[1], argv[2], json.loads(argv[3]), argv[4]
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
