"""Dims and sizes as torch checks them: ground floor, shared by kernels, the Tensor and the ops."""

from __future__ import annotations

import numpy as np


def wrap_dim(dim: int, ndim: int, op: str = "") -> int:
    """A dim in [-ndim, ndim) made non-negative; torch's message otherwise (0-d tensors take -1 and 0)."""
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-bound}, {bound - 1}], "
                         f"but got {dim})")
    return dim % bound


def int_arg(value, op: str, argument: str) -> int:
    """An `int` argument: Python and numpy integers and 0-d integer tensors, not floats or bools."""
    if isinstance(value, (bool, np.bool_)) or not hasattr(value, "__index__"):
        raise TypeError(f"{op}(): argument '{argument}' must be int, not {type(value).__name__}")
    return value.__index__()


def int_list(value, op: str, argument: str, size: int = 1) -> tuple[int, ...]:
    """An `int[]` argument: an int (repeated `size` times, as for `int[2] stride=1`), or a sequence
    of ints (torch.Size, list, tuple, 0-d int tensors)."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * size
    try:
        return tuple(int(v.__index__()) for v in value)
    except (TypeError, AttributeError):
        raise TypeError(f"{op}(): argument '{argument}' must be tuple of ints, not {type(value).__name__}") from None


def broadcast_error(error: Exception, *operands) -> Exception:
    """torch's error for operands whose shapes do not broadcast (numpy raised `error`, a ValueError,
    computing an op over them); `error` itself where it was about something else."""
    if "broadcast" not in str(error):
        return error
    shape: tuple = ()
    for operand in operands:
        other = getattr(operand, "shape", None)
        if other is None:
            continue
        width = max(len(shape), len(other))
        a, b = (1,) * (width - len(shape)) + tuple(shape), (1,) * (width - len(other)) + tuple(other)
        for dim in reversed(range(width)):
            if a[dim] != b[dim] and 1 not in (a[dim], b[dim]):
                return RuntimeError(f"The size of tensor a ({a[dim]}) must match the size of tensor b ({b[dim]}) at "
                                    f"non-singleton dimension {dim}")
        shape = tuple(y if x == 1 else x for x, y in zip(a, b))
    return error
