"""Benchmarks of the gan-jax side; each runs inside its own child process (see `bench.child`).

Every task takes keyword arguments (JSON-able) and returns a JSON-able dict. Compile time is read from
jax.monitoring (trace + lowering + XLA compile, `timing.CompileClock`), separately from the timed repetitions.
"""
import functools
import os
import re
import runpy
import sys
import tempfile
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from bench import dcgan
from bench import timing
from bench import workload
from gan_jax import config as config_lib
from gan_jax import distributions
from gan_jax import divergences
from gan_jax import engine
from gan_jax import parallel
from gan_jax import sweep as sweep_lib
from gan_jax import targets as targets_lib
from gan_jax import toy_task
from gan_jax import train
from gan_jax import writers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CLOCK = timing.CompileClock()


def _block(tree: Any) -> None:
  jax.block_until_ready(tree)


def backend() -> dict[str, Any]:
  """The JAX backend this child runs on."""
  return {"backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()],
          "jax": jax.__version__}


def export(path: str, batch_sizes: list[int], num_batches: int) -> dict[str, Any]:
  """Writes gan-jax's initial parameters and pre-drawn real batches to `path` (.npz) for the PyTorch children.

  The PyTorch children then start from identical weights and data without importing JAX (which would inflate
  their peak memory).
  """
  arrays = {}
  gan, target, state = workload.build(max(batch_sizes))
  for player, params in (("g", state.g_params), ("d", state.d_params)):
    for name, value in workload.flat_params(params).items():
      arrays[f"{player}/{name}"] = value
  for b in batch_sizes:
    arrays[f"real/{b}"] = workload.real_batches(target, b, num_batches)[:, 0]
  np.savez(path, **arrays)
  return {"torch_kwargs": workload.torch_kwargs(workload.reference_config(max(batch_sizes)), gan)}


def crosscheck(batch_size: int) -> dict[str, Any]:
  """PyTorch vs gan-jax on identical parameters, real batch and latents: losses, gradients, one full step.

  Returns:
    Max absolute differences: of both losses, of every parameter gradient (`losses_and_grads`), and after one
    full `train_step` vs one PyTorch step fed the latents the engine drew: the losses it reports and the updated
    parameters.
  """
  import torch
  from bench import torch_reference
  gan, target, state = workload.build(batch_size)
  model = torch_reference.TorchGAN(workload.flat_params(state.g_params), workload.flat_params(state.d_params),
                                   **workload.torch_kwargs(workload.reference_config(batch_size), gan))
  real = workload.real_batches(target, batch_size, 1)[0]
  z_d, z_g = workload.step_latents(gan, state)
  ours = workload.losses_and_grads(gan, state, real[0], z_d, z_g)
  theirs = torch_reference.losses_and_grads(model.g, model.d, real[0], z_d, z_g)
  out = {"batch_size": batch_size, **workload.compare(ours, theirs)}

  new_state, metrics = jax.jit(functools.partial(engine.train_step, gan))(state, jnp.asarray(real))
  d_loss, g_loss = model.step(*(torch.tensor(a) for a in (real[0], z_d, z_g)))
  out["step_d_loss_abs_diff"] = abs(float(metrics["d_loss"]) - d_loss.item())
  out["step_g_loss_abs_diff"] = abs(float(metrics["g_loss"]) - g_loss.item())
  out["step_params_max_abs_diff"] = max(
      workload.max_abs_diff(workload.flat_params(new_state.g_params), torch_reference.flat_params(model.g)),
      workload.max_abs_diff(workload.flat_params(new_state.d_params), torch_reference.flat_params(model.d)))
  return out


def per_step(batch_size: int, steps: int, reps: int, warmup: int = 20) -> dict[str, Any]:
  """One jitted `train_step` call per step, fed pre-drawn real batches already on the device."""
  gan, target, state = workload.build(batch_size)
  reals = [jax.device_put(r) for r in workload.real_batches(target, batch_size, 100)]
  step = workload.per_step_fn(gan)
  with _CLOCK.measure() as compiled:
    start = time.perf_counter()
    state, metrics = step(state, reals[0])
    _block(metrics)
    first = time.perf_counter() - start
  for i in range(warmup):
    state, metrics = step(state, reals[i % len(reals)])
  _block(state)

  def run():
    nonlocal state
    for i in range(steps):
      state, _ = step(state, reals[i % len(reals)])
    _block(state)

  times = timing.repeat(run, reps)
  return {"impl": "gan-jax per-step jit", "batch_size": batch_size, "steps_per_rep": steps,
          "compile_s": compiled["compile_s"], "first_call_s": first,
          "step_ms": timing.summary([1e3 * t / steps for t in times]),
          "steps_per_s": timing.summary([steps / t for t in times])}


def scan(batch_size: int, steps_per_call: int, calls: int, reps: int) -> dict[str, Any]:
  """`train_steps` fusing `steps_per_call` steps into one call (real data sampled inside, from the target)."""
  gan, target, state = workload.build(batch_size)
  fn = workload.scan_fn(gan, target, steps_per_call)
  with _CLOCK.measure() as compiled:
    start = time.perf_counter()
    state, metrics = fn(state)
    _block(metrics)
    first = time.perf_counter() - start

  def run():
    nonlocal state
    for _ in range(calls):
      state, _ = fn(state)
    _block(state)

  times = timing.repeat(run, reps)
  steps = steps_per_call * calls
  return {"impl": f"gan-jax scan ({steps_per_call} steps/call)", "batch_size": batch_size,
          "steps_per_rep": steps, "compile_s": compiled["compile_s"], "first_call_s": first,
          "step_ms": timing.summary([1e3 * t / steps for t in times]),
          "steps_per_s": timing.summary([steps / t for t in times])}


def hardware(sgemm_size: int, sgemm_reps: int, batch_sizes: list[int]) -> dict[str, Any]:
  """Measured float32 matmul throughput, and the FLOPs of one training step (analytic and from XLA)."""
  n = sgemm_size
  key_a, key_b = jax.random.split(jax.random.PRNGKey(0))
  a = jax.random.normal(key_a, (n, n), jnp.float32)
  b = jax.random.normal(key_b, (n, n), jnp.float32)
  matmul = jax.jit(jnp.matmul)
  _block(matmul(a, b))
  inner = max(1, int(4e9 / (2 * n**3)))  # ~4 GFLOP per repetition, so short reps are not timer noise.

  def run():
    for _ in range(inner):
      c = matmul(a, b)
    _block(c)

  times = timing.repeat(run, sgemm_reps)
  gflops = [inner * 2 * n**3 / t / 1e9 for t in times]
  flops = []
  for batch_size in batch_sizes:
    gan, target, state = workload.build(batch_size)
    real = jnp.asarray(workload.real_batches(target, batch_size, 1)[0])
    step_cost = jax.jit(functools.partial(engine.train_step, gan)).lower(state, real).compile().cost_analysis()
    scan_cost = workload.scan_fn(gan, target, 10).lower(state).compile().cost_analysis()
    flops.append({"batch_size": batch_size, "analytic": workload.step_flops(gan),
                  "xla_train_step": _flops_of(step_cost), "xla_train_steps_10": _flops_of(scan_cost),
                  "step_shapes_gflops": step_shapes_sgemm(workload.step_matmul_shapes(gan), sgemm_reps)})
  return {"sgemm_size": n, "sgemm_gflops": timing.summary(gflops), "step_flops": flops}


def step_shapes_sgemm(shapes: list[tuple[int, int, int]], reps: int, inner: int = 200) -> dict[str, float]:
  """GFLOP/s of exactly a step's matmuls (the (m, k, n) list), `inner` times per call inside one program.

  The step's own ceiling: small matmuls (256 × 128 × 128) run far below the 2048³ rate. A loop-carried scale
  (1 + 1e-30·carry) keeps XLA from hoisting the loop-invariant products out of the loop.
  """
  keys = jax.random.split(jax.random.PRNGKey(1), 2 * len(shapes))
  operands = [(jax.random.normal(keys[2 * i], (m, k), jnp.float32), jax.random.normal(keys[2 * i + 1], (k, n)))
              for i, (m, k, n) in enumerate(shapes)]

  @jax.jit
  def run(operands):
    def body(_, carry):
      scale = 1.0 + 1e-30 * carry
      return carry + sum(jnp.sum(jnp.matmul(a * scale, b)) for a, b in operands)
    return jax.lax.fori_loop(0, inner, body, jnp.zeros((), jnp.float32))

  _block(run(operands))
  times = timing.repeat(lambda: _block(run(operands)), reps)
  flops = inner * sum(2 * m * k * n for m, k, n in shapes)
  return timing.summary([flops / t / 1e9 for t in times])


def _flops_of(cost: Any) -> float | None:
  # cost_analysis() is a dict in recent JAX (a list of dicts, one per module, in older ones).
  if isinstance(cost, (list, tuple)):
    cost = cost[0] if cost else {}
  value = (cost or {}).get("flops")
  return None if value is None else float(value)


def compile_vs_steps(batch_size: int, steps_list: list[int]) -> dict[str, Any]:
  """Compile time of `train_steps` at several steps-per-call (a scan: should not grow with the count)."""
  gan, target, state = workload.build(batch_size)
  rows = []
  for steps in steps_list:
    fn = workload.scan_fn(gan, target, steps)
    with _CLOCK.measure() as compiled:
      fn.lower(state).compile()
    rows.append({"steps_per_call": steps, "compile_s": compiled["compile_s"]})
  with _CLOCK.measure() as compiled:
    workload.per_step_fn(gan).lower(state, jnp.zeros((1, batch_size, gan.players.data_dim))).compile()
  return {"batch_size": batch_size, "scan": rows, "train_step_compile_s": compiled["compile_s"]}


def seeds(num_seeds: int, mode: str, batch_size: int, steps: int, reps: int) -> dict[str, Any]:
  """S seeds trained `steps` steps: one vmapped `train_steps` call, or S separate runs one after the other.

  Args:
    num_seeds: S.
    mode: 'vmap' (`init_states` + `jax.vmap(train_steps)`, one program) or 'sequential' (one jitted
      `train_steps`, compiled once, called for each seed's own state in turn).
    batch_size: per-seed batch.
    steps: steps per seed per repetition.
    reps: timed repetitions.
  """
  gan, target, _ = workload.build(batch_size)
  seeds_ = np.arange(num_seeds)
  if mode == "vmap":
    states = engine.init_states(gan, seeds_)
    vmapped = jax.jit(jax.vmap(lambda s: toy_task.train_steps(gan, target, s, steps)), donate_argnums=0)
    call = lambda states: vmapped(states)[0]
  elif mode == "sequential":
    states = [workload.init_state(gan, int(s)) for s in seeds_]
    one = workload.scan_fn(gan, target, steps)  # Compiled once, on the first seed.
    call = lambda states: [one(s)[0] for s in states]
  else:
    raise ValueError(f"mode must be 'vmap' or 'sequential', got {mode!r}")

  with _CLOCK.measure() as compiled:
    start = time.perf_counter()
    states = call(states)
    _block(states)
    first = time.perf_counter() - start

  def run():
    nonlocal states
    states = call(states)
    _block(states)

  times = timing.repeat(run, reps)
  return {"num_seeds": num_seeds, "mode": mode, "batch_size": batch_size, "steps": steps,
          "compile_s": compiled["compile_s"], "first_call_s": first, "wall_s": timing.summary(times),
          "seed_steps_per_s": timing.summary([num_seeds * steps / t for t in times])}


# Cross-device collectives as instructions in XLA's optimised HLO text (async ones as their "-start" halves).
_COLLECTIVE = re.compile(r"\s(all-reduce|all-gather|reduce-scatter|collective-permute|all-to-all)(?:-start)?\(")


def data_parallel(num_devices: int, scaling: str, batch_size: int, steps: int, reps: int) -> dict[str, Any]:
  """The engine's data-parallel layout over `num_devices` devices: `train_steps` fused over `steps` steps.

  The engine's own program (`config.parallel.layout = "data"`): the mesh from `parallel.create_layout`, the batch
  constraint from the layout, the state from `engine.init_states` (one replica, replicated on every device) and
  the chunk `toy_task.jitted_chunk` compiles for `train_and_evaluate`, here with the state donated. On CPU the
  devices are fake ones (`JAX_NUM_CPU_DEVICES`, set by the runner) sharing the same cores.

  Args:
    num_devices: devices of the mesh (1 uses the same layout and code path).
    scaling: 'strong' (`batch_size` is the global batch) or 'weak' (`batch_size` per device).
    batch_size: see `scaling`.
    steps: steps per call; one call per repetition.
    reps: timed repetitions.
  """
  if scaling not in ("strong", "weak"):
    raise ValueError(f"scaling must be 'strong' or 'weak', got {scaling!r}")
  global_batch = batch_size if scaling == "strong" else batch_size * num_devices
  config = workload.reference_config(global_batch)
  config.parallel.layout = "data"
  config.parallel.num_devices = num_devices
  gan = train.build_gan(config)  # Validates the device count and that the batch divides over the devices.
  layout = parallel.create_layout(config)
  gan = gan.with_shard_batch(layout.batch_constraint())
  target = targets_lib.get_target(config.target)
  state = engine.init_states(gan, parallel.replicas_of(config), layout)
  fn = toy_task.jitted_chunk(gan, target, layout, state, steps, donate=True)
  with _CLOCK.measure() as compiled:
    start = time.perf_counter()
    program = fn.lower(state).compile()
    state, metrics, _ = program(state)
    _block(metrics)
    first = time.perf_counter() - start
  collectives: dict[str, int] = {}
  for op in _COLLECTIVE.findall(program.as_text()):
    collectives[op] = collectives.get(op, 0) + 1

  def run():
    nonlocal state
    state, _, _ = program(state)
    _block(state)

  times = timing.repeat(run, reps)
  return {"num_devices": num_devices, "scaling": scaling, "global_batch": global_batch,
          "per_device_batch": global_batch // num_devices, "steps": steps,
          "devices": [str(d) for d in layout.mesh.devices.flat], "backend": jax.default_backend(),
          "collectives": collectives, "compile_s": compiled["compile_s"], "first_call_s": first,
          "d_loss": float(metrics["d_loss"][0, -1]),
          "step_ms": timing.summary([1e3 * t / steps for t in times]),
          "steps_per_s": timing.summary([steps / t for t in times]),
          "examples_per_s": timing.summary([global_batch * steps / t for t in times])}


def divergence_lab(num_samples: int, reps: int) -> dict[str, Any]:
  """Exact JS as the library computes it: quadrature in 1-D, Monte Carlo in 2-D; compile and run times."""
  cases = [
      ("1-D N(0,1) vs N(1,1), quadrature", distributions.Gaussian(0.0, 1.0), distributions.Gaussian(1.0, 1.0),
       {}),
      ("1-D mixture_1d target vs N(0,2), quadrature", targets_lib.get_target("mixture_1d"),
       distributions.Gaussian(0.0, 2.0), {}),
      (f"2-D ring target vs N(0,I), Monte Carlo n={num_samples}", targets_lib.get_target("ring"),
       distributions.Gaussian([0.0, 0.0], [1.0, 1.0]), {"key": jax.random.PRNGKey(0), "num_samples": num_samples}),
  ]
  rows = []
  for name, p, g, kwargs in cases:
    with _CLOCK.measure() as compiled:
      start = time.perf_counter()
      estimate = divergences.js(p, g, **kwargs)
      _block(estimate.value)
      first = time.perf_counter() - start
    times = timing.repeat(lambda: _block(divergences.js(p, g, **kwargs).value), reps)
    rows.append({"case": name, "js": float(estimate.value), "stderr": float(estimate.stderr),
                 "method": estimate.method, "compile_s": compiled["compile_s"], "first_call_s": first,
                 "time_ms": timing.summary([1e3 * t for t in times])})
  return {"cases": rows}


def _run_entry_point(script: str, args: list[str]) -> tuple[float, dict[str, Any]]:
  """Runs `experiments/SCRIPT ARGS` in this process (as `python experiments/SCRIPT` would): (wall s, compile)."""
  sys.argv = [f"experiments/{script}", *args]
  status = 0
  with _CLOCK.measure() as compiled:
    start = time.perf_counter()
    try:
      runpy.run_path(os.path.join(ROOT, "experiments", script), run_name="__main__")
    except SystemExit as e:  # absl's app.run always exits.
      status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    wall = time.perf_counter() - start
  if status:
    raise RuntimeError(f"{script} exited with status {status}")
  return wall, dict(compiled)


def demo(workdir: str, overrides: list[str]) -> dict[str, Any]:
  """Runs `experiments/demo.py --config=configs/demo.py` in this process, recording wall and compile time."""
  args = [f"--config={os.path.join(ROOT, 'configs', 'demo.py')}", f"--workdir={workdir}", *overrides]
  wall, compiled = _run_entry_point("demo.py", args)
  return {"command": " ".join(["python", "experiments/demo.py", *args]), "wall_s": wall,
          "compile_s": compiled["compile_s"], "compile_share": compiled["compile_s"] / wall,
          "time_split_s": demo_time_split(workdir, wall), "compile_by_event_s": dict(_CLOCK.by_event),
          "compile_by_function_s": dict(sorted(_CLOCK.by_function.items(), key=lambda kv: -kv[1])[:8])}


def demo_time_split(workdir: str, wall: float) -> dict[str, float]:
  """Where a demo's wall time went, from the `timing.json` files the engine and `compare.run_demo` write.

  Phases summed over objectives: init (state and checkpoint manager), train, evaluate, plot, checkpoint; figures
  (the comparison's restore, figures and summary); other = the rest (the objectives' Python between phases, the
  entry point). A phase's first call includes compiling (or loading) its program.
  """
  split: dict[str, float] = {}
  for name in sorted(os.listdir(workdir)):
    record = writers.read_timing(os.path.join(workdir, name)) if os.path.isdir(os.path.join(workdir, name)) else None
    for phase, seconds in (record or {}).get("phases_s", {}).items():
      split[phase] = split.get(phase, 0.0) + seconds
  root = writers.read_timing(workdir) or {"phases_s": {}}
  split["figures"] = root["phases_s"].get("figures", 0.0)
  split["other"] = wall - sum(split.values())
  return split


def _plan(config: str) -> tuple[Any, Any, list, list]:
  """(base config, sweep, members, packs) of a sweep config file relative to the repository root, as the sweep
  plans them before anything trains."""
  path = os.path.join(ROOT, config)
  base = config_lib.load_config_file(path)
  sweep = sweep_lib.load_sweep(path)
  members = sweep_lib.expand(base, sweep)
  return base, sweep, members, sweep_lib.plan_packs(members)


def sweep_plan(config: str) -> dict[str, Any]:
  """How many training programs `experiments/sweep.py --config=CONFIG` compiles (packing on, its default).

  Loads the base config and the sweep as `launch.run_file` does, then expands and packs the members as the sweep
  does before anything trains (`sweep.expand`, `sweep.plan_packs`): nothing is compiled or trained. Each pack
  trains as one program.

  Args:
    config: the sweep config file, relative to the repository root (`path.py` or `path.py:arg`).

  Returns:
    'config', 'members', 'num_seeds' (per member), 'pack_sizes' (members per pack, in plan order),
    'pack_overrides' (per pack, the overrides all its members share) and 'plan_s'.
  """
  start = time.perf_counter()
  base, sweep, members, packs = _plan(config)
  plan_s = time.perf_counter() - start
  # JSON only keeps plain values; an override holding a tuple or a sub-config is shown as its repr.
  plain = lambda v: v if isinstance(v, (str, int, float, bool)) or v is None else repr(v)
  shared = [{k: plain(v) for k, v in pack[0].overrides.items() if all(m.overrides.get(k) == v for m in pack)}
            for pack in packs]
  return {"config": config, "members": len(members), "num_seeds": sweep.seed_range(base)[1],
          "pack_sizes": [len(pack) for pack in packs], "pack_overrides": shared, "plan_s": plan_s}


def _phase_sums(workdir: str) -> dict[str, float]:
  """Every engine phase (`timing.json`: init, train, evaluate, …) summed over the runs under `workdir`."""
  sums: dict[str, float] = {}
  for path, _, files in os.walk(workdir):
    record = writers.read_timing(path) if writers.TIMING_FILE in files else None
    for phase, seconds in (record or {}).get("phases_s", {}).items():
      sums[phase] = sums.get(phase, 0.0) + seconds
  return sums


def sweep_wall(config: str, workdir: str, pack: bool) -> dict[str, Any]:
  """Runs `experiments/sweep.py --config=CONFIG --workdir=WORKDIR` in this process, packed or not.

  With `pack=False` (`--nopack`) every member compiles and trains its own programs, one after the other: the
  sweep as it ran before packing. Run it without a persistent compilation cache, as the command runs by default.

  Returns:
    'wall_s', 'compile_s' (trace + lowering + XLA, jax.monitoring), 'programs' (training programs: packs, or
    members), 'members', and 'phases_s': the engine's phases summed over every run (`timing.json`).
  """
  wall, compiled = _run_entry_point(
      "sweep.py", [f"--config={os.path.join(ROOT, config)}", f"--workdir={workdir}", "--pack" if pack else "--nopack"])
  planned = sweep_plan(config)
  return {"config": config, "pack": pack, "wall_s": wall, "compile_s": compiled["compile_s"],
          "members": planned["members"], "programs": len(planned["pack_sizes"]) if pack else planned["members"],
          "phases_s": _phase_sums(workdir)}


def sweep_arithmetic(config: str) -> dict[str, Any]:
  """The pure training arithmetic of the packed sweep: its programs' training chunks alone, compiled beforehand.

  Each pack of `sweep.plan_packs` builds its program as the sweep does (`sweep.packed_config`; a pack of one is
  the member's own config), compiles and runs each chunk length once, then times its training from the initial
  state in the chunks the engine runs (`eval_every` steps up to `num_steps`): no evaluation, no I/O, no compile.

  Returns:
    'train_s' (summed over packs), 'per_program_s', 'replicas' (per program) and 'steps' (per program).
  """
  packs = _plan(config)[3]
  per_program, replicas, steps = [], [], []
  with tempfile.TemporaryDirectory() as scratch:
    for pack in packs:
      cfg = sweep_lib.packed_config(pack) if len(pack) > 1 else pack[0].config
      program = train.task_of(cfg).program(cfg, scratch)
      state = program.init()
      lengths = [min(cfg.eval_every, cfg.num_steps - s) for s in range(0, cfg.num_steps, cfg.eval_every)]
      for n in sorted(set(lengths)):
        _block(program.chunk(state, 0, n))  # compiles (not timed)
      start, step = time.perf_counter(), 0
      for n in lengths:
        state, _, finite = program.chunk(state, step, n)
        _block(finite)  # as the engine: it reads each chunk's finiteness before going on
        step += n
      per_program.append(time.perf_counter() - start)
      replicas.append(parallel.replicas_of(cfg).size)
      steps.append(step)
  return {"config": config, "train_s": sum(per_program), "per_program_s": per_program, "replicas": replicas,
          "steps": steps}


def dcgan_export(path: str, batch_size: int, features: int, num_batches: int) -> dict[str, Any]:
  """Writes the DCGAN's initial variables and real batches to `path` (.npz) for the PyTorch children.

  Keys: 'g/params/…', 'g/batch_stats/…', 'd/…' ('/'-joined Flax paths) and 'real' (num_batches, b, C, H, W): the
  batches `dcgan_step(mode='per_step')` cycles through, already in PyTorch's NCHW layout.
  """
  config, gan, state = dcgan.build(batch_size, features)
  arrays = {f"g/{k}": v for k, v in dcgan.variables(state.g_params, state.g_batch_stats).items()}
  arrays.update({f"d/{k}": v for k, v in dcgan.variables(state.d_params, state.d_batch_stats).items()})
  arrays["real"] = dcgan.to_nchw(dcgan.real_batches(gan, num_batches)[:, 0])
  np.savez(path, **arrays)
  return {"torch_kwargs": dcgan.torch_kwargs(config, gan)}


def dcgan_crosscheck(batch_size: int, features: int) -> dict[str, Any]:
  """The PyTorch DCGAN vs gan-jax's on identical variables, real batch and latents (those `train_step` draws).

  Returns:
    'float32' and 'float64': `dcgan.compare` of both losses and all gradients, each side computing in that dtype;
    'float32_error': each side's float32 gradients against its own float64 ones (max relative difference: the
    size of float32 rounding); 'step': one full `engine.train_step` vs one PyTorch step, float32 (losses,
    updated parameters, running averages).
  """
  import torch
  from bench import torch_dcgan
  config, gan, state = dcgan.build(batch_size, features)
  g_vars = dcgan.variables(state.g_params, state.g_batch_stats)
  d_vars = dcgan.variables(state.d_params, state.d_batch_stats)
  kwargs = dcgan.torch_kwargs(config, gan)
  model = torch_dcgan.TorchDCGAN(g_vars, d_vars, **kwargs)
  real, labels = dcgan.real_batches(gan, 1)[0], dcgan.labels(gan, 1)[0]
  real_nchw = dcgan.to_nchw(real[0])
  z_d, z_g = dcgan.step_latents(gan, state)
  out: dict[str, Any] = {"batch_size": batch_size, "features": features}

  ours = {"float32": dcgan.losses_and_grads(gan, state, real[0], z_d, z_g),
          "float64": dcgan.losses_and_grads_float64(gan, state, real[0], z_d, z_g)}
  model64 = torch_dcgan.TorchDCGAN(g_vars, d_vars, **kwargs)
  model64.g.double()
  model64.d.double()
  theirs = {"float32": torch_dcgan.losses_and_grads(model, real_nchw, z_d, z_g),
            "float64": torch_dcgan.losses_and_grads(model64, real_nchw, z_d, z_g)}
  for dtype in ("float32", "float64"):
    out[dtype] = dcgan.compare(ours[dtype], theirs[dtype])
  # Each side's float32 rounding error (against its own float64 result), overall and on the tensor where the two
  # sides' float32 gradients differ most.
  errors = {side: {f"{k[0]}: {name}": e for k in ("d_grads", "g_grads")
                   for name, e in dcgan.rel_diffs(r["float64"][k], r["float32"][k]).items()}
            for side, r in (("gan-jax", ours), ("PyTorch", theirs))}
  apart = {f"{k[0]}: {name}": e for k in ("d_grads", "g_grads")
           for name, e in dcgan.rel_diffs(ours["float32"][k], theirs["float32"][k]).items()}
  worst = max(apart, key=apart.get)
  out["float32_error"] = {side: max(e.values()) for side, e in errors.items()}
  out["float32_worst"] = {"tensor": worst, "rel_diff": apart[worst],
                          **{f"{side}_error": e[worst] for side, e in errors.items()}}

  new_state, metrics = jax.jit(functools.partial(engine.train_step, gan))(state, real, labels)
  d_loss, g_loss = model.step(*(torch.tensor(a) for a in (real_nchw, z_d, z_g)))
  lr = kwargs["learning_rate"]
  step = {"d_loss_abs_diff": abs(float(metrics["d_loss"]) - d_loss.item()),
          "g_loss_abs_diff": abs(float(metrics["g_loss"]) - g_loss.item()), "learning_rate": lr}
  params_diff = mean_diff = var_diff = 0.0
  count, off, d_off_grads = 0, 0, []
  for player, params, stats, module in (("d", new_state.d_params, new_state.d_batch_stats, model.d),
                                        ("g", new_state.g_params, new_state.g_batch_stats, model.g)):
    ours_p, theirs_p = dcgan.flat(params), module.flax_variables("params")
    for k in ours_p:
      diff = np.abs(ours_p[k] - theirs_p[k])
      far = diff > 0.01 * lr
      params_diff, count, off = max(params_diff, float(diff.max())), count + diff.size, off + int(far.sum())
      if player == "d":  # The critic step's gradients are the D gradients above (same state, batch and latents).
        d_off_grads.extend(np.abs(ours["float64"]["d_grads"][k][far]).tolist())
    ours_s, theirs_s = dcgan.flat(stats), module.flax_variables("batch_stats")
    for k in ours_s:
      diff = float(np.max(np.abs(ours_s[k] - theirs_s[k])))
      if k.endswith("/mean"):
        mean_diff = max(mean_diff, diff)
      else:  # torch's running variance takes the unbiased batch variance, Flax's the biased one.
        var_diff = max(var_diff, diff / float(np.max(np.abs(ours_s[k]))))
  step.update({"params_max_abs_diff": params_diff, "params_count": count, "params_off_by_1pct_lr": off,
               "d_params_off_max_abs_grad": max(d_off_grads, default=None),
               "running_mean_max_abs_diff": mean_diff, "running_var_max_rel_diff": var_diff})
  out["step"] = step
  return out


def dcgan_step(mode: str, batch_size: int, features: int, reps: int, steps: int = 0, steps_per_call: int = 0,
          calls: int = 1, num_batches: int = 8, warmup: int = 3) -> dict[str, Any]:
  """The DCGAN step (image players, `engine.train_step`, 28×28×1, n_critic = 1), per-step jit or scan, state donated.

  Args:
    mode: 'per_step' (one jitted `train_step` call per step, cycling through `num_batches` pre-drawn real batches
      already on the device: those `dcgan_export` gives PyTorch) or 'scan' (`train_steps` over `steps_per_call`
      pre-drawn batches per call, `calls` calls per repetition).
    batch_size: images per batch.
    features: both players' `features` (64 in Radford et al.).
    reps: timed repetitions.
    steps: steps per repetition ('per_step').
    steps_per_call: steps fused into one call ('scan').
    calls: calls per repetition ('scan').
    num_batches: distinct real batches ('per_step').
    warmup: untimed steps (or calls) after the first, compiling, one.
  """
  _, gan, state = dcgan.build(batch_size, features)
  if mode == "per_step":
    reals = [jax.device_put(r) for r in dcgan.real_batches(gan, num_batches)]
    labels = jax.device_put(dcgan.labels(gan, 1)[0])
    fn, args = dcgan.per_step_fn(gan), lambda i: (reals[i % len(reals)], labels)
    impl, total = "gan-jax per-step jit", steps
  elif mode == "scan":
    real = jax.device_put(dcgan.real_batches(gan, steps_per_call))
    labels = jax.device_put(dcgan.labels(gan, steps_per_call))
    fn, args = dcgan.scan_fn(gan), lambda i: (real, labels)
    impl, steps, total = f"gan-jax scan ({steps_per_call} steps/call)", calls, steps_per_call * calls
  else:
    raise ValueError(f"mode must be 'per_step' or 'scan', got {mode!r}")
  with _CLOCK.measure() as compiled:
    start = time.perf_counter()
    state, metrics = fn(state, *args(0))
    _block(metrics)
    first = time.perf_counter() - start
  for i in range(warmup):
    state, metrics = fn(state, *args(i + 1))
  _block(state)

  def run():
    nonlocal state, metrics
    for i in range(steps):
      state, metrics = fn(state, *args(i))
    _block(state)

  times = timing.repeat(run, reps)
  d_loss, g_loss = (float(np.asarray(metrics[k]).reshape(-1)[-1]) for k in ("d_loss", "g_loss"))
  out = {"impl": impl, "batch_size": batch_size, "features": features, "steps_per_rep": total,
         "compile_s": compiled["compile_s"], "first_call_s": first, "d_loss": d_loss, "g_loss": g_loss,
         "step_ms": timing.summary([1e3 * t / total for t in times]),
         "steps_per_s": timing.summary([total / t for t in times])}
  if mode == "per_step":
    out["conv_kernel_grad_ms"] = _conv_kernel_grad_in_loop(batch_size, features, reps)
  return out


def dcgan_seeds(num_seeds: int, replica_map: str, batch_size: int, features: int, steps: int, reps: int,
                warmup: int = 2) -> dict[str, Any]:
  """S seeds of the DCGAN step in one program, mapped over replicas by `parallel.map_replicas` ('vmap' or
  'unroll', `config.parallel.replica_map`), one jitted call per step as image runs make it (state donated)."""
  config, gan, _ = dcgan.build(batch_size, features)
  states = jax.tree.map(jnp.copy, engine.init_states(gan, np.arange(num_seeds)))
  real = jax.device_put(np.stack([dcgan.real_batches(gan, 1, seed=s + 1)[0] for s in range(num_seeds)]))
  labels = jax.device_put(np.stack([dcgan.labels(gan, 1)[0]] * num_seeds))
  fn = jax.jit(parallel.map_replicas(functools.partial(engine.train_step, gan), replica_map), donate_argnums=0)
  with _CLOCK.measure() as compiled:
    start = time.perf_counter()
    states, metrics = fn(states, real, labels)
    _block(metrics)
    first = time.perf_counter() - start
  for _ in range(warmup):
    states, metrics = fn(states, real, labels)
  _block(states)

  def run():
    nonlocal states, metrics
    for _ in range(steps):
      states, metrics = fn(states, real, labels)
    _block(states)

  times = timing.repeat(run, reps)
  return {"num_seeds": num_seeds, "replica_map": replica_map, "batch_size": batch_size, "features": features,
          "compile_s": compiled["compile_s"], "first_call_s": first,
          "step_ms": timing.summary([1e3 * t / steps for t in times]),
          "seed_steps_per_s": timing.summary([num_seeds * steps / t for t in times])}


def _conv_kernel_grad_in_loop(batch_size: int, features: int, reps: int) -> dict[str, Any]:
  """Kernel gradient of D's widest convolution (14×14×f -> 7×7×2f, 4×4, stride 2), at the top level of a program
  and inside a one-iteration `lax.scan`.

  Diagnostic: `train_step` runs its critic steps in a `lax.scan` (even for n_critic = 1) and `train_steps` scans
  over steps, so every kernel gradient of the DCGAN step sits in a loop body; this shows what that costs here.
  """
  x = jnp.ones((batch_size, 14, 14, features))
  w = jnp.full((4, 4, features, 2 * features), 0.01)
  conv = lambda w, x: jax.lax.conv_general_dilated(x, w, (2, 2), ((1, 1), (1, 1)),
                                                   dimension_numbers=("NHWC", "HWIO", "NHWC"))
  grad = jax.grad(lambda w, x: jnp.sum(conv(w, x) ** 2))
  fns = {"top_level": jax.jit(grad),
         "in_scan": jax.jit(lambda w, x: jax.lax.scan(lambda c, _: (c, grad(w, x)), 0, None, length=1)[1])}
  out = {}
  for name, fn in fns.items():
    _block(fn(w, x))
    out[name] = timing.summary([1e3 * t for t in timing.repeat(lambda: _block(fn(w, x)), reps)])
  return out


TASKS = {
    "backend": backend,
    "export": export,
    "crosscheck": crosscheck,
    "per_step": per_step,
    "scan": scan,
    "hardware": hardware,
    "compile_vs_steps": compile_vs_steps,
    "seeds": seeds,
    "data_parallel": data_parallel,
    "divergence_lab": divergence_lab,
    "demo": demo,
    "sweep_plan": sweep_plan,
    "sweep_wall": sweep_wall,
    "sweep_arithmetic": sweep_arithmetic,
    "dcgan_export": dcgan_export,
    "dcgan_crosscheck": dcgan_crosscheck,
    "dcgan_step": dcgan_step,
    "dcgan_seeds": dcgan_seeds,
}
