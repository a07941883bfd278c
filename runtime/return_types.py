"""torch.return_types: the named tuples of ops with several outputs (`values, indices = x.max(0)`)."""

from __future__ import annotations

from collections import namedtuple

_TYPES: dict = {}


def return_type(op: str, names: tuple[str, ...], values: tuple):
    """An instance of the named tuple type of `op` (one type per op, made on first use)."""
    cls = _TYPES.get((op, names))
    if cls is None:
        base = namedtuple(op, names)
        cls = _TYPES[(op, names)] = type(op, (base,), {"__slots__": (), "__repr__": _repr})
    return cls(*values)


def _repr(self) -> str:
    fields = ",\n".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
    return f"torch.return_types.{type(self).__name__}(\n{fields})"
