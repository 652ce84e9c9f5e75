"""Runs every benchmark, each in its own child process, and writes results.json and results.md.

Children are `python -m bench.child SIDE TASK ...`; the parent never imports JAX or PyTorch. A child's peak
resident memory is its `ru_maxrss` as reported by `os.wait4` when it exits, so every workload's memory is
measured in isolation.
"""
import dataclasses
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from typing import Any

from bench import report

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARTS = ("crosscheck", "throughput", "hardware", "compile", "seeds", "data_parallel", "divergences", "demo",
         "dcgan", "sweep_plan", "sweep")
PENDING: dict[str, str] = {}  # part -> why it is skipped (reported instead of run)
GPU_SEED_COUNT = report.GPU_SEED_COUNT
DEVICES = {"cpu": "cpu", "gpu": "cuda"}  # --device value -> JAX_PLATFORMS for the JAX children.


@dataclasses.dataclass(frozen=True)
class Plan:
  """Sizes and repetition counts of one benchmark run."""
  batch_sizes: tuple[int, ...] = (64, 256)
  reps: int = 5                               # timed repetitions behind every median
  per_step_steps: int = 300                   # steps per repetition, gan-jax per-step and PyTorch
  torch_steps: int = 200
  scan_steps_per_call: int = 100
  scan_calls: int = 3
  torch_threads: tuple[int, ...] = (1, 2)     # eager
  compile_threads: tuple[int, ...] = (1, 2)   # torch.compile
  crosscheck_batch: int = 64
  sgemm_size: int = 2048
  sgemm_reps: int = 7
  compile_steps: tuple[int, ...] = (10, 1000)
  seed_counts: tuple[int, ...] = (1, 4, 16, 64)
  seed_batch: int = 256
  seed_steps: int = 20
  seed_reps: int = 3
  dp_device_counts: tuple[int, ...] = (1, 2, 4)  # data parallel; fake CPU devices on --device=cpu
  dp_strong_batch: int = 256                  # global batch of strong scaling (divisible by every count)
  dp_weak_batch: int = 64                     # per-device batch of weak scaling
  dp_steps: int = 200                         # steps per (scan-fused) call, one call per repetition
  dp_reps: int = 5
  mc_samples: int = 100_000
  divergence_reps: int = 10
  demo_overrides: tuple[str, ...] = ()
  demo_cache: bool = True                     # also time the demo with a cold, then warm, compilation cache
  dcgan_batch: int = 64                       # DCGAN on 28×28×1 (image_config('mnist'), synthetic batches)
  dcgan_features: int = 64                    # both players' width (Radford et al.)
  dcgan_steps: int = 10                       # gan-jax per-step: steps per repetition (~1 s a step on 2 cores)
  dcgan_scan_steps_per_call: int = 10         # gan-jax scan-fused: one call per repetition
  dcgan_torch_steps: int = 20                 # PyTorch eager (plan.torch_threads): steps per repetition
  dcgan_reps: int = 5
  dcgan_scan_reps: int = 3
  dcgan_crosscheck_batch: int = 64
  dcgan_crosscheck_features: int = 64
  dcgan_seed_count: int = 3                   # seeds of one program: vmapped vs unrolled replicas
  dcgan_seed_features: int = 16               # the mnist5k objective sweep's width
  dcgan_seed_steps: int = 10
  sweep_config: str = "configs/sweeps/objectives.py"  # sweep_plan: its members and packed programs (no training)
  # sweep: that sweep trained packed and unpacked (no persistent compilation cache), and its pure arithmetic.
  sweep_run_config: str = "configs/sweeps/objectives.py"
  sweep_timeout_s: int = 2400                 # the unpacked sweep: 36 members one after the other
  child_timeout_s: int = 600


QUICK = Plan(
    batch_sizes=(64,), reps=2, per_step_steps=20, torch_steps=20, scan_steps_per_call=10, scan_calls=2,
    torch_threads=(1,), compile_threads=(1,), crosscheck_batch=16, sgemm_size=256, sgemm_reps=2,
    compile_steps=(10, 100), seed_counts=(1, 4), seed_batch=64, seed_steps=5, seed_reps=2,
    dp_device_counts=(1, 2), dp_strong_batch=64, dp_weak_batch=16, dp_steps=10, dp_reps=2, mc_samples=10_000,
    divergence_reps=2,
    demo_overrides=("--config.num_steps=20", "--config.eval_every=10", "--config.checkpoint_every=20",
                    "--config.eval_samples=256", "--config.plot_every=0", "--config.num_seeds=1",
                    "--config.objectives=(\"non_saturating\",)"),
    demo_cache=False, dcgan_features=8, dcgan_steps=3, dcgan_scan_steps_per_call=3, dcgan_torch_steps=3,
    dcgan_reps=2, dcgan_scan_reps=2, dcgan_crosscheck_batch=8, dcgan_crosscheck_features=8, dcgan_seed_count=2,
    dcgan_seed_features=8, dcgan_seed_steps=3, sweep_run_config="configs/sweeps/objectives.py:runlocal",
    sweep_timeout_s=300, child_timeout_s=300)


class Children:
  """Launches child processes and records each one's result, wall time and peak RSS."""

  def __init__(self, device: str, scratch: str, timeout_s: int, verbose: bool = True, wait_idle_s: float = 0.0):
    self.device, self.scratch, self.timeout_s, self.verbose = device, scratch, timeout_s, verbose
    self.wait_idle_s = wait_idle_s
    self.backend: dict[str, Any] = {}  # The 'backend' child's result (its devices), set by `run`.
    self.count = 0
    self.memory: list[dict[str, Any]] = []
    self.disturbed: list[dict[str, Any]] = []

  def run(self, side: str, task: str, label: str, meta: dict[str, Any] | None = None,
          env: dict[str, str] | None = None, timeout_s: int | None = None, **args: Any) -> dict[str, Any]:
    """Runs `task` of `side` ('jax' | 'torch') in a fresh process with keyword arguments `args`.

    `env` adds environment variables for this child only; `timeout_s` replaces the plan's child timeout.

    Returns:
      The child's result dict, over `meta` (fields kept even when the child fails), plus 'peak_rss_mb' and
      'child_wall_s'.
    """
    self.count += 1
    result_path = os.path.join(self.scratch, f"{self.count:03d}_{task}.json")
    log_path = os.path.join(self.scratch, f"{self.count:03d}_{task}.log")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {}))
    if side == "jax":
      env["JAX_PLATFORMS"] = DEVICES[self.device]
    else:
      env["OMP_NUM_THREADS"] = str(args.get("threads", 1))
    if self.verbose:
      print(f"[bench] {label} ...", flush=True)
    if self.wait_idle_s:
      _wait_for_idle(self.wait_idle_s)
    start, busy_before = time.perf_counter(), _busy_cpu_s()
    with open(log_path, "w") as log:
      proc = subprocess.Popen([sys.executable, "-m", "bench.child", side, task, json.dumps(args), result_path],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
      status, usage = self._wait(proc, timeout_s or self.timeout_s)
    wall = time.perf_counter() - start
    rss_kib = usage.ru_maxrss
    # CPU time the machine spent on anything but this child: other processes disturb the timings.
    other_cpu = None if busy_before is None else max(
        0.0, _busy_cpu_s() - busy_before - usage.ru_utime - usage.ru_stime)
    if os.path.exists(result_path):
      with open(result_path) as f:
        result = json.load(f)
    else:
      with open(log_path) as f:
        tail = f.read()[-2000:]
      why = "timed out" if status is None else f"exited with status {status}"
      result = {"ok": False, "error": f"child {why} without a result; log tail:\n{tail}"}
    result = {**(meta or {}), **result, "peak_rss_mb": rss_kib / 1024, "child_wall_s": wall,
              "other_cpu_share": None if other_cpu is None else other_cpu / (wall * (os.cpu_count() or 1))}
    self.disturbed.append({"workload": label, "other_cpu_share": result["other_cpu_share"]})
    self.memory.append({"workload": label, "side": side, "peak_rss_mb": rss_kib / 1024, "ok": result["ok"]})
    if self.verbose:
      state = "ok" if result["ok"] else "FAILED: " + result["error"].splitlines()[0]
      other = "" if other_cpu is None else f", other processes {100 * result['other_cpu_share']:.0f}% of the CPUs"
      print(f"[bench]   {wall:.1f} s, peak RSS {rss_kib / 1024:.0f} MiB{other}, {state}", flush=True)
    return result

  def _wait(self, proc: subprocess.Popen, timeout_s: float) -> tuple[int | None, Any]:
    """Waits for the child (killing it after `timeout_s`); returns (exit status or None, its rusage)."""
    deadline = time.monotonic() + timeout_s
    while True:
      pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
      if pid:
        proc.returncode = os.waitstatus_to_exitcode(status)  # Keeps Popen from waiting on a reaped pid.
        return proc.returncode, usage
      if time.monotonic() > deadline:
        proc.kill()
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = -9
        return None, usage
      time.sleep(0.05)


def _wait_for_idle(max_wait_s: float, window_s: float = 1.0, idle_share: float = 0.05) -> None:
  """Waits (at most `max_wait_s`) for a `window_s` window in which other processes use < `idle_share` of the CPUs."""
  deadline = time.monotonic() + max_wait_s
  while time.monotonic() < deadline:
    before = _busy_cpu_s()
    if before is None:
      return
    time.sleep(window_s)
    if (_busy_cpu_s() - before) / (window_s * (os.cpu_count() or 1)) < idle_share:
      return


def _busy_cpu_s() -> float | None:
  """Non-idle CPU seconds of the whole machine since boot (all CPUs), from /proc/stat; None where unavailable."""
  try:
    with open("/proc/stat") as f:
      fields = [int(x) for x in f.readline().split()[1:]]
  except (OSError, ValueError):
    return None
  # user nice system idle iowait irq softirq steal ...: everything but idle and iowait.
  return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _machine() -> dict[str, Any]:
  model = ""
  try:
    with open("/proc/cpuinfo") as f:
      model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
  except OSError:
    pass
  return {"python": platform.python_version(), "platform": platform.platform(), "cpu": model,
          "cpu_count": os.cpu_count()}


def run(parts: tuple[str, ...], quick: bool, device: str, out_dir: str, verbose: bool = True,
        wait_idle_s: float = 0.0) -> dict[str, Any]:
  """Runs the selected parts and writes `out_dir`/results.json and results.md.

  Args:
    parts: names from `PARTS` (all of them by default).
    quick: the tiny `QUICK` plan (a smoke test; its numbers mean little).
    device: 'cpu' or 'gpu': the JAX backend of the JAX children (PyTorch stays on the CPU).
    out_dir: where results.json and results.md go.
    verbose: progress lines on stdout.
    wait_idle_s: before each measurement, wait up to this long for other processes to leave the CPUs idle.

  Returns:
    The results dict that was written.
  """
  unknown = sorted(set(parts) - set(PARTS))
  if unknown:
    raise ValueError(f"unknown part(s) {', '.join(unknown)}; valid: {', '.join(PARTS)}")
  if device not in DEVICES:
    raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
  plan = QUICK if quick else Plan()
  start = time.perf_counter()
  results: dict[str, Any] = {
      "meta": {"date": datetime.datetime.now().isoformat(timespec="seconds"), "quick": quick, "device": device,
               "parts": list(parts), "plan": dataclasses.asdict(plan), **_machine()}}
  with tempfile.TemporaryDirectory(prefix="gan_jax_bench_") as scratch:
    kids = Children(device, scratch, plan.child_timeout_s, verbose, wait_idle_s)
    results["meta"]["jax_backend"] = kids.backend = kids.run("jax", "backend", "JAX backend")
    params_path = os.path.join(scratch, "params.npz")
    torch_args = {}
    if "throughput" in parts:
      export = kids.run("jax", "export", "export initial parameters for PyTorch", path=params_path,
                        batch_sizes=list(plan.batch_sizes), num_batches=100)
      torch_args = dict(params_path=params_path, torch_kwargs=export.get("torch_kwargs", {}))
    for part in parts:
      if part in PENDING:
        results[part] = {"status": PENDING[part]}
      else:
        results[part] = _PARTS[part](kids, plan, torch_args, scratch)
    results["memory"] = kids.memory
    results["disturbance"] = kids.disturbed
  results["meta"]["total_wall_s"] = time.perf_counter() - start
  results["targets"] = report.targets(results)
  os.makedirs(out_dir, exist_ok=True)
  with open(os.path.join(out_dir, "results.json"), "w") as f:
    json.dump(results, f, indent=1)
  with open(os.path.join(out_dir, "results.md"), "w") as f:
    f.write(report.markdown(results))
  return results


def _crosscheck(kids: Children, plan: Plan, torch_args: dict, scratch: str) -> dict[str, Any]:
  return kids.run("jax", "crosscheck", "cross-check: PyTorch vs gan-jax losses and gradients",
                  batch_size=plan.crosscheck_batch)


def _throughput(kids: Children, plan: Plan, torch_args: dict, scratch: str) -> list[dict[str, Any]]:
  rows = []
  for b in plan.batch_sizes:
    impl = "gan-jax per-step jit"
    rows.append(kids.run("jax", "per_step", f"{impl}, batch {b}", {"impl": impl, "batch_size": b}, batch_size=b,
                         steps=plan.per_step_steps, reps=plan.reps))
    impl = f"gan-jax scan ({plan.scan_steps_per_call} steps/call)"
    rows.append(kids.run("jax", "scan", f"{impl}, batch {b}", {"impl": impl, "batch_size": b}, batch_size=b,
                         steps_per_call=plan.scan_steps_per_call, calls=plan.scan_calls, reps=plan.reps))
    for task, name, counts in (("eager", "PyTorch eager", plan.torch_threads),
                               ("compiled", "torch.compile", plan.compile_threads)):
      for threads in counts:
        impl = f"{name} ({threads} thread{'s' if threads > 1 else ''})"
        rows.append(kids.run("torch", task, f"{impl}, batch {b}", {"impl": impl, "batch_size": b}, batch_size=b,
                             threads=threads, steps=plan.torch_steps, reps=plan.reps, **torch_args))
  return rows


def _hardware(kids: Children, plan: Plan, torch_args: dict, scratch: str) -> dict[str, Any]:
  return kids.run("jax", "hardware", f"sgemm {plan.sgemm_size}^3 and step FLOPs", sgemm_size=plan.sgemm_size,
                  sgemm_reps=plan.sgemm_reps, batch_sizes=list(plan.batch_sizes))


def _compile(kids: Children, plan: Plan, torch_args: dict, scratch: str) -> dict[str, Any]:
  b = max(plan.batch_sizes)
  return kids.run("jax", "compile_vs_steps", f"compile time vs steps per call, batch {b}", batch_size=b,
                  steps_list=list(plan.compile_steps))


def _seeds(kids: Children, plan: Plan, torch_args: dict, scratch: str) -> list[dict[str, Any]]:
  rows = []
  # The GPU target is about 256 vmapped seeds; on the CPU that many would only repeat the 64-seed story slowly.
  counts = list(plan.seed_counts) + ([GPU_SEED_COUNT] if kids.device != "cpu" else [])
  for s in counts:
    for mode in ("vmap",) if s == GPU_SEED_COUNT else ("vmap", "sequential"):
      rows.append(kids.run("jax", "seeds", f"{s} seeds, {mode}", num_seeds=s, mode=mode,
                           batch_size=plan.seed_batch, steps=plan.seed_steps, reps=plan.seed_reps))
  return rows


def _data_parallel(kids: Children, plan: Plan, torch_args: dict, scratch: str) -> dict[str, Any]:
  counts, skipped = list(plan.dp_device_counts), None
  if kids.device == "cpu":
    devices = "fake CPU"
  else:
    # The fake-device count only applies to the CPU backend: use the accelerators there are.
    available = len(kids.backend.get("devices", []))
    devices = kids.device.upper()
    counts = [n for n in counts if n <= available]
    if len(counts) < len(plan.dp_device_counts):
      too_many = ", ".join(str(n) for n in plan.dp_device_counts if n > available)
      skipped = f"{too_many} devices (the {devices} backend has {available})"
  rows = []
  for scaling, batch in (("strong", plan.dp_strong_batch), ("weak", plan.dp_weak_batch)):
    for n in counts:
      # One fake device per mesh device, set before JAX starts its CPU backend (ignored on other backends).
      env = {"JAX_NUM_CPU_DEVICES": str(n)} if kids.device == "cpu" else None
      what = "global batch" if scaling == "strong" else "batch per device"
      rows.append(kids.run("jax", "data_parallel", f"data parallel, {scaling} scaling, {n} device(s), {what} {batch}",
                           {"num_devices": n, "scaling": scaling}, env=env, num_devices=n, scaling=scaling,
                           batch_size=batch, steps=plan.dp_steps, reps=plan.dp_reps))
  return {"devices": devices, "skipped": skipped, "rows": rows}


def _divergences(kids: Children, plan: Plan, torch_args: dict, scratch: str) -> dict[str, Any]:
  return kids.run("jax", "divergence_lab", "divergence lab: exact JS", num_samples=plan.mc_samples,
                  reps=plan.divergence_reps)


def _demo(kids: Children, plan: Plan, torch_args: dict, scratch: str) -> dict[str, Any]:
  out = kids.run("jax", "demo", "make demo's training process", workdir=os.path.join(scratch, "demo"),
                 overrides=list(plan.demo_overrides))
  if plan.demo_cache:
    # The same demo twice more with JAX's persistent compilation cache: the first run fills it, the second
    # shows how much of the compile share a warm cache (a re-run, the next `make demo`) removes.
    env = {"JAX_COMPILATION_CACHE_DIR": os.path.join(scratch, "jax_cache"),
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    out["persistent_cache"] = {
        name: kids.run("jax", "demo", f"make demo, {name} persistent compilation cache", env=env,
                       workdir=os.path.join(scratch, f"demo_{name}"), overrides=list(plan.demo_overrides))
        for name in ("cold", "warm")}
  return out


def _dcgan(kids: Children, plan: Plan, torch_args: dict, scratch: str) -> dict[str, Any]:
  b, f = plan.dcgan_batch, plan.dcgan_features
  out = {"batch_size": b, "features": f}
  out["crosscheck"] = kids.run(
      "jax", "dcgan_crosscheck", "DCGAN cross-check: PyTorch vs gan-jax losses and gradients",
      batch_size=plan.dcgan_crosscheck_batch, features=plan.dcgan_crosscheck_features)
  path = os.path.join(scratch, "dcgan_params.npz")
  num_batches = 8  # distinct real batches, cycled by both sides' per-step loops
  export = kids.run("jax", "dcgan_export", "DCGAN: export initial variables for PyTorch", path=path, batch_size=b,
                    features=f, num_batches=num_batches)
  impl = "gan-jax per-step jit"
  rows = [kids.run("jax", "dcgan_step", f"DCGAN {impl}, batch {b}", {"impl": impl, "batch_size": b},
                   mode="per_step", batch_size=b, features=f, steps=plan.dcgan_steps, reps=plan.dcgan_reps,
                   num_batches=num_batches)]
  impl = f"gan-jax scan ({plan.dcgan_scan_steps_per_call} steps/call)"
  rows.append(kids.run("jax", "dcgan_step", f"DCGAN {impl}, batch {b}", {"impl": impl, "batch_size": b},
                       mode="scan", batch_size=b, features=f, steps_per_call=plan.dcgan_scan_steps_per_call,
                       calls=1, reps=plan.dcgan_scan_reps, warmup=0))
  for threads in plan.torch_threads:
    impl = f"PyTorch eager ({threads} thread{'s' if threads > 1 else ''})"
    rows.append(kids.run("torch", "dcgan_eager", f"DCGAN {impl}, batch {b}", {"impl": impl, "batch_size": b},
                         batch_size=b, threads=threads, steps=plan.dcgan_torch_steps, reps=plan.dcgan_reps,
                         params_path=path, torch_kwargs=export.get("torch_kwargs", {})))
  out["rows"] = rows
  # Several seeds in one program (`config.parallel.replica_map`), against one seed in the same program form.
  n, f = plan.dcgan_seed_count, plan.dcgan_seed_features
  out["seeds"] = [kids.run("jax", "dcgan_seeds", f"DCGAN {s} seed(s), {how}, batch {b}, features {f}",
                           {"num_seeds": s, "replica_map": how}, num_seeds=s, replica_map=how, batch_size=b,
                           features=f, steps=plan.dcgan_seed_steps, reps=plan.dcgan_reps)
                  for s, how in ((1, "vmap"), (n, "vmap"), (n, "unroll"))]
  return out


def _sweep_plan(kids: Children, plan: Plan, torch_args: dict, scratch: str) -> dict[str, Any]:
  return kids.run("jax", "sweep_plan", f"sweep plan of {plan.sweep_config}: members and packed programs",
                  config=plan.sweep_config)


def _sweep(kids: Children, plan: Plan, torch_args: dict, scratch: str) -> dict[str, Any]:
  # As `python experiments/sweep.py` runs by default: no persistent compilation cache, so each way compiles all
  # of its programs. Unpacked (one program per member) is the sweep as it ran before packing.
  env = {"JAX_ENABLE_COMPILATION_CACHE": "false"}
  config = plan.sweep_run_config
  out = {way: kids.run("jax", "sweep_wall", f"sweep {config}, {way}", env=env, timeout_s=plan.sweep_timeout_s,
                       config=config, workdir=os.path.join(scratch, f"sweep_{way}"), pack=way == "packed")
         for way in ("packed", "unpacked")}
  out["arithmetic"] = kids.run("jax", "sweep_arithmetic", f"sweep {config}: the packed programs' training alone",
                               timeout_s=plan.sweep_timeout_s, config=config)
  return out


_PARTS = {"crosscheck": _crosscheck, "throughput": _throughput, "hardware": _hardware, "compile": _compile,
          "seeds": _seeds, "data_parallel": _data_parallel, "divergences": _divergences, "demo": _demo,
          "dcgan": _dcgan, "sweep_plan": _sweep_plan, "sweep": _sweep}
