"""The objective comparison on an image-to-image task: non-saturating vs least-squares vs hinge vs no adversarial
term at all, 3 seeds each trained together (4 members).

Commands (TASK: super_resolution | inpainting | digits_translation, i.e. configs/mnist5k_<TASK>.py):
  python experiments/sweep.py --config=configs/sweeps/image_to_image_objectives.py:TASK \
      --workdir=runs/i2i_objectives_TASK
  python experiments/summarize.py --workdir=runs/i2i_objectives_TASK --rank_by=fcd \
      --metrics=psnr,ssim,accuracy,fcd,js_lower_bound          # paired tasks
  python experiments/summarize.py --workdir=runs/i2i_objectives_digits_translation --rank_by=fcd_ab \
      --metrics=accuracy_ab,accuracy_ba,fcd_ab,fcd_ba,cycle_a,cycle_b

Members: the task's config with objective 'non_saturating' (pix2pix's), 'least_squares' (CycleGAN's), 'hinge'
(Lim & Ye 2017), and the reconstruction term alone (`adversarial_weight=0`: pix2pix's "L1 only" row; for the
unpaired task, cycle consistency alone). Each member trains 1,000 steps with its 3 seeds unrolled side by side.
The README gives the measured table (mean ± 95% CI over seeds) and wall times.
Shrunk for a quick local check (2 members, 1 seed, 20 steps): ...:TASK,runlocal
"""
import os

from gan_jax import config as config_lib
from gan_jax import sweep

TASKS = ("super_resolution", "inpainting", "digits_translation")


def _parse(arg: str) -> tuple[str, bool]:
  task, _, rest = arg.partition(",")
  if task not in TASKS or rest not in ("", "runlocal"):
    raise ValueError(f"unknown config argument {arg!r}; allowed: TASK or TASK,runlocal with TASK one of "
                     f"{' | '.join(TASKS)}")
  return task, rest == "runlocal"


def get_config(arg: str = "super_resolution"):
  task, local = _parse(arg)
  c = config_lib.load_config_file(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                               f"mnist5k_{task}.py"))
  if local:
    c.num_steps, c.eval_every, c.checkpoint_every, c.plot_every, c.eval_samples = 20, 10, 10, 0, 100
  return c


def get_sweep(arg: str = "super_resolution"):
  _, local = _parse(arg)
  if local:
    return sweep.Sweep(grid=sweep.product({"objective": ["non_saturating", "hinge"]}), seeds=1)
  return sweep.Sweep(grid=sweep.zip_({"objective": ["non_saturating", "least_squares", "hinge", "non_saturating"],
                                      "adversarial_weight": [1.0, 1.0, 1.0, 0.0]}), seeds=range(3))
