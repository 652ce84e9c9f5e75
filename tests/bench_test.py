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

from bench import dcgan  # noqa: E402
from bench import jax_tasks  # noqa: E402
from bench import torch_dcgan  # noqa: E402
from bench import torch_reference  # noqa: E402
from bench import workload  # noqa: E402
from flax import linen as nn  # noqa: E402
from gan_jax import engine  # noqa: E402

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
  z_d, z_g = (rng.standard_normal((batch_size, gan.players.latent_dim)).astype(np.float32) for _ in range(2))

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

  new_state, metrics = jax.jit(functools.partial(engine.train_step, gan))(state, real)
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
  shapes = workload.step_matmul_shapes(gan)
  assert sum(2 * m * k * n for m, k, n in shapes) == f["flops"]
  assert (256, 128, 128) in shapes and (128, 256, 128) in shapes  # a hidden layer's forward and weight gradient


@pytest.mark.parametrize("kind,in_size", [("conv", 28), ("conv", 14), ("conv_transpose", 7), ("conv_transpose", 14)])
def test_dcgan_layers_match_flax(kind, in_size):
  # Flax's 4×4 stride-2 'SAME' Conv / ConvTranspose vs the torch layers `torch_dcgan` builds, random weights.
  flax_layer = (nn.Conv if kind == "conv" else nn.ConvTranspose)(5, (4, 4), strides=(2, 2), padding="SAME",
                                                                   use_bias=False)
  torch_layer = (torch.nn.Conv2d if kind == "conv" else torch.nn.ConvTranspose2d)(
      3, 5, torch_dcgan.KERNEL, torch_dcgan.STRIDE, torch_dcgan.PADDING, bias=False)
  x = np.random.default_rng(0).standard_normal((2, in_size, in_size, 3)).astype(np.float32)
  variables = flax_layer.init(jax.random.PRNGKey(1), x)
  ours = np.asarray(flax_layer.apply(variables, x))
  with torch.no_grad():
    torch_layer.weight.copy_(torch_dcgan.to_torch(kind, variables["params"]["kernel"]))
    theirs = torch_layer(torch.from_numpy(dcgan.to_nchw(x))).numpy()
  assert theirs.shape == dcgan.to_nchw(ours).shape
  np.testing.assert_allclose(theirs, dcgan.to_nchw(ours), atol=1e-5)


def test_torch_dcgan_round_trips_flax_variables():
  config, gan, state = dcgan.build(4, 8)
  rng = np.random.default_rng(0)
  # Random values everywhere: BatchNorm's initial ones and zeros would hide a wrong permutation.
  players = [{k: rng.standard_normal(v.shape).astype(np.float32) for k, v in dcgan.variables(p, s).items()}
             for p, s in ((state.g_params, state.g_batch_stats), (state.d_params, state.d_batch_stats))]
  model = torch_dcgan.TorchDCGAN(*players, **dcgan.torch_kwargs(config, gan))
  for module, flat in zip((model.g, model.d), players):
    back = {f"{c}/{k}": v for c in ("params", "batch_stats") for k, v in module.flax_variables(c).items()}
    assert back.keys() == flat.keys()
    for k in flat:
      np.testing.assert_array_equal(back[k], flat[k], err_msg=k)


def test_torch_dcgan_matches_gan_jax():
  # Losses and gradients on identical variables, batch and latents; one full step. Small size: 1e-5 holds in
  # float32 here (at batch 64, features 64 BatchNorm's backward makes float32 rounding reach ~1e-2 on both sides).
  out = jax_tasks.dcgan_crosscheck(batch_size=8, features=8)
  assert out["float32"]["grads_max_abs"] > 1e-2  # The comparison is not vacuous.
  for name in ("d_loss_rel_diff", "g_loss_rel_diff", "d_grads_max_rel_diff", "g_grads_max_rel_diff"):
    assert out["float64"][name] <= 1e-10, (name, out["float64"])
    assert out["float32"][name] <= TOL, (name, out["float32"])
  step = out["step"]
  assert step["d_loss_abs_diff"] <= TOL and step["g_loss_abs_diff"] <= TOL, step
  assert step["params_max_abs_diff"] <= TOL and step["running_mean_max_abs_diff"] <= 1e-6, step
  # PyTorch's running variance uses the unbiased batch variance: different, but only by n/(n−1) of the update.
  assert 0 < step["running_var_max_rel_diff"] < 1e-2, step


@pytest.mark.slow
def test_quick_bench_end_to_end(tmp_path):
  subprocess.run([sys.executable, "-m", "bench", "--quick", f"--out={tmp_path}"], cwd=ROOT, check=True,
                 timeout=900)
  with open(tmp_path / "results.json") as f:
    results = json.load(f)
  assert {"meta", "crosscheck", "throughput", "hardware", "compile", "seeds", "data_parallel", "divergences",
          "demo", "dcgan", "memory", "targets"} <= results.keys()
  assert results["data_parallel"]["rows"] and all(r["ok"] for r in results["data_parallel"]["rows"])
  dc = results["dcgan"]
  assert {r["impl"] for r in dc["rows"]} >= {"gan-jax per-step jit", "PyTorch eager (1 thread)"}
  assert all(r["ok"] for r in dc["rows"]), dc["rows"]
  assert [(r["num_seeds"], r["replica_map"]) for r in dc["seeds"]] == [(1, "vmap"), (2, "vmap"), (2, "unroll")]
  assert all(r["ok"] for r in dc["seeds"]), dc["seeds"]
  assert dc["crosscheck"]["ok"] and dc["crosscheck"]["float64"]["g_grads_max_rel_diff"] <= TOL
  impls = {r["impl"] for r in results["throughput"]}
  assert {"gan-jax per-step jit", "PyTorch eager (1 thread)"} <= impls
  jax_rows = [r for r in results["throughput"] if r["impl"].startswith("gan-jax")]
  assert jax_rows and all(r["ok"] for r in jax_rows), jax_rows
  assert results["crosscheck"]["ok"] and results["demo"]["ok"]
  assert all(f["step_shapes_gflops"]["median"] > 0 for f in results["hardware"]["step_flops"])
  split = results["demo"]["time_split_s"]
  assert {"init", "train", "evaluate", "checkpoint", "figures", "other"} <= split.keys()
  assert min(v for k, v in split.items() if k != "other") > 0
  assert abs(sum(split.values()) - results["demo"]["wall_s"]) < 1e-6
  assert all(t["status"] in ("met", "missed", "not measured") for t in results["targets"])
  assert all(m["peak_rss_mb"] > 0 for m in results["memory"])
  assert (tmp_path / "results.md").read_text().startswith("# gan-jax benchmarks")
