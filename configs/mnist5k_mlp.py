"""The classic Keras MNIST MLP GAN on real MNIST offline (`mnist5k`).

Commands (the metric classifier as in configs/mnist5k_dcgan.py):
  python experiments/train.py --config=configs/mnist5k_mlp.py --workdir=runs/mnist5k_mlp --config.data_dir=data
  python experiments/sample.py --workdir=runs/mnist5k_mlp

The players and loop of configs/mnist_mlp_seed.py unchanged: noise 100; D 784-1024-512-256-1 (LeakyReLU(0.2),
dropout 0.3) trained on one concatenated real+fake batch with real targets 0.9; G 100-256-512-1024-784 (tanh);
Adam 2e-4, β1 = 0.5; batch 128. 4,000 steps are 114 epochs of the 4,500 training images (35 steps each).
About 5 minutes on 2 idle CPU cores (from step times measured on loaded cores: ~65 ms per DCGAN step, ~72 ms
per MLP step); the README states the measured wall time, on shared cores.
"""
from gan_jax import config as config_lib


def get_config():
  c = config_lib.image_config("mnist5k")
  c.generator = "mlp"
  c.generator_kwargs = dict(random_dim=100, features=(256, 512, 1024))
  c.discriminator = "mlp"
  c.discriminator_kwargs = dict(features=(1024, 512, 256), dropout_rate=0.3)
  c.joint_batch = True
  c.objective = "non_saturating"
  c.objective_kwargs.real_target = 0.9
  c.batch_size = 128
  c.num_steps = 4000
  c.eval_every = 500
  c.eval_samples = 1000
  c.plot_every = 1000
  c.checkpoint_every = 1000
  return c
