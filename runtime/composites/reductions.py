"""Reductions with torch's Python signatures: `dim=None` for all dims, a dim choosing the overload."""

from __future__ import annotations

import numpy as np

from ..generated import functions as F
from ..factories import linspace
from ..return_types import return_type

from ..tensor import Tensor, make_tensor


def _extremum(full, along, pairwise):
    def extremum(input, dim=None, keepdim=False):
        if isinstance(dim, Tensor):  # torch.max(a, b)
            return pairwise(input, dim)
        return full(input) if dim is None else along(input, dim, keepdim)

    return extremum


max = _extremum(F.max_default, F.max_dim, F.maximum)  # noqa: A001
min = _extremum(F.min_default, F.min_dim, F.minimum)  # noqa: A001


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):  # var(unbiased)
        dim, unbiased = None, dim
    return F.var(input, dim, correction=_correction(unbiased, correction), keepdim=keepdim)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return F.std(input, dim, correction=_correction(unbiased, correction), keepdim=keepdim)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    if p == "fro" or p is None:
        p = 2
    if isinstance(p, str):
        raise NotImplementedError(f"norm(p={p!r}) is not supported (use p = a number, inf or 'fro')")
    return F.linalg_vector_norm(input, p, dim, keepdim, dtype=dtype)


def prod(input, dim=None, keepdim=False, *, dtype=None):
    return F.prod_default(input, dtype=dtype) if dim is None else F.prod_dim_int(input, dim, keepdim, dtype=dtype)


def sum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A001
    if dim is None:
        return F.sum_default(input, dtype=dtype)
    return F.sum_dim_IntList(input, dim, keepdim, dtype=dtype)


def mean(input, dim=None, keepdim=False, *, dtype=None):
    if dim is None:
        return F.mean_default(input, dtype=dtype)
    return F.mean_dim(input, dim, keepdim, dtype=dtype)


def softmax(input, dim, dtype=None):
    x = input if dtype is None else input.to(dtype)
    return F._softmax(x, dim, False)


def log_softmax(input, dim, dtype=None):
    x = input if dtype is None else input.to(dtype)
    return F._log_softmax(x, dim, False)


def histogram(input, bins=100, *, range=None, weight=None, density=False):  # noqa: A002
    """Counts of `input` in `bins` equal bins over `range` (default: its min to max), and the bin
    edges, in input's float dtype; not differentiable, as in torch (a histogram has no gradient)."""
    if not input.is_floating_point():
        raise RuntimeError(f"torch.histogram: input tensor and bins tensors should have the same dtype, "
                           f"and a floating one, got {input.dtype}")
    if not isinstance(bins, int):
        raise TypeError("histogram: bins must be an int (bin edges as a tensor are not supported)")
    values = input.detach()._host_array().ravel()
    low, high = range if range is not None else (values.min(), values.max()) if values.size else (0.0, 0.0)
    if low == high:  # torch and numpy widen an empty range by half a unit each way
        low, high = low - 0.5, high + 0.5
    # torch's edges: a linspace in input's dtype (its halves computed from each end), not numpy's
    edges = linspace(float(low), float(high), bins + 1, dtype=input.dtype)._host_array()
    weights = None if weight is None else weight.detach()._host_array().ravel()
    counts, _ = np.histogram(values, edges, weights=weights)
    counts = counts.astype(values.dtype)
    if density:
        counts = counts / (counts.sum() * np.diff(edges))
    return return_type("histogram", ("hist", "bin_edges"), (make_tensor(counts), make_tensor(edges)))

__all__ = ["max", "min", "var", "std", "norm", "prod", "sum", "mean", "softmax", "log_softmax", "histogram"]
