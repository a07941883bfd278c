"""Arithmetic with torch's Python signatures, and the reflected and in-place operators of Tensor."""

from __future__ import annotations

import builtins

import numpy as np

from ..generated import functions as F

from ..inplace import check_no_partial_overlap, inplace, is_recorded
from ..tensor import SCALARS, Tensor


def square(input):
    return F.pow_Tensor_Scalar(input, 2)  # torch's square is pow(x, 2): PowBackward0


def clamp(input, min=None, max=None):  # noqa: A002 - torch's names
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return F.clamp_Tensor(input, min, max)
    return F.clamp_default(input, min, max)


clip = clamp


# ---- operators (bound by gradspec.api as Tensor's dunder methods) -----------------------------------

def power(self, exponent):
    """x ** e, without the overload dispatch of pow()."""
    return F.pow_Tensor_Tensor(self, exponent) if isinstance(exponent, Tensor) else F.pow_Tensor_Scalar(self, exponent)


def reflected_sub(self, other):
    return F.rsub_Scalar(self, other) if isinstance(other, SCALARS) else F.rsub_Tensor(self, other)


def reflected_truediv(self, other):
    return F.mul(F.reciprocal(self), other)  # torch records ReciprocalBackward0 then MulBackward0


def reflected_pow(self, other):
    return F.pow_Scalar(other, self)


def _arithmetic_inplace(op, ufunc):
    """x += y: one numpy ufunc writing into x where no graph is recorded (optimizer steps by hand,
    initialisation), runtime/inplace.py's general path where one is."""

    def method(self, other):
        # the general path for a graph, for bool operands (torch refuses some), and for views of
        # expanded tensors (numpy's read-only arrays)
        if is_recorded(self, other) or _has_bool(self, other) or not getattr(self._data.flags, "writeable", True):
            return inplace(self, op, other)
        check_no_partial_overlap(self, other)
        operand = other._data if isinstance(other, Tensor) else other
        try:
            ufunc(self._data, operand, out=self._data, casting="same_kind")
        except (TypeError, OverflowError):  # numpy refuses what torch may do (int64 into uint8, uint8 *= -2)
            return inplace(self, op, other)  # (or refuses in its words)
        return self._bump()

    method.__name__ = f"__i{op.__name__}__"
    return method


def invert(self):
    """~x: bitwise not; torch's operator refuses floats before its kernel would."""
    if self._data.dtype.kind == "f":
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return F.bitwise_not(self)


def _has_bool(self, other) -> bool:
    return self._data.dtype == np.bool_ or isinstance(other, (builtins.bool, np.bool_)) or (
        isinstance(other, Tensor) and other._data.dtype == np.bool_)


iadd = _arithmetic_inplace(F.add, np.add)
isub = _arithmetic_inplace(F.sub, np.subtract)
imul = _arithmetic_inplace(F.mul, np.multiply)
itruediv = _arithmetic_inplace(F.div, np.true_divide)


__all__ = ["invert", "square", "clamp", "clip", "power", "reflected_sub", "reflected_truediv", "reflected_pow", "iadd",
           "isub", "imul", "itruediv"]
