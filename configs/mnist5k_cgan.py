"""Conditional DCGAN on real MNIST offline (`mnist5k`): ask for a 5, get a 5.

Commands (the metric classifier as in configs/mnist5k_dcgan.py):
  python experiments/train.py --config=configs/mnist5k_cgan.py --workdir=runs/mnist5k_cgan --config.data_dir=data
  python experiments/sample.py --workdir=runs/mnist5k_cgan --label=5

The generator concatenates a 50-d label embedding to z (Mirza & Osindero 2014); the discriminator is a projection
discriminator (Miyato & Koyama 2018); DCGAN players with 32 base channels, 4,000 steps of batch 64.
`conditional_accuracy` is the metric classifier's accuracy on 1,000 samples generated for labels 0, 1, …, 9 in turn.
About 5 minutes on 2 idle CPU cores (from step times measured on loaded cores: ~65 ms per DCGAN step, ~72 ms
per MLP step); the README states the measured wall time, on shared cores.
"""
from gan_jax import config as config_lib


def get_config():
  c = config_lib.image_config("mnist5k")
  c.conditional = True
  c.generator_kwargs.features = 32
  c.discriminator_kwargs.features = 32
  c.num_steps = 4000
  c.eval_every = 500
  c.eval_samples = 1000
  c.plot_every = 1000
  c.checkpoint_every = 1000
  return c
