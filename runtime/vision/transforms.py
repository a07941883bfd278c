"""torchvision.transforms, the part the tutorials use: ToTensor, Normalize, Compose, Lambda.

Images are numpy arrays (H x W or H x W x C), or PIL images where Pillow is installed. Each
transform also has a batched form (`batch`) over N stacked samples, which datasets use to
transform a whole DataLoader batch at once; it gives the same values as applying the
transform sample by sample.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..tensor import Tensor, make_tensor

__all__ = ["ToTensor", "Normalize", "Compose", "Lambda", "PILToTensor", "ConvertImageDtype"]


def _as_array(pic) -> np.ndarray:
    if isinstance(pic, np.ndarray):
        return pic
    if hasattr(pic, "mode") and hasattr(pic, "size"):  # a PIL image
        return np.asarray(pic)
    raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")


class ToTensor:
    """H x W (x C) image -> C x H x W float tensor; uint8 images are scaled to [0, 1] (/ 255), other
    dtypes keep their values (as torchvision's ToTensor)."""

    def __call__(self, pic) -> Tensor:
        array = _as_array(pic)
        if array.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {array.ndim} dimensions.")
        if array.ndim == 2:
            array = array[:, :, None]
        return make_tensor(self._convert(np.ascontiguousarray(array.transpose(2, 0, 1))))

    def batch(self, images: np.ndarray) -> Tensor:
        """N x H x W (x C) -> N x C x H x W."""
        if images.ndim == 3:
            images = images[:, None, :, :]
        else:
            images = images.transpose(0, 3, 1, 2)
        return make_tensor(self._convert(np.ascontiguousarray(images)))

    @staticmethod
    def _convert(array: np.ndarray) -> np.ndarray:
        if array.dtype == np.uint8:
            return array.astype(dtypes.get_default_dtype().numpy) / np.float32(255)
        return array

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class PILToTensor:
    """H x W (x C) image -> C x H x W tensor of the same dtype (no scaling)."""

    def __call__(self, pic) -> Tensor:
        array = _as_array(pic)
        if array.ndim == 2:
            array = array[:, :, None]
        return make_tensor(np.ascontiguousarray(array.transpose(2, 0, 1)))

    def batch(self, images: np.ndarray) -> Tensor:
        images = images[:, None] if images.ndim == 3 else images.transpose(0, 3, 1, 2)
        return make_tensor(np.ascontiguousarray(images))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class ConvertImageDtype:
    """Convert a tensor image's dtype, scaling integer images into [0, 1] for float dtypes."""

    def __init__(self, dtype) -> None:
        self.dtype = dtype

    def __call__(self, image: Tensor) -> Tensor:
        data = image._data
        target = dtypes.to_numpy(self.dtype)
        if data.dtype.kind in "ui" and target.kind == "f":
            return make_tensor(data.astype(target) / target.type(np.iinfo(data.dtype).max))
        return make_tensor(data.astype(target))

    batch = __call__

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(dtype={self.dtype})"


class Normalize:
    """(image - mean) / std per channel, on a C x H x W tensor."""

    def __init__(self, mean, std, inplace: bool = False) -> None:
        self.mean = mean
        self.std = std
        self.inplace = inplace

    def _stats(self, data):
        dtype = data.dtype if data.dtype.kind == "f" else np.float32
        mean = np.asarray(self.mean, dtype=dtype).reshape(-1, 1, 1)
        std = np.asarray(self.std, dtype=dtype).reshape(-1, 1, 1)
        if (std == 0).any():
            raise ValueError(f"std evaluated to zero after conversion to {dtype}, leading to division by zero.")
        return mean, std

    def __call__(self, tensor: Tensor) -> Tensor:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
        if not tensor.is_floating_point():
            raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
        if tensor.ndim < 3:
            raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). Got "
                             f"tensor.size() = {tuple(tensor.shape)}")
        mean, std = self._stats(tensor._data)
        if tensor._requires_grad:
            return (tensor - make_tensor(mean)) / make_tensor(std)
        if self.inplace:
            tensor._data -= mean
            tensor._data /= std
            tensor._bump()
            return tensor
        return make_tensor((tensor._data - mean) / std)

    def batch(self, tensor: Tensor) -> Tensor:
        return self(tensor)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(mean={self.mean}, std={self.std})"


class Compose:
    """Apply transforms in order."""

    def __init__(self, transforms) -> None:
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    @property
    def batch(self):
        if not all(callable(getattr(t, "batch", None)) for t in self.transforms):
            return None

        def apply(images):
            for t in self.transforms:
                images = t.batch(images)
            return images

        return apply

    def __repr__(self) -> str:
        lines = [self.__class__.__name__ + "("]
        lines += [f"    {t}" for t in self.transforms]
        return "\n".join(lines) + "\n)"


class Lambda:
    """Apply a user function."""

    def __init__(self, lambd) -> None:
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {repr(type(lambd).__name__)}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"
