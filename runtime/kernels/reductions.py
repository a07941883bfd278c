"""Reduction kernels: prod, max/min with indices, amax/amin, argmax, logsumexp, var/std, norms, cumsum."""

from __future__ import annotations

import math

import numpy as np

from ..backends import array_module
from ..dtypes import get_default_dtype, scalar_type_name
from ..shapes import wrap_dim
from .core import _dims, _reduce_dtype


def _empty_check(self, op: str, dims=None) -> None:
    """torch refuses to reduce nothing: a dim of size 0 (dims as given), or (no dims) an empty tensor."""
    if not dims:
        if self.size == 0:
            error = IndexError if op.startswith("arg") else RuntimeError
            hint = "" if op.startswith("arg") else " Specify the reduction dim with the 'dim' argument."
            raise error(f"{op}(): Expected reduction dim to be specified for input.numel() == 0.{hint}")
        return
    for dim in dims:
        if self.ndim and self.shape[wrap_dim(dim, self.ndim)] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {dim} to have non-zero size.")


def prod_all(self, dtype):
    return array_module(self).prod(self, dtype=_reduce_dtype(self, dtype))


def prod_dim(self, dim, keepdim, dtype):
    return array_module(self).prod(self, axis=_dims([dim], self.ndim, "prod"), keepdims=keepdim,
                                   dtype=_reduce_dtype(self, dtype))


def product_of_others(self, dim):
    """For every element, the product of the other elements of its slice along `dim` (of all of
    self for None): the products of those before it times those after it, without a division."""
    xp = array_module(self)
    x = self.reshape(-1) if dim is None else self
    if x.ndim == 0:
        return xp.ones_like(x)
    axis = 0 if dim is None else wrap_dim(dim, x.ndim)
    ones = xp.ones_like(xp.take(x, [0], axis=axis))
    size = x.shape[axis]
    before = xp.cumprod(xp.concatenate([ones, xp.take(x, range(size - 1), axis=axis)], axis=axis), axis=axis)
    reversed_ = xp.flip(x, axis=axis)
    after = xp.cumprod(xp.concatenate([ones, xp.take(reversed_, range(size - 1), axis=axis)], axis=axis), axis=axis)
    return (before * xp.flip(after, axis=axis)).reshape(self.shape)


def max_all(self):
    _empty_check(self, "max")
    return array_module(self).max(self)


def min_all(self):
    _empty_check(self, "min")
    return array_module(self).min(self)


def _arg_reduce(self, dim, keepdim, find):
    xp = array_module(self)
    wrap_dim(dim, self.ndim)
    if self.ndim == 0:
        return self.copy(), xp.zeros((), xp.int64)
    axis = wrap_dim(dim, self.ndim)
    _empty_check(self, find.__name__.removeprefix("arg"), [dim])
    indices = find(self, axis=axis, keepdims=True)
    values = xp.take_along_axis(self, indices, axis)
    if not keepdim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return values, indices.astype(xp.int64, copy=False)


def topk(self, k, dim, largest, sorted):
    """(values, indices) of the k largest (or smallest) along dim, in order; equal values keep their
    index order. NaN counts as the largest value, as in torch."""
    xp = array_module(self)
    axis = wrap_dim(dim, max(self.ndim, 1))
    size = self.shape[axis] if self.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError(f"topk(): selected index k out of range (k={k}, size {size} at dim {dim})")
    if self.ndim == 0:
        return self.copy(), xp.zeros((), xp.int64)
    keys = self if self.dtype.kind in "fc" else self.astype(xp.float64)
    if largest:
        keys = xp.where(xp.isnan(keys), -xp.inf, -keys) if keys.dtype.kind == "f" else -keys
    order = xp.argsort(keys, axis=axis, kind="stable")
    indices = xp.take(order, xp.arange(k), axis=axis)
    return xp.take_along_axis(self, indices, axis), indices.astype(xp.int64, copy=False)


def max_dim(self, dim, keepdim):
    """(values, indices); the first maximal index wins ties, as torch on CPU."""
    return _arg_reduce(self, dim, keepdim, array_module(self).argmax)


def min_dim(self, dim, keepdim):
    return _arg_reduce(self, dim, keepdim, array_module(self).argmin)


def amax(self, dim, keepdim):
    _empty_check(self, "amax", dim)
    return array_module(self).max(self, axis=_dims(dim, self.ndim, "amax"), keepdims=keepdim)


def amin(self, dim, keepdim):
    _empty_check(self, "amin", dim)
    return array_module(self).min(self, axis=_dims(dim, self.ndim, "amin"), keepdims=keepdim)


def _refuse_bool(self, op: str) -> None:
    if self.dtype.kind == "b":
        raise RuntimeError(f"{op}(): does not support bool input")


def argmax(self, dim, keepdim):
    _refuse_bool(self, "argmax")
    _empty_check(self, "argmax", None if dim is None else [dim])
    xp = array_module(self)
    if dim is None:
        out = xp.argmax(self)
        return out.reshape((1,) * self.ndim) if keepdim else out
    return xp.argmax(self, axis=wrap_dim(dim, self.ndim), keepdims=keepdim)


def argmin(self, dim, keepdim):
    _refuse_bool(self, "argmin")
    _empty_check(self, "argmin", None if dim is None else [dim])
    xp = array_module(self)
    if dim is None:
        out = xp.argmin(self)
        return out.reshape((1,) * self.ndim) if keepdim else out
    return xp.argmin(self, axis=wrap_dim(dim, self.ndim), keepdims=keepdim)


def logsumexp(self, dim, keepdim):
    xp = array_module(self)
    axes = _dims(dim, self.ndim, "logsumexp")
    if self.dtype.kind != "f":  # integers and bools are summed in the default float dtype, as torch
        self = self.astype(get_default_dtype().numpy)
    if self.size == 0:  # log of an empty sum: -inf, with no peak to shift by
        return xp.log(xp.sum(xp.exp(self), axis=axes, keepdims=keepdim))
    peak = xp.max(self, axis=axes, keepdims=True)
    peak = xp.where(xp.isfinite(peak), peak, peak.dtype.type(0))  # all -inf (or inf) slices: no shift
    out = xp.log(xp.sum(xp.exp(self - peak), axis=axes, keepdims=True)) + peak
    return out if keepdim else out.squeeze(axes) if axes is not None else out.reshape(())


def _check_floating(self, message: str) -> None:
    if self.dtype.kind != "f":
        raise RuntimeError(message)


def var(self, dim, correction, keepdim):
    _check_floating(self, "std and var only support floating point and complex dtypes")
    xp = array_module(self)
    axes = _dims(dim, self.ndim, "var", in_order=True)
    count = self.size if axes is None else math.prod(self.shape[a] for a in axes)
    with np.errstate(divide="ignore", invalid="ignore"):  # inf - inf, or too few elements: nan, silently, as torch
        centered = self - xp.mean(self, axis=axes, keepdims=True)
        squares = xp.sum(centered * centered, axis=axes, keepdims=keepdim)
        return squares / max(count - (1 if correction is None else correction), 0)


def var_mean(self, dim, correction, keepdim):
    mean = array_module(self).mean(self, axis=_dims(dim, self.ndim, "var_mean", in_order=True), keepdims=keepdim)
    return var(self, dim, correction, keepdim), mean


def sort(self, dim, descending):
    """(values, indices) along dim; equal elements keep their order (NaN sorts as the largest)."""
    xp = array_module(self)
    axis = wrap_dim(dim, self.ndim)
    if self.ndim == 0:
        return self.copy(), xp.zeros((), xp.int64)
    if descending:  # sorted from the far end, so that equal elements still keep their order
        indices = self.shape[axis] - 1 - xp.flip(xp.argsort(xp.flip(self, axis), axis=axis, kind="stable"), axis)
    else:
        indices = xp.argsort(self, axis=axis, kind="stable")
    return xp.take_along_axis(self, indices, axis), indices.astype(xp.int64, copy=False)


def std(self, dim, correction, keepdim):
    xp = array_module(self)
    return xp.sqrt(var(self, dim, correction, keepdim))


def linalg_vector_norm(self, ord, dim, keepdim, dtype):
    xp = array_module(self)
    _check_floating(self, "linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                          f"{scalar_type_name(self.dtype)}")
    x = self if dtype is None else self.astype(dtype)
    axes = _dims(dim, x.ndim, "linalg.vector_norm", in_order=True)
    if ord in (math.inf, -math.inf) and x.size == 0:  # max/min of nothing has no identity
        empty = [d for d in (dim or ()) if x.ndim and x.shape[wrap_dim(d, x.ndim)] == 0]
        if empty or not dim:
            where = f"the dimension {empty[0]}" if empty else "an empty tensor"
            raise RuntimeError(f"linalg.vector_norm cannot compute the {ord} norm on {where}"
                               f"{'because this dimension is empty and' if empty else ' because'} the operation "
                               f"does not have an identity")
    magnitude = xp.abs(x)
    if ord == float("inf"):
        return xp.max(magnitude, axis=axes, keepdims=keepdim)
    if ord == float("-inf"):
        return xp.min(magnitude, axis=axes, keepdims=keepdim)
    if ord == 0:
        return xp.sum(magnitude != 0, axis=axes, keepdims=keepdim).astype(x.dtype)
    if ord == 1:
        return xp.sum(magnitude, axis=axes, keepdims=keepdim)
    if ord == 2:
        return xp.sqrt(xp.sum(magnitude * magnitude, axis=axes, keepdims=keepdim))
    return xp.sum(magnitude ** ord, axis=axes, keepdims=keepdim) ** (1.0 / ord)


def cumsum(self, dim, dtype):
    axis = wrap_dim(dim, self.ndim)  # (before the dtype, as torch's)
    if dtype is not None and dtype == np.bool_ and self.ndim and self.size:  # (nor does a 0-d or empty one)
        raise NotImplementedError('"cumsum_out_cpu" not implemented for \'Bool\'')
    out = array_module(self).cumsum(self, axis=axis, dtype=_reduce_dtype(self, dtype))
    if out.dtype.kind == "f":
        out += 0.0  # torch's sums start from +0.0, numpy's from the first element: a leading -0.0 is +0.0
    return out.reshape(()) if self.ndim == 0 else out  # numpy makes a 0-d input 1-d


def _no_dims(self, dim) -> bool:
    """all/any over an empty dim list reduce nothing (sum and the others reduce everything)."""
    return dim is not None and len(dim) == 0


def _logical_reduction(out, self):
    """all/any: bool, except for uint8 input, which torch answers in uint8 (its legacy)."""
    return out.astype(self.dtype) if self.dtype == np.uint8 else out


def all(self, dim, keepdim):  # noqa: A001 - torch's op name
    if _no_dims(self, dim):
        return _logical_reduction(self != 0, self)
    return _logical_reduction(array_module(self).all(self, axis=_dims(dim, self.ndim, "all"), keepdims=keepdim), self)


def any(self, dim, keepdim):  # noqa: A001
    if _no_dims(self, dim):
        return _logical_reduction(self != 0, self)
    return _logical_reduction(array_module(self).any(self, axis=_dims(dim, self.ndim, "any"), keepdims=keepdim), self)
