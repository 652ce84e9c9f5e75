"""Many replicas in one program (seeds × hyper-parameters, vmapped), over many devices and hosts.

Replicas: `config.num_seeds` seeds times the product of `config.vmap_hparams` (hyper-parameter name -> list of
values, names from `VMAPPABLE_HPARAMS`), or times the zip of `config.zip_hparams` (lists of one length: packed
sweep members whose learning rates move together), times the objectives of `config.objective_axis` when it names
several, train as one `jax.vmap`-ed program. Every replica has its own
parameters and optimizer states, so memory grows linearly in the number of replicas; each replica's numbers equal
the same seed and hyper-parameters trained alone.

Devices (`config.parallel.layout`), both with `jax.jit` over a `jax.make_mesh` mesh (no `jax.pmap`):
- "replicas": whole replicas on devices — the replica axis of the state is sharded over the mesh axis "replicas".
  The fast path for toy sweeps on a GPU/TPU slice, and for several cores of one CPU (`config.parallel.cpu_devices`
  splits the CPU into devices; `use_cpu_devices`). Results equal the unsharded run to float rounding (XLA:CPU
  picks matmul kernels by the replica count per device, which changes the last bits).
- "data": data parallel — every device holds the full state and a slice of each batch (mesh axis "data");
  XLA inserts the gradient all-reduce. Results equal one device up to float reduction order.
- "none": whatever device JAX puts the program on.

How a program maps its step over the replicas (`config.parallel.replica_map`):
- "vmap": one batched computation. Convolutions with per-replica kernels become grouped convolutions, which
  XLA:CPU runs slowly: 3 seeds of the mnist5k DCGAN (16 channels, batch 64) step in 177 ms against 19 ms for one
  (measured on 2 cores; `make bench`).
- "unroll": the replicas' computations side by side in the program (compile time grows with the replica count):
  51 ms for the same 3 seeds. For a few replicas of convolutional players on CPU; matmul players and
  accelerators are served by "vmap". Results equal "vmap" up to float rounding.

Hosts: `initialize_distributed` starts JAX's distributed runtime (explicit coordinator flags, or auto-detection on
SLURM, Open MPI and Cloud TPU); the mesh then spans every process's devices, only process 0 writes metrics and
figures, and Orbax checkpoints are written collectively.
"""
import itertools
from typing import Any, Callable, NamedTuple

from absl import logging
import jax
from jax.sharding import AxisType, NamedSharding, PartitionSpec as P
import ml_collections
import numpy as np

LAYOUTS = ("none", "replicas", "data")
REPLICA_MAPS = ("vmap", "unroll")
REPLICA_AXIS = "replicas"
DATA_AXIS = "data"

# What a replica may vary inside one compiled program (each a traced value in the state, not a constant): name in
# `config.vmap_hparams` and in the metric rows -> the config field it replaces.
VMAPPABLE_HPARAMS = {
    "g_learning_rate": "optimizer_g.learning_rate",
    "d_learning_rate": "optimizer_d.learning_rate",
    "real_target": "objective_kwargs.real_target",
    "gradient_penalty_weight": "objective_kwargs.gradient_penalty_weight",
    "r1_weight": "r1_weight",
    "r2_weight": "r2_weight",
}


class Replicas(NamedTuple):
  """The replicas one program trains: replica i has seed `seeds[i]` and hyper-parameters `hparams[k][i]`."""
  seeds: np.ndarray                 # (R,) int
  hparams: dict[str, np.ndarray]    # VMAPPABLE_HPARAMS name -> (R,) float32
  # (R,) int32: replica i trains objective `objective_axis(config)[objectives[i]]`; None without an objective axis.
  objectives: np.ndarray | None = None

  @property
  def size(self) -> int:
    return int(self.seeds.shape[0])


def _hparam_lists(config: ml_collections.ConfigDict, field: str) -> dict[str, Any]:
  """The non-empty lists of `config.<field>` (vmap_hparams or zip_hparams), each checked.

  Raises:
    ValueError: for a name that cannot be vmapped or a list of values that are not numbers.
  """
  lists = {k: v for k, v in (config.get(field, None) or {}).items() if len(v)}
  for name, values in lists.items():
    if name not in VMAPPABLE_HPARAMS:
      raise ValueError(f"config.{field} has {name!r}; allowed: {', '.join(VMAPPABLE_HPARAMS)}")
    if (not isinstance(values, (list, tuple)) or not values
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)):
      raise ValueError(f"config.{field}.{name}={values!r} is invalid; allowed: a list of numbers")
  return lists


def hparams_field(config: ml_collections.ConfigDict) -> str:
  """Where `config`'s replica hyper-parameters come from: 'zip_hparams' when it sets any, else 'vmap_hparams'."""
  zipped = config.get("zip_hparams", None) or {}
  return "zip_hparams" if any(len(v) for v in zipped.values()) else "vmap_hparams"


def objective_axis(config: ml_collections.ConfigDict) -> tuple[str, ...]:
  """The objectives `config` trains side by side (`config.objective_axis.objectives`); () for one objective."""
  return tuple((config.get("objective_axis", None) or {}).get("objectives", ()) or ())


def replicas_of(config: ml_collections.ConfigDict) -> Replicas:
  """Expands [objectives ×] the hyper-parameter combinations × seeds into replicas (objectives outermost).

  The combinations are the product of the `config.vmap_hparams` lists, or the zip of the `config.zip_hparams`
  lists (combination i takes the i-th value of every list). Every combination gets the same seeds, so comparisons
  across a hyper-parameter are paired. The objectives of `config.objective_axis` cross the combinations, or zip
  with them when they are zipped (entry i of the axis with combination i).

  Raises:
    ValueError: for a field that cannot be vmapped, an empty / non-numeric list of values, zipped lists of
      different lengths (objectives included), or both vmap_hparams and zip_hparams set.
  """
  grid = _hparam_lists(config, "vmap_hparams")
  zipped = _hparam_lists(config, "zip_hparams")
  names = sorted(grid or zipped)
  if grid and zipped:
    raise ValueError(f"config.zip_hparams sets {', '.join(sorted(zipped))} and config.vmap_hparams sets "
                     f"{', '.join(sorted(grid))}; allowed: one of the two")
  if zipped:
    lengths = {len(v) for v in zipped.values()}
    if len(lengths) > 1:
      raise ValueError(f"config.zip_hparams has lists of lengths {', '.join(f'{n}: {len(zipped[n])}' for n in names)}"
                       "; allowed: lists of one length (zipped)")
    combos = list(zip(*(zipped[n] for n in names)))
  else:
    combos = list(itertools.product(*(grid[n] for n in names))) or [()]
  seeds = config.seed + np.arange(config.num_seeds)
  hparams = {n: np.array([c[i] for c in combos for _ in seeds], np.float32) for i, n in enumerate(names)}
  objectives = objective_axis(config)
  if not objectives:
    return Replicas(seeds=np.tile(seeds, len(combos)), hparams=hparams)
  if zipped:
    # Zipped like the hyper-parameters: objective i with combination i (a packed sweep's members).
    if len(objectives) != len(combos):
      raise ValueError(f"config.objective_axis.objectives has {len(objectives)} entries and config.zip_hparams "
                       f"lists of length {len(combos)}; allowed: one length (zipped)")
    return Replicas(seeds=np.tile(seeds, len(combos)), hparams=hparams,
                    objectives=np.repeat(np.arange(len(objectives), dtype=np.int32), len(seeds)))
  per_objective = len(combos) * len(seeds)
  return Replicas(seeds=np.tile(seeds, len(combos) * len(objectives)),
                  hparams={n: np.tile(v, len(objectives)) for n, v in hparams.items()},
                  objectives=np.repeat(np.arange(len(objectives), dtype=np.int32), per_objective))


def num_devices(config: ml_collections.ConfigDict) -> int:
  """Devices the run uses: `config.parallel.num_devices`; when it is 0, every device, except that layout
  'replicas' takes the most devices that divide the replica count (all of them when they do)."""
  parallel = config.get("parallel", {})
  if parallel.get("num_devices", 0):
    return parallel.get("num_devices")
  if parallel.get("layout", "none") == "replicas":
    count = replicas_of(config).size
    return max(n for n in range(1, jax.device_count() + 1) if count % n == 0)
  return jax.device_count()


def cpu_devices(config: ml_collections.ConfigDict) -> int:
  """`config.parallel.cpu_devices`, checked.

  Raises:
    ValueError: it is not a non-negative integer.
  """
  n = config.get("parallel", {}).get("cpu_devices", 0)
  if not isinstance(n, int) or isinstance(n, bool) or n < 0:
    raise ValueError(f"config.parallel.cpu_devices={n!r} is invalid; allowed: an integer >= 0 (0 = JAX's default)")
  return n


def use_cpu_devices(config: ml_collections.ConfigDict) -> bool:
  """Splits the CPU into `config.parallel.cpu_devices` JAX devices, if JAX has not started its backends yet.

  XLA:CPU runs one program's small matmuls on about 1.3 cores; several CPU devices run their shards of a
  program at once, so with layout 'replicas' the replicas train on several cores (the demo's 9 replicas on 2 cores:
  3 devices train 1.8× faster than one; 9 devices, oversubscribed, are slower than one). Programs whose ops are
  large enough to use every core already gain nothing (a 54-replica sweep pack: 1.7× slower on 3 devices): measure.
  The entry points call this before anything else touches JAX; other backends than the CPU are unaffected.

  Returns:
    Whether the setting was applied (False for 0, or when JAX's backends were already running: it is logged, and
    the run uses the devices there are).

  Raises:
    ValueError: `cpu_devices` is not a non-negative integer.
  """
  n = cpu_devices(config)
  if not n:
    return False
  try:
    jax.config.update("jax_num_cpu_devices", n)
  except RuntimeError:  # the backends are already up: the count is fixed for this process
    logging.info("config.parallel.cpu_devices=%d not applied: JAX's backends already started", n)
    return False
  return True


def validate(config: ml_collections.ConfigDict, num_replicas: int) -> None:
  """Checks the device layout against the replicas, batch size and available devices, before compilation.

  Raises:
    ValueError: one line naming the bad value and what is allowed.
  """
  parallel = config.get("parallel", ml_collections.ConfigDict())
  layout = parallel.get("layout", "none")
  if layout not in LAYOUTS:
    raise ValueError(f"config.parallel.layout={layout!r} is invalid; allowed: {' | '.join(LAYOUTS)}")
  requested = parallel.get("num_devices", 0)
  if not isinstance(requested, int) or requested < 0 or requested > jax.device_count():
    raise ValueError(f"config.parallel.num_devices={requested!r} is invalid; allowed: 0 (all) to "
                     f"{jax.device_count()} (the devices JAX sees)")
  replica_map = parallel.get("replica_map", "vmap")
  if replica_map not in REPLICA_MAPS:
    raise ValueError(f"config.parallel.replica_map={replica_map!r} is invalid; allowed: {' | '.join(REPLICA_MAPS)}")
  if replica_map == "unroll" and layout == "replicas":
    raise ValueError("config.parallel.replica_map='unroll' is invalid with config.parallel.layout='replicas' "
                     "(the replica axis is split over devices); allowed: 'vmap'")
  cpu_devices(config)
  n = requested or jax.device_count()
  if layout == "replicas" and num_replicas % n and requested:
    raise ValueError(f"{num_replicas} replicas (num_seeds × vmap_hparams) do not divide over {n} devices; "
                     f"with config.parallel.layout='replicas' the replica count must be a multiple of {n}")
  if layout == "data" and config.batch_size % n:
    raise ValueError(f"config.batch_size={config.batch_size} does not divide over {n} devices; with "
                     f"config.parallel.layout='data' it must be a multiple of {n}")


def map_replicas(fn: Callable, how: str = "vmap", in_axes: int | tuple = 0) -> Callable:
  """`fn` of one replica -> the same over replica-stacked arguments (see `REPLICA_MAPS` in the module docstring).

  Args:
    fn: a function of one replica's arguments.
    how: "vmap" (`jax.vmap`) or "unroll" (one call of `fn` per replica, outputs stacked).
    in_axes: like `jax.vmap`'s, restricted to 0 (stacked) or None (shared), per argument or for all.

  Returns:
    A function of the stacked arguments whose outputs have a leading replica axis.
  """
  if how == "vmap":
    return jax.vmap(fn, in_axes=in_axes)
  if how != "unroll":
    raise ValueError(f"replica map {how!r} is invalid; allowed: {' | '.join(REPLICA_MAPS)}")

  def unrolled(*args):
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    sizes = {leaf.shape[0] for a, axis in zip(args, axes) if axis == 0 for leaf in jax.tree.leaves(a)}
    if len(sizes) != 1:
      raise ValueError(f"replica-stacked arguments have leading sizes {sorted(sizes)}; allowed: one common size")
    pick = lambda i: [jax.tree.map(lambda x: x[i], a) if axis == 0 else a for a, axis in zip(args, axes)]
    outs = [fn(*pick(i)) for i in range(sizes.pop())]
    return jax.tree.map(lambda *xs: jax.numpy.stack(xs), *outs)
  return unrolled


class Layout(NamedTuple):
  """Shardings of one run (all None for layout 'none') and how its programs map over replicas."""
  mesh: jax.sharding.Mesh | None
  layout: str
  replica_map: str = "vmap"

  def map_replicas(self, fn: Callable, in_axes: int | tuple = 0) -> Callable:
    """`map_replicas` with this run's `config.parallel.replica_map`."""
    return map_replicas(fn, self.replica_map, in_axes)

  def state(self, state: Any) -> Any:
    """Sharding of a replica-stacked pytree (state, per-replica metrics): replica axis split or replicated."""
    if self.mesh is None:
      return None
    spec = P(REPLICA_AXIS) if self.layout == "replicas" else P()
    return jax.tree.map(lambda _: NamedSharding(self.mesh, spec), state)

  def replicated(self, tree: Any) -> Any:
    """Every leaf on every device: host-readable on every process (small outputs like metrics)."""
    if self.mesh is None:
      return None
    return jax.tree.map(lambda _: NamedSharding(self.mesh, P()), tree)

  def batch_constraint(self) -> Callable[[jax.Array, int], jax.Array] | None:
    """A function (x, batch_axis) -> x constrained to be split over devices along `batch_axis` (layout 'data')."""
    if self.layout != "data":
      return None
    mesh = self.mesh

    def constrain(x: jax.Array, axis: int) -> jax.Array:
      spec = [None] * x.ndim
      spec[axis] = DATA_AXIS
      return jax.lax.with_sharding_constraint(x, NamedSharding(mesh, P(*spec)))
    return constrain


def create_layout(config: ml_collections.ConfigDict) -> Layout:
  """Builds the device mesh of `config.parallel` (validated already)."""
  layout = config.get("parallel", {}).get("layout", "none")
  replica_map = config.get("parallel", {}).get("replica_map", "vmap")
  if layout == "none":
    return Layout(mesh=None, layout=layout, replica_map=replica_map)
  n = num_devices(config)
  axis = REPLICA_AXIS if layout == "replicas" else DATA_AXIS
  mesh = jax.make_mesh((n,), (axis,), axis_types=(AxisType.Auto,), devices=jax.devices()[:n])
  return Layout(mesh=mesh, layout=layout, replica_map=replica_map)


def initialize_distributed(coordinator_address: str | None = None, num_processes: int | None = None,
                           process_id: int | None = None) -> None:
  """Starts JAX's multi-process runtime.

  With no arguments JAX auto-detects the cluster (SLURM, Open MPI, Cloud TPU); otherwise all three name it.
  On CPU the collectives go through gloo.

  Raises:
    ValueError: when only some of the three arguments are given.
  """
  given = [a is not None for a in (coordinator_address, num_processes, process_id)]
  if any(given) and not all(given):
    raise ValueError("give all of coordinator_address, num_processes and process_id, or none (auto-detect); got "
                     f"{coordinator_address!r}, {num_processes!r}, {process_id!r}")
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(coordinator_address=coordinator_address, num_processes=num_processes,
                             process_id=process_id)
  logging.info("Process %d of %d; %d local / %d global devices.", jax.process_index(), jax.process_count(),
               jax.local_device_count(), jax.device_count())
