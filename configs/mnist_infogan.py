"""InfoGAN on MNIST (Chen et al. 2016): a 10-way categorical code and 2 continuous codes.

Commands (MNIST and its metric classifier prepared as in configs/mnist_dcgan.py):
  python experiments/train.py --config=configs/mnist_infogan.py --workdir=runs/mnist_infogan \
      --config.data_dir=data
  python experiments/sample.py --workdir=runs/mnist_infogan

The second command writes one grid per code: the categorical code along each row (digit type) and each continuous
code from −2 to 2 along each row (in the paper, rotation and stroke thickness). Settings of their App. C.1: noise
z ~ U(−1, 1) of 62, fully connected 1,024-unit layers in G and D, Q sharing the discriminator body with a 128-unit
head, Adam 2e-4 for D and 1e-3 for G, λ = 1; the continuous codes' Gaussian term is weighted 0.1, the usual choice
in public re-implementations. The uniform z and the 1,024-unit layers are what make the categorical code pick the
digit class (measured on `mnist5k`: configs/mnist5k_infogan.py and the README). Evaluations log `info_accuracy`
(Q recovering the categorical code) and `info_loss`.
"""
from gan_jax import config as config_lib


def get_config():
  c = config_lib.image_config("mnist")
  c.generator = "infogan"
  c.generator_kwargs = dict(latent_dim=62, num_categories=10, num_continuous=2, features=64, dense_features=1024)
  c.discriminator = "infogan"
  c.discriminator_kwargs = dict(features=64, q_features=128, normalization="batch_norm", dense_features=1024)
  c.latent_prior = "uniform"
  c.info_weight = 1.0
  c.info_continuous_weight = 0.1
  c.optimizer_g.learning_rate = 1e-3
  c.optimizer_d.learning_rate = 2e-4
  c.num_steps = 20_000
  c.eval_every = 1000
  c.eval_samples = 5000
  c.plot_every = 1000
  c.checkpoint_every = 2000
  return c
