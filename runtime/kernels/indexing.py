"""Indexing, joining and rearranging kernels: index, gather/scatter, cat/stack, flip, roll, repeat, pad."""

from __future__ import annotations

import builtins
import math

import numpy as np

from .. import backends
from ..backends import array_module
from ..dtypes import checked_number, result_type, scalar_type_name
from ..shapes import wrap_dim


def _numpy_index(indices) -> tuple:
    return tuple(builtins.slice(None) if i is None else i for i in indices)


def _check_index_dtype(index, message: str) -> None:
    if index.dtype.kind not in "iu":
        raise RuntimeError(message)


def _check_bounds(index, size: int, dim: int) -> None:
    """gather/scatter/index_add do not wrap negative indices: torch refuses them as out of bounds."""
    bad = (index < 0) | (index >= size)
    if bad.any():
        raise RuntimeError(f"index {int(index[bad].reshape(-1)[0])} is out of bounds for dimension {dim} with size "
                           f"{size}")


def _copy(array):
    """A copy that is an array (numpy's scalars, 0-d gradients in backward, copy to scalars)."""
    return array_module(array).array(array, copy=True)


def _at_least_1d(array):
    """torch treats a 0-d tensor as one element along dim 0 in gather/scatter/index_select."""
    return array.reshape(1) if array.ndim == 0 else array


def _check_indices(indices) -> None:
    """Index tensors of torch's kinds, whose shapes broadcast together."""
    shapes = []
    for i in indices:
        if i is not None and i.dtype.kind not in "iub":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        if i is not None:
            shapes.append((i.sum(),) if i.dtype.kind == "b" else i.shape)  # a mask indexes its True elements
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        listed = ", ".join(str([int(s) for s in shape]) for shape in shapes)
        raise IndexError(f"shape mismatch: indexing tensors could not be broadcast together with shapes {listed}") \
            from None


def index(self, indices):
    """self[indices] with torch's (numpy's) advanced-indexing rules; None keeps a dim whole."""
    _check_indices(indices)
    if self.size == 0:  # no element to read: torch checks no index against a dim of nonzero size
        indices = _clipped(self, indices)
    return self[_numpy_index(indices)]


def _clipped(self, indices) -> tuple:
    """The indices clipped into range of the dims of nonzero size (where torch checks no bounds,
    or only later than numpy would); a dim of size 0 still refuses any index, unless the indices
    broadcast to no position at all (x[[], [0]] reads nothing)."""
    xp = array_module(self)
    positions = math.prod(np.broadcast_shapes(*(i.shape if i.dtype.kind != "b" else (int(i.sum()),)
                                               for i in indices if i is not None)))
    clipped, axis = [], 0
    for i in indices:
        if i is None or i.dtype.kind == "b":
            axis += 1 if i is None else i.ndim
            clipped.append(i)
            continue
        size = self.shape[axis]
        if size == 0 and i.size and positions:
            raise IndexError("index is out of bounds for dimension with size 0")
        clipped.append(xp.clip(i, -size, size - 1) if size else i)
        axis += 1
    return tuple(clipped)


def index_backward(grad_output, input_sizes, indices):
    """Zeros of the input's shape with grad_output added at `indices` (duplicates accumulate)."""
    xp = array_module(grad_output)
    out = xp.zeros(input_sizes, grad_output.dtype)
    if grad_output.size == 0:  # nothing selected: no index is read (they may be out of range)
        return out
    if xp.__name__ == "numpy":
        xp.add.at(out, _numpy_index(indices), grad_output)
    else:
        backends.cupyx().scatter_add(out, _numpy_index(indices), grad_output)
    return out


def index_put(self, indices, values, accumulate):
    """self with values written (or added) at indices; a repeated position takes the last value
    written, as torch's CPU kernel."""
    _check_indices(indices)
    if self.size == 0 or (hasattr(values, "dtype") and values.dtype != self.dtype):
        # torch checks the shapes first, then the dtypes, then the bounds (none of an empty self)
        _check_values_fit(values, self[_numpy_index(_clipped(self, indices))].shape)
        _check_values_dtype(self, values)
        if self.size == 0:
            return self.copy()
    out = self.copy()
    xp = array_module(self)
    where = tuple(i if i is None or type(i) is type(self) else xp.asarray(i) for i in indices)  # lists: host arrays
    try:
        if accumulate:
            xp.add.at(out, _numpy_index(where), values)
        else:
            out[_numpy_index(where)] = values
    except (ValueError, IndexError):  # a shape mismatch is torch's first error
        _check_values_fit(values, self[_numpy_index(_clipped(self, indices))].shape)
        raise
    return out


def _check_values_fit(values, selected) -> None:
    shape = getattr(values, "shape", ())
    try:
        fits = np.broadcast_shapes(shape, selected) == selected
    except ValueError:
        fits = False
    if not fits:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(shape)} cannot be broadcast to indexing "
                           f"result of shape {list(selected)}")


def _check_values_dtype(self, values) -> None:
    if hasattr(values, "dtype") and values.dtype != self.dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{scalar_type_name(self.dtype)} for the destination and {scalar_type_name(values.dtype)} "
                           f"for the source.")


def _strided_positions(xp, size, stride, storage_offset):
    """The flat (C-order) positions of as_strided(size, stride, storage_offset)'s elements."""
    positions = xp.full(tuple(size), storage_offset or 0, dtype=xp.int64)
    for axis, (n, step) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[axis] = n
        positions = positions + (xp.arange(n, dtype=xp.int64) * step).reshape(shape)
    return positions


def copy_into(self, src):
    """copy_'s recorded form: src broadcast to self's shape, cast to self's dtype (a new array)."""
    shape = np.broadcast_shapes(self.shape, src.shape)
    if shape != self.shape:
        raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape {list(shape)}")
    return array_module(self).broadcast_to(src, shape).astype(self.dtype)


def as_strided_copy(self, size, stride, storage_offset):
    """torch.as_strided over self's elements in C order, as a copy."""
    xp = array_module(self)
    return xp.ascontiguousarray(self).reshape(-1)[_strided_positions(xp, size, stride, storage_offset)]


def as_strided_scatter(self, src, size, stride, storage_offset):
    """self with the elements as_strided(size, stride, storage_offset) selects replaced by src."""
    xp = array_module(self)
    out = xp.array(self, copy=True, order="C")
    out.reshape(-1)[_strided_positions(xp, size, stride, storage_offset)] = src
    return out


def as_strided_backward(grad_output, input_sizes, size, stride, storage_offset):
    """The gradient of as_strided_copy: grad's elements added at their positions (where positions
    repeat, as an expanded view's do, they add up)."""
    xp = array_module(grad_output)
    positions = _strided_positions(xp, size, stride, storage_offset).reshape(-1)
    flat = index_backward(grad_output.reshape(-1), (math.prod(input_sizes),), (positions,))
    return flat.reshape(tuple(input_sizes))


def index_select(self, dim, index):
    _check_index_dtype(index, "index_select(): Expected dtype int32 or int64 for index")
    if index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    axis = wrap_dim(dim, self.ndim)
    if self.ndim == 0 and index.size != 1:
        raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {index.size} value(s)")
    size = self.shape[axis] if self.ndim else 1
    if self.ndim > 1 and size == 0 and index.size:
        raise RuntimeError("index_select(): self indexing axis dim should be positive")
    bad = (index < 0) | (index >= size)
    if bad.any():
        if self.ndim > 1 and (axis == 1 or self.size == 0):  # torch's kernel for dim 1 (and for an empty self) words it so
            raise RuntimeError(f"INDICES element is out of DATA bounds, id={int(index[bad].reshape(-1)[0])} "
                               f"axis_dim={size}")
        raise IndexError("index out of range in self")
    if self.ndim == 0:
        return self.copy()
    return array_module(self).take(self, index.reshape(-1), axis=axis)


def _same_rank(self, index, what: str) -> None:
    if max(index.ndim, 1) != max(self.ndim, 1):
        raise RuntimeError(f"Index tensor must have the same number of dimensions as {what} tensor")


def gather(self, dim, index, sparse_grad):
    """out[i][j] = self[index[i][j]][j] (dim 0): index may be narrower than self in the other dims."""
    _check_index_dtype(index, "gather(): Expected dtype int32/int64 for index")
    _same_rank(self, index, "input")
    axis = wrap_dim(dim, self.ndim)
    source, positions = _at_least_1d(self), _at_least_1d(index)
    for d, (i, s) in enumerate(zip(positions.shape, source.shape)):
        if d != axis and i > s:
            raise RuntimeError(f"Size does not match at dimension {d} expected index {list(index.shape)} to be no "
                               f"larger than self {list(self.shape)} apart from dimension {axis}")
    _check_bounds(positions, source.shape[axis], axis)
    narrowed = source[tuple(builtins.slice(None) if d == axis else builtins.slice(0, i)
                            for d, i in enumerate(positions.shape))]
    return array_module(self).take_along_axis(narrowed, positions, axis=axis).reshape(index.shape)


def _scatter_positions(index, dim: int) -> tuple:
    """Full index arrays addressing out[..., index[...], ...] along `dim` for every element of index."""
    xp = array_module(index)
    # open grids, as numpy's indices(sparse=True) gives (cupy's indices has no `sparse`)
    grids = [xp.arange(n).reshape((1,) * d + (n,) + (1,) * (index.ndim - d - 1)) for d, n in enumerate(index.shape)]
    grids[dim] = index
    return tuple(grids)


def _scatter(op: str, self, dim, index, src):
    """Checks of scatter, scatter_add (torch's words); the output, the positions, and the part of
    src that index addresses (torch reads src[i][j] only where index has elements)."""
    axis = wrap_dim(dim, self.ndim)
    _check_index_dtype(index, f"{op}(): Expected dtype int32/int64 for index")
    _same_rank(self, index, "self")
    if src is not None:
        _same_rank(src, index, "src")
        if src.dtype != self.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    out, positions = _copy(self), _at_least_1d(index)
    target = _at_least_1d(out)
    larger = any(i > s for d, (i, s) in enumerate(zip(positions.shape, target.shape)) if d != axis)
    if src is not None:
        source = _at_least_1d(src)
        if larger or any(i > s for i, s in zip(positions.shape, source.shape)):
            raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self {list(self.shape)} "
                               f"apart from dimension {axis} and to be no larger size than src {list(src.shape)}")
        src = source[tuple(builtins.slice(0, i) for i in positions.shape)]
    elif larger:
        raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self {list(self.shape)} apart "
                           f"from dimension {axis}")
    _check_bounds(positions, target.shape[axis], axis)
    return out, target, _scatter_positions(positions, axis), src


def scatter_src(self, dim, index, src):
    out, target, positions, src = _scatter("scatter", self, dim, index, src)
    target[positions] = src
    return out


def scatter_value(self, dim, index, value):
    out, target, positions, _ = _scatter("scatter", self, dim, index, None)
    value = checked_number(value, self.dtype)
    target[positions] = value
    return out


def scatter_add(self, dim, index, src):
    out, target, positions, src = _scatter("scatter_add", self, dim, index, src)
    array_module(self).add.at(target, positions, src)
    return out


def index_add(self, dim, index, source, alpha):
    """self with alpha * source's slices along dim added at the positions index gives (repeats add up)."""
    axis = wrap_dim(dim, self.ndim)
    _check_index_dtype(index, "index_add_(): Expected dtype int32/int64 for index")
    if index.ndim > 1:
        raise IndexError(f"index_add_(): Index is supposed to be a vector, but got dim: {index.ndim} with type: "
                         f"{scalar_type_name(index.dtype)} and size: {list(index.shape)}")
    if source.dtype != self.dtype:
        raise RuntimeError(f"index_add_(): self ({scalar_type_name(self.dtype)}) and source "
                           f"({scalar_type_name(source.dtype)}) must have the same scalar type")
    if source.ndim and axis >= source.ndim:
        raise RuntimeError(f"index_add_(): Indexing dim {axis} is out of bounds of the source tensor with dim "
                           f"{source.ndim}")
    if source.ndim == 0 and index.size != 1:
        raise IndexError(f"Dimension specified as {axis} but tensor has no dimensions")
    count = source.shape[axis] if source.ndim else 1
    if index.size != count:
        raise RuntimeError(f"index_add_(): Number of indices ({index.size}) should be equal to source.size(dim): "
                           f"({count}), for dim: {axis}")
    target, values = _at_least_1d(_copy(self)), _at_least_1d(source)
    if target.shape[:axis] + target.shape[axis + 1:] != values.shape[:axis] + values.shape[axis + 1:]:
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the specified dimension. "
                           f"Got self.shape = {list(self.shape)} source.shape = {list(source.shape)}")
    if self.ndim <= 1 and index.size and ((index < 0) | (index >= target.shape[axis])).any():
        raise IndexError("index out of range in self")  # torch's loop over a vector (even an empty one) says it so
    if self.size and values.size:  # else no kernel runs, so no index is checked
        if 0 < axis < self.ndim - 1 and ((index < 0) | (index >= target.shape[axis])).any():
            raise IndexError("index out of range in self")  # torch's loop over the slices of a middle dim
        _check_bounds(index, target.shape[axis], axis)  # its scatter, along the first or last dim
    if not target.size:
        return target.reshape(self.shape)
    if alpha != 1:
        values = values * (int(alpha) if self.dtype.kind in "iub" else alpha)
    array_module(self).add.at(target, (builtins.slice(None),) * axis + (index.reshape(-1),), values)
    return target.reshape(self.shape)


def masked_fill(self, mask, value):
    if mask.dtype.kind != "b":
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}")
    if not hasattr(value, "dtype"):
        value = checked_number(value, self.dtype)
    return array_module(self).where(mask, value, self).astype(self.dtype, copy=False)


def cat(tensors, dim):
    """torch.cat: the tensors promoted to one dtype (1-d empties too, though their shape is skipped)."""
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    for position, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {position}) cannot be concatenated")
    parts = [(i, t) for i, t in enumerate(tensors) if not (t.ndim == 1 and t.shape[0] == 0)]
    if not parts:  # only 1-d empties: torch checks no dim, and returns one
        return array_module(tensors[0]).empty((0,), dtype=result_type(tensors))
    first = parts[0][1]
    axis = wrap_dim(dim, first.ndim)
    for i, t in parts[1:]:
        if t.ndim != first.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {first.ndim} and {t.ndim}")
        for d, (a, b) in enumerate(zip(first.shape, t.shape)):
            if d != axis and a != b:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {axis}. Expected size {a} but "
                                   f"got size {b} for tensor number {i} in the list.")
    target = result_type(tensors)
    return array_module(first).concatenate([t for _, t in parts], axis=axis, dtype=target)


def stack(tensors, dim):
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    axis = wrap_dim(dim, tensors[0].ndim + 1)
    for i, t in enumerate(tensors[1:], 1):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} at entry "
                               f"0 and {list(t.shape)} at entry {i}")
    target = result_type(tensors)
    return array_module(tensors[0]).stack(tensors, axis=axis, dtype=target)


def flip(self, dims):
    axes = tuple(wrap_dim(d, self.ndim) for d in dims)
    for d in axes:
        if axes.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    # a copy, as torch's (numpy's flip is a view)
    return array_module(self).flip(self, axis=axes if self.ndim else ()).copy()


def roll(self, shifts, dims):
    """torch's checks in its order: an empty tensor is copied before any dim is read."""
    xp = array_module(self)
    if not shifts:
        raise RuntimeError("`shifts` required")
    if not dims and len(shifts) == 1:
        return xp.roll(self.reshape(-1), shifts[0]).reshape(self.shape)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    if self.size == 0:
        return self.copy()
    if self.ndim == 0:
        raise IndexError(f"Dimension specified as {dims[0]} but tensor has no dimensions")
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
