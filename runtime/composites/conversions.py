"""Conversions and new tensors: dtype and device moves, copies, and new tensors like this one.

This module binds torch's cast methods (`float`, `int`, `bool`, ...) as module names: within it,
Python's own types are reached through `builtins`.
"""

from __future__ import annotations

import builtins

import numpy as np

from ..generated import functions as F

from .. import dtypes, factories, legacy
from ..backends import device as as_device
from ..backends import device_of
from ..grad_mode import no_grad
from ..inplace import check_graph_inplace, check_no_partial_overlap, inplace, is_recorded, write
from ..tensor import Tensor, make_tensor


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
    arguments = dict(dtype=None if same_dtype else numpy_dtype, device=None if same_device else target,
                     non_blocking=non_blocking)
    if numpy_dtype is not None and numpy_dtype.kind != "f":  # an integer or bool copy is off the graph
        with no_grad():
            return F._to_copy(self, **arguments)
    return F._to_copy(self, **arguments)


def _cast(dtype):
    def cast(self):
        return to(self, dtype)

    cast.__name__ = dtype.name
    return cast


double, float, half = _cast(dtypes.float64), _cast(dtypes.float32), _cast(dtypes.float16)  # noqa: A001
long, int, bool = _cast(dtypes.int64), _cast(dtypes.int32), _cast(dtypes.bool)  # noqa: A001


def cpu(self):
    return to(self, "cpu")


def cuda(self, device=None):
    return to(self, as_device("cuda", 0) if device is None else as_device(device))


def type_as(self, other):
    return to(self, other.dtype)


def copy_(self: Tensor, source, non_blocking: bool = False) -> Tensor:
    """Every element of self replaced by source (broadcast, cast, moved): the gradient goes to source."""
    if not isinstance(source, Tensor):  # a number converts to self's dtype as C++ converts (-1 is 255 in uint8)
        source = make_tensor(np.asarray(source).astype(self._data.dtype))
    if device_of(source._data) != device_of(self._data):
        source = F._to_copy(source, device=device_of(self._data))

    def copy(target, src):  # (named so for torch's messages: "copy_(): ...")
        return F._copy_into(target, src)

    if source is self or _same_data(self._data, source._data):  # torch's copy_ returns at once,
        if is_recorded(self, source):  # once it has checked that a recorded write is allowed
            check_graph_inplace(self)
        return self
    check_no_partial_overlap(self, source)
    # no graph (nor into integers, as torch's copy_): one numpy assignment, cast as copy_ casts
    if not is_recorded(self, source) or self._data.dtype.kind != "f":
        write(self, source._data, copy, "unsafe")
        return self
    return inplace(self, copy, source, casting="unsafe")


def _same_data(a, b) -> bool:
    """The same elements in the same memory (two views made alike): torch's copy_ has nothing to do."""
    if builtins.type(a) is not builtins.type(b) or not hasattr(a, "__array_interface__"):
        return a is b
    return ((a.dtype, a.shape, a.strides, a.__array_interface__["data"][0])
            == (b.dtype, b.shape, b.strides, b.__array_interface__["data"][0]))


def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    return factories.tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def _new(factory_name):
    def new(self, *size, dtype=None, device=None, requires_grad=False):
        return getattr(factories, factory_name)(*size, dtype=dtype or self.dtype, device=device or self.device,
                                                requires_grad=requires_grad)

    new.__name__ = "new_" + factory_name
    return new


new_zeros, new_ones, new_empty = _new("zeros"), _new("ones"), _new("empty")


def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
    return factories.full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                          requires_grad=requires_grad)


def numel(input) -> builtins.int:
    return input.numel()


def is_tensor(obj) -> builtins.bool:
    return isinstance(obj, Tensor)


type = legacy.tensor_type  # noqa: A001 - t.type(): 'torch.FloatTensor', or a cast


__all__ = ["to", "double", "float", "half", "long", "int", "bool", "cpu", "cuda", "type_as", "copy_", "new_tensor",
           "new_zeros", "new_ones", "new_empty", "new_full", "numel", "is_tensor", "type"]
