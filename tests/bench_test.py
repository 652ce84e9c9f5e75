"""Tests of bench/: the PyTorch reference computes what gan-jax computes, and `python -m bench --quick` runs.

Both need PyTorch (the `bench` extra) and skip without it, as in CI's `make test`.
"""
import functools
import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bench import torch_reference  # noqa: E402
from bench import workload  # noqa: E402
from gan_jax import train  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOL = 1e-5


def _pair(batch_size: int, seed: int = 0):
  gan, target, state = workload.build(batch_size, seed)
  model = torch_reference.TorchGAN(workload.flat_params(state.g_params), workload.flat_params(state.d_params),
                                   **workload.torch_kwargs(workload.reference_config(batch_size), gan))
  real = workload.real_batches(target, batch_size, 1, seed=seed + 1)[0]
  return gan, state, model, real


@pytest.mark.parametrize("batch_size,seed", [(8, 0), (64, 3)])
def test_torch_reference_matches_losses_and_gradients(batch_size, seed):
  gan, state, model, real = _pair(batch_size, seed)
  rng = np.random.default_rng(seed)
  z_d, z_g = (rng.standard_normal((batch_size, gan.latent_dim)).astype(np.float32) for _ in range(2))

  ours = workload.losses_and_grads(gan, state, real[0], z_d, z_g)
  theirs = torch_reference.losses_and_grads(model.g, model.d, real[0], z_d, z_g)

  assert ours["d_grads"].keys() == theirs["d_grads"].keys()
  diffs = workload.compare(ours, theirs)
  assert diffs["grads_max_abs"] > 1e-3  # The comparison is not vacuous.
  for name in ("d_loss_abs_diff", "g_loss_abs_diff", "d_grads_max_abs_diff", "g_grads_max_abs_diff"):
    assert diffs[name] <= TOL, (name, diffs)


def test_torch_step_matches_train_step():
  gan, state, model, real = _pair(32)
  z_d, z_g = workload.step_latents(gan, state)

  new_state, metrics = jax.jit(functools.partial(train.train_step, gan))(state, real)
  d_loss, g_loss = model.step(*(torch.tensor(a) for a in (real[0], z_d, z_g)))

  np.testing.assert_allclose(float(metrics["d_loss"]), d_loss.item(), atol=TOL)
  np.testing.assert_allclose(float(metrics["g_loss"]), g_loss.item(), atol=TOL)
  for ours, module in ((new_state.g_params, model.g), (new_state.d_params, model.d)):
    assert workload.max_abs_diff(workload.flat_params(ours), torch_reference.flat_params(module)) <= TOL


def test_analytic_step_flops():
  gan, _, _ = workload.build(256)
  f = workload.step_flops(gan)
  # 2·(2·128 + 2·128² + 128·2) and 2·(2·128 + 2·128² + 128·1).
  assert (f["F_G"], f["F_D"]) == (66560, 66304)
  assert f["flops"] == 256 * (4 * 66560 + 8 * 66304)


@pytest.mark.slow
def test_quick_bench_end_to_end(tmp_path):
  subprocess.run([sys.executable, "-m", "bench", "--quick", f"--out={tmp_path}"], cwd=ROOT, check=True,
                 timeout=900)
  with open(tmp_path / "results.json") as f:
    results = json.load(f)
  assert {"meta", "crosscheck", "throughput", "hardware", "compile", "seeds", "data_parallel", "divergences",
          "demo", "dcgan", "memory", "targets"} <= results.keys()
  assert results["data_parallel"]["rows"] and all(r["ok"] for r in results["data_parallel"]["rows"])
  assert results["dcgan"]["status"] == "pending the image issue"
  impls = {r["impl"] for r in results["throughput"]}
  assert {"gan-jax per-step jit", "PyTorch eager (1 thread)"} <= impls
  jax_rows = [r for r in results["throughput"] if r["impl"].startswith("gan-jax")]
  assert jax_rows and all(r["ok"] for r in jax_rows), jax_rows
  assert results["crosscheck"]["ok"] and results["demo"]["ok"]
  assert all(t["status"] in ("met", "missed", "not measured") for t in results["targets"])
  assert all(m["peak_rss_mb"] > 0 for m in results["memory"])
  assert (tmp_path / "results.md").read_text().startswith("# gan-jax benchmarks")
