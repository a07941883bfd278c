"""torch-style dtype objects over numpy dtypes (`gradspec.float32` prints as `torch.float32`)."""

from __future__ import annotations

import builtins
import math

import numpy as np

NUMPY_2 = np.lib.NumpyVersion(np.__version__) >= "2.0.0"
if not NUMPY_2:
    # gradspec computes with numpy 2's promotion (NEP 50): a Python number adopts the array's dtype,
    # as in torch, whatever the array's rank (numpy 1's value-based casting made float32 0-d + 2.5 a
    # float64). numpy 1.26, the oldest supported, has it as a process-wide option (docs/decisions.md).
    np._set_promotion_state("weak")


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
    """Accept a gradspec dtype, a numpy dtype or a Python type (float means the default dtype)."""
    if type(value) is dtype:
        return value.numpy
    if value is builtins.float:
        return _default[0].numpy
    return np.dtype(value)


# torch's ScalarType names, as its error messages spell them
_SCALAR_TYPE_NAMES = {np.dtype(np.float16): "Half", np.dtype(np.float32): "Float", np.dtype(np.float64): "Double",
                      np.dtype(np.uint8): "Byte", np.dtype(np.int8): "Char", np.dtype(np.int16): "Short",
                      np.dtype(np.int32): "Int", np.dtype(np.int64): "Long", np.dtype(np.bool_): "Bool"}


def scalar_type_name(numpy_dtype) -> str:
    """torch's name of a dtype in messages: Float, Double, Long, Bool, ..."""
    return _SCALAR_TYPE_NAMES[np.dtype(numpy_dtype)]


# dtype kinds a kernel is compiled for, as torch's AT_DISPATCH macros group them
FLOATING, INTEGRAL_AND_BOOL, ALL_TYPES = "f", "iub", "iuf"


def check_kernel_dtype(kernel: str, kinds: str, *arrays) -> None:
    """torch's dispatch: a kernel built for some dtypes only refuses an array of any other, naming
    itself (`"softmax_kernel_impl" not implemented for 'Long'`)."""
    for array in arrays:
        if array is not None and array.dtype.kind not in kinds:
            raise NotImplementedError(f'"{kernel}" not implemented for \'{scalar_type_name(array.dtype)}\'')


def get_default_dtype() -> dtype:
    return _default[0]


def set_default_dtype(d: dtype) -> None:
    if type(d) is not dtype or not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default[0] = d


# ---- type promotion, as torch's result_type ------------------------------------------------------
#
# Operands fall in three classes, from strongest to weakest: tensors with dims, 0-d tensors, and
# Python numbers. Within a class dtypes promote as usual; a weaker class only raises the result's
# category (bool < integer < floating), never its width: float32 tensor * float64 0-d tensor is
# float32, int64 tensor * 2.5 is the default float dtype, not float64 as in numpy.

def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """torch's promotion table: like numpy's, except that integers never widen a float
    (int64 + float32 is float32 in torch, float64 in numpy)."""
    if a.kind == "f" and b.kind != "f":
        return a
    if b.kind == "f" and a.kind != "f":
        return b
    return np.promote_types(a, b)


def can_cast(source: np.dtype, target: np.dtype) -> builtins.bool:
    """torch's canCast, for a result written into a tensor of `target`'s dtype: no float into an
    integral or bool tensor, nothing but bool into a bool one; integers of any kind and width
    (numpy's same_kind refuses int64 into uint8)."""
    if source.kind == "f":
        return target.kind == "f"
    return target.kind != "b" or source.kind == "b"


def _combine(higher, lower):
    """torch's combine_categories(higher, lower) over numpy dtypes (None: no operand)."""
    if higher is None:
        return lower
    if lower is None or higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return promote_types(higher, lower)
    return higher


def _number_dtype(value) -> np.dtype:
    if isinstance(value, (builtins.bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(value, (builtins.int, np.integer)):
        return np.dtype(np.int64)
    return _default[0].numpy


def result_type(values) -> np.dtype:
    """The dtype torch computes for an elementwise op over arrays and Python numbers."""
    classes = [None, None, None]  # dimensioned, 0-d, numbers
    for value in values:
        if value is None:
            continue
        if hasattr(value, "dtype") and not isinstance(value, np.generic):
            which, dtype = (0 if value.ndim else 1), value.dtype
        else:
            which, dtype = 2, _number_dtype(value)
        current = classes[which]
        classes[which] = dtype if current is None else promote_types(current, dtype)
    return _combine(classes[0], _combine(classes[1], classes[2]))


def _one_float_dtype(values) -> builtins.bool:
    """All arrays share one floating dtype, and the rest are Python numbers or None."""
    dtype = None
    for value in values:
        kind = type(value)
        if kind is builtins.float or kind is builtins.int or value is None:
            continue
        current = getattr(value, "dtype", None)
        if current is None or isinstance(value, np.generic) or current.kind != "f":
            return False
        if dtype is None:
            dtype = current
        elif current != dtype:
            return False
    return dtype is not None


def promote(*values, to_float: builtins.bool = False) -> tuple:
    """Cast the arrays among `values` to the op's result dtype (numbers stay: numpy keeps them weak);
    to_float: integer and bool results become the default float dtype, as torch's true division."""
    if NUMPY_2 and _one_float_dtype(values):
        return values  # the common case: Python numbers adopt the arrays' dtype, as torch's do
    target = result_type(values)
    if to_float and target.kind != "f":
        target = _default[0].numpy
    return tuple(_cast(v, target) for v in values)


def _cast(value, target: np.dtype):
    if hasattr(value, "dtype") and not isinstance(value, np.generic):
        return value if value.dtype == target else value.astype(target)
    if type(value) is builtins.int:
        value = _wrapped(value, target)
    if not NUMPY_2 and type(value) in (builtins.int, builtins.float):  # bools stay: ops refuse some by type
        # numpy 1's where() (unlike its ufuncs) makes a Python number a 64-bit array, even when weak
        return target.type(value)
    return value


def _wrapped(number: int, target: np.dtype):
    """A Python int operand in an integer result dtype: wrapped as C++ converts it (uint8 - -2 adds
    254; numpy refuses an out-of-range Python int)."""
    if target.kind not in "iu":
        return number
    info = np.iinfo(target)
    return number if info.min <= number <= info.max else np.asarray(number).astype(target)[()]


_C_TYPE_NAMES = {"float16": "c10::Half", "float32": "float", "float64": "double", "uint8": "uint8_t",
                 "int8": "int8_t", "int16": "int16_t", "int32": "int", "int64": "int64_t"}


def checked_number(value, dtype: np.dtype):
    """A Python number written into a tensor of `dtype` (fill, masked_fill, x[i] = value), as torch's
    checked conversion: negative ints wrap into unsigned types, anything else out of range is
    refused (so is a negative float for an unsigned type)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b" or isinstance(value, (builtins.bool, np.bool_)) or math.isnan(value) or math.isinf(value):
        return np.asarray(value).astype(dtype)[()]
    if dtype.kind == "f":
        fits = abs(value) <= np.finfo(dtype).max
    else:
        info = np.iinfo(dtype)
        fits = info.min <= value <= info.max or (dtype.kind == "u" and isinstance(value, (builtins.int, np.integer))
                                                  and -info.max <= value < 0)
    if not fits:
        raise RuntimeError(f"value cannot be converted to type {_C_TYPE_NAMES[dtype.name]} without overflow")
    return np.asarray(value).astype(dtype)[()]
