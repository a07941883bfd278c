"""Views and reshapes with torch's Python signatures: sizes as varargs or one sequence, lists of dims."""

from __future__ import annotations

import builtins
import math

import numpy as np

from ..generated import functions as F

from .. import dtypes
from ..backends import array_module
from ..grad_mode import STATE
from ..inplace import mark_multi_output
from ..shapes import int_list, wrap_dim
from ..tensor import LEAF_INPLACE_MESSAGE


def _sizes(args: tuple, op: str) -> tuple[int, ...]:
    """`x.view(2, 3)` and `x.view((2, 3))` alike."""
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        args = args[0]
    return int_list(args, op, "size")


def view(self, *shape):
    if len(shape) == 1 and isinstance(shape[0], dtypes.dtype):
        raise NotImplementedError("view(dtype) is not supported")
    return F.view(self, _sizes(shape, "view"))


def expand(self, *sizes, implicit=False):
    return F.expand(self, _sizes(sizes, "expand"), implicit=implicit)


def permute(self, *dims):
    return F.permute(self, _sizes(dims, "permute"))


def reshape(input, *shape):
    """A view when the strides allow one (recorded as ViewBackward0, as torch), else a copy."""
    shape = _sizes(shape, "reshape")
    try:
        return F.view(input, shape)
    except RuntimeError as error:
        if "view size is not compatible" not in str(error):
            raise
        return F.reshape(input, shape)


def view_as(self, other):
    return view(self, other._data.shape)


def reshape_as(self, other):
    return reshape(self, other._data.shape)


def expand_as(self, other):
    return expand(self, other._data.shape)


def contiguous(self, memory_format=None):
    """A row-major copy (CloneBackward0, as torch records it) unless already row-major. clone()
    keeps a dense tensor's layout, as torch's does, so its result is laid out afresh."""
    if self._data.flags.c_contiguous:
        return self
    out = F.clone(self)
    if not out._data.flags.c_contiguous:
        out._data = array_module(out._data).ascontiguousarray(out._data)  # a fresh tensor: no one else holds it
    return out


def squeeze(input, dim=None):
    if dim is None:
        return F.squeeze_default(input)
    if isinstance(dim, (tuple, list)):
        keep = {wrap_dim(d, input.ndim) for d in dim}
        shape = tuple(s for i, s in enumerate(input._data.shape) if not (i in keep and s == 1))
        return reshape(input, shape)
    return F.squeeze_dim(input, dim)


def flatten(input, start_dim=0, end_dim=-1):
    shape = input._data.shape
    start, end = wrap_dim(start_dim, len(shape)), wrap_dim(end_dim, len(shape))  # (a 0-d tensor's: -1 or 0)
    if not shape:
        return reshape(input, (1,))
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:  # nothing to merge: torch returns the tensor itself
        return input
    return reshape(input, shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])


def unflatten(input, dim, sizes):
    shape = input._data.shape
    dim = wrap_dim(dim, len(shape))
    return reshape(input, shape[:dim] + tuple(sizes) + shape[dim + 1:])


def movedim(input, source, destination):
    source = [wrap_dim(d, input.ndim) for d in ([source] if isinstance(source, int) else source)]
    destination = [wrap_dim(d, input.ndim) for d in ([destination] if isinstance(destination, int) else destination)]
    if input.ndim == 0:  # dim 0 of a 0-d tensor is itself
        return F.permute(input, [])
    order = [d for d in range(input.ndim) if d not in source]
    for dst, src in sorted(zip(destination, source)):
        order.insert(dst, src)
    return F.permute(input, order)


def _at_least_1d(input, op: str) -> None:
    if input.ndim == 0:
        raise RuntimeError(f"{op} expects at least a 1-dimensional tensor")


def narrow(input, dim, start, length):
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    size = input.shape[dim]
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    start = start + size if start < 0 else start
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return F.slice(input, dim, start, start + length, 1)


def split(tensor, split_size_or_sections, dim=0):
    _at_least_1d(tensor, "split")
    size = tensor.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        sections = [builtins.min(step, size - start) for start in range(0, size, step)] or [0]
    else:
        sections = list(split_size_or_sections)
        if builtins.sum(sections) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
                               f"size at dimension {dim}), but got split_sizes={sections}")
    pieces, start = [], 0
    for length in sections:
        pieces.append(F.slice(tensor, dim, start, start + length, 1))
        start += length
    mark_multi_output(pieces, "Split")
    return tuple(pieces)


def chunk(input, chunks, dim=0):
    _at_least_1d(input, "chunk")
    size = input.shape[dim]
    if size == 0:  # as many empty chunks as asked for, as torch
        pieces = tuple(F.slice(input, dim, 0, 0, 1) for _ in range(chunks))
        mark_multi_output(pieces, "Split")
        return pieces
    return split(input, builtins.max(-(-size // chunks), 1), dim)


def unbind(input, dim=0):
    if input.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    pieces = tuple(F.select(input, dim, i) for i in range(input.shape[dim]))
    mark_multi_output(pieces, "Unbind")
    return pieces


def tile(input, dims):
    dims = tuple(dims)
    return F.repeat(input, (1,) * (input.ndim - len(dims)) + dims)


def repeat(input, *sizes):
    return F.repeat(input, _sizes(sizes, "repeat"))


def flip(input, *dims):
    return F.flip(input, _sizes(dims, "flip"))


def transpose_all(self):
    """Tensor.T: every dim reversed."""
    return F.permute(self, tuple(reversed(range(self._data.ndim))))


def transpose_last(self):
    """Tensor.mT: the last two dims swapped."""
    return F.transpose(self, -2, -1)


def _shape_inplace(op):
    """x.unsqueeze_(0) & co: x takes the shape (and, when a graph is recorded, the history) of
    the view `op` makes of it, as torch's in-place metadata ops do; the values are not touched."""

    def method(self, *args):
        result = op(self, *args)
        if STATE.enabled and self._requires_grad:
            if self.grad_fn is None:
                raise RuntimeError(LEAF_INPLACE_MESSAGE)
            self._set_history(result.grad_fn, result._output_nr)
        self._data = result._data
        return self._bump()

    method.__name__ = f"{op.__name__}_"
    return method


unsqueeze_ = _shape_inplace(F.unsqueeze)
squeeze_ = _shape_inplace(squeeze)
transpose_ = _shape_inplace(F.transpose)
t_ = _shape_inplace(F.t)


__all__ = ["view", "expand", "permute", "reshape", "view_as", "reshape_as", "expand_as", "contiguous", "squeeze",
           "flatten", "unflatten", "movedim", "narrow", "split", "chunk", "unbind", "tile", "repeat", "flip",
           "transpose_all", "transpose_last", "unsqueeze_", "squeeze_", "transpose_", "t_"]
