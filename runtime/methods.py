"""Bind the generated ops onto Tensor as methods and operators, with torch's Python signatures.

Every generated op whose first argument is `Tensor self` becomes a method as it is; the
methods below are those whose torch signature differs (varargs sizes, optional dims,
reflected operators) or that compose ops (reshape, squeeze(), to, indexing).
"""

from __future__ import annotations

import numpy as np

from generated import functions as F

from . import dtypes
from .backends import device as as_device
from .backends import device_of
from .grad_mode import STATE
from .tensor import SCALARS, Tensor, array_index, int_list, make_tensor


def _sizes(args: tuple, op: str) -> tuple[int, ...]:
    """`x.view(2, 3)` and `x.view((2, 3))` alike."""
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        args = args[0]
    return int_list(args, op, "size")


def view(self, *shape):
    if len(shape) == 1 and isinstance(shape[0], dtypes.dtype):
        raise NotImplementedError("view(dtype) is not supported")
    return F.view(self, _sizes(shape, "view"))


def reshape(self, *shape):
    """A view when the strides allow one (as torch, recorded as ViewBackward0), else a copy."""
    shape = _sizes(shape, "reshape")
    try:
        return F.view(self, shape)
    except RuntimeError as error:
        if "view size is not compatible" not in str(error):
            raise
        return F.reshape(self, shape)


def expand(self, *sizes, implicit=False):
    return F.expand(self, _sizes(sizes, "expand"), implicit=implicit)


def permute(self, *dims):
    return F.permute(self, _sizes(dims, "permute"))


def reduce_sum(self, dim=None, keepdim=False, *, dtype=None):
    if dim is None:
        return F.sum_default(self, dtype=dtype)
    return F.sum_dim_IntList(self, dim, keepdim, dtype=dtype)


def reduce_mean(self, dim=None, keepdim=False, *, dtype=None):
    if dim is None:
        return F.mean_default(self, dtype=dtype)
    return F.mean_dim(self, dim, keepdim, dtype=dtype)


def squeeze(self, dim=None):
    if dim is not None:
        return F.squeeze(self, dim)
    return reshape(self, tuple(s for s in self._data.shape if s != 1))


def flatten(self, start_dim=0, end_dim=-1):
    shape = self._data.shape
    if not shape:
        return reshape(self, (1,))
    start, end = start_dim % len(shape), end_dim % len(shape)
    merged = int(np.prod(shape[start:end + 1], dtype=np.int64))
    return reshape(self, shape[:start] + (merged,) + shape[end + 1:])


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


def __getitem__(self, index):
    """Basic indexing (ints, slices, None, ...) as select/slice/unsqueeze ops, as torch records it."""
    items = index if isinstance(index, tuple) else (index,)
    if not all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in items):
        if self._requires_grad and STATE.enabled:
            raise NotImplementedError("advanced indexing (tensors, lists, masks) of a tensor that requires grad "
                                      "is not supported yet")
        return make_tensor(self._data[array_index(index)])
    items = _expand_ellipsis(items, self._data.ndim)
    out, dim = self, 0
    for item in items:
        if item is None:
            out = F.unsqueeze(out, dim)
            dim += 1
        elif isinstance(item, slice):
            if item != slice(None):
                out = F.slice(out, dim, item.start, item.stop, 1 if item.step is None else item.step)
            dim += 1
        else:
            out = F.select(out, dim, item)
    return out


def _expand_ellipsis(items: tuple, ndim: int) -> tuple:
    if items.count(Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(1 for i in items if i is not None and i is not Ellipsis)
    if consumed > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    if Ellipsis not in items:
        return items
    at = items.index(Ellipsis)
    return items[:at] + (slice(None),) * (ndim - consumed) + items[at + 1:]


def _reflected(op):
    def reflected(self, other):
        return op(self, other)

    return reflected


METHODS = dict(
    view=view, reshape=reshape, expand=expand, permute=permute, sum=reduce_sum, mean=reduce_mean, squeeze=squeeze,
    flatten=flatten, contiguous=contiguous, to=to, pow=__pow__,
    double=_cast(dtypes.float64), float=_cast(dtypes.float32), half=_cast(dtypes.float16),
    long=_cast(dtypes.int64), int=_cast(dtypes.int32), bool=_cast(dtypes.bool),
    cpu=lambda self: to(self, "cpu"),
    cuda=lambda self, device=None: to(self, as_device("cuda", 0) if device is None else as_device(device)),
    transpose=F.transpose, t=F.t,
    view_as=lambda self, other: view(self, other._data.shape),
    reshape_as=lambda self, other: reshape(self, other._data.shape),
    expand_as=lambda self, other: expand(self, other._data.shape),
    type_as=lambda self, other: to(self, other.dtype),
    __add__=F.add, __radd__=_reflected(F.add), __sub__=F.sub, __rsub__=__rsub__,
    __mul__=F.mul, __rmul__=_reflected(F.mul), __truediv__=F.div, __rtruediv__=__rtruediv__,
    __pow__=__pow__, __rpow__=__rpow__, __neg__=F.neg, __matmul__=F.matmul,
    __rmatmul__=lambda self, other: F.matmul(other, self),
    __eq__=F.eq, __ne__=F.ne, __gt__=F.gt, __ge__=F.ge, __lt__=F.lt, __le__=F.le,
    __getitem__=__getitem__,
    T=property(lambda self: permute(self, tuple(reversed(range(self._data.ndim))))),
    mT=property(lambda self: F.transpose(self, -2, -1)),
)


def bind() -> None:
    """Generated single-overload ops as methods, then torch's own method signatures on top."""
    for name in F.__all__:
        function = getattr(F, name)
        if not name.startswith("_") and function.__code__.co_varnames[:1] == ("self",):
            setattr(Tensor, name, function)
    for name, method in METHODS.items():
        setattr(Tensor, name, method)
