"""The Dirac-GAN of Mescheder et al. 2018 through the engine: data δ₀, generator δ_θ, linear discriminator D(x) = ψx.

Unregularised simultaneous gradient descent spirals away from the equilibrium (θ, ψ) = (0, 0) (Jacobian
eigenvalues ±0.5i); `--config.r1_weight=1.0` (the critical γ) makes it converge. The vector fields and
eigenvalues are in `gan_jax/dirac.py` and `experiments/figures.py --figure=dirac_gan`.

Command:
  python experiments/train.py --config=configs/dirac.py --workdir=runs/dirac
"""
import ml_collections

from gan_jax import config as config_lib


def get_config():
  c = config_lib.base_config()
  c.target = "dirac"
  c.generator = "point"
  c.generator_kwargs = ml_collections.ConfigDict()
  c.discriminator = "linear"
  c.discriminator_kwargs = ml_collections.ConfigDict()
  c.objective = "minimax"
  c.update_mode = "simultaneous"
  c.optimizer_g = config_lib.optimizer_config("sgd", 0.1)
  c.optimizer_d = config_lib.optimizer_config("sgd", 0.1)
  c.batch_size = 1  # Every sample of a point mass is the same: one is the exact expectation.
  c.num_steps = 500
  c.eval_every = 50
  c.eval_samples = 8
  c.eval_kde_samples = 0
  c.plot_every = 0
  return c
