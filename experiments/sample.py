"""Writes sample grids of a trained image GAN (from its latest checkpoint).

  python experiments/sample.py --workdir=runs/mnist_cgan --label=5     # a grid of generated 5s
  python experiments/sample.py --workdir=runs/mnist_dcgan              # a grid of samples
  python experiments/sample.py --workdir=runs/mnist_infogan            # InfoGAN: one grid per latent code
  python experiments/sample.py --workdir=runs/mnist5k_sr --num=8       # image-to-image: input | output | target

Grids are PNGs in <workdir>/samples/ (or --out_dir). Conditional runs without --label get one row per label;
InfoGAN runs get `infogan_categorical.png` (columns: the categorical code) and `infogan_continuous<j>.png`
(columns: continuous code j from −2 to 2, rows: categories), the picture of Chen et al. 2016, Fig. 2.
Image-to-image runs get `translations_step<N>.png`: --num held-out test examples (chosen by --seed) as columns,
rows input, output, ground truth (paired tasks) or a, G(a), F(G(a)), b, F(b), G(F(b)) (unpaired translation).
"""
import os

from absl import app
from absl import flags
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import cli
from gan_jax import image_task
from gan_jax import input_pipeline
from gan_jax import train
from gan_jax import translation_task
from gan_jax import writers

_WORKDIR = flags.DEFINE_string("workdir", None, "Workdir of a finished (or checkpointed) image run.")
_LABEL = flags.DEFINE_integer("label", None, "Conditional runs: the label every sample is generated for.")
_NUM = flags.DEFINE_integer("num", 64, "Samples in a grid (8 per row).")
_REPLICA = flags.DEFINE_integer("replica", 0, "Which replica (seed × hyper-parameters) of the run to sample.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the latent noise.")
_OUT_DIR = flags.DEFINE_string("out_dir", None, "Where to write the PNGs (default: <workdir>/samples).")
flags.mark_flags_as_required(["workdir"])


def write_grids(workdir: str, *, label: int | None = None, num: int = 64, replica: int = 0, seed: int = 0,
                out_dir: str | None = None) -> list[str]:
  """Writes the grids this script promises; returns their paths.

  Raises:
    ValueError: for a non-image run, a label the run cannot honour, or a replica it does not have.
  """
  config = writers.read_config(workdir)
  if train.task_name(config) == "toy":
    raise ValueError(f"{workdir} is not an image run (its config has no dataset)")
  # Flags are checked against the run's config before its checkpoint is read or anything compiles.
  if label is not None and not 0 <= label < input_pipeline.NUM_CLASSES:
    raise ValueError(f"--label={label} is invalid; allowed: 0 to {input_pipeline.NUM_CLASSES - 1}")
  if label is not None and not config.get("conditional", False):
    raise ValueError(f"--label={label} needs a conditional run (config.conditional=True); {workdir} is not one")
  if num < 1:
    raise ValueError(f"--num={num} is invalid; allowed: an integer >= 1")
  if replica < 0:
    raise ValueError(f"--replica={replica} is invalid; allowed: an integer >= 0")
  gan, _, state, step = train.load_latest(config, workdir)
  replicas = jax.tree.leaves(state)[0].shape[0]
  if not 0 <= replica < replicas:
    raise ValueError(f"--replica={replica} is invalid; allowed: 0 to {replicas - 1}")
  one = jax.tree.map(lambda x: x[replica], state)
  out_dir = out_dir or os.path.join(workdir, "samples")
  if train.task_name(config) == "image_to_image":
    test = translation_task.load_domains(config, config.get("eval_split", "test"))
    m = len(test.a) if test.b is None else min(len(test.a), len(test.b))
    order = np.sort(np.random.default_rng(seed).permutation(m)[:num])
    a = test.a.read(order).images
    real = translation_task.pairs(config, a, None if test.b is None else test.b.read(order).images)
    rows = jax.jit(lambda s, r: translation_task.grid_images(gan, s, r))(one, real)
    grid = image_task.tile(np.asarray(rows), len(order))
    return [image_task.save_png(grid, os.path.join(out_dir, f"translations_step{step}.png"))]
  key = jax.random.PRNGKey(seed)
  render = jax.jit(lambda s, inputs: image_task.grid_images(gan, s, inputs))
  paths = []
  if gan.players.num_categories:
    for code in image_task.infogan_code_names(gan):
      inputs, columns = image_task.infogan_code_inputs(gan, key, code)
      grid = image_task.tile(np.asarray(render(one, inputs)), columns)
      paths.append(image_task.save_png(grid, os.path.join(out_dir, f"infogan_{code}_step{step}.png")))
  if label is not None:
    inputs = gan.players.sample_inputs(key, num, labels=jnp.full((num,), label, jnp.int32))
    name = f"label{label}_step{step}.png"
  elif gan.players.num_classes:
    inputs = image_task.grid_inputs(gan, key, rows=gan.players.num_classes)
    name = f"labels_step{step}.png"
  else:
    inputs = gan.players.sample_inputs(key, num)
    name = f"samples_step{step}.png"
  grid = image_task.tile(np.asarray(render(one, inputs)))
  paths.append(image_task.save_png(grid, os.path.join(out_dir, name)))
  return paths


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  writers.quiet_library_logs()
  try:
    paths = write_grids(_WORKDIR.value, label=_LABEL.value, num=_NUM.value, replica=_REPLICA.value,
                        seed=_SEED.value, out_dir=_OUT_DIR.value)
  except ValueError as e:
    cli.usage_error(e)  # exit status 2: bad input, nothing ran
  for path in paths:
    print(path)


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags)
