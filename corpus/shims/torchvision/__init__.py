"""A stand-in for torchvision, for the corpus only.

torchvision is not a dependency of gradspec, its wheels pin one torch build, and the corpus
runs offline. So both runs of a corpus script (torch's and gradspec's) import this package,
written over torch's public API only (under gradspec `torch` is gradspec, so gradspec runs it
too). What it changes from torchvision, on purpose:
- datasets (MNIST, FashionMNIST, CIFAR10, FakeData) hold random images drawn from a numpy
  generator of their own (so building one does not move torch's random stream), and few of
  them: MNIST-like sets 512 training and 128 test images; nothing is downloaded;
- models build randomly initialised networks: `weights=` is accepted and no file is read;
- utils.save_image writes nothing.
"""

from . import datasets, models, transforms, utils

__version__ = "0.0-corpus"
__all__ = ["datasets", "models", "transforms", "utils"]
