"""InfoGAN on real MNIST offline (`mnist5k`, Chen et al. 2016): a 10-way categorical and 2 continuous codes.

Commands (the metric classifier as in configs/mnist5k_dcgan.py):
  python experiments/train.py --config=configs/mnist5k_infogan.py --workdir=runs/mnist5k_infogan \
      --config.data_dir=data
  python experiments/sample.py --workdir=runs/mnist5k_infogan

The settings of configs/mnist_infogan.py (their App. C.1: z of 62, Q sharing the discriminator body, Adam 2e-4 for
D and 1e-3 for G, λ = 1, continuous term weighted 0.1) with the two details of their MNIST model that decide
whether the categorical code becomes the digit class: z ~ U(−1, 1) (`latent_prior`, as in their released code) and
the fully connected 1,024-unit layers in G (before the convolutions) and D (after them, shared with Q). Without
them, over 4,000–6,000 steps and 3 seeds, the code picked the class 34–55% of the time (the README's table);
with them 72–97% at step 2,500 (3 seeds). 16 base channels, 3,000 steps of batch 64.
Evaluations log `info_class_accuracy`: the metric classifier's accuracy on samples generated for each categorical
code after the best one-to-one matching of codes to digit classes (the code is never told which class it is).
`sample.py` writes one grid per code (Chen et al. 2016, Fig. 2).
"""
from gan_jax import config as config_lib


def get_config():
  c = config_lib.image_config("mnist5k")
  c.generator = "infogan"
  c.generator_kwargs = dict(latent_dim=62, num_categories=10, num_continuous=2, features=16, dense_features=1024)
  c.discriminator = "infogan"
  c.discriminator_kwargs = dict(features=16, q_features=128, normalization="batch_norm", dense_features=1024)
  c.latent_prior = "uniform"
  c.info_weight = 1.0
  c.info_continuous_weight = 0.1
  c.optimizer_g.learning_rate = 1e-3
  c.optimizer_d.learning_rate = 2e-4
  c.num_steps = 3000
  c.eval_every = 500
  c.eval_samples = 1000
  c.plot_every = 1000
  c.checkpoint_every = 1000
  return c
