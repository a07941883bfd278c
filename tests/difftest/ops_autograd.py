"""Autograd: backward (gradient, retain_graph), autograd.grad (allow_unused, create_graph and a
second derivative), hooks, retain_grad, detach, requires_grad_, no_grad."""

from __future__ import annotations

from . import literals

# (None-tolerant: torch calls a hook on an output of unbind/split that no gradient reached with
# None, where those outputs are nodes of their own here and the hook is not called; decisions.md)
HOOKS = ("lambda g: None if g is None else g * 2", "lambda g: None", "lambda g: None if g is None else g + 1",
         "lambda g: None if g is None else -g")


def _requires_grad(t) -> bool:
    return t.requires_grad


def _differentiable(t) -> bool:
    """A root to differentiate: torch asserts internally on others (gradients are float)."""
    return t.requires_grad and t.dtype.is_floating_point


def _leaf(t) -> bool:
    return t.requires_grad and t.is_leaf


def _gradient_literal(b, of: str) -> str:
    """A new gradient for `of`, passed as a copy: a leaf's .grad in torch may be the very tensor
    passed (then later writes to it would show in .grad), ours never is (docs/decisions.md)."""
    t = b.value(of)
    name = b.literal(shape=tuple(t.shape), dtype=str(t.dtype).removeprefix("torch."), requires_grad=False)
    return f"{name}.clone()"


def _scalar_root(b, out: str) -> str:
    """`out` if it has one element (now and then), else a reduction of it."""
    t = b.value(out)
    if t.numel() == 1 and t.dim() == 0 and b.rng.random() < 0.5:
        return out
    return f"{out}.{b.rng.choice(('sum', 'sum', 'mean'))}()" if t.dtype.is_floating_point else f"{out}.sum()"


def backward(b) -> str:
    rng = b.rng
    candidates = b.tensors(_differentiable)
    if not candidates:
        return ""
    out = rng.choice(candidates)
    retain = ", retain_graph=True" if rng.random() < 0.3 else ""
    if rng.random() < 0.3:
        return f"{out}.backward({_gradient_literal(b, out)}{retain})"
    if rng.random() < 0.1:
        return f"{out}.backward({retain.lstrip(', ')})"  # implicit gradient: only for one element
    root = _scalar_root(b, out)
    return f"{root}.backward({retain.lstrip(', ')})"


def grad(b) -> str:
    rng = b.rng
    candidates = b.tensors(_differentiable)
    if not candidates:
        return ""
    out = rng.choice(candidates)
    inputs = b.tensors(_leaf) if rng.random() < 0.7 else b.tensors(_requires_grad)
    if not inputs:
        return ""
    chosen = rng.sample(inputs, rng.randint(1, min(2, len(inputs))))
    options = [f"allow_unused={rng.random() < 0.9}"]
    if rng.random() < 0.4:
        options.append("create_graph=True")
    elif rng.random() < 0.3:
        options.append("retain_graph=True")
    if rng.random() < 0.25:
        root, outputs = out, f", grad_outputs={_gradient_literal(b, out)}"
    else:
        root, outputs = _scalar_root(b, out), ""
    name = b.fresh("g")
    line = f"{name} = torch.autograd.grad({root}, [{', '.join(chosen)}]{outputs}, {', '.join(options)})"
    if not b.emit(line) or "create_graph=True" not in line:
        return ""
    return _second_order(b, name, chosen)


def _second_order(b, first: str, inputs: list[str]) -> str:
    """Differentiate a first derivative again (create_graph=True made it differentiable)."""
    rng = b.rng
    firsts = [f"{first}[{i}]" for i, _ in enumerate(inputs) if b.value(f"{first}[{i}]") is not None]
    if not firsts:
        return ""
    g = rng.choice(firsts)
    if not b.value(g).requires_grad:
        return f"{b.fresh()} = {g} * 1"
    if rng.random() < 0.4:
        return f"{g}.sum().backward()"
    return f"{b.fresh('g')} = torch.autograd.grad(({g} * {g}).sum(), [{', '.join(inputs)}], allow_unused=True)"


def hook(b) -> str:
    rng = b.rng
    candidates = b.tensors(_requires_grad)
    if not candidates:
        return ""
    target = rng.choice(candidates)
    if rng.random() < 0.25:
        return f"{target}.retain_grad()"
    hook_call = f"{target}.register_hook({rng.choice(HOOKS)})"
    if b.value(target)._base is not None:  # torch 2.13 segfaults registering a hook on a view whose base was
        hook_call = f"({target}.grad_fn, {hook_call})[1]"  # written since, unless grad_fn was read first
    return f"{b.fresh('h')} = {hook_call}"


def state(b) -> str:
    """detach, requires_grad_, no_grad, and the leaves that make a graph worth differentiating."""
    rng = b.rng
    form = rng.random()
    if form < 0.3:
        return f"{b.fresh()} = {b.pick(_requires_grad)}.detach()"
    if form < 0.5:
        leaf = b.pick(lambda t: t.is_leaf and not t.requires_grad, new=0.3, requires_grad=False)
        return f"{leaf}.requires_grad_()"
    if form < 0.7:
        x = b.pick(_requires_grad)
        return f"with torch.no_grad(): {b.fresh()} = {x} * 2"
    # a float leaf that requires grad, combined with something already there
    leaf = b.literal(dtype=rng.choice(literals.FLOATS), requires_grad=True)
    other = b.pick(lambda t: t.dtype.is_floating_point)
    return f"{b.fresh()} = {leaf} * {other}"


OPS = ((4, backward), (3, grad), (2, hook), (3, state))
