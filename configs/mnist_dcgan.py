"""DCGAN on MNIST 28×28 (Radford et al. 2015), for users with MNIST prepared.

Commands (prepare once with TensorFlow installed; the metric classifier once per image size):
  pip install -e '.[prepare]' && tfds build mnist --data_dir=data --file_format=array_record
  python experiments/train_classifier.py --dataset=mnist --data_dir=data
  python experiments/train.py --config=configs/mnist_dcgan.py --workdir=runs/mnist_dcgan --config.data_dir=data

20,000 steps of batch 64 are about 21 epochs. Architecture: z (100) -> 7×7×128 -> 14×14×64 -> 28×28×1 transposed
convolutions with BatchNorm; the discriminator mirrors it with LeakyReLU(0.2).
"""
from gan_jax import config as config_lib


def get_config():
  c = config_lib.image_config("mnist")
  c.num_steps = 20_000
  c.eval_every = 1000
  c.eval_samples = 5000
  c.plot_every = 1000
  c.checkpoint_every = 2000
  return c
