"""One process of the two-host tests: joins the loopback cluster, trains data-parallel, dumps its local params.

Usage: multihost_worker.py COORDINATOR NUM_PROCESSES PROCESS_ID WORKDIR OVERRIDES_JSON
"""
import json
import os
import sys

import jax

jax.config.update("jax_num_cpu_devices", 2)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "configs"))

import ml_collections  # noqa: E402
import numpy as np  # noqa: E402
import testing as testing_config  # noqa: E402

from gan_jax import config as config_lib  # noqa: E402
from gan_jax import parallel  # noqa: E402
from gan_jax import train  # noqa: E402


def main(coordinator: str, num_processes: str, process_id: str, workdir: str, overrides: str) -> None:
  parallel.initialize_distributed(coordinator, int(num_processes), int(process_id))
  assert jax.device_count() == 2 * int(num_processes), jax.devices()
  overrides = json.loads(overrides)
  # An image run when the overrides name a dataset.
  config = config_lib.image_config() if "dataset" in overrides else testing_config.get_config()
  for k, v in overrides.items():
    config[k] = ml_collections.ConfigDict(v) if isinstance(v, dict) else v
  config.parallel = ml_collections.ConfigDict({"layout": "data", "num_devices": 0})
  train.train_and_evaluate(config, workdir)
  # Restore what was saved collectively and dump this process's own (replicated) copy of the generator.
  _, _, state, _ = train.load_latest(config, workdir)
  local = {jax.tree_util.keystr(k): np.asarray(v.addressable_data(0))
           for k, v in jax.tree_util.tree_leaves_with_path(state.g_params)}
  np.savez(os.path.join(workdir, f"params_process_{jax.process_index()}.npz"), **local)
  jax.distributed.shutdown()


if __name__ == "__main__":
  main(*sys.argv[1:])
