"""Random shapes, dtypes and tensor literals, written as source text."""

from __future__ import annotations

import math
import random

FLOATS = ("float32", "float64")
INTS = ("int64", "int32", "int16", "int8", "uint8")
DTYPES = FLOATS + INTS + ("bool",)

# values that make ties, kinks (0 for relu/abs, 1 and -1 for hardtanh/clamp) and exact results
SPECIAL = (0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0)
NON_FINITE = (math.nan, math.inf, -math.inf)


def dtype(rng: random.Random, float_weight: float = 0.7) -> str:
    if rng.random() < float_weight:
        return rng.choice(FLOATS) if rng.random() < 0.35 else "float32"
    return rng.choice(("int64", "int64", "int32", "uint8", "int8", "int16", "bool", "bool"))


def shape(rng: random.Random, max_ndim: int = 3) -> tuple[int, ...]:
    ndim = rng.choices(range(max_ndim + 1), weights=(15, 35, 35, 15)[:max_ndim + 1])[0]
    sizes = []
    for _ in range(ndim):
        sizes.append(0 if rng.random() < 0.04 else rng.choice((1, 2, 2, 3, 3, 4)))
    return tuple(sizes)


def broadcast_partner(rng: random.Random, of: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts with `of` (trailing dims dropped or set to 1, dims added), or now
    and then one that does not."""
    if rng.random() < 0.05:
        return shape(rng)
    dims = list(of)
    if dims and rng.random() < 0.4:
        dims = dims[rng.randint(1, len(dims)):] if rng.random() < 0.5 else dims
    dims = [1 if rng.random() < 0.3 else d for d in dims]
    if rng.random() < 0.2 and len(dims) < 4:
        dims.insert(0, rng.choice((1, 2)))
    return tuple(dims)


def element(rng: random.Random, dtype_name: str, non_finite: bool):
    if dtype_name == "bool":
        return rng.random() < 0.5
    if dtype_name in INTS:
        low = 0 if dtype_name == "uint8" else -4
        return rng.randint(low, 6)
    if non_finite and rng.random() < 0.15:
        return rng.choice(NON_FINITE)
    if rng.random() < 0.3:
        return rng.choice(SPECIAL)
    return round(rng.uniform(-3, 3), 2)


def values(rng: random.Random, shape_: tuple[int, ...], dtype_name: str, non_finite: bool | None = None):
    if non_finite is None:
        non_finite = rng.random() < 0.12

    def build(dims):
        if not dims:
            return element(rng, dtype_name, non_finite)
        return [build(dims[1:]) for _ in range(dims[0])]

    return build(list(shape_))


def text(value) -> str:
    """Source text of a nested list of numbers (nan and inf as float('nan'), ...)."""
    if isinstance(value, list):
        return "[" + ", ".join(text(v) for v in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float('{value}')"
    return repr(value)


def tensor(rng: random.Random, shape_: tuple[int, ...], dtype_name: str, requires_grad: bool = False,
           data=None) -> str:
    grad = ", requires_grad=True" if requires_grad else ""
    if 0 in shape_:
        return f"torch.zeros({shape_!r}, dtype=torch.{dtype_name}{grad})"
    data = values(rng, shape_, dtype_name) if data is None else data
    return f"torch.tensor({text(data)}, dtype=torch.{dtype_name}{grad})"


def scalar(rng: random.Random, kind: str | None = None):
    """A Python number as source text: int, float or bool."""
    kind = kind or rng.choice(("int", "float", "float", "bool"))
    if kind == "bool":
        return rng.choice(("True", "False"))
    if kind == "int":
        return str(rng.randint(-3, 4))
    return text(rng.choice(SPECIAL) if rng.random() < 0.4 else round(rng.uniform(-3, 3), 2))


def has_nan(t) -> bool:
    """Whether torch tensor t holds a NaN: hardtanh's and elu's gradients there depend on where the
    element sits in torch's vectorized kernel (docs/decisions.md), so the programs keep NaN away
    from them."""
    return t.dtype.is_floating_point and bool(t.isnan().any())
