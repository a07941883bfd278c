"""Element-wise programs: unary functions and activations, arithmetic with dtype mixes and
broadcasting (tensors, 0-d tensors, Python numbers), comparisons, logic and bitwise ops, clamp,
where, casts."""

from __future__ import annotations

from . import literals

UNARY = ("neg", "abs", "sign", "sgn", "exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu",
         "reciprocal", "log1p", "expm1", "log2", "log10", "rsqrt", "asin", "acos", "atan", "sinh", "cosh", "erf",
         "square")
ARITHMETIC = ("+", "-", "*", "/", "**")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
BITWISE = ("&", "|", "^")


def unary(b) -> str:
    x = b.pick()
    op = b.rng.choice(UNARY)
    call = f"torch.{op}({x})" if b.rng.random() < 0.5 else f"{x}.{op}()"
    return f"{b.fresh()} = {call}"


def activation(b) -> str:
    rng = b.rng
    x = b.pick()
    op = rng.choice(("relu", "leaky_relu", "elu", "gelu", "silu", "softplus", "hardtanh", "relu6"))
    if op in ("hardtanh", "relu6", "elu") and literals.has_nan(b.value(x)):
        op = "relu"
    args = {
        "leaky_relu": lambda: [b.scalar("float")],
        "elu": lambda: [f"alpha={b.scalar('float')}"] if rng.random() < 0.5 else [],
        "gelu": lambda: [f"approximate={rng.choice(('none', 'tanh'))!r}"] if rng.random() < 0.5 else [],
        "softplus": lambda: [f"beta={rng.choice((1, 2, 0.5))}", f"threshold={rng.choice((20, 1, 0.5))}"],
        "hardtanh": lambda: [b.scalar(rng.choice(("int", "float"))), b.scalar(rng.choice(("int", "float")))],
    }.get(op, lambda: [])()
    return f"{b.fresh()} = F.{op}({', '.join([x, *args])})"


def _operand(b, like: str) -> str:
    """Something to combine with tensor `like`: a tensor of a broadcasting shape and any dtype,
    a 0-d tensor, or a Python number."""
    rng = b.rng
    choice = rng.random()
    if choice < 0.3:
        return b.scalar()
    shape = () if choice < 0.45 else literals.broadcast_partner(rng, tuple(b.value(like).shape))
    return b.pick(lambda t: tuple(t.shape) == shape, new=0.6, shape=shape)


def arithmetic(b) -> str:
    rng = b.rng
    x = b.pick()
    y = _operand(b, x)
    op = rng.choice(ARITHMETIC)
    if rng.random() < 0.2 and not (op == "**" and y in ("True", "False")):
        x, y = y, x  # a number on the left: reflected operators (not a bool base: torch's backward of
        # `True ** x` fails an internal assert; docs/decisions.md)
    if rng.random() < 0.15 and op in "+-":
        fn = "add" if op == "+" else "sub"
        return f"{b.fresh()} = torch.{fn}({x}, {y}, alpha={b.scalar(rng.choice(('int', 'float')))})"
    return f"{b.fresh()} = {x} {op} {y}"


def binary_function(b) -> str:
    rng = b.rng
    x = b.pick()
    y = _operand(b, x)
    op = rng.choice(("maximum", "minimum", "pow", "mul", "div", "logical_and", "logical_or", "logical_xor"))
    if op in ("maximum", "minimum", "logical_and", "logical_or", "logical_xor") and not y.startswith("v"):
        y = b.literal(shape=(), dtype=literals.dtype(rng))
    return f"{b.fresh()} = torch.{op}({x}, {y})"


def comparison(b) -> str:
    x = b.pick()
    return f"{b.fresh()} = {x} {b.rng.choice(COMPARISONS)} {_operand(b, x)}"


def bitwise(b) -> str:
    rng = b.rng
    integral = lambda t: not t.dtype.is_floating_point  # noqa: E731
    x = b.pick(integral if rng.random() < 0.9 else None, dtype=rng.choice(("int64", "bool", "uint8", "int32")))
    if rng.random() < 0.25:
        return f"{b.fresh()} = ~{x}" if rng.random() < 0.7 else f"{b.fresh()} = torch.logical_not({x})"
    y = b.pick(integral, shape=literals.broadcast_partner(rng, tuple(b.value(x).shape)),
               dtype=rng.choice(("int64", "bool", "int32", "int8"))) if rng.random() < 0.8 else b.scalar(
        rng.choice(("int", "bool")))
    return f"{b.fresh()} = {x} {rng.choice(BITWISE)} {y}"


def clamp(b) -> str:
    rng = b.rng
    x = b.pick()
    bound = lambda: b.scalar(rng.choice(("int", "float")))  # noqa: E731
    form = rng.random()
    if form < 0.4:
        low, high = bound(), bound()
        parts = rng.choice(([low, high], [f"min={low}"], [f"max={high}"], [f"min={low}", f"max={high}"]))
        call = rng.choice(("clamp", "clip"))
        return f"{b.fresh()} = {x}.{call}({', '.join(parts)})" if rng.random() < 0.5 else \
            f"{b.fresh()} = torch.{call}({', '.join([x, *parts])})"
    if form < 0.7:
        return f"{b.fresh()} = {x}.{rng.choice(('clamp_min', 'clamp_max'))}({bound()})"
    shape = literals.broadcast_partner(rng, tuple(b.value(x).shape))
    low = b.pick(lambda t: tuple(t.shape) == shape, shape=shape, new=0.7)
    which = rng.choice(("min", "max"))
    return f"{b.fresh()} = torch.clamp({x}, {which}={low})"


def where(b) -> str:
    rng = b.rng
    x = b.pick()
    shape = tuple(b.value(x).shape)
    condition = b.pick(lambda t: t.dtype == b.torch.bool, dtype="bool",
                       shape=literals.broadcast_partner(rng, shape), new=0.6)
    y = _operand(b, x)
    if rng.random() < 0.3:
        return f"{b.fresh()} = {x}.masked_fill({condition}, {b.scalar()})"
    return f"{b.fresh()} = torch.where({condition}, {x}, {y})"


def cast(b) -> str:
    rng = b.rng
    x = b.pick()
    form = rng.random()
    if form < 0.5:
        return f"{b.fresh()} = {x}.to(torch.{literals.dtype(rng)})"
    if form < 0.8:
        return f"{b.fresh()} = {x}.{rng.choice(('float', 'double', 'long', 'int', 'bool'))}()"
    return f"{b.fresh()} = {x}.{rng.choice(('clone', 'contiguous'))}()"


OPS = ((6, unary), (3, activation), (8, arithmetic), (3, binary_function), (2, comparison), (2, bitwise),
       (3, clamp), (2, where), (2, cast))
