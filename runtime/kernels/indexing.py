"""Indexing, joining and rearranging kernels: index, gather/scatter, cat/stack, flip, roll, repeat, pad."""

from __future__ import annotations

import builtins

from .. import backends
from ..backends import array_module
from ..shapes import wrap_dim


def _numpy_index(indices) -> tuple:
    return tuple(builtins.slice(None) if i is None else i for i in indices)


def _check_index_dtype(index, op: str, argument: str = "index") -> None:
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int64 for {argument} but got {index.dtype}")


def index(self, indices):
    """self[indices] with torch's (numpy's) advanced-indexing rules; None keeps a dim whole."""
    for i in indices:
        if i is not None and i.dtype.kind not in "iub":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return self[_numpy_index(indices)]


def index_backward(grad_output, input_sizes, indices):
    """Zeros of the input's shape with grad_output added at `indices` (duplicates accumulate)."""
    xp = array_module(grad_output)
    out = xp.zeros(input_sizes, grad_output.dtype)
    if xp.__name__ == "numpy":
        xp.add.at(out, _numpy_index(indices), grad_output)
    else:
        backends.cupyx().scatter_add(out, _numpy_index(indices), grad_output)
    return out


def index_select(self, dim, index):
    _check_index_dtype(index, "index_select")
    if index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    return array_module(self).take(self, index, axis=wrap_dim(dim, self.ndim))


def gather(self, dim, index, sparse_grad):
    _check_index_dtype(index, "gather")
    if index.ndim != self.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    return array_module(self).take_along_axis(self, index, axis=wrap_dim(dim, self.ndim))


def _scatter_positions(index, dim: int) -> tuple:
    """Full index arrays addressing out[..., index[...], ...] along `dim` for every element of index."""
    xp = array_module(index)
    # open grids, as numpy's indices(sparse=True) gives (cupy's indices has no `sparse`)
    grids = [xp.arange(n).reshape((1,) * d + (n,) + (1,) * (index.ndim - d - 1)) for d, n in enumerate(index.shape)]
    grids[dim] = index
    return tuple(grids)


def _leading(src, index):
    """The part of `src` that `index` addresses: torch reads src[i][j] only where index has elements."""
    return src[tuple(builtins.slice(0, s) for s in index.shape)]


def scatter_src(self, dim, index, src):
    _check_index_dtype(index, "scatter")
    out = self.copy()
    out[_scatter_positions(index, wrap_dim(dim, self.ndim))] = _leading(src, index)
    return out


def scatter_value(self, dim, index, value):
    _check_index_dtype(index, "scatter")
    out = self.copy()
    out[_scatter_positions(index, wrap_dim(dim, self.ndim))] = value
    return out


def scatter_add(self, dim, index, src):
    _check_index_dtype(index, "scatter_add")
    out = self.copy()
    positions = _scatter_positions(index, wrap_dim(dim, self.ndim))
    array_module(self).add.at(out, positions, _leading(src, index))
    return out


def masked_fill(self, mask, value):
    if mask.dtype.kind != "b":
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}")
    return array_module(self).where(mask, value, self).astype(self.dtype, copy=False)


def cat(tensors, dim):
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    ndim = max(t.ndim for t in tensors)
    parts = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0 and ndim > 1)]  # torch skips 1-D empties
    return array_module(tensors[0]).concatenate(parts, axis=wrap_dim(dim, ndim))


def stack(tensors, dim):
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    return array_module(tensors[0]).stack(tensors, axis=wrap_dim(dim, tensors[0].ndim + 1))


def flip(self, dims):
    axes = tuple(wrap_dim(d, self.ndim) for d in dims)
    return array_module(self).flip(self, axis=axes if self.ndim else ())


def roll(self, shifts, dims):
    xp = array_module(self)
    if not dims:
        return xp.roll(self.reshape(-1), shifts[0]).reshape(self.shape)
    return xp.roll(self, shifts, axis=tuple(wrap_dim(d, self.ndim) for d in dims))


def repeat(self, repeats):
    if len(repeats) < self.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions "
                           "of tensor")
    shape = (1,) * (len(repeats) - self.ndim) + self.shape
    return array_module(self).tile(self.reshape(shape), repeats)


def constant_pad_nd(self, pad, value):
    """torch's pad list runs from the last dim backwards, (left, right) per dim; negative crops."""
    if len(pad) % 2 or len(pad) // 2 > self.ndim:
        raise RuntimeError(f"Padding length must be divisible by 2 and at most twice the number of dims, "
                           f"got {len(pad)} for a {self.ndim}-D input")
    xp = array_module(self)
    widths = [(0, 0)] * self.ndim
    crop = [builtins.slice(None)] * self.ndim
    for i in range(len(pad) // 2):
        d = self.ndim - 1 - i
        left, right = pad[2 * i], pad[2 * i + 1]
        widths[d] = (max(left, 0), max(right, 0))
        crop[d] = builtins.slice(max(-left, 0), self.shape[d] - max(-right, 0))
    return xp.pad(self[tuple(crop)], widths, constant_values=value)
