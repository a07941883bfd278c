"""Tensor indexing, reading (x[index]) and writing (x[index] = value), as torch's Python binding."""

from __future__ import annotations

import builtins

import numpy as np

from ..generated import functions as F

from ..dtypes import checked_number
from ..tensor import Tensor, make_tensor
from .conversions import copy_


def getitem(self, index):
    """torch's indexing: ints, slices, None and ... as select/slice/unsqueeze ops; integer and bool
    tensors (or lists) as one index op over the dims they address."""
    out, advanced = _basic(self, index)
    if all(a is None for a in advanced):
        return F.alias(out) if out is self else out  # x[...], x[()], x[:, :]: a view all the same
    return F.index(out, _trimmed(advanced))


def _basic(self, index, setting: bool = False) -> tuple:
    """The view that ints, slices, None and ... select (as select/slice/unsqueeze ops), and the
    advanced indices left for the dims of that view (None for a dim taken whole). setting: for a
    write, where torch skips a slice that takes its dim whole (x[:] = v is x.copy_(v), no view)."""
    items = index if isinstance(index, tuple) else (index,)
    if isinstance(index, builtins.slice) and index.step == 0:  # torch unpacks a lone slice before any check;
        raise ValueError("slice step cannot be zero")  # a tuple's slices, in turn after counting the dims
    ellipses = [at for at, i in enumerate(items) if i is Ellipsis]  # `is`: tensors compare elementwise
    if len(ellipses) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = builtins.sum(_dims_taken(i) for i in items if i is not None and i is not Ellipsis)
    if consumed > self.ndim:
        if self.ndim == 0 and isinstance(index, builtins.slice):  # torch unpacks a lone slice first
            if index.step is not None and index.step < 0:
                raise ValueError("step must be greater than zero")
            raise IndexError("slice() cannot be applied to a 0-dim tensor.")
        if self.ndim == 0 and not isinstance(index, tuple):
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` "
                             "in C++ to convert a 0-dim tensor to a number")
        raise IndexError(f"too many indices for tensor of dimension {self.ndim}")
    if ellipses:
        at = ellipses[0]
        items = items[:at] + (builtins.slice(None),) * (self.ndim - consumed) + items[at + 1:]
    out, dim, advanced = self, 0, []
    for item in items:
        if item is None:
            out = F.unsqueeze(out, dim)
            advanced.append(None)
            dim += 1
        elif isinstance(item, builtins.slice):
            if not (_takes_whole(item, out.shape[dim]) and (setting or isinstance(index, tuple))):  # x[:] is a slice op
                out = F.slice(out, dim, item.start, item.stop, 1 if item.step is None else item.step)
            advanced.append(None)
            dim += 1
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            out = F.select(out, dim, item)
        else:
            index_array = item._data if isinstance(item, Tensor) else np.asarray(item)
            advanced.append(item)
            dim += index_array.ndim if index_array.dtype == bool else 1
    return out, advanced


def _takes_whole(item: builtins.slice, size: int) -> bool:
    """torch's shortcut past a slice: start 0 as written (x[-3:] of 3 elements is a view all the
    same, and writing it is torch's CopySlices), a stop at or past the end, step 1."""
    start = 0 if item.start is None else item.start
    stop = size if item.stop is None else item.stop
    return item.step in (None, 1) and start == 0 and stop >= size


def _trimmed(advanced: list) -> list:
    while advanced[-1] is None:
        advanced.pop()
    return advanced


def _dims_taken(item) -> int:
    if isinstance(item, (Tensor, np.ndarray, list)):
        array = item._data if isinstance(item, Tensor) else np.asarray(item)
        return array.ndim if array.dtype == bool else 1
    return 1


def setitem(self: Tensor, index, value) -> None:
    """x[index] = value, as torch's binding: the view the basic part of the index selects, then
    copy_ of value into it (fill_ with a 0-d value of another shape), or index_put_ with the
    advanced part (values of x's dtype; a repeated position takes the last value). A number is
    first a 0-d tensor of x's dtype. Writes through views rebase their base."""
    if not isinstance(value, Tensor):  # (converted before the index is read, as torch's)
        value = make_tensor(np.asarray(checked_number(value, self._data.dtype)))
    target, advanced = _basic(self, index, setting=True)
    if all(a is None for a in advanced):
        if value._data.shape == target._data.shape:
            copy_(target, value)
        elif value._data.ndim == 0:
            F.fill_(target, value)
        else:
            copy_(target, F.expand(_without_leading_ones(value), target._data.shape))
        return
    F.index_put_(target, _trimmed(advanced), _without_leading_ones(value))


def _without_leading_ones(value: Tensor) -> Tensor:
    """torch's slicePrefix1sSize: a value's leading dims of size 1 are dropped before it is placed."""
    shape = value._data.shape
    while shape and shape[0] == 1:
        shape = shape[1:]
    return F.view(value, shape) if shape != value._data.shape else value


__all__ = ["getitem", "setitem"]
