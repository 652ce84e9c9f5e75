"""Unpaired translation between two handwriting datasets: mnist5k (A) ↔ the scikit-learn digits (B), 3 seeds.

Commands:
  python experiments/train.py --config=configs/mnist5k_digits_translation.py --workdir=runs/mnist5k_digits
  python experiments/sample.py --workdir=runs/mnist5k_digits --num=8   # a, G(a), F(G(a)); b, F(b), G(F(b))

The same ten classes written by other people and rendered otherwise: MNIST's 28×28 anti-aliased strokes against
the UCI digits' 8×8 counts of set pixels, upsampled (bilinear) to 28×28. CycleGAN's losses (Zhu et al. 2017):
least-squares adversarial terms in both directions and cycle consistency with λ = 10; no pairs are used (each
domain's batches come from its own shuffle). Players: two U-Nets and two PatchGANs with 16 base channels, instance
norm, Adam 2e-4 β1 = 0.5, batch 32, 1,000 steps. CycleGAN's pool of 50 past generated images is not used.

Measured at each evaluation on the test splits (296 images per domain): `accuracy_ab`, the digits classifier's
accuracy on G(mnist) for the MNIST labels (is the digit kept?), and `accuracy_ba` the other way, beside the
untranslated images' accuracy (`baseline_accuracy_*`); `cycle_a` / `cycle_b` (mean |F(G(a)) − a|, …); the FCD of
translated images against the other domain's test images (`fcd_ab`, `fcd_ba`). Both domains' metric classifiers
are trained into `data/` on first use. The README gives the measured numbers and wall time.
"""
from gan_jax import config as config_lib


def get_config():
  c = config_lib.image_to_image_config("unpaired")
  c.data_dir = "data"
  c.target_dataset = "digits"
  c.num_seeds = 3
  c.parallel.replica_map = "unroll"
  return c
