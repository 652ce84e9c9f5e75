"""Training on a distribution target (`config.target`): toy players, real samples drawn on device, exact divergences.

What this task plugs into the engine: real batches are sampled from the target inside the jitted chunk (the whole
chunk is one `lax.scan`, so compile time is independent of its length); evaluation computes every divergence of
`evaluation.py` (exact where the generator has a density); plots show seed 0's density (1-D) or samples (2-D).
"""
import functools
import os
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gan_jax import engine
from gan_jax import evaluation
from gan_jax import models
from gan_jax import parallel
from gan_jax import players as players_lib
from gan_jax import probe as probe_lib
from gan_jax import targets as targets_lib
from gan_jax import writers


# Folded into a replica's evaluation key: the probe's samples are independent of the evaluation's.
PROBE_STREAM = 0x9B0E


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Checks every field a training run on a distribution target reads, before anything is compiled.

  Raises:
    ValueError: one line naming the first bad field, its value and what is allowed.
  """
  if config.target not in targets_lib.TARGETS:
    engine.fail("target", config.target, " | ".join(sorted(targets_lib.TARGETS)))
  if config.generator not in models.GENERATORS:
    engine.fail("generator", config.generator, " | ".join(models.GENERATORS))
  if config.discriminator not in models.DISCRIMINATORS:
    engine.fail("discriminator", config.discriminator, " | ".join(models.DISCRIMINATORS))
  for field, low in (("eval_mc_samples", 2), ("eval_kde_samples", 0), ("eval_w1_samples", 0)):
    value = config.get(field, low)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
      engine.fail(field, value, f"an integer >= {low}" + (" (0 = off)" if low == 0 else ""))
  engine.validate_loop_config(config)


def build_gan(config: ml_collections.ConfigDict) -> engine.GAN:
  """Validates `config` and builds the static half of the run.

  Raises:
    ValueError: for any invalid field, before any compilation.
  """
  validate_config(config)
  vmapped = engine.validate_replicas(config)
  target = targets_lib.get_target(config.target)
  try:
    generator = models.get_generator(config.generator, dim=target.dim, **config.get("generator_kwargs", {}))
  except (TypeError, ValueError) as e:
    raise ValueError(f"config.generator_kwargs: {e}") from None
  try:
    discriminator = models.get_discriminator(config.discriminator, **config.get("discriminator_kwargs", {}))
  except (TypeError, ValueError) as e:
    raise ValueError(f"config.discriminator_kwargs: {e}") from None
  players = players_lib.ToyPlayers(generator=generator, discriminator=discriminator,
                                   latent_dim=models.latent_dim(generator), data_dim=target.dim)
  return engine.make_gan(config, players, vmapped)


def sample_real(gan: engine.GAN, target: Any, state: engine.TrainState) -> jax.Array:
  """The real batches step `state.step` trains on, (n_critic, batch_size, dim), drawn from the target.

  A replica that takes fewer critic steps than `gan.n_critic` (`engine.GAN.masks_critic`) trains on the first of
  them: what it draws alone, since the targets' samples are prefix-stable (`target.sample(key, n)` is the first n of
  a longer draw under JAX's partitionable threefry; toy_task_test checks every target). `engine.train_step` splits
  them over devices (the layout's `shard_batch`).
  """
  real = target.sample(engine.data_key(state), gan.n_critic * gan.batch_size)
  return real.reshape(gan.n_critic, gan.batch_size, gan.players.data_dim)


def train_steps(gan: engine.GAN, target: Any, state: engine.TrainState, num_steps: int
                ) -> tuple[engine.TrainState, dict]:
  """Runs `num_steps` steps on a distribution target as one `lax.scan` (compile time independent of num_steps).

  Returns:
    The final state and the per-step metrics, each of shape (num_steps,).
  """
  def body(state, _):
    return engine.train_step(gan, state, sample_real(gan, target, state))
  return jax.lax.scan(body, state, None, length=num_steps)


def critic_groups(gan: engine.GAN, replicas: parallel.Replicas, mode: str) -> tuple[tuple[int, np.ndarray], ...]:
  """How a chunk steps its replicas: (n_critic, replica indices) per group, each group one vmapped step.

  One group of every replica, unless an objective axis has objectives of different n_critic and `mode` is
  'group': then one group per n_critic (in 'mask' mode the one group masks the extra critic steps).
  """
  if not gan.masks_critic or mode != "group":
    return ((gan.n_critic, np.arange(replicas.size)),)
  per_replica = np.asarray(gan.n_critics)[replicas.objectives]
  return tuple((int(n), np.flatnonzero(per_replica == n)) for n in sorted(set(gan.n_critics)))


def _take(tree: Any, indices: np.ndarray) -> Any:
  """Replicas `indices` of a stacked pytree (a slice when they are consecutive)."""
  if np.array_equal(indices, np.arange(indices[0], indices[0] + len(indices))):
    return jax.tree.map(lambda x: x[indices[0]:indices[0] + len(indices)], tree)
  return jax.tree.map(lambda x: x[indices], tree)


def jitted_chunk(gan: engine.GAN, target: Any, layout: parallel.Layout, state: Any, num_steps: int, *,
                 donate: bool = False, groups: tuple[tuple[int, np.ndarray], ...] | None = None) -> Any:
  """The compiled-on-first-call program of `num_steps` steps for every replica, as the engine runs it.

  Args:
    gan: the static spec (with the layout's `shard_batch`).
    target: the data distribution.
    layout: device placement.
    state: the replica-stacked state or its `jax.eval_shape` (for the output shardings).
    num_steps: steps per call.
    donate: donate the input state's buffers (benchmarks; the engine keeps its state for the NaN stop).
    groups: `critic_groups`; None for one group of every replica.

  Returns:
    A jitted function state -> (state, per-step metrics (R, num_steps), per-replica parameter finiteness (R,)).
  """
  def steps(g, s):
    return layout.map_replicas(lambda r: train_steps(g, target, r, num_steps))(s)

  def chunk(s):
    if groups is None or len(groups) == 1:
      s, metrics = steps(gan, s)
    else:
      # One vmapped step per n_critic, in the same program; the replicas go back to their places afterwards.
      outs = [steps(gan.with_n_critic(n), _take(s, indices)) for n, indices in groups]
      order = np.concatenate([indices for _, indices in groups])
      in_place = np.array_equal(order, np.arange(len(order)))
      restore = (lambda x: x) if in_place else (lambda x: x[np.argsort(order)])
      s, metrics = jax.tree.map(lambda *parts: restore(jnp.concatenate(parts)), *outs)
    return s, metrics, engine.all_finite(s)
  replicated = layout.replicated(0) if layout.mesh is not None else None
  out = (layout.state(state), replicated, replicated) if layout.mesh is not None else None
  return jax.jit(chunk, out_shardings=out, donate_argnums=0 if donate else ())


def eval_spec(config: ml_collections.ConfigDict) -> evaluation.EvalSpec:
  """The evaluation options of a config (`eval_samples`, `eval_mc_samples`, `eval_kde_samples`, …)."""
  return evaluation.EvalSpec(
      num_samples=config.eval_samples,
      mc_samples=config.get("eval_mc_samples", 20_000),
      kde_samples=config.get("eval_kde_samples", 1000),
      w1_samples=min(config.get("eval_w1_samples", 1000), config.eval_samples),
  )


def probe(gan: engine.GAN, target: Any, spec: probe_lib.ProbeSpec) -> Any:
  """The jitted divergence probe of every replica: state -> {estimate: (R,)} (`probe.estimates`).

  Per replica, fresh critics train on new samples of the target and of that replica's frozen generator; the
  replicas' critics train together as one program. The keys derive from each replica's evaluation key, so a
  resumed run probes exactly as an uninterrupted one.
  """
  def one(state):
    k_split, k_probe = jax.random.split(jax.random.fold_in(engine.eval_key(state), PROBE_STREAM))
    sample_g = lambda key, n: gan.players.sample(state.g_params, key, n)
    return probe_lib.estimates(spec, probe_lib.draw_splits(target.sample, sample_g, spec, k_split), k_probe)
  return jax.jit(jax.vmap(one))


def plot(gan: engine.GAN, target: Any, state: engine.TrainState, step: int, workdir: str,
         writer: writers.MetricWriter, replicas: parallel.Replicas | None = None,
         names: tuple[str, ...] = ()) -> None:
  """Density (1-D) or sample (2-D) plot of seed 0, as a PNG and a TensorBoard image (single process only).

  With an objective axis (`replicas.objectives`, objective `names`), one panel per objective: its first replica.
  """
  if not engine.is_main_process():
    return  # The state is spread over hosts; plot from a restored checkpoint instead.
  from gan_jax import plotting  # matplotlib only when plotting.
  if gan.objectives:
    first = [int(np.flatnonzero(replicas.objectives == j)[0]) for j in range(len(gan.objectives))]
    fig, axes = plotting.new_figure(ncols=len(first))
    for j, (ax, index) in enumerate(zip(axes, first)):
      plotting.density_panel(ax, gan.alone(j), target, state, seed_index=index, title=f"{names[j]}, step {step}")
  else:
    fig, (ax,) = plotting.new_figure()
    plotting.density_panel(ax, gan, target, state, title=f"step {step}")
  plotting.save(fig, os.path.join(workdir, "plots", f"step_{step:07d}"), formats=("png",))
  writer.write_images(step, {"samples": np.asarray(fig.canvas.buffer_rgba())[..., :3]})


def program(config: ml_collections.ConfigDict, workdir: str) -> engine.Program:
  """The engine program of a run on a distribution target (`config.target`)."""
  layout = parallel.create_layout(config)
  gan = build_gan(config).with_shard_batch(layout.batch_constraint())
  target = targets_lib.get_target(config.target)
  spec = eval_spec(config)
  replicas = parallel.replicas_of(config)
  init = lambda: engine.init_states(gan, replicas, layout)
  replicated = layout.replicated(0) if layout.mesh is not None else None
  evaluate_one = lambda s: evaluation.evaluate(gan, target, s, engine.eval_key(s), spec)
  evaluate_all = jax.jit(layout.map_replicas(evaluate_one), out_shardings=replicated)

  groups = critic_groups(gan, replicas, (config.get("objective_axis") or {}).get("n_critic_mode", "group"))
  chunk_fn = functools.lru_cache(maxsize=None)(
      lambda n: jitted_chunk(gan, target, layout, engine.state_shapes(gan, replicas, layout), n, groups=groups))

  return engine.Program(
      init=init,
      chunk=lambda state, step, n: chunk_fn(n)(state),
      evaluate=evaluate_all,
      plot=lambda state, step, writer: plot(gan, target, state, step, workdir, writer, replicas,
                                            parallel.objective_axis(config)),
      target_name=config.target,
      headline=("js", "js_kde"),
      probe=probe(gan, target, probe_lib.spec_from_config(config.get("probe"))) if config.get("probe_every", 0)
      else None,
      eval_drop=evaluation.eval_drop(gan.objectives) if gan.objectives else (),
  )


def load_latest(config: ml_collections.ConfigDict, workdir: str, step: int | None = None
                ) -> tuple[engine.GAN, Any, engine.TrainState, int]:
  """Restores the latest checkpoint of a run, or that of `step`: (gan, target, state stacked over seeds, step).

  Raises:
    ValueError: when `workdir` holds no checkpoint, or `step` was not saved.
  """
  gan = build_gan(config)
  state, step = engine.restore_latest(gan, config, workdir, step)
  return gan, targets_lib.get_target(config.target), state, step
