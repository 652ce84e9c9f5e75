"""DCGAN on real MNIST offline (`mnist5k`) under four objectives, 3 seeds each trained together (4 members).

Commands (the metric classifier as in configs/mnist5k_dcgan.py):
  python experiments/sweep.py --config=configs/sweeps/mnist5k_objectives.py --workdir=runs/mnist5k_objectives
  python experiments/summarize.py --workdir=runs/mnist5k_objectives --rank_by=fcd \
      --metrics=fcd,precision,recall,coverage,js_lower_bound

Members: minimax and non-saturating (Goodfellow et al. 2014) and hinge (Lim & Ye 2017; Miyato et al. 2018) with
BatchNorm discriminators, and WGAN-GP (Gulrajani et al. 2017, λ = 10) with a layer-norm critic (a gradient
penalty needs per-sample gradients, which BatchNorm couples). Every member: DCGAN players with 16 base channels,
Adam 2e-4 β1 = 0.5, batch 64, one critic step per generator step (equal generator steps and cost; Gulrajani et al.
used 5 critic steps), 2,000 steps (28 epochs). The 3 seeds of a member run as one program with their steps
unrolled side by side (`parallel.replica_map='unroll'`: vmapped, XLA:CPU runs the convolutions 3.5× slower).
Evaluations: 1,000 samples against the 500 test images (the README gives the floor at these sizes); the divergence
probe at the last step. Measured: 23 min for the 4 members on 2 CPU cores (5–6 min each); the table is in the
README (Image GANs).
Shrunk for a quick local check (2 members, 1 seed, 20 steps): --config=configs/sweeps/mnist5k_objectives.py:runlocal
"""
from gan_jax import config as config_lib
from gan_jax import sweep


def get_config(arg: str = ""):
  c = config_lib.image_config("mnist5k")
  c.data_dir = "data"  # the metric classifier of experiments/train_classifier.py (trained here if missing)
  c.generator_kwargs.features = 16
  c.discriminator_kwargs.features = 16
  c.parallel.replica_map = "unroll"  # 3 DCGAN seeds step 3.5× faster unrolled than vmapped on CPU (parallel.py)
  c.num_steps = 2000
  c.eval_every = 500
  c.eval_samples = 1000
  c.plot_every = 2000
  c.checkpoint_every = 500
  # The divergence probe at the last step: fresh critics on the flattened images (no W1 critic: its gradient
  # penalty at 784 dimensions costs more than the rest of the probe).
  c.probe_every = c.num_steps
  c.probe.update(dict(num_critics=2, num_steps=1000, w1=False))
  if arg == "runlocal":
    c.num_steps, c.eval_every, c.checkpoint_every, c.plot_every, c.eval_samples = 20, 10, 10, 0, 100
    c.probe_every, c.probe.num_steps = 20, 100
  elif arg:
    raise ValueError(f"unknown config argument {arg!r}; allowed: runlocal")
  return c


def get_sweep(arg: str = ""):
  if arg == "runlocal":
    return sweep.Sweep(grid=sweep.product({"objective": ["minimax", "hinge"]}), seeds=1)
  return sweep.Sweep(
      grid=sweep.zip_({"objective": ["minimax", "non_saturating", "wgan_gp", "hinge"],
                       "discriminator_kwargs.normalization": ["batch_norm", "batch_norm", "layer_norm",
                                                              "batch_norm"]}),
      seeds=range(3))
