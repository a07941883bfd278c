"""Reductions (dim, keepdim, dtype), softmax-like ops along a dim, and losses."""

from __future__ import annotations

from . import literals


def _keepdim(b) -> str:
    return f", keepdim={b.rng.choice(('True', 'False'))}" if b.rng.random() < 0.5 else ""


# An empty dim list means every dim to sum and mean, none to all and any; torch's logsumexp
# refuses it and its var/std backward divides by the size of no dims (NaN gradients): decisions.md
# keeps our reduction over every dim there, so the tester does not ask.
_NO_EMPTY_DIM_LIST = ("logsumexp", "var", "std")


def _dims(b, x: str, op: str = "") -> str:
    """A dim, or a list of dims, for reductions that take either."""
    if b.rng.random() < 0.3:
        count = b.rng.randint(1 if op in _NO_EMPTY_DIM_LIST else 0, max(b.value(x).dim(), 1))
        return repr([b.dim(x) for _ in range(count)])
    return str(b.dim(x))


def reduction(b) -> str:
    rng = b.rng
    x = b.pick()
    op = rng.choice(("sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "all", "any",
                     "var", "std", "norm", "logsumexp", "cumsum"))
    args = []
    if op in ("sum", "mean", "amax", "amin", "var", "std", "all", "any", "logsumexp"):
        if op == "logsumexp" or rng.random() < 0.7:
            args.append(f"dim={_dims(b, x, op)}" if rng.random() < 0.5 else _dims(b, x, op))
            args.append(_keepdim(b).lstrip(", "))
    elif op in ("prod", "max", "min", "argmax", "argmin"):
        if rng.random() < 0.6:
            args.append(str(b.dim(x)))
            args.append(_keepdim(b).lstrip(", "))
    elif op == "norm":
        args.append(repr(rng.choice((2, 1, 3, float("inf"), 0))).replace("inf", "float('inf')"))
        if rng.random() < 0.5:
            args.append(f"dim={_dims(b, x)}")
    elif op == "cumsum":
        args.append(str(b.dim(x)))
    if op in ("sum", "mean", "prod", "cumsum") and rng.random() < 0.25:
        args.append(f"dtype=torch.{literals.dtype(rng)}")
    if op in ("var", "std") and rng.random() < 0.4:
        args.append(rng.choice(("unbiased=False", "correction=0", "correction=2")))
    args = [a for a in args if a]
    call = f"{x}.{op}({', '.join(args)})" if rng.random() < 0.6 else f"torch.{op}({', '.join([x, *args])})"
    return f"{b.fresh()} = {call}"


def along_dim(b) -> str:
    rng = b.rng
    x = b.pick()
    op = rng.choice(("softmax", "log_softmax"))
    dtype = f", dtype=torch.{rng.choice(literals.FLOATS)}" if rng.random() < 0.15 else ""
    if rng.random() < 0.5:
        return f"{b.fresh()} = torch.{op}({x}, {b.dim(x)}{dtype})"
    return f"{b.fresh()} = F.{op}({x}, dim={b.dim(x)}{dtype})"


def _reduction_arg(b) -> str:
    return f", reduction={b.rng.choice(('mean', 'sum', 'none'))!r}" if b.rng.random() < 0.6 else ""


def loss(b) -> str:
    rng = b.rng
    op = rng.choice(("mse_loss", "l1_loss", "smooth_l1_loss", "binary_cross_entropy",
                     "binary_cross_entropy_with_logits", "nll_loss", "cross_entropy"))
    if op in ("nll_loss", "cross_entropy"):
        batch, classes = rng.choice((1, 2, 3)), rng.choice((2, 3, 4))
        x = b.pick(lambda t: t.dim() == 2, shape=(batch, classes), dtype="float32", new=0.5)
        rows = b.value(x).shape[0] if b.value(x).dim() else 1
        target = b.literal(shape=(rows,), dtype="int64", requires_grad=False,
                           data=[rng.randrange(classes) for _ in range(rows)])
        if op == "nll_loss" and rng.random() < 0.7:
            x = f"torch.log_softmax({x}, 1)"
        return f"{b.fresh()} = F.{op}({x}, {target}{_reduction_arg(b)})"
    x = b.pick()
    shape = tuple(b.value(x).shape) if rng.random() < 0.85 else literals.broadcast_partner(rng, tuple(
        b.value(x).shape))
    target = b.pick(lambda t: tuple(t.shape) == shape, shape=shape, new=0.6)
    if op == "binary_cross_entropy":
        x, target = f"torch.sigmoid({x})", f"torch.sigmoid({target})"
    beta = f", beta={rng.choice((1.0, 0.5, 2.0))}" if op == "smooth_l1_loss" and rng.random() < 0.4 else ""
    return f"{b.fresh()} = F.{op}({x}, {target}{_reduction_arg(b)}{beta})"


OPS = ((9, reduction), (2, along_dim), (3, loss))
