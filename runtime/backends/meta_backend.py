"""The meta device: tensors with a shape and a dtype but no data (torch's device="meta").

A meta array is a numpy array of that shape whose strides are all 0 over one element of memory,
so it costs nothing whatever its size, and numpy's own views (reshape, transpose, slicing,
as_strided) work on it unchanged. Everything that would compute or allocate is answered from
shapes and dtypes alone: ufuncs (`__array_ufunc__`: the broadcast shape, the dtype numpy's
promotion gives; matmul's shape by its signature; reductions), the numpy functions the kernels
call on it (`__array_function__`, a table of shape rules), and the array module the kernels get
for it (`META_XP`: numpy, with empty/zeros/pad/ascontiguousarray/... giving meta arrays). A
function with no rule raises NotImplementedError naming it, as torch raises for an op without
a meta kernel. Writes into a meta array do nothing.
"""

from __future__ import annotations

import types

import numpy as np

from .table import Backend, device

META = device("meta")


class MetaArray(np.ndarray):
    """A shape and a dtype, as a numpy array with zero strides over one element."""

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        if out is not None:  # an in-place or out= call: nothing to write
            return out[0] if len(out) == 1 else out
        if method == "__call__" and ufunc is np.matmul:  # (..., n, k), (..., k, m) -> (..., n, m)
            return _matmul_shape(inputs, ufunc(*(np.zeros((1, 1), x.dtype) for x in inputs)))
        stand_ins = [_stand_in(x) for x in inputs]
        if method == "__call__":
            with np.errstate(all="ignore"):  # (zeros stand in for the values: 0 / 0 is no concern)
                probe = getattr(ufunc, method)(*stand_ins, **kwargs)
            shape = np.broadcast_shapes(*(np.shape(x) for x in inputs))
            return _like(probe, shape)
        if method in ("reduce", "accumulate"):
            axis, keepdims = kwargs.get("axis", 0), kwargs.get("keepdims", False)
            probe = getattr(ufunc, method)(np.zeros((1,) * inputs[0].ndim, inputs[0].dtype), **kwargs)
            if method == "accumulate":
                return meta_array(inputs[0].shape, probe.dtype)
            return meta_array(_reduced_shape(inputs[0].shape, axis, keepdims), probe.dtype)
        raise NotImplementedError(f"the meta device has no rule for numpy.{ufunc.__name__}.{method}")

    def __array_function__(self, func, types, args, kwargs):
        rule = _RULES.get(func)
        if rule is None:
            raise NotImplementedError(f"the meta device has no rule for numpy.{func.__name__} (no meta kernel)")
        return rule(*args, **kwargs)

    def __setitem__(self, key, value) -> None:
        """Writes into meta memory do nothing."""

    def astype(self, dtype, *args, **kwargs):
        return meta_array(self.shape, dtype)

    def copy(self, order="C"):
        return meta_array(self.shape, self.dtype)

    def fill(self, value) -> None:
        """Nothing to fill."""


def meta_array(shape, dtype) -> MetaArray:
    shape = tuple(int(n) for n in shape)
    dtype = np.dtype(dtype)
    return np.ndarray.__new__(MetaArray, shape, dtype, buffer=np.zeros(1, dtype), strides=(0,) * len(shape))


def is_meta(array) -> bool:
    return type(array) is MetaArray


def _stand_in(x):
    """A 0-d stand-in of an operand, for the dtype numpy's promotion gives."""
    return np.zeros((), x.dtype) if isinstance(x, np.ndarray) else x


def _like(probe, shape):
    if isinstance(probe, tuple):
        return tuple(meta_array(shape, p.dtype) for p in probe)
    return meta_array(shape, np.asarray(probe).dtype)


def _matmul_shape(inputs, probe):
    a, b = (np.shape(x) for x in inputs)
    a2, b2 = (a if len(a) > 1 else (1,) + a), (b if len(b) > 1 else b + (1,))
    shape = np.broadcast_shapes(a2[:-2], b2[:-2]) + (a2[-2], b2[-1])
    if len(a) == 1:
        shape = shape[:-2] + shape[-1:]
    if len(b) == 1:
        shape = shape[:-1]
    return meta_array(shape, probe.dtype)


def _reduced_shape(shape, axis, keepdims):
    axes = range(len(shape)) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    axes = {a % len(shape) for a in axes}
    return tuple(1 if i in axes else n for i, n in enumerate(shape) if keepdims or i not in axes)


# ---- numpy functions on meta arrays ------------------------------------------------------------

def _new(shape, dtype=float, *args, **kwargs):
    return meta_array(shape if isinstance(shape, tuple) else (shape,) if np.isscalar(shape) else tuple(shape), dtype)


def _same(array, *args, dtype=None, **kwargs):
    return meta_array(np.shape(array), dtype or array.dtype)


def _full(shape, fill_value, dtype=None, **kwargs):
    return _new(shape, dtype if dtype is not None else np.asarray(fill_value).dtype)


def _pad(array, pad_width, mode="constant", **kwargs):
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (array.ndim, 2))
    return meta_array(tuple(n + int(before) + int(after) for n, (before, after) in zip(array.shape, widths)),
                      array.dtype)


def _reducing(func):
    """A reduction's rule: the shape without the reduced axes, the dtype of `func` on a probe."""
    def rule(array, axis=None, *args, out=None, keepdims=False, **kwargs):
        probe = func(np.zeros((1,) * array.ndim, array.dtype), axis, *args, keepdims=keepdims, **kwargs)
        return meta_array(_reduced_shape(array.shape, axis, keepdims), np.asarray(probe).dtype)

    return rule


def _take_along_axis(array, indices, axis):
    shape = np.broadcast_shapes(tuple(1 if i == axis % array.ndim else n for i, n in enumerate(array.shape)),
                                tuple(1 if i == axis % array.ndim else n for i, n in enumerate(indices.shape)))
    return meta_array(shape[:axis % array.ndim] + (indices.shape[axis],) + shape[axis % array.ndim + 1:],
                      array.dtype)


def _where(condition, x=None, y=None):
    if x is None:
        raise NotImplementedError("the meta device has no rule for numpy.where(condition): its size is data")
    probe = np.where(True, _stand_in(x), _stand_in(y))
    return meta_array(np.broadcast_shapes(*(np.shape(v) for v in (condition, x, y))), probe.dtype)


def _concatenate(arrays, axis=0, **kwargs):
    first = arrays[0]
    size = sum(a.shape[axis] for a in arrays)
    dtype = np.result_type(*(a.dtype for a in arrays))
    return meta_array(first.shape[:axis % first.ndim] + (size,) + first.shape[axis % first.ndim + 1:], dtype)


def _stack(arrays, axis=0, **kwargs):
    shape = list(arrays[0].shape)
    shape.insert(axis % (len(shape) + 1), len(arrays))
    return meta_array(shape, np.result_type(*(a.dtype for a in arrays)))


def _as_strided(x, shape=None, strides=None, subok=False, writeable=True):
    return meta_array(x.shape if shape is None else shape, x.dtype)


def _broadcast_to(array, shape, subok=False):
    return meta_array(np.broadcast_shapes(array.shape, tuple(shape)), array.dtype)


def _as_view(func):
    """numpy's own function on the zero-stride array, whose result is a view: free."""
    return lambda array, *args, **kwargs: np.ndarray.view(func(np.asarray(array), *args, **kwargs), MetaArray)


_RULES = {
    np.empty_like: _same, np.zeros_like: _same, np.ones_like: _same, np.full_like: _same, np.copy: _same,
    np.ascontiguousarray: _same, np.asfortranarray: _same,
    np.pad: _pad, **{func: _reducing(func) for func in (np.argmax, np.argmin, np.sum, np.mean, np.prod, np.amax,
                                                        np.amin, np.max, np.min, np.any, np.all)},
    np.take_along_axis: _take_along_axis, np.where: _where, np.concatenate: _concatenate, np.stack: _stack,
    np.broadcast_to: _broadcast_to,
    np.reshape: lambda a, *args, **kwargs: np.ndarray.reshape(a, *args, **kwargs),
    np.transpose: lambda a, axes=None: np.ndarray.transpose(a, axes),
    np.shape: lambda a: a.shape, np.ndim: lambda a: a.ndim, np.size: lambda a, axis=None: a.size if axis is None
    else a.shape[axis],
    np.may_share_memory: lambda a, b, max_work=None: False, np.shares_memory: lambda a, b, max_work=None: False,
    np.copyto: lambda dst, src, **kwargs: None, np.result_type: lambda *a: np.result_type(
        *(x.dtype if is_meta(x) else x for x in a)),
    np.expand_dims: _as_view(np.expand_dims), np.squeeze: _as_view(np.squeeze),
}


def _namespace() -> types.ModuleType:
    """numpy for the kernels, with what allocates giving meta arrays."""
    xp = types.ModuleType("gradspec_meta_numpy")
    xp.__dict__.update({k: v for k, v in vars(np).items() if not k.startswith("__")})
    xp.__name__ = "numpy (meta)"
    xp.empty = xp.zeros = xp.ones = _new
    xp.full = _full
    xp.ascontiguousarray = _same
    xp.lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided))
    return xp


META_XP = _namespace()
META_BACKEND = Backend("meta", META_XP, MetaArray)
