"""Conditional DCGAN on MNIST: feed the digit 5, get a 5.

Commands (MNIST and its metric classifier prepared as in configs/mnist_dcgan.py):
  python experiments/train.py --config=configs/mnist_cgan.py --workdir=runs/mnist_cgan --config.data_dir=data
  python experiments/sample.py --workdir=runs/mnist_cgan --label=5

The generator concatenates a 50-d label embedding to z (Mirza & Osindero 2014); the discriminator is a projection
discriminator (Miyato & Koyama 2018). Evaluations log `conditional_accuracy`: the metric classifier's accuracy on
samples generated for each label in turn.
"""
from gan_jax import config as config_lib


def get_config():
  c = config_lib.image_config("mnist")
  c.conditional = True
  c.num_steps = 20_000
  c.eval_every = 1000
  c.eval_samples = 5000
  c.plot_every = 1000
  c.checkpoint_every = 2000
  return c
