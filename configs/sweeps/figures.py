"""A tiny objective ablation for figure 7 and notebooks/ablation.ipynb: 2 objectives × 3 seeds, seconds on a CPU.

Command:
  python experiments/sweep.py --config=configs/sweeps/figures.py --workdir=/tmp/gan_jax_sweep_figures
The base config is configs/sweeps/testing.py's (flow1d generator on mixture_1d) with a few more steps, so the
divergence trajectories have more than two points; 3 seeds, so the bootstrap intervals have a spread. Both halves
live in the library (`gan_jax.paper_figures.divergence_trajectories`), which runs the same sweep when the figure is
drawn without a sweep directory.
"""
from gan_jax.paper_figures import divergence_trajectories


def get_config(arg: str = ""):
  del arg
  return divergence_trajectories.sweep_base_config()


def get_sweep(arg: str = ""):
  del arg
  return divergence_trajectories.figure_sweep()
