"""torch-style dtype objects over numpy dtypes (`runtime.float32` prints as `torch.float32`)."""

from __future__ import annotations

import builtins

import numpy as np


class dtype:  # noqa: N801 - named like torch.dtype
    __slots__ = ("name", "numpy", "is_floating_point", "itemsize")

    def __init__(self, name: str, numpy_dtype):
        self.name = name
        self.numpy = np.dtype(numpy_dtype)
        self.is_floating_point = self.numpy.kind == "f"
        self.itemsize = self.numpy.itemsize

    def __repr__(self) -> str:
        return f"torch.{self.name}"


float16 = half = dtype("float16", np.float16)
float32 = float = dtype("float32", np.float32)  # noqa: A001 - torch's alias
float64 = double = dtype("float64", np.float64)
uint8 = dtype("uint8", np.uint8)
int8 = dtype("int8", np.int8)
int16 = short = dtype("int16", np.int16)
int32 = int = dtype("int32", np.int32)  # noqa: A001
int64 = long = dtype("int64", np.int64)
bool = dtype("bool", np.bool_)  # noqa: A001

ALL = (float16, float32, float64, uint8, int8, int16, int32, int64, bool)
_BY_NUMPY = {d.numpy: d for d in ALL}
_default = [float32]


def from_numpy(numpy_dtype) -> dtype:
    try:
        return _BY_NUMPY[np.dtype(numpy_dtype)]
    except KeyError:
        raise TypeError(f"numpy dtype {numpy_dtype} has no torch equivalent here "
                        f"(supported: {', '.join(d.name for d in ALL)})") from None


def to_numpy(value) -> np.dtype:
    """Accept a runtime dtype, a numpy dtype or a Python type (float means the default dtype)."""
    if type(value) is dtype:
        return value.numpy
    if value is builtins.float:
        return _default[0].numpy
    return np.dtype(value)


def get_default_dtype() -> dtype:
    return _default[0]


def set_default_dtype(d: dtype) -> None:
    if type(d) is not dtype or not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default[0] = d
