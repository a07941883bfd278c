"""The transforms the corpus uses, over numpy images (H, W) or (H, W, C) of uint8."""

from __future__ import annotations

import numpy as np

import torch


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, image):
        for transform in self.transforms:
            image = transform(image)
        return image


class ToTensor:
    def __call__(self, image):
        array = np.asarray(image)
        if array.ndim == 2:
            array = array[:, :, None]
        return torch.tensor(array.transpose(2, 0, 1).astype(np.float32) / 255)


class Normalize:
    def __init__(self, mean, std, inplace=False):
        self.mean, self.std = mean, std

    def __call__(self, tensor):
        mean = torch.tensor(self.mean, dtype=tensor.dtype).view(-1, 1, 1)
        std = torch.tensor(self.std, dtype=tensor.dtype).view(-1, 1, 1)
        return (tensor - mean) / std


class Lambda:
    def __init__(self, function):
        self.function = function

    def __call__(self, value):
        return self.function(value)


class Resize:
    """Accepted and ignored: the stand-in datasets are made at the size the scripts ask for."""

    def __init__(self, size, *args, **kwargs):
        self.size = size

    def __call__(self, image):
        return image


CenterCrop = Resize
