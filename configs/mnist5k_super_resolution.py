"""Super-resolution ×4 on real MNIST offline (`mnist5k`): 7×7 (area-downsampled) -> 28×28, 3 seeds.

Commands:
  python experiments/train.py --config=configs/mnist5k_super_resolution.py --workdir=runs/mnist5k_sr
  python experiments/sample.py --workdir=runs/mnist5k_sr --num=8      # input | output | ground truth
  # the L1-only baseline (what does the adversarial term add?):
  python experiments/train.py --config=configs/mnist5k_super_resolution.py --workdir=runs/mnist5k_sr_l1 \
      --config.adversarial_weight=0

pix2pix's recipe (Isola et al. 2017) at digit scale: a U-Net generator and a PatchGAN discriminator (7×7 patches)
with 16 base channels and instance norm, non-saturating loss, L1 weight λ = 100, Adam 2e-4 β1 = 0.5, batch 32,
1,000 steps (7 epochs of the 4,500 training images). G sees the low-resolution image at full size (nearest):
pre-upsampling, as SRCNN. Each row logs PSNR, SSIM, L1, the metric classifier's accuracy on the outputs and their
FCD against the 500 test images, beside the bicubic baseline's (`baseline_*`). The 3 seeds run as one program,
unrolled (`parallel.replica_map='unroll'`: faster than vmapped convolutions on CPU). The README gives the measured
numbers and wall time (Image-to-image GANs); the metric classifier is trained into `data/` on first use (~45 s).
"""
from gan_jax import config as config_lib


def get_config():
  c = config_lib.image_to_image_config("super_resolution")
  c.data_dir = "data"
  c.num_seeds = 3
  c.parallel.replica_map = "unroll"
  return c
