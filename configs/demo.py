"""The main job (`make demo`): minimax vs non-saturating vs Wasserstein on the 1-D mixture, every divergence exact.

The monotone-flow generator has an exact density, so JS, KL both ways, W1 and D* are computed exactly at every
evaluation, for 3 seeds per objective; the objectives and seeds train together in one program (`joint_objectives`).

Command:
  python experiments/demo.py --config=configs/demo.py --workdir=runs/demo
"""
import ml_collections

from gan_jax import config as config_lib


def get_config():
  c = config_lib.base_config()
  c.target = "mixture_1d"
  c.generator = "flow1d"
  c.generator_kwargs.num_units = 8
  c.discriminator_kwargs.features = 64
  c.discriminator_kwargs.depth = 2
  c.num_seeds = 3
  c.batch_size = 256
  c.num_steps = 1500
  c.eval_every = 150
  c.checkpoint_every = 750
  c.eval_samples = 4096
  c.eval_kde_samples = 500
  # The comparison draws its figures once, at the end (`compare.run_demo`: divergences.png, densities.png); an
  # in-run plot of the last step would draw the same densities again (~1 s of a ~20 s warm demo).
  c.plot_every = 0
  c.optimizer_g = config_lib.optimizer_config("adam", 3e-3, b1=0.5, b2=0.999)
  c.optimizer_d = config_lib.optimizer_config("adam", 3e-3, b1=0.5, b2=0.999)
  c.objectives = ("minimax", "non_saturating", "wasserstein")
  # Arjovsky et al. 2017 train the critic n_critic = 5 times per generator step, with weights clipped to ±0.01.
  c.overrides = ml_collections.ConfigDict({"wasserstein": {"n_critic": 5}})
  # All three objectives × 3 seeds as one program (`compare.joint_config`; the same numbers as each alone).
  c.joint_objectives = True
  # Its 9 replicas over 3 devices: on the CPU, 3 devices train on all cores (1.8× faster on 2 cores than one device,
  # which runs these small matmuls on ~1.3 cores); elsewhere over the devices that divide 9 (one GPU: that one).
  c.parallel.layout = "replicas"
  c.parallel.cpu_devices = 3
  return c
