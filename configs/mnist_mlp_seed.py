"""The classic Keras MNIST MLP GAN this project grew from, reproduced through the engine.

Command (MNIST prepared as in configs/mnist_dcgan.py):
  python experiments/train.py --config=configs/mnist_mlp_seed.py --workdir=runs/mnist_mlp_seed \
      --config.data_dir=data

Its loop: noise of size random_dim = 100; the discriminator (784-1024-512-256-1, LeakyReLU(0.2), dropout 0.3) is
trained on one concatenated real+fake batch (`joint_batch`) with real targets 0.9 and fake 0 (one-sided label
smoothing, `objective_kwargs.real_target`); then the generator (100-256-512-1024-784, LeakyReLU(0.2), tanh) is
trained through the frozen discriminator with targets 1 (the non-saturating loss). Adam 2e-4, β1 = 0.5 for both;
batch 128. (Keras averages the cross-entropy over the concatenated 2·128 batch, half our sum of the real and fake
means: a constant factor Adam does not see, up to its ε.) The example ran 400 epochs of 468 steps; 40 epochs here.
"""
from gan_jax import config as config_lib


def get_config():
  c = config_lib.image_config("mnist")
  c.generator = "mlp"
  c.generator_kwargs = dict(random_dim=100, features=(256, 512, 1024))
  c.discriminator = "mlp"
  c.discriminator_kwargs = dict(features=(1024, 512, 256), dropout_rate=0.3)
  c.joint_batch = True
  c.objective = "non_saturating"
  c.objective_kwargs.real_target = 0.9
  c.batch_size = 128
  c.num_steps = 40 * 468
  c.eval_every = 1872
  c.eval_samples = 5000
  c.plot_every = 1872
  c.checkpoint_every = 3744
  return c
