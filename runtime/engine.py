"""Reverse mode over the recorded graph, without recursion.

One pass counts, for every node reachable from the roots, how many edges lead into it; a node
is ready when all its gradients have arrived. Ready nodes run from a stack, so a graph of any
depth runs in constant Python stack. Each gradient a node returns is checked against the
shape and dtype its input had in the forward pass: broadcast dimensions are summed away here,
once, so no formula handles broadcasting.

Two modes: with `create_graph=False` gradients are plain arrays and nodes run their array
form; with `create_graph=True` they are Tensors and nodes run their differentiable form, so
the backward pass is itself recorded.
"""

from __future__ import annotations

import sys

import numpy as np

from .backends import array_module
from .grad_mode import set_grad_enabled
from .tensor import Tensor, make_tensor, type_description
from .node import AccumulateGrad

# The generated array and Tensor namespaces and the formula helpers, installed by runtime/__init__.
OPS: dict = {}


def install(array_ops, tensor_ops, helpers) -> None:
    OPS.update(array=array_ops, tensor=tensor_ops, helpers=helpers)


def run_backward(roots, root_grads, keep_graph: bool, create_graph: bool, targets=None):
    """Propagate `root_grads` from the edges `roots`.

    targets: None to run the whole graph and accumulate into leaves; else a list of edges whose
    incoming gradient is captured and returned (in that order), running only the nodes that
    lead to them.
    """
    dependencies = _count_dependencies(roots)
    captured = {edge: None for edge in targets} if targets is not None else None
    needed = _needed_nodes(roots, dependencies, targets) if targets is not None else None
    buffers: dict = {}
    for (node, nr), grad in zip(roots, root_grads):
        _add_to_buffer(buffers, node, nr, grad)
    ready = [node for node in dict.fromkeys(node for node, _ in roots) if dependencies.get(node, 0) == 0]
    run = _Run(keep_graph, create_graph, owned_elsewhere={id(g) for g in root_grads})
    # numpy's divide-by-zero warnings: torch gives inf and nan silently
    with set_grad_enabled(create_graph), np.errstate(all="ignore"):
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None)
            outputs = run.execute(node, grads, captured, needed) if grads is not None else ()
            for index, (next_node, nr) in enumerate(node.next_functions):
                if next_node is None:
                    continue
                grad = outputs[index] if outputs else None
                if grad is not None:
                    _add_to_buffer(buffers, next_node, nr, run.validate(node, index, grad, next_node, nr))
                remaining = dependencies[next_node] - 1
                dependencies[next_node] = remaining
                if remaining == 0:
                    ready.append(next_node)
    if captured is not None:
        return [captured[edge] for edge in targets]
    return None


def accumulate_captured(tensors, grads, create_graph: bool, root_grads) -> None:
    """backward(inputs=...): add the captured gradients into the named tensors' .grad."""
    run = _Run(False, create_graph, owned_elsewhere={id(g) for g in root_grads})
    with set_grad_enabled(create_graph):
        for tensor, grad in zip(tensors, grads):
            if grad is not None:
                if tensor.grad_fn is None:
                    run._accumulate(tensor, grad)
                else:
                    run._store_grad(tensor, grad)


class _Run:
    """The state of one backward pass."""

    __slots__ = ("keep_graph", "create_graph", "owned_elsewhere")

    def __init__(self, keep_graph: bool, create_graph: bool, owned_elsewhere: set):
        self.keep_graph = keep_graph
        self.create_graph = create_graph
        # ids of gradient arrays that someone else holds (the caller's gradients, hook results,
        # arrays already stored in a .grad): accumulating them into a .grad must copy them.
        self.owned_elsewhere = owned_elsewhere

    def execute(self, node, grads: list, captured, needed):
        hooks = node._hooks
        if hooks is not None:
            grads = self._tensor_pre_hooks(hooks, grads)
        if captured is not None:
            for nr, grad in enumerate(grads):
                if (node, nr) in captured and grad is not None:
                    captured[(node, nr)] = grad
            if node not in needed:
                return ()
        if type(node) is AccumulateGrad:
            self._accumulate(node.variable, grads[0])
            return ()
        if hooks is not None and hooks.pre:
            grads = self._node_pre_hooks(hooks, grads)
        if node.num_outputs > 1 and any(g is None for g in grads):
            grads = self._zeros_for_unused_outputs(node, grads)
        outputs = node.apply_differentiable(grads) if self.create_graph else node.apply(grads)
        if not self.keep_graph:
            node.release_variables()
        if hooks is not None and hooks.post:
            outputs = self._post_hooks(hooks, outputs, grads)
        return outputs

    def _zeros_for_unused_outputs(self, node, grads: list) -> list:
        """A node of several outputs gets zeros for those no gradient reached, as in torch."""
        meta = node.output_meta
        present = next(g for g in grads if g is not None)
        xp = array_module(present._data if self.create_graph else present)
        filled = []
        for nr, grad in enumerate(grads):
            if grad is None:
                grad = xp.zeros(meta[2 * nr], meta[2 * nr + 1])
                grad = make_tensor(grad) if self.create_graph else grad
            filled.append(grad)
        return filled

    def validate(self, node, index: int, grad, next_node, nr: int):
        """Sum broadcast dims away and match the input's dtype; name the node otherwise."""
        meta = next_node.output_meta
        shape, dtype = meta[2 * nr], meta[2 * nr + 1]
        array = grad._data if self.create_graph else grad
        if array.shape != shape:
            if not _broadcastable_to(shape, array.shape):
                raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index {index} - got "
                                   f"{list(array.shape)} but expected shape compatible with {list(shape)}")
            namespace = OPS["tensor"] if self.create_graph else OPS["array"]
            grad = OPS["helpers"].sum_to(namespace, grad, shape)
        if array.dtype != dtype:
            grad = grad.to(dtype) if self.create_graph else grad.astype(dtype)
        return grad

    # ---- hooks, in PyTorch's order: tensor pre-hooks, retain_grad, node pre-hooks, node, post --

    def _tensor_pre_hooks(self, hooks, grads: list) -> list:
        grads = list(grads)
        for nr, table in hooks.tensor_pre.items():
            for hook in tuple(table.values()):
                if grads[nr] is not None:
                    grads[nr] = self._call_hook(hook, grads[nr])
        for nr, ref in hooks.retains.items():
            tensor = ref()
            if tensor is not None and grads[nr] is not None:
                self._store_grad(tensor, grads[nr])
        return grads

    def _call_hook(self, hook, grad):
        result = hook(self._as_tensor(grad))
        if result is None:
            return grad
        before, after = (grad._data, result._data) if self.create_graph else (grad, result._data)
        name = getattr(hook, "__name__", repr(hook))
        if after.shape != before.shape:
            raise RuntimeError(f"hook '{name}' has changed the size of value")
        if after.dtype != before.dtype:
            raise RuntimeError(f"hook '{name}' has changed the type of value (was {_type_name(before)} got "
                               f"{_type_name(after)})")
        if self.create_graph:
            return result
        self.owned_elsewhere.add(id(after))
        return after

    def _node_pre_hooks(self, hooks, grads: list) -> list:
        for hook in tuple(hooks.pre.values()):
            result = hook(tuple(self._as_tensor(g) for g in grads))
            if result is not None:
                grads = [self._unwrap(g) for g in result]
        return grads

    def _post_hooks(self, hooks, outputs, grads):
        wrapped_in = tuple(self._as_tensor(g) for g in grads)
        for hook in tuple(hooks.post.values()):
            result = hook(tuple(self._as_tensor(g) for g in outputs), wrapped_in)
            if result is not None:
                if len(result) != len(outputs):
                    raise RuntimeError(f"hook '{getattr(hook, '__name__', repr(hook))}' has returned an incorrect "
                                       f"number of values (got {len(result)}, but expected {len(outputs)})")
                outputs = tuple(self._unwrap(g) for g in result)
        return outputs

    def _as_tensor(self, grad):
        if grad is None or self.create_graph:
            return grad
        return make_tensor(grad)

    def _unwrap(self, value):
        if value is None or self.create_graph:
            return value
        self.owned_elsewhere.add(id(value._data))
        return value._data

    # ---- accumulation into .grad -------------------------------------------------------------

    def _accumulate(self, variable: Tensor, grad) -> None:
        if grad is None:
            return
        self._store_grad(variable, grad)
        hooks = variable._hooks
        if hooks is not None:
            for hook in tuple(hooks.post_accumulate.values()):
                hook(variable)

    def _can_steal(self, grad) -> bool:
        """Whether `grad` can become a .grad without a copy: as torch steals a gradient that no one
        else references, an array made in this backward (or a plain contiguous view of one, such
        as the transpose of a transpose) is taken as it is."""
        owner = grad if grad.base is None else grad.base
        if id(owner) in self.owned_elsewhere:
            return False
        if owner is grad:
            return True
        # references to the owner: the view's .base, the local `owner`, getrefcount's argument
        return grad.flags.c_contiguous and grad.flags.writeable and sys.getrefcount(owner) <= 3

    def _store_grad(self, tensor: Tensor, grad) -> None:
        """Add into `.grad` as torch does: in place when possible, never aliasing another's array."""
        existing = tensor._grad
        if self.create_graph:
            tensor._grad = grad if existing is None else existing + grad
            return
        if existing is None:
            if isinstance(grad, np.generic):  # numpy returns scalars from 0-d arithmetic
                grad = np.array(grad)
            elif not self._can_steal(grad):
                grad = grad.copy()
            self.owned_elsewhere.add(id(grad if grad.base is None else grad.base))
            tensor._grad = make_tensor(grad)
        elif existing.grad_fn is not None or existing._requires_grad:
            tensor._grad = make_tensor(existing._data + grad)
        else:
            existing._data += grad
            existing._bump()


def _type_name(array) -> str:
    return type_description(array).split(" ")[0]


def _add_to_buffer(buffers: dict, node, nr: int, grad) -> None:
    slots = buffers.get(node)
    if slots is None:
        slots = buffers[node] = [None] * node.num_outputs
    slots[nr] = grad if slots[nr] is None else slots[nr] + grad


def _count_dependencies(roots) -> dict:
    dependencies: dict = {}
    stack = [node for node, _ in roots]
    seen = set(stack)
    while stack:
        node = stack.pop()
        for next_node, _ in node.next_functions:
            if next_node is None:
                continue
            dependencies[next_node] = dependencies.get(next_node, 0) + 1
            if next_node not in seen:
                seen.add(next_node)
                stack.append(next_node)
    return dependencies


def _needed_nodes(roots, dependencies: dict, targets) -> set:
    """Nodes with a path to a target node below them: only these run when gradients are captured."""
    remaining = dict(dependencies)
    order, stack = [], [node for node in dict.fromkeys(n for n, _ in roots) if remaining.get(node, 0) == 0]
    while stack:  # Kahn's algorithm: a topological order of the reachable graph
        node = stack.pop()
        order.append(node)
        for next_node, _ in node.next_functions:
            if next_node is not None:
                remaining[next_node] -= 1
                if remaining[next_node] == 0:
                    stack.append(next_node)
    target_nodes = {node for node, _ in targets}
    needed: set = set()
    for node in reversed(order):
        if any(n is not None and (n in target_nodes or n in needed) for n, _ in node.next_functions):
            needed.add(node)
    return needed


def _broadcastable_to(shape: tuple, grad_shape: tuple) -> bool:
    if len(grad_shape) < len(shape):
        return False
    tail = grad_shape[len(grad_shape) - len(shape):]
    return all(s == g or s == 1 for s, g in zip(shape, tail))
