"""Inpainting on real MNIST offline (`mnist5k`): a centred 14×14 hole (a quarter of the digit) filled in, 3 seeds.

Commands:
  python experiments/train.py --config=configs/mnist5k_inpainting.py --workdir=runs/mnist5k_inpaint
  python experiments/sample.py --workdir=runs/mnist5k_inpaint --num=8   # input | output | ground truth
  # the bottom half instead:  --config.mask=bottom_half
  # the L1-only baseline:     --config.adversarial_weight=0

Context encoders' task (Pathak et al. 2016) with pix2pix's players and losses, as configs/mnist5k_super_resolution.py:
U-Net and PatchGAN with 16 base channels, non-saturating loss, L1 λ = 100, batch 32, 1,000 steps. The hole is
filled with grey (0); G's output is pasted into the hole only, the known pixels are kept. The baseline
(`baseline_*`) is the masked input itself. The README gives the measured numbers and wall time.
"""
from gan_jax import config as config_lib


def get_config():
  c = config_lib.image_to_image_config("inpainting")
  c.data_dir = "data"
  c.mask = "center"
  c.mask_size = 14
  c.num_seeds = 3
  c.parallel.replica_map = "unroll"
  return c
