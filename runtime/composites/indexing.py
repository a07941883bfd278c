"""Tensor indexing, reading (x[index]) and writing (x[index] = value), as torch's Python binding."""

from __future__ import annotations

import builtins

import numpy as np

from ..generated import functions as F

from ..backends import array_module
from ..inplace import inplace, is_recorded
from ..tensor import Tensor, array_index, make_tensor


def getitem(self, index):
    """torch's indexing: ints, slices, None and ... as select/slice/unsqueeze ops; integer and bool
    tensors (or lists) as one index op over the dims they address."""
    items = index if isinstance(index, tuple) else (index,)
    ellipses = [at for at, i in enumerate(items) if i is Ellipsis]  # `is`: tensors compare elementwise
    if len(ellipses) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = builtins.sum(_dims_taken(i) for i in items if i is not None and i is not Ellipsis)
    if consumed > self.ndim:
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
            if item != builtins.slice(None):
                out = F.slice(out, dim, item.start, item.stop, 1 if item.step is None else item.step)
            advanced.append(None)
            dim += 1
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            out = F.select(out, dim, item)
        else:
            index_array = item._data if isinstance(item, Tensor) else np.asarray(item)
            advanced.append(item)
            dim += index_array.ndim if index_array.dtype == bool else 1
    if all(a is None for a in advanced):
        return out
    while advanced[-1] is None:
        advanced.pop()
    return F.index(out, advanced)


def _dims_taken(item) -> int:
    if isinstance(item, (Tensor, np.ndarray, list)):
        array = item._data if isinstance(item, Tensor) else np.asarray(item)
        return array.ndim if array.dtype == bool else 1
    return 1


def setitem(self: Tensor, index, value) -> None:
    """x[index] = value: the selected elements replaced, as a where() over a mask of them, the
    value's elements placed by index_backward so that gradients reach both x and value."""
    if not is_recorded(self, value):
        self._data[array_index(index)] = value._data if isinstance(value, Tensor) else value
        self._bump()
        return
    shape = self._data.shape
    xp = array_module(self._data)  # the mask and positions on the tensor's device
    positions = xp.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)[array_index(index)]
    mask = xp.zeros(shape, bool)
    mask.reshape(-1)[positions.reshape(-1)] = True

    def put(target, source):
        if isinstance(source, Tensor):
            flat = F.reshape(F.expand(source, positions.shape), [-1])
            placed = F.index_backward(flat, shape, xp.unravel_index(positions.reshape(-1), shape))
        else:
            placed = make_tensor(xp.full(shape, source, dtype=target._data.dtype))
        return F.where(make_tensor(mask), placed, target)

    inplace(self, put, value)


__all__ = ["getitem", "setitem"]
