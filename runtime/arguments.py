"""Argument conventions torch's Python binding gives every function: `out=` and numpy's names.

- `out=tensor` (torch functions, not methods): the result is written into `out`, which is
  resized when its shape differs, and returned. As in torch, out= does not record a graph and
  refuses inputs that require grad while grad mode is on.
- numpy's keyword names: `axis=` for `dim=`, `keepdims=` for `keepdim=`, `x=`/`a=`/`x1=` for
  `input=` and `x2=` for `other=` (torch's python_arg_parser accepts them for every function
  and method that has the torch name).
"""

from __future__ import annotations

import functools
import inspect

from .dtypes import can_cast
from .grad_mode import STATE, no_grad
from .inplace import cast_name
from .tensor import Tensor

NUMPY_NAMES = {"axis": "dim", "keepdims": "keepdim", "x": "input", "a": "input", "x1": "input", "x2": "other"}


def _parameters(function) -> set[str]:
    try:
        return set(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return set()


def numpy_names(function):
    """`function` accepting numpy's keyword names for its own; unchanged if it has none of them."""
    parameters = _parameters(function)
    aliases = {alias: name for alias, name in NUMPY_NAMES.items() if name in parameters and alias not in parameters}
    if not aliases:
        return function

    @functools.wraps(function)
    def call(*args, **kwargs):
        if kwargs and not kwargs.keys().isdisjoint(aliases):
            kwargs = {aliases.get(key, key): value for key, value in kwargs.items()}
        return function(*args, **kwargs)

    return call


def _write_into(out: Tensor, result: Tensor, op: str) -> Tensor:
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}(): argument 'out' must be Tensor, not {type(out).__name__}")
    data = result._data
    if data.dtype != out._data.dtype and not can_cast(data.dtype, out._data.dtype):
        raise RuntimeError(f"result type {cast_name(data.dtype)} can't be cast to the desired output type "
                           f"{cast_name(out._data.dtype)}")
    if out._data.shape == data.shape:
        out._data[...] = data
    else:  # torch resizes out (warning when it was not empty)
        out._data = data.astype(out._data.dtype)
    return out._bump()


def with_out(function):
    """`function` taking torch's `out=` keyword."""
    if "out" in _parameters(function):
        return function

    @functools.wraps(function)
    def call(*args, out=None, **kwargs):
        if out is None:
            return function(*args, **kwargs)
        inputs = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
        if STATE.enabled and any(t._requires_grad for t in (*inputs, out)):
            raise RuntimeError(f"{function.__name__}(): functions with out=... arguments don't support automatic "
                               "differentiation, but one of the arguments requires grad.")
        with no_grad():
            result = function(*args, **kwargs)
        if isinstance(result, tuple):
            for target, value in zip(out, result):
                _write_into(target, value, function.__name__)
            return out
        return _write_into(out, result, function.__name__)

    return call


def torch_function(function):
    """A function of the torch namespace, with both conventions."""
    return numpy_names(with_out(function))
