"""Bind the generated ops onto Tensor as methods and operators, with torch's Python signatures.

Every generated op whose first argument is `Tensor self` becomes a method as it is; the
methods below are those whose torch signature differs (varargs sizes, optional dims,
reflected operators) or that compose ops (runtime/composites.py).
"""

from __future__ import annotations

import numpy as np

from .generated import functions as F

from . import composites as C
from . import dtypes, factories, legacy
from .arguments import numpy_names
from .backends import device as as_device
from .backends import device_of
from .dtypes import result_type
from .inplace import cast_name, copy_, inplace, is_recorded, setitem
from .tensor import SCALARS, Tensor


def view(self, *shape):
    if len(shape) == 1 and isinstance(shape[0], dtypes.dtype):
        raise NotImplementedError("view(dtype) is not supported")
    return F.view(self, C._sizes(shape, "view"))


def expand(self, *sizes, implicit=False):
    return F.expand(self, C._sizes(sizes, "expand"), implicit=implicit)


def permute(self, *dims):
    return F.permute(self, C._sizes(dims, "permute"))


def contiguous(self):
    return self if self._data.flags.c_contiguous else F.clone(self)


def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False):
    """to(dtype), to(device), to(device, dtype), to(other): self when nothing changes, as torch."""
    for arg in args:
        if isinstance(arg, Tensor):
            dtype, device = arg.dtype, arg.device
        elif isinstance(arg, (str, as_device)):
            device = arg
        else:
            dtype = arg
    numpy_dtype = None if dtype is None else dtypes.to_numpy(dtype)
    target = None if device is None else as_device(device)
    if target is not None and target.type == "cuda" and target.index is None:
        target = as_device("cuda", 0)
    same_dtype = numpy_dtype is None or numpy_dtype == self._data.dtype
    same_device = target is None or target == device_of(self._data)
    if same_dtype and same_device and not copy:
        return self
    return F._to_copy(self, dtype=None if same_dtype else numpy_dtype,
                      device=None if same_device else target, non_blocking=non_blocking)


def _cast(dtype):
    def cast(self):
        return to(self, dtype)

    cast.__name__ = dtype.name
    return cast


def __rsub__(self, other):
    return F.rsub_Scalar(self, other) if isinstance(other, SCALARS) else F.rsub_Tensor(self, other)


def __rtruediv__(self, other):
    return F.mul(F.reciprocal(self), other)  # torch records ReciprocalBackward0 then MulBackward0


def __rpow__(self, other):
    return F.pow_Scalar(other, self)


def __pow__(self, exponent):
    return F.pow_Tensor_Tensor(self, exponent) if isinstance(exponent, Tensor) else F.pow_Tensor_Scalar(self, exponent)


def _arithmetic_inplace(op, ufunc):
    """x.add_(y), x += y: one numpy ufunc writing into x where no graph is recorded (optimizer
    steps, initialisation), runtime/inplace.py's general path where one is."""

    def method(self, other, **kwargs):
        if kwargs or is_recorded(self, other):
            return inplace(self, op, other, **kwargs)
        operand = other._data if isinstance(other, Tensor) else other
        try:
            ufunc(self._data, operand, out=self._data, casting="same_kind")
        except TypeError:  # numpy's casting error, in torch's words
            raise RuntimeError(f"{op.__name__}_(): result type {cast_name(result_type((self._data, operand)))} "
                               f"can't be cast to the desired output type {cast_name(self._data.dtype)}") from None
        return self._bump()

    method.__name__ = op.__name__ + "_"
    return method


def __eq__(self, other):
    return False if other is None else F.eq(self, other)  # `t == None` is False in torch, not an error


def __ne__(self, other):
    return True if other is None else F.ne(self, other)


METHODS = dict(
    view=view, reshape=C.reshape, expand=expand, permute=permute, sum=C.reduce_sum, mean=C.reduce_mean,
    squeeze=C.squeeze, flatten=C.flatten, unflatten=C.unflatten, movedim=C.movedim, narrow=C.narrow,
    split=C.split, chunk=C.chunk, unbind=C.unbind, tile=C.tile, repeat=C.repeat, flip=C.flip,
    square=C.square, outer=C.outer, clamp=C.clamp, clip=C.clamp, max=C.max, min=C.min, var=C.var, std=C.std,
    norm=C.norm, prod=C.prod, softmax=C.softmax, log_softmax=C.log_softmax,
    scatter=F.scatter, masked_fill=F.masked_fill,
    new_tensor=C.new_tensor, new_zeros=C.new_zeros, new_ones=C.new_ones, new_empty=C.new_empty,
    new_full=C.new_full,
    contiguous=contiguous, to=to, pow=__pow__,
    double=_cast(dtypes.float64), float=_cast(dtypes.float32), half=_cast(dtypes.float16),
    long=_cast(dtypes.int64), int=_cast(dtypes.int32), bool=_cast(dtypes.bool),
    cpu=lambda self: to(self, "cpu"),
    cuda=lambda self, device=None: to(self, as_device("cuda", 0) if device is None else as_device(device)),
    view_as=lambda self, other: view(self, other._data.shape),
    reshape_as=lambda self, other: C.reshape(self, other._data.shape),
    expand_as=lambda self, other: expand(self, other._data.shape),
    type_as=lambda self, other: to(self, other.dtype),
    __add__=F.add, __radd__=F.add, __sub__=F.sub, __rsub__=__rsub__,  # + and * commute: no reflection
    __mul__=F.mul, __rmul__=F.mul, __truediv__=F.div, __rtruediv__=__rtruediv__,
    __pow__=__pow__, __rpow__=__rpow__, __neg__=F.neg, __abs__=F.abs, __matmul__=C.matmul, matmul=C.matmul,
    __rmatmul__=lambda self, other: C.matmul(other, self),
    __eq__=__eq__, __ne__=__ne__, __gt__=F.gt, __ge__=F.ge, __lt__=F.lt, __le__=F.le,
    __and__=F.logical_and, __or__=F.logical_or, __xor__=F.logical_xor, __invert__=F.logical_not,
    __getitem__=C.getitem, __setitem__=setitem, copy_=copy_,
    add_=_arithmetic_inplace(F.add, np.add), sub_=_arithmetic_inplace(F.sub, np.subtract),
    mul_=_arithmetic_inplace(F.mul, np.multiply), div_=_arithmetic_inplace(F.div, np.true_divide),
    __iadd__=_arithmetic_inplace(F.add, np.add), __isub__=_arithmetic_inplace(F.sub, np.subtract),
    __imul__=_arithmetic_inplace(F.mul, np.multiply), __itruediv__=_arithmetic_inplace(F.div, np.true_divide),
    type=legacy.tensor_type, __new__=staticmethod(legacy.tensor_new),
    _is_view=lambda self: self._base is not None,
    multinomial=factories.multinomial, exponential_=factories.exponential_,
    T=property(lambda self: permute(self, tuple(reversed(range(self._data.ndim))))),
    mT=property(lambda self: F.transpose(self, -2, -1)),
)


def bind() -> None:
    """Generated single-overload ops as methods, then torch's own method signatures on top."""
    for name in F.__all__:
        function = getattr(F, name)
        if not name.startswith("_") and function.__code__.co_varnames[:1] == ("self",):
            setattr(Tensor, name, numpy_names(function))
    for name, method in METHODS.items():
        setattr(Tensor, name, numpy_names(method) if callable(method) and not isinstance(method, staticmethod) else method)
