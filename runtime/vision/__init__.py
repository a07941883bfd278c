"""torchvision's role for gradspec: datasets (the embedded digits, MNIST/FashionMNIST IDX files),
transforms and models. `import gradspec.vision as torchvision` reads like the tutorials."""

from . import datasets, models, transforms

__all__ = ["datasets", "models", "transforms"]
