"""DCGAN on the offline 8×8 UCI digits (scikit-learn): the image GAN that runs anywhere, no download.

Command (about 65 s on 2 CPU cores, 3 seeds in one program):
  python experiments/train.py --config=configs/digits_dcgan.py --workdir=runs/digits_dcgan
  python experiments/sample.py --workdir=runs/digits_dcgan

Radford et al. 2015's recipe (BatchNorm in both players, Adam 2e-4, β1 = 0.5, batch 64, non-saturating loss) at
8×8 with 32 base channels. The metric classifier (98.6% test accuracy) is trained into the workdir on first use.
The README states the Fréchet classifier distance this reaches, beside the real-vs-real floor.
"""
from gan_jax import config as config_lib


def get_config():
  c = config_lib.image_config("digits")
  c.generator_kwargs.features = 32
  c.discriminator_kwargs.features = 32
  c.num_seeds = 3
  c.num_steps = 5000
  c.eval_every = 500
  c.plot_every = 1000
  c.checkpoint_every = 1000
  return c
