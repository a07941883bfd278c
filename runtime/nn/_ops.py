"""The functions the nn modules call: runtime.nn.functional's where it has them.

While the op library grows (issue 4), a few functions the main job needs are composed here
from ops that already exist (matmul, exp, log, sum, ...). Each fallback is used only when
`runtime.nn.functional` lacks the name at import time, so the real ops take over as soon as
they land; delete the fallbacks then.
"""

from __future__ import annotations

import numpy as np

from ..backends import array_module
from ..grad_mode import STATE
from ..tensor import Tensor, make_tensor
from . import functional as _functional


def _linear(input, weight, bias=None):
    out = input.matmul(weight.t())
    return out if bias is None else out + bias


def _log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1
    shift = make_tensor(input._data.max(axis=dim, keepdims=True))  # a constant: the gradient is unchanged
    z = input - shift
    return z - z.exp().sum(dim, keepdim=True).log()


def _softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _log_softmax(input, dim).exp()


def _one_hot_mask(target: Tensor, classes: int, dtype) -> Tensor:
    index = target._data
    mask = np.zeros(index.shape + (classes,), dtype=dtype)
    np.put_along_axis(mask, index[..., None], 1, axis=-1)
    return make_tensor(mask)


def _nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    if input.ndim != 2 or weight is not None or (target._data == ignore_index).any():
        raise NotImplementedError("this nll_loss fallback handles (N, C) inputs without weight or ignore_index; "
                                  "runtime.nn.functional.nll_loss replaces it")
    picked = (input * _one_hot_mask(target, input.shape[1], input._data.dtype)).sum(1)
    if reduction == "none":
        return -picked
    total = -picked.sum()
    return total if reduction == "sum" else total / input.shape[0]


def _cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                   reduction="mean", label_smoothing=0.0):
    if label_smoothing:
        raise NotImplementedError("label_smoothing needs runtime.nn.functional.cross_entropy")
    return _nll_loss(_log_softmax(input, 1), target, weight, None, ignore_index, None, reduction)


def _mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    diff = input - target
    out = diff * diff
    return out if reduction == "none" else out.sum() if reduction == "sum" else out.mean()


_FALLBACKS = {
    "linear": _linear,
    "log_softmax": _log_softmax,
    "softmax": _softmax,
    "nll_loss": _nll_loss,
    "cross_entropy": _cross_entropy,
    "mse_loss": _mse_loss,
}


def __getattr__(name: str):
    """functional.<name>, or its fallback above (resolved on every access: cheap, and correct when
    the functional module gains the op while this process runs, e.g. in a long test session)."""
    try:
        return getattr(_functional, name)
    except AttributeError:
        try:
            return _FALLBACKS[name]
        except KeyError:
            raise AttributeError(f"runtime.nn.functional has no '{name}' yet (issue 4: the op library)") from None


def relu(input, inplace=False):
    """functional.relu. inplace=True rectifies the input's array in place (bumping its version, so a
    graph that saved it notices) when no graph is being recorded through it; when one is, the
    result is computed out of place (same values; the input is then left unchanged)."""
    if inplace and not (input._requires_grad and STATE.enabled):
        data = input._data
        array_module(data).maximum(data, 0, out=data)
        input._bump()
        return input
    return _functional.relu(input)
