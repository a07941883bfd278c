"""Shape ops and views, in-place ops (through element views, detach, expand, transpose and the
outputs of split/unbind), and matrix products."""

from __future__ import annotations

from . import literals


def _same_numel_shape(b, numel: int) -> list[int]:
    """A random shape of `numel` elements, one dim now and then given as -1."""
    dims, left = [], numel
    while left > 1 and len(dims) < 3:
        divisors = [d for d in range(2, left + 1) if left % d == 0]
        d = b.rng.choice(divisors)
        dims.append(d)
        left //= d
    if left != 1 or not dims or b.rng.random() < 0.2:
        dims.append(left)
    b.rng.shuffle(dims)
    if dims and b.rng.random() < 0.3:
        dims[b.rng.randrange(len(dims))] = -1
    if numel == 0 and b.rng.random() < 0.5:
        dims = [0, b.rng.choice((1, 2))]
    return dims


def shape_op(b) -> str:
    rng = b.rng
    x = b.pick()
    t = b.value(x)
    shape = tuple(t.shape)
    ndim = len(shape)
    op = rng.choice(("view", "reshape", "flatten", "squeeze", "unsqueeze", "transpose", "permute", "t", "expand",
                     "repeat", "flip", "roll", "narrow", "movedim", "T", "tile", "chunk", "split", "unbind"))
    if op in ("view", "reshape"):
        return f"{b.fresh()} = {x}.{op}({_same_numel_shape(b, t.numel())})"
    if op == "flatten":
        return f"{b.fresh()} = {x}.flatten({', '.join(str(b.dim(x)) for _ in range(rng.randint(0, 2)))})"
    if op == "squeeze":
        return f"{b.fresh()} = {x}.squeeze({b.dim(x) if rng.random() < 0.6 else ''})"
    if op == "unsqueeze":
        return f"{b.fresh()} = {x}.unsqueeze({b.dim(x, extra=1)})"
    if op == "transpose":
        return f"{b.fresh()} = {x}.transpose({b.dim(x)}, {b.dim(x)})"
    if op == "permute":
        order = list(range(ndim))
        rng.shuffle(order)
        return f"{b.fresh()} = {x}.permute({order})"
    if op in ("t", "T"):
        return f"{b.fresh()} = {x}.t()" if op == "t" else f"{b.fresh()} = {x}.T"
    if op == "expand":
        sizes = [rng.choice((2, 3)) if s == 1 and rng.random() < 0.6 else (-1 if rng.random() < 0.3 else s)
                 for s in shape]
        if rng.random() < 0.4:
            sizes.insert(0, rng.choice((1, 2)))
        return f"{b.fresh()} = {x}.expand({sizes})"
    if op in ("repeat", "tile"):
        reps = [rng.choice((1, 2)) for _ in range(ndim + rng.choice((0, 0, 1)))]
        return f"{b.fresh()} = {x}.{op}({reps})"
    if op == "flip":
        return f"{b.fresh()} = {x}.flip({[b.dim(x) for _ in range(rng.randint(1, max(ndim, 1)))]})"
    if op == "roll":
        return f"{b.fresh()} = {x}.roll({rng.randint(-2, 3)}, {b.dim(x)})" if rng.random() < 0.7 else \
            f"{b.fresh()} = {x}.roll({rng.randint(-2, 3)})"
    if op == "narrow":
        dim = b.dim(x)
        size = shape[dim % ndim] if ndim and -ndim <= dim < ndim else 1
        start = rng.randint(-size, size)
        return f"{b.fresh()} = {x}.narrow({dim}, {start}, {rng.randint(0, max(size - max(start, 0), 0))})"
    if op == "movedim":
        return f"{b.fresh()} = {x}.movedim({b.dim(x)}, {b.dim(x)})"
    dim = b.dim(x)
    if op == "chunk":
        return f"{b.fresh()} = {x}.chunk({rng.randint(1, 3)}, {dim})"
    if op == "split":
        size = shape[dim % ndim] if ndim and -ndim <= dim < ndim else 1
        if rng.random() < 0.5 and size:
            first = rng.randint(0, size)
            return f"{b.fresh()} = {x}.split([{first}, {size - first}], {dim})"
        return f"{b.fresh()} = {x}.split({rng.randint(1, 3)}, {dim})"
    return f"{b.fresh()} = {x}.unbind({dim})"


def join(b) -> str:
    rng = b.rng
    x = b.pick()
    shape = list(b.value(x).shape)
    others = []
    for _ in range(rng.randint(1, 2)):
        other = list(shape)
        if other and rng.random() < 0.4:
            other[rng.randrange(len(other))] = rng.choice((0, 1, 2))
        others.append(b.pick(lambda t, o=other: list(t.shape) == o, shape=other, new=0.6))
    op = rng.choice(("cat", "stack"))
    return f"{b.fresh()} = torch.{op}([{', '.join([x, *others])}], {b.dim(x, extra=1 if op == 'stack' else 0)})"


VIEWS = ("[0]", ".select(0, -1)", ".detach()", ".t()", ".transpose(0, -1)", ".split(1)[0]", ".unbind()[0]",
         ".view(-1)", "[1:]", "[::2]", "[..., 0]", ".expand(2, *{shape})[0]", ".expand(2, *{shape})",
         ".unsqueeze(0)", ".narrow(0, 0, 1)", ".chunk(2)[-1]", "[None]")

INPLACE = ("add_({y})", "sub_({y})", "mul_({y})", "div_({y})", "neg_()", "exp_()", "relu_()", "clamp_({a}, {c})",
           "fill_({a})", "zero_()", "copy_({y})", "pow_(2)", "sigmoid_()", "tanh_()", "abs_()", "sqrt_()",
           "masked_fill_({mask}, {a})", "clamp_min_({a})", "add_({y}, alpha={a})")


def inplace(b) -> str:
    """An in-place op on a tensor with history, or on a view of one: the chains that have to
    rewrite the base's history (torch's CopySlices) or be refused."""
    rng = b.rng
    base = b.pick(lambda t: t.dim() > 0, shape=literals.shape(rng), dtype="float32", new=0.4)
    if rng.random() < 0.6:
        history = b.fresh()
        if not b.emit(f"{history} = {base}{rng.choice((' * 1', '.clone()', ' + 0', '.exp()'))}"):
            return ""
        base = history
    target = base
    if rng.random() < 0.75:
        view = rng.choice(VIEWS).replace("{shape}", repr(tuple(b.value(base).shape)))
        if rng.random() < 0.5:
            name = b.fresh()
            if not b.emit(f"{name} = {base}{view}"):
                return ""
            target = name
        else:
            target = f"{base}{view}"
    return _inplace_call(b, target)


def _inplace_call(b, target: str) -> str:
    rng = b.rng
    shape = tuple(b.value(target).shape) if target.startswith("v") and target.isidentifier() else ()
    form = rng.random()
    if form < 0.1:
        return f"{target} {rng.choice(('+=', '-=', '*=', '/='))} {b.scalar()}"
    if form < 0.18:
        op = rng.choice(("relu", "hardtanh", "leaky_relu", "elu"))
        if op in ("hardtanh", "elu") and shape and literals.has_nan(b.value(target)):
            op = "relu"
        return f"F.{op}({target}, inplace=True)"
    call = rng.choice(INPLACE)
    fields = {}
    if "{y}" in call:
        fields["y"] = b.scalar() if rng.random() < 0.5 else b.pick(
            lambda t: t.dim() == 0, shape=(), new=0.5)
    if "{mask}" in call:
        fields["mask"] = b.pick(lambda t: t.dtype == b.torch.bool and tuple(t.shape) == shape, dtype="bool",
                                shape=shape, new=0.7)
    fields["a"], fields["c"] = b.scalar("float"), b.scalar("float")
    return f"{target}.{call.format(**fields)}"


def inplace_any(b) -> str:
    """An in-place op on whatever tensor: leaves that require grad, integer tensors, views of views."""
    return _inplace_call(b, b.pick(new=0.2))


def matmul(b) -> str:
    rng = b.rng
    n, k, m = rng.choice((1, 2, 3)), rng.choice((1, 2, 3, 0)) if rng.random() < 0.1 else rng.choice((1, 2, 3)), \
        rng.choice((1, 2, 3))
    batch = [rng.choice((1, 2))] if rng.random() < 0.3 else []
    left = rng.choice(([k], [n, k], batch + [n, k]))
    right = rng.choice(([k], [k, m], ([rng.choice((1, 2))] if rng.random() < 0.5 else batch) + [k, m]))
    if rng.random() < 0.05:
        right = [k + 1, m]  # sizes that do not multiply
    dtype = "float32" if rng.random() < 0.8 else literals.dtype(rng)
    x = b.pick(lambda t: list(t.shape) == left, shape=left, dtype=dtype, new=0.6)
    y = b.pick(lambda t: list(t.shape) == right, shape=right, dtype=dtype if rng.random() < 0.85 else None, new=0.6)
    op = rng.random()
    if op < 0.4:
        return f"{b.fresh()} = {x} @ {y}"
    if op < 0.6:
        return f"{b.fresh()} = torch.matmul({x}, {y})"
    if op < 0.75:
        return f"{b.fresh()} = torch.mm({x}, {y})"
    if op < 0.85:
        return f"{b.fresh()} = torch.dot({x}, {y})" if rng.random() < 0.5 else f"{b.fresh()} = torch.outer({x}, {y})"
    if op < 0.92:
        return f"{b.fresh()} = torch.bmm({x}, {y})"
    if k == 0 and b.value(x).dtype != b.value(y).dtype:
        # torch's einsum skips its dtype check when the contracted dim is empty (docs/decisions.md)
        return f"{b.fresh()} = torch.matmul({x}, {y})"
    letters = "abcd"
    lhs = letters[:len(left)]
    rhs = lhs[-1] + "xyz"[:len(right) - 1]
    return f"{b.fresh()} = torch.einsum({lhs + ',' + rhs + '->' + lhs[:-1] + rhs[1:]!r}, {x}, {y})"


OPS = ((6, shape_op), (2, join), (6, inplace), (2, inplace_any), (3, matmul))
