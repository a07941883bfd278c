"""torch's legacy constructors and typed tensor classes, and autograd.Variable.

`torch.Tensor(data)` copies data into the default float dtype and `torch.Tensor(2, 3)` makes an
uninitialised 2x3 tensor; `torch.FloatTensor`, `torch.LongTensor`, ... do the same in their own
dtype, and `isinstance(t, torch.LongTensor)` asks whether t is an int64 tensor on the CPU.
`Variable(t, requires_grad=True)` is, as in torch since 0.4, a tensor sharing t's storage.
"""

from __future__ import annotations

import numpy as np

from . import dtypes
from .backends import CPU, device, device_of
from .factories import empty, tensor
from .tensor import Size, Tensor

_LEGACY_NAMES = {dtypes.float32: "Float", dtypes.float64: "Double", dtypes.float16: "Half",
                 dtypes.uint8: "Byte", dtypes.int8: "Char", dtypes.int16: "Short", dtypes.int32: "Int",
                 dtypes.int64: "Long", dtypes.bool: "Bool"}


def _is_size(args: tuple) -> bool:
    if len(args) == 1 and isinstance(args[0], Size):
        return True
    return all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args)


def construct(dtype: dtypes.dtype, args: tuple, device=None) -> Tensor:
    """The legacy constructor of a tensor type: sizes, a Tensor of that type, or data."""
    if not args:
        return empty(0, dtype=dtype, device=device)
    if _is_size(args):
        sizes = args[0] if isinstance(args[0], Size) else args
        return empty(*sizes, dtype=dtype, device=device)
    if len(args) != 1:
        raise TypeError(f"new(): expected sizes (ints) or one data argument, got {len(args)} arguments")
    data = args[0]
    if isinstance(data, Tensor):
        if data.dtype != dtype:
            raise TypeError(f"expected {_LEGACY_NAMES[dtype]} (got {_LEGACY_NAMES[data.dtype]})")
        return data.detach()
    if isinstance(data, (float, bool, complex)):
        raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
    return tensor(data, dtype=dtype, device=device)


def tensor_new(cls, *args, device=None):
    """`torch.Tensor(...)`: the legacy constructor in the default dtype."""
    return construct(dtypes.get_default_dtype(), args, device)


class TensorType(type):
    """The metaclass of torch.FloatTensor & co: calling one constructs, isinstance checks the
    dtype (and that the tensor is on the CPU, as torch's CPU tensor types do)."""

    def __call__(cls, *args, device=None):
        return construct(cls.dtype, args, device)

    def __instancecheck__(cls, instance) -> bool:
        return isinstance(instance, Tensor) and instance._data.dtype == cls.dtype.numpy and \
            device_of(instance._data) == CPU

    def __repr__(cls) -> str:
        return f"<class 'torch.{cls.__name__}'>"


TYPES = {f"{name}Tensor": TensorType(f"{name}Tensor", (), {"dtype": d, "is_cuda": False})
         for d, name in _LEGACY_NAMES.items()}


def type_name(data) -> str:
    """`t.type()`: 'torch.FloatTensor', 'torch.cuda.LongTensor', ..."""
    prefix = "torch." if device_of(data) == CPU else "torch.cuda."
    return f"{prefix}{_LEGACY_NAMES[dtypes.from_numpy(data.dtype)]}Tensor"


def tensor_type(self, dtype=None, non_blocking=False):
    """`t.type()` names t's type; `t.type(torch.float64)`, `t.type(torch.DoubleTensor)` and
    `t.type('torch.DoubleTensor')` cast (and move, for 'torch.cuda.*')."""
    if dtype is None:
        return type_name(self._data)
    target = None
    if isinstance(dtype, str):
        module, _, name = dtype.rpartition(".")
        if module not in ("torch", "torch.cuda") or name not in TYPES:
            raise ValueError(f"invalid type: '{dtype}'")
        target = device("cuda") if module == "torch.cuda" else CPU
        dtype = TYPES[name]
    if isinstance(dtype, TensorType):
        dtype = dtype.dtype
    return self.to(dtype, non_blocking=non_blocking) if target is None else self.to(target, dtype)


class VariableMeta(type):
    def __instancecheck__(cls, instance) -> bool:
        return isinstance(instance, Tensor)


class Variable(metaclass=VariableMeta):
    """torch.autograd.Variable: `Variable(t, requires_grad=True)` is a leaf sharing t's storage."""

    def __new__(cls, data, requires_grad: bool = False, volatile: bool = False):
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        return data.detach().requires_grad_(requires_grad)
