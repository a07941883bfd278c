"""Devices and their array modules: numpy for `cpu`, cupy (imported only when asked) for `cuda`."""

from __future__ import annotations

import numpy as np

_cupy = None


class device:  # noqa: N801 - named like torch.device
    __slots__ = ("type", "index")

    def __init__(self, spec, index=None):
        if isinstance(spec, device):
            spec, index = spec.type, spec.index if index is None else index
        kind, _, number = str(spec).partition(":")
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {spec}")
        self.type = kind
        self.index = int(number) if number else index

    def __eq__(self, other) -> bool:
        other = device(other) if isinstance(other, str) else other
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        suffix = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{suffix})"


CPU = device("cpu")


def cupy():
    """The cupy module, imported on first use; a clear error says what is missing."""
    global _cupy
    if _cupy is None:
        try:
            import cupy as module
        except ImportError:
            raise RuntimeError("CUDA was requested but cupy is not installed: install the cuda extra, "
                               "`pip install gradspec[cuda12]` (or `[cuda13]`), on a machine with an "
                               "NVIDIA GPU") from None
        if module.cuda.runtime.getDeviceCount() == 0:
            raise RuntimeError("CUDA was requested but no NVIDIA GPU is visible to cupy")
        _cupy = module
    return _cupy


def module_for(dev: device):
    return np if dev.type == "cpu" else cupy()


def array_module(array):
    """numpy or cupy, whichever holds `array` (numbers count as numpy)."""
    return np if _cupy is None or type(array) is not _cupy.ndarray else _cupy


def array_types() -> tuple:
    """The array classes of the backends loaded so far."""
    return (np.ndarray,) if _cupy is None else (np.ndarray, _cupy.ndarray)


def device_of(array) -> device:
    if _cupy is not None and type(array) is _cupy.ndarray:
        return device("cuda", array.device.id)
    return CPU


def to_device(array, dev: device):
    if device_of(array) == dev:
        return array
    if dev.type == "cpu":
        return array.get()
    xp = cupy()
    with xp.cuda.Device(dev.index or 0):
        return xp.asarray(array)
