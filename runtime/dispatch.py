"""Overload resolution for ops with several schemas (pow, sum, mean, ...), as torch's
Python argument parser does: the first overload whose parameters bind and whose types fit."""

from __future__ import annotations

import numpy as np

_NUMBERS = (int, float, np.number, np.bool_)


def dispatch(op: str, overloads, args: tuple, kwargs: dict, tensor_types: tuple):
    """overloads: ((function, ((name, type, has_default, keyword_only), ...)), ...)."""
    for wrapped_numbers in (False, True):
        for function, params in overloads:
            if _binds(params, args, kwargs, tensor_types, wrapped_numbers):
                return function(*args, **kwargs)
    got = ", ".join([type(a).__name__ for a in args] + [f"{k}={type(v).__name__}" for k, v in kwargs.items()])
    expected = "\n".join(" * (" + ", ".join(f"{t} {n}" for n, t, _, _ in params) + ")" for _, params in overloads)
    raise TypeError(f"{op}() received an invalid combination of arguments - got ({got}), but expected one of:\n"
                    f"{expected}")


def _binds(params, args, kwargs, tensor_types, wrapped_numbers: bool) -> bool:
    positional = [p for p in params if not p[3]]
    if len(args) > len(positional):
        return False
    names = {p[0] for p in params}
    if any(k not in names for k in kwargs):
        return False
    for index, (name, kind, has_default, _) in enumerate(params):
        if index < len(args) and name in kwargs:
            return False
        if index < len(args) and index < len(positional):
            value = args[index]
        elif name in kwargs:
            value = kwargs[name]
        elif has_default:
            continue
        else:
            return False
        if not _fits(value, kind, tensor_types, wrapped_numbers):
            return False
    return True


def _fits(value, kind: str, tensor_types, wrapped_numbers: bool) -> bool:
    optional = kind.endswith("?")
    kind = kind.rstrip("?")
    if value is None:
        return optional
    if kind == "Tensor":
        return isinstance(value, tensor_types) or (wrapped_numbers and isinstance(value, _NUMBERS))
    if kind in ("Scalar", "float"):
        return isinstance(value, _NUMBERS)
    if kind == "int":
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, (bool, np.bool_))
    if kind == "int[]":
        return isinstance(value, (int, np.integer, tuple, list))
    return True
