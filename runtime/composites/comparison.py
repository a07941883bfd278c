"""Comparing tensors: isclose, allclose, equal (torch's definitions, not numpy's), and the `==`/`!=`
operators, which compare with None as Python objects do (`t == None` is False in torch)."""

from __future__ import annotations

import numpy as np

from ..generated import functions as F

from ..backends import array_module
from ..dtypes import result_type
from ..tensor import Tensor, make_tensor


def _arrays(input, other, op: str):
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError(f"{op}(): argument 'input' and 'other' must be Tensors, got "
                        f"{type(input).__name__} and {type(other).__name__}")
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"{op}(): expected both inputs to have the same dtype, but got "
                           f"{input.dtype} and {other.dtype}")
    return input._data, other._data


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> Tensor:
    """|input - other| <= atol + rtol * |other|, elementwise (asymmetric in `other`, as torch)."""
    a, b = _arrays(input, other, "isclose")
    xp = array_module(a)
    if a.dtype.kind == "b":
        return make_tensor(a == b)
    compute = result_type((a, b, 1.0)) if a.dtype.kind in "iu" else a.dtype
    a, b = a.astype(compute, copy=False), b.astype(compute, copy=False)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf; cupy never warns
        close = (a == b) | (xp.isfinite(a) & xp.isfinite(b) & (xp.abs(a - b) <= atol + rtol * xp.abs(b)))
    if equal_nan:
        close |= xp.isnan(a) & xp.isnan(b)
    return make_tensor(close)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input, other) -> bool:
    """True when both have the same size and elements (dtypes may differ, as in torch)."""
    a, b = input._data, other._data
    return a.shape == b.shape and bool((a == b).all())


def equal_operator(self, other):
    return False if other is None else F.eq(self, other)


def not_equal_operator(self, other):
    return True if other is None else F.ne(self, other)


__all__ = ["isclose", "allclose", "equal", "equal_operator", "not_equal_operator"]
