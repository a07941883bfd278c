"""torch.nn.utils' gradient clipping and parameter <-> vector conversion.

The gradients are updated in place on their arrays (no graph is recorded), as torch does
under no_grad; the returned norm is a 0-d tensor of the gradients' dtype.
"""

from __future__ import annotations

import math

import numpy as np

from ...backends import array_module
from ...tensor import Tensor, make_tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_",
           "parameters_to_vector", "vector_to_parameters"]


def _as_list(tensors) -> list:
    if isinstance(tensors, Tensor):
        return [tensors]
    return list(tensors)


def _norm(xp, array, norm_type: float):
    if norm_type == math.inf:
        return xp.abs(array).max() if array.size else array.dtype.type(0)
    if norm_type == -math.inf:
        return xp.abs(array).min()
    if norm_type == 0:
        return array.dtype.type((array != 0).sum())
    if norm_type == 2:
        flat = array.reshape(-1)
        return xp.sqrt(xp.dot(flat, flat))
    return (xp.abs(array) ** norm_type).sum() ** (1.0 / norm_type)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """The norm of the norms of `tensors` (as if concatenated into one vector)."""
    tensors = [t for t in _as_list(tensors) if t is not None]
    norm_type = float(norm_type)
    if not tensors:
        return make_tensor(np.array(0.0, dtype=np.float32))
    xp = array_module(tensors[0]._data)
    norms = xp.stack([xp.asarray(_norm(xp, t._data, norm_type)) for t in tensors])
    total = _norm(xp, norms, norm_type)
    total = xp.asarray(total, dtype=tensors[0]._data.dtype)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
                           "so it cannot be clipped. To disable this error and scale the gradients by the "
                           "non-finite norm anyway, set `error_if_nonfinite=False`")
    return make_tensor(total)


def clip_grads_with_norm_(parameters, max_norm: float, total_norm: Tensor, foreach=None) -> None:
    """Scale the gradients by min(1, max_norm / (total_norm + 1e-6)), in place."""
    grads = [p._grad for p in _as_list(parameters) if p._grad is not None]
    if not grads:
        return
    data = total_norm._data
    one = data.dtype.type(1.0)  # numbers, not host arrays: cupy takes no numpy operand
    coef = array_module(data).minimum(data.dtype.type(max_norm) / (data + data.dtype.type(1e-6)), one)
    for g in grads:
        g._data *= coef.astype(g._data.dtype, copy=False)
        g._bump()


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Rescale the gradients so that their total norm is at most max_norm; returns the norm before clipping."""
    parameters = _as_list(parameters)
    grads = [p._grad for p in parameters if p._grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p._grad is not None:
            xp = array_module(p._grad._data)
            xp.clip(p._grad._data, -clip_value, clip_value, out=p._grad._data)
            p._grad._bump()


def parameters_to_vector(parameters) -> Tensor:
    """One 1-d tensor holding every parameter, flattened and concatenated (a copy, outside the graph)."""
    arrays = [p._data.reshape(-1) for p in parameters]
    xp = array_module(arrays[0]) if arrays else np
    return make_tensor(xp.concatenate(arrays) if arrays else np.zeros(0, np.float32))


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy consecutive slices of `vec` into the parameters (in place)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    offset = 0
    for p in parameters:
        n = p._data.size
        p._data[...] = vec._data[offset:offset + n].reshape(p._data.shape)
        p._bump()
        offset += n
