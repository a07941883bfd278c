"""Indexing: basic (ints, slices, None, ...), advanced (int lists and tensors, bool masks),
gather/scatter/scatter_add/index_select/index_add, and setitem."""

from __future__ import annotations

from . import literals


def _position(b, size: int) -> int:
    """An index into a dim of this size: mostly in range, either sign; now and then out of it."""
    if b.rng.random() < 0.05 or size == 0:
        return b.rng.choice((size, -size - 1))
    return b.rng.randrange(-size, size)


def _slice(b, size: int) -> str:
    rng = b.rng
    start = rng.choice(("", str(rng.randint(-size - 1, size + 1))))
    stop = rng.choice(("", str(rng.randint(-size - 1, size + 1))))
    step = rng.choice(("", "", "", ":2", ":3")) if rng.random() < 0.97 else rng.choice((":-1", ":0"))
    return f"{start}:{stop}{step}"


def _index_list(b, size: int, length: int | None = None) -> list[int]:
    length = b.rng.randint(0, 4) if length is None else length
    return [_position(b, size) if size else 0 for _ in range(length)]


def _item(b, size: int) -> str:
    """One entry of an index tuple, for a dim of this size."""
    rng = b.rng
    kind = rng.random()
    if kind < 0.35:
        return str(_position(b, size))
    if kind < 0.7:
        return _slice(b, size)
    if kind < 0.8:
        return "None"
    if kind < 0.9:
        return repr(_index_list(b, size))
    positions = _index_list(b, size, rng.randint(1, 3))
    return f"torch.tensor({positions!r})"


def getitem(b) -> str:
    rng = b.rng
    x = b.pick()
    shape = tuple(b.value(x).shape)
    form = rng.random()
    if form < 0.15 and shape:  # a bool mask over the leading dims
        dims = shape[:rng.randint(1, len(shape))]
        mask = b.pick(lambda t: t.dtype == b.torch.bool and tuple(t.shape) == dims, dtype="bool", shape=dims)
        return f"{b.fresh()} = {x}[{mask}]"
    if form < 0.2:
        return f"{b.fresh()} = {x}[{rng.choice(('...', '[]', 'None', '..., None', '()'))}]"
    count = rng.randint(1, max(len(shape), 1) + (1 if rng.random() < 0.1 else 0))
    items = [_item(b, shape[i] if i < len(shape) else 1) for i in range(count)]
    if rng.random() < 0.15:
        items.insert(rng.randint(0, len(items)), "...")
    return f"{b.fresh()} = {x}[{', '.join(items)}]"


def _index_tensor(b, shape, size: int) -> str:
    data = literals.values(b.rng, shape, "int64") if not size else None
    if size:
        def build(dims):
            return [_position(b, size) if b.rng.random() < 0.1 else b.rng.randrange(size) for _ in range(dims[0])] \
                if len(dims) == 1 else [build(dims[1:]) for _ in range(dims[0])]
        data = build(list(shape)) if shape else b.rng.randrange(size)
    return b.literal(shape=shape, dtype="int64", requires_grad=False, data=data)


def gather_scatter(b) -> str:
    rng = b.rng
    x = b.pick(lambda t: t.dim() > 0 and t.numel() > 0)
    shape = tuple(b.value(x).shape)
    dim = b.dim(x)
    size = shape[dim % len(shape)] if shape and -len(shape) <= dim < len(shape) else 1
    # index no larger than the input in every dim (now and then narrower, as torch allows)
    index_shape = tuple(rng.randint(1, s) if s and rng.random() < 0.5 else s for s in shape)
    op = rng.choice(("gather", "scatter", "scatter_value", "scatter_add", "index_select", "index_add"))
    if op == "index_select":
        index = _index_tensor(b, (rng.randint(0, 4),), size)
        return f"{b.fresh()} = torch.index_select({x}, {dim}, {index})" if rng.random() < 0.5 else \
            f"{b.fresh()} = {x}.index_select({dim}, {index})"
    if op == "index_add":
        length = rng.randint(1, 3)
        index = _index_tensor(b, (length,), size)
        source_shape = list(shape)
        if shape and -len(shape) <= dim < len(shape):
            source_shape[dim] = length
        source = b.pick(lambda t: list(t.shape) == source_shape, shape=source_shape, new=0.7)
        return f"{b.fresh()} = {x}.index_add({dim}, {index}, {source})"
    index = _index_tensor(b, index_shape, size)
    if op == "gather":
        return f"{b.fresh()} = torch.gather({x}, {dim}, {index})"
    if op == "scatter_value":
        return f"{b.fresh()} = {x}.scatter({dim}, {index}, {b.scalar(rng.choice(('int', 'float')))})"
    # src at least as large as the index, of x's dtype mostly
    src_shape = tuple(s + (1 if rng.random() < 0.2 else 0) for s in index_shape)
    src = b.pick(lambda t: tuple(t.shape) == src_shape, shape=src_shape, new=0.7)
    return f"{b.fresh()} = {x}.{op}({dim}, {index}, {src})"


def setitem(b) -> str:
    """x[index] = value, on a tensor of its own (a clone of one with history, now and then a leaf)."""
    rng = b.rng
    source = b.pick()
    target = b.fresh()
    if not b.emit(f"{target} = {source}.clone()" if rng.random() < 0.8 else f"{target} = {source}"):
        return ""
    shape = tuple(b.value(target).shape)
    if rng.random() < 0.2 and shape:  # duplicates in an index list
        items = [repr(_index_list(b, shape[0], rng.randint(2, 4)))]
    else:
        items = [_item(b, shape[i] if i < len(shape) else 1) for i in range(rng.randint(1, max(len(shape), 1)))]
    value = b.scalar() if rng.random() < 0.4 else b.pick(lambda t: t.dim() <= 1, new=0.6,
                                                          shape=rng.choice(((), (1,))))
    return f"{target}[{', '.join(items)}] = {value}"


OPS = ((6, getitem), (5, gather_scatter), (3, setitem))
