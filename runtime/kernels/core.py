"""Kernels of element-wise functions, layout and shape ops, matmul and simple losses."""

from __future__ import annotations

import builtins
import math

import numpy as np

from ..backends import array_module, to_device
from ..shapes import wrap_dim


def _dims(dim, ndim: int, op: str) -> tuple[int, ...] | None:
    """torch's dim list: None or empty means every dim."""
    if dim is None or len(dim) == 0:
        return None
    wrapped = tuple(wrap_dim(d, ndim, op) for d in dim)
    if len(set(wrapped)) != len(wrapped):
        raise RuntimeError(f"dim {wrapped} appears multiple times in the list of dims")
    return wrapped


def _reduce_dtype(self, dtype):
    """torch sums bool and integer tensors as int64 unless a dtype is given."""
    if dtype is None and self.dtype.kind in "biu":
        return array_module(self).int64
    return dtype


def zeros_like(self):
    return array_module(self).zeros_like(self)


def fill(self, value):
    return array_module(self).full(self.shape, value, dtype=self.dtype)


def new_zeros(like, shape):
    return array_module(like).zeros(tuple(shape), like.dtype)


def sigmoid(self):
    xp = array_module(self)
    # exp of a negative argument only: no overflow for large |x|
    e = xp.exp(-xp.abs(self))
    return xp.where(self >= 0, 1 / (1 + e), e / (1 + e)).astype(self.dtype, copy=False)


def sum_all(self, dtype):
    return array_module(self).sum(self, dtype=_reduce_dtype(self, dtype))


def sum_dims(self, dim, keepdim, dtype):
    axes = _dims(dim, self.ndim, "sum")
    return array_module(self).sum(self, axis=axes, keepdims=keepdim, dtype=_reduce_dtype(self, dtype))


def mean_all(self, dtype):
    _check_mean_dtype(self, dtype)
    if type(self) is np.ndarray and (dtype or self.dtype) in _DIRECT_MEAN:
        # numpy's mean is this sum and division behind several Python calls, which cost more
        # than the reduction itself on the small losses a training step ends with
        total = np.add.reduce(self, axis=None, dtype=dtype)
        return total / total.dtype.type(self.size) if self.size else total.dtype.type(np.nan)  # torch: nan, silently
    return array_module(self).mean(self, dtype=dtype)


_DIRECT_MEAN = (np.dtype(np.float32), np.dtype(np.float64))


def mean_dims(self, dim, keepdim, dtype):
    _check_mean_dtype(self, dtype)
    return array_module(self).mean(self, axis=_dims(dim, self.ndim, "mean"), keepdims=keepdim, dtype=dtype)


def _check_mean_dtype(self, dtype) -> None:
    if (dtype or self.dtype).kind not in "fc":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a floating point "
                           f"or complex dtype. Got: {str(self.dtype).capitalize()}")


def matmul(self, other):
    if self.ndim == 0 or other.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {self.ndim}D and "
                           f"{other.ndim}D")
    inner_self = self.shape[-1]
    inner_other = other.shape[-2] if other.ndim > 1 else other.shape[0]
    if inner_self != inner_other:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_rows(self)}x{inner_self} and "
                           f"{inner_other}x{other.shape[-1] if other.ndim > 1 else 1})")
    return array_module(self).matmul(self, other)


def addmm(self, mat1, mat2, beta, alpha):
    product = matmul(mat1, mat2)
    product = product if alpha == 1 else product * alpha
    return product + (self if beta == 1 else self * beta)


def dot(self, tensor):
    if self.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and {tensor.ndim}D tensors")
    if self.shape != tensor.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{self.shape[0]}] and src "
                           f"[{tensor.shape[0]}] to have the same number of elements, but got "
                           f"{self.shape[0]} and {tensor.shape[0]} elements respectively")
    return array_module(self).dot(self, tensor)


def _rows(array) -> int:
    return math.prod(array.shape[:-1]) if array.ndim > 1 else 1


def _infer_size(size, numel: int) -> tuple[int, ...]:
    size = tuple(size)
    if size.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = math.prod(s for s in size if s != -1)
    if -1 in size:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(size)}' is invalid for input of size {numel}")
        size = tuple(numel // known if s == -1 else s for s in size)
    if math.prod(size) != numel:
        raise RuntimeError(f"shape '{list(size)}' is invalid for input of size {numel}")
    return size


def view(self, size):
    """A view sharing storage; torch's error where no view of these strides exists."""
    shape = _infer_size(size, self.size)
    out = self.reshape(shape)
    # reshape copies where no view of these strides exists (numpy deprecates assigning .shape, and
    # reshape's copy=False is numpy >= 2.1 only): a result not on self's memory is such a copy
    if out.size and out.base is not (self if self.base is None else self.base):
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                           "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
    return out


def reshape(self, size):
    return self.reshape(_infer_size(size, self.size))


def t(self):
    if self.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
    return self.T


def transpose(self, dim0, dim1):
    return array_module(self).swapaxes(self, wrap_dim(dim0, self.ndim), wrap_dim(dim1, self.ndim))


def permute(self, dims):
    if len(dims) != self.ndim:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {self.ndim} is not "
                           f"equal to len(dims) = {len(dims)}")
    return array_module(self).transpose(self, tuple(wrap_dim(d, self.ndim) for d in dims))


def expand(self, size, implicit):
    size = tuple(size)
    if len(size) < self.ndim:
        raise RuntimeError(f"expand: the number of sizes provided ({len(size)}) must be greater or equal to the "
                           f"number of dimensions in the tensor ({self.ndim})")
    lead = len(size) - self.ndim
    target = tuple(self.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(size)) \
        if -1 in size else size
    for i, s in enumerate(self.shape):
        if s != 1 and s != target[lead + i]:
            raise RuntimeError(f"The expanded size of the tensor ({target[lead + i]}) must match the existing size "
                               f"({s}) at non-singleton dimension {lead + i}.  Target sizes: {list(size)}.  "
                               f"Tensor sizes: {list(self.shape)}")
    xp = array_module(self)
    if xp is not np or not self.flags.c_contiguous:
        return xp.broadcast_to(self, target)
    # the same read-only view as broadcast_to, built directly: broadcast_to costs microseconds
    strides = (0,) * lead + tuple(0 if s == 1 else stride for s, stride in zip(self.shape, self.strides))
    view = np.ndarray(target, self.dtype, self, 0, strides)
    view.flags.writeable = False
    return view


def unsqueeze(self, dim):
    return array_module(self).expand_dims(self, wrap_dim(dim, self.ndim + 1))


def squeeze_all(self):
    return self.reshape(tuple(s for s in self.shape if s != 1))


def squeeze(self, dim):
    if self.ndim == 0:
        return self
    dim = wrap_dim(dim, self.ndim)
    return self.squeeze(dim) if self.shape[dim] == 1 else self


def _index_at(dim: int, ndim: int, item) -> tuple:
    return (builtins.slice(None),) * wrap_dim(dim, ndim) + (item,)


def select(self, dim, index):
    size = self.shape[wrap_dim(dim, self.ndim)] if self.ndim else 0
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(self.shape)} at "
                         f"dimension {dim}")
    return self[_index_at(dim, self.ndim, index)]


def slice(self, dim, start, end, step):  # noqa: A001 - torch's op name
    if step <= 0:
        raise ValueError("slice step must be positive")
    return self[_index_at(dim, self.ndim, builtins.slice(start, end, step))]


def select_backward(grad_output, input_sizes, dim, index):
    out = array_module(grad_output).zeros(input_sizes, grad_output.dtype)
    out[_index_at(dim, len(input_sizes), index)] = grad_output
    return out


def slice_backward(grad_output, input_sizes, dim, start, end, step):
    out = array_module(grad_output).zeros(input_sizes, grad_output.dtype)
    out[_index_at(dim, len(input_sizes), builtins.slice(start, end, step))] = grad_output
    return out


def to_copy(self, dtype, device, non_blocking):
    out = self if device is None else to_device(self, device)
    if dtype is not None:
        out = out.astype(dtype, copy=out is self)
    return out.copy() if out is self else out


def binary_cross_entropy_with_logits(self, target, weight, pos_weight, reduction):
    """torch's stable form: (1 - t) x + (1 + (pw - 1) t) * (log1p(exp(-|x|)) + max(-x, 0))."""
    if target.shape != self.shape:
        raise ValueError(f"Target size ({list(target.shape)}) must be the same as input size ({list(self.shape)})")
    xp = array_module(self)
    softplus_neg = xp.log1p(xp.exp(-xp.abs(self))) + xp.maximum(-self, 0)
    if pos_weight is None:
        loss = (1 - target) * self + softplus_neg
    else:
        loss = (1 - target) * self + (1 + (pos_weight - 1) * target) * softplus_neg
    if weight is not None:
        loss = loss * weight
    return reduce_loss(loss, reduction)


def reduce_loss(loss, reduction: int):
    """at::Reduction: 0 none, 1 mean, 2 sum."""
    if reduction == 0:
        return loss
    xp = array_module(loss)
    return xp.mean(loss) if reduction == 1 else xp.sum(loss)


def tril(self, diagonal):
    return array_module(self).tril(self, diagonal)


def triu(self, diagonal):
    return array_module(self).triu(self, diagonal)
