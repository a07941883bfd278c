"""Random stand-ins for torchvision's datasets (see the package docstring)."""

from __future__ import annotations

import numpy as np

import torch

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


class VisionDataset(torch.utils.data.Dataset):
    classes = [str(i) for i in range(10)]

    def __init__(self, shape, size, seed, transform=None, target_transform=None, num_classes=10):
        generator = np.random.RandomState(seed)
        self.data = generator.randint(0, 256, (size, *shape), dtype=np.uint8)
        self.targets = generator.randint(0, num_classes, size).tolist()
        self.transform, self.target_transform = transform, target_transform

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        image, target = self.data[index], self.targets[index]
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target


class MNIST(VisionDataset):
    """As torchvision's, `data` is a uint8 tensor (N, 28, 28) and `targets` an int64 tensor."""

    def __init__(self, root=None, train=True, transform=None, target_transform=None, download=False):
        super().__init__((28, 28), 512 if train else 128, 1 if train else 2, transform, target_transform)
        self.data, self.targets = torch.from_numpy(self.data), torch.tensor(self.targets)

    def __getitem__(self, index):
        image, target = self.data[index].numpy(), int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target


class FashionMNIST(MNIST):
    classes = FASHION_CLASSES


class CIFAR10(VisionDataset):
    classes = ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    def __init__(self, root=None, train=True, transform=None, target_transform=None, download=False):
        super().__init__((32, 32, 3), 256 if train else 64, 3 if train else 4, transform, target_transform)


class FakeData(VisionDataset):
    def __init__(self, size=1000, image_size=(3, 224, 224), num_classes=10, transform=None,
                 target_transform=None, random_offset=0):
        channels, height, width = image_size
        super().__init__((height, width, channels), size, 5 + random_offset, transform, target_transform,
                         num_classes)
