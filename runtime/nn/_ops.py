"""The functions the nn modules call: runtime.nn.functional's, plus ReLU's in-place form.

Modules look their functional op up here at call time (`F.conv2d` resolves to
`runtime.nn.functional.conv2d`), so a module whose op the library does not have yet fails with
an error that names the op, not with an import error for all of runtime.nn.
"""

from __future__ import annotations

from ..backends import array_module
from ..grad_mode import STATE
from . import functional as _functional


def __getattr__(name: str):
    try:
        return getattr(_functional, name)
    except AttributeError:
        raise AttributeError(f"runtime.nn.functional has no '{name}' (yet): the op library does not provide "
                             "it") from None


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
