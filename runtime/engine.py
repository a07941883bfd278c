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
import threading

import numpy as np

from . import backends, namespaces
from .anomaly import ANOMALY, report_error
from .backends import array_module, device_of
from .formulas import sum_to
from .grad_mode import STATE as GRAD_MODE
from .node import NO_EDGE, AccumulateGrad, KnownZero
from .tensor import Tensor, make_tensor, type_description


class _EngineState(threading.local):
    """What code running inside a backward pass may ask of it, per thread as grad mode (torch keeps
    it per graph task, which runs on the thread that started it)."""

    # False while a pass runs that captures gradients (autograd.grad, backward(inputs=...)):
    # reentrant checkpointing cannot work there (torch.autograd._is_checkpoint_valid).
    checkpoint_valid = True


STATE = _EngineState()


def run_backward(roots, root_grads, keep_graph: bool, create_graph: bool, targets=None, accumulate: bool = False):
    """Propagate `root_grads` from the edges `roots`.

    targets None: run the whole graph, accumulating into every leaf's .grad.
    targets a list of edges, accumulate False (autograd.grad): the gradient arriving at each is
        captured and returned (in that order); only nodes with a path to a target run, and only
        they and the targets' nodes receive gradients (so hooks elsewhere do not fire).
    targets a list of edges, accumulate True (backward(inputs=...)): as above, but the targets'
        own nodes run too: AccumulateGrad for a leaf, the grad_fn of a non-leaf (whose retain_grad
        hook stores its .grad); nothing is returned.
    """
    dependencies = _count_dependencies(roots)
    captured = needed = receiving = None
    if targets is not None:
        needed = _needed_nodes(roots, dependencies, targets)
        target_nodes = {node for node, _ in targets}
        if accumulate:
            needed |= target_nodes
        else:
            captured = {edge: None for edge in targets}
        receiving = needed | target_nodes | {node for node, _ in roots}  # a root's hooks run, as torch's
    buffers: dict = {}
    for (node, nr), grad in zip(roots, root_grads):
        if receiving is None or node in receiving:
            buffers[node] = _with_grad(buffers.get(node), node, nr, grad)
    # the stack of nodes whose gradients have all arrived, each with its gradients
    ready = []
    for node, _ in roots:
        if dependencies[node] == 0:
            dependencies[node] = -1  # a root named twice is started once
            ready.append((node, buffers.pop(node, None)))
    run = _Run(keep_graph, create_graph, owned_elsewhere=set(map(id, root_grads)))
    if targets is not None:
        run.wanted = needed | target_nodes
    anomaly = ANOMALY.enabled
    check_nan = anomaly and ANOMALY.check_nan
    plain = targets is None and not create_graph  # no targets, array mode: nodes may be called directly
    checkpoint_valid = STATE.checkpoint_valid
    STATE.checkpoint_valid = checkpoint_valid and targets is None
    node = None
    grad_mode = GRAD_MODE.enabled
    GRAD_MODE.enabled = create_graph
    cuda = backends.cuda_loaded  # then each node runs on the backend and device of its gradients
    try:
        # numpy's divide-by-zero warnings: torch gives inf and nan silently
        with np.errstate(all="ignore"):
            while ready:
                node, grads = ready.pop()
                if grads is None:  # no gradient reached it: torch still runs it, unpacking (checking) its saved tensors
                    if needed is None or node in needed:
                        run.skip(node)
                    outputs = ()
                elif anomaly:
                    outputs = run.execute_in_anomaly_mode(node, grads, captured, needed, check_nan)
                elif plain and node._hooks is None and node.num_outputs == 1:
                    # the common case, without execute's checks for hooks and captures
                    if type(node) is AccumulateGrad:  # a leaf passed as a root
                        run._store_grad(node.variable, grads[0])
                        continue
                    outputs = backends.backward(node, grads) if cuda else node.apply(grads)
                    if not keep_graph:
                        node.release_variables()
                else:
                    outputs = run.execute(node, grads, captured, needed)
                # the node's gradients are spent: a view among its outputs, of an array only they
                # held, can then become a leaf's .grad without a copy (_can_steal counts references)
                grads = None
                for index, (next_node, nr) in enumerate(node.next_functions):
                    if next_node is None:
                        continue
                    grad = outputs[index] if outputs else None
                    if grad is not None and (receiving is None or next_node in receiving):
                        meta = next_node.output_meta
                        if type(grad) is KnownZero:
                            grad = grad.shaped(meta[2 * nr], meta[2 * nr + 1])
                            run.known_zeros, plain = True, False  # (then every node runs through execute)
                        elif create_graph or grad.shape != meta[2 * nr] or grad.dtype != meta[2 * nr + 1]:
                            grad = run.validate(node, index, grad, next_node, nr)
                    else:
                        grad = None
                    remaining = dependencies[next_node] - 1
                    dependencies[next_node] = remaining
                    if remaining:  # more gradients to come: wait in the buffer
                        if grad is not None:
                            buffers[next_node] = _with_grad(buffers.get(next_node), next_node, nr, grad)
                        continue
                    slots = buffers.pop(next_node, None)
                    if grad is not None:
                        slots = [grad] if slots is None and next_node.num_outputs == 1 else \
                            _with_grad(slots, next_node, nr, grad)
                    if plain and type(next_node) is AccumulateGrad and next_node._hooks is None and not anomaly:
                        # a leaf whose gradients have all arrived: accumulated now, not via the stack
                        if slots is not None:
                            run._store_grad(next_node.variable, slots[0])
                    else:
                        ready.append((next_node, slots))
    except Exception as error:
        if anomaly and node is not None:
            report_error(node, error)
        raise
    finally:
        GRAD_MODE.enabled = grad_mode
        STATE.checkpoint_valid = checkpoint_valid
    if captured is not None:
        return [captured[edge] for edge in targets]
    return None


class _Run:
    """The state of one backward pass."""

    __slots__ = ("keep_graph", "create_graph", "owned_elsewhere", "wanted", "known_zeros")

    def __init__(self, keep_graph: bool, create_graph: bool, owned_elsewhere: set):
        self.keep_graph = keep_graph
        self.create_graph = create_graph
        self.wanted = None  # with targets: the nodes that lead to one, and theirs
        self.known_zeros = False  # whether a formula returned a KnownZero in this pass
        # ids of gradient arrays that someone else holds (the caller's gradients, hook results,
        # arrays already stored in a .grad): accumulating them into a .grad must copy them.
        self.owned_elsewhere = owned_elsewhere

    def execute(self, node, grads: list, captured, needed):
        hooks = node._hooks
        # torch's order: a node that runs has its tensor pre-hooks called with it, after the
        # capture; one that only delivers a captured gradient calls them first
        if captured is not None and node in needed:
            self._capture(node, grads, captured)
        if hooks is not None:
            grads = self._tensor_pre_hooks(hooks, grads)
        if needed is not None and node not in needed:  # a root or target that does not run itself
            if captured is not None:
                self._capture(node, grads, captured)
            return ()
        if hooks is not None and hooks.pre:
            grads = self._node_pre_hooks(hooks, grads)
        if type(node) is AccumulateGrad:
            self._accumulate(node.variable, grads[0])
            if hooks is not None and hooks.post:
                self._post_hooks(hooks, (), grads)
            return ()
        if self.known_zeros and any(type(g) is KnownZero for g in grads):
            if node.passes_known_zeros and all(g is None or type(g) is KnownZero for g in grads):
                self.skip(node)
                zero = next(g for g in grads if g is not None)
                outputs = tuple(None if next_node is None else zero for next_node, _ in node.next_functions)
                return self._post_hooks(hooks, outputs, grads) if hooks is not None and hooks.post else outputs
            # beside gradients that are not zero: undefined to a formula (a ZeroTensor adds nothing to
            # torch's), zeros to a user's Function
            grads = [(None if node.passes_known_zeros else g.materialize(self.create_graph))
                     if type(g) is KnownZero else g for g in grads]
        edges = node.next_functions
        if self.wanted is not None:  # torch computes only the gradients that lead to a target: one
            node.next_functions = tuple(e if e[0] in self.wanted else NO_EDGE for e in edges)  # elsewhere may fail
        try:
            if self.create_graph:
                outputs = node.apply_differentiable(grads)
            else:
                outputs = backends.backward(node, grads) if backends.cuda_loaded else node.apply(grads)
        finally:
            node.next_functions = edges
        if not self.keep_graph:
            node.release_variables()
        if hooks is not None and hooks.post:
            outputs = self._post_hooks(hooks, outputs, grads)
        return outputs

    def skip(self, node) -> None:
        """A node that does not run its formulas: torch would, unpacking (checking) its saved tensors."""
        if node.saved_slots or node.saved_values:
            node.check_saved()
            if not self.keep_graph:
                node.release_variables()

    def _capture(self, node, grads, captured) -> None:
        for nr, grad in enumerate(grads):
            if (node, nr) in captured and grad is not None:
                captured[(node, nr)] = self._seen(grad)

    def execute_in_anomaly_mode(self, node, grads: list, captured, needed, check_nan: bool):
        """execute, with the node recorded as the parent of nodes its backward creates, and its
        results checked for NaN (after its post-hooks, as torch)."""
        previous = ANOMALY.current_node
        ANOMALY.current_node = node
        try:
            outputs = self.execute(node, grads, captured, needed)
        finally:
            ANOMALY.current_node = previous
        if check_nan:
            for index, grad in enumerate(outputs):
                if grad is None or type(grad) is KnownZero:
                    continue
                array = grad._data if isinstance(grad, Tensor) else grad
                if bool(array_module(array).isnan(array).any()):
                    raise RuntimeError(f"Function '{node.name()}' returned nan values in its {index}th output.")
        return outputs

    def validate(self, node, index: int, grad, next_node, nr: int):
        """Sum broadcast dims away and match the input's dtype; name the node otherwise."""
        meta = next_node.output_meta
        shape, dtype = meta[2 * nr], meta[2 * nr + 1]
        array = grad._data if self.create_graph else grad
        if array.shape != shape:
            axes = _broadcast_axes(shape, array.shape)
            if axes is None:
                raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index {index} - got "
                                   f"{list(array.shape)} but expected shape compatible with {list(shape)}")
            if self.create_graph:
                grad = sum_to(namespaces.tensor_ops, grad, shape)
            else:  # one reduction, numpy's called directly: the hot path of every bias
                summed = np.add.reduce(grad, axis=axes) if type(grad) is np.ndarray else grad.sum(axis=axes)
                grad = summed.reshape(shape)
        if dtype.kind not in "fc":  # the history of an integral tensor written from one that requires grad
            raise RuntimeError(f"isDifferentiableType(grad.scalar_type()) INTERNAL ASSERT FAILED: a gradient "
                               f"reached {node.name()}'s input of dtype {dtype} (torch's engine asserts so)")
        if array.dtype != dtype:
            grad = grad.to(dtype) if self.create_graph else grad.astype(dtype)
        return grad

    # ---- hooks, in PyTorch's order: tensor pre-hooks, retain_grad, node pre-hooks, node, post --
    # (for AccumulateGrad: tensor pre-hooks, node pre-hooks, accumulation, post-accumulate-grad
    # hooks, node post-hooks). A hook's result is checked as torch checks it.

    def _tensor_pre_hooks(self, hooks, grads: list) -> list:
        grads = list(grads)
        for nr, table in hooks.tensor_pre.items():
            for hook in tuple(table.values()):  # (an undefined gradient too, as None: torch's)
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
        if not isinstance(result, Tensor):
            raise TypeError(f"expected Variable, but hook returned '{type(result).__name__}'")
        if grad is not None:  # (what replaces an undefined gradient has nothing to match)
            _check_hook_result(hook, self._array(grad), result._data)
        return self._unwrap(result)

    def _node_pre_hooks(self, hooks, grads: list) -> list:
        for hook in tuple(hooks.pre.values()):
            result = hook(tuple(self._as_tensor(g) for g in grads))
            if result is not None:
                grads = list(self._checked_results(hook, grads, result))
        return grads

    def _post_hooks(self, hooks, outputs, grads):
        wrapped_in = tuple(self._as_tensor(g) for g in grads)
        for hook in tuple(hooks.post.values()):
            result = hook(tuple(self._as_tensor(g) for g in outputs), wrapped_in)
            if result is not None:
                outputs = self._checked_results(hook, outputs, result)
        return outputs

    def _checked_results(self, hook, previous, result) -> tuple:
        """A node hook's replacement gradients, checked against the ones it was given."""
        if not isinstance(result, tuple):
            raise TypeError(f"expected tuple, but hook returned '{type(result).__name__}'")
        if len(result) != len(previous):
            raise RuntimeError(f"hook '{_hook_name(hook)}' has returned an incorrect number of values (got "
                               f"{len(result)}, but expected {len(previous)})")
        checked = []
        for before, after in zip(previous, result):
            if after is not None:
                if before is None:
                    raise RuntimeError("can't replace a None gradient with a non-None value")
                if not isinstance(after, Tensor):
                    raise TypeError(f"expected Variable, but hook returned '{type(after).__name__}'")
                _check_hook_result(hook, self._array(before), after._data)
            checked.append(self._unwrap(after))
        return tuple(checked)

    def _as_tensor(self, grad):
        if grad is None:
            return grad
        grad = self._seen(grad)
        return grad if self.create_graph else make_tensor(grad)

    def _array(self, grad):
        grad = self._seen(grad)
        return grad._data if self.create_graph else grad

    def _seen(self, grad):
        """A gradient as whoever sees it gets it: a KnownZero made zeros."""
        return grad.materialize(self.create_graph) if type(grad) is KnownZero else grad

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
                result = hook(variable)
                if result is not None:  # torch's checks: these hooks observe, they return nothing
                    if not isinstance(result, Tensor):
                        raise TypeError(f"expected Variable, but hook returned '{type(result).__name__}'")
                    raise RuntimeError("Tensor post accumulate grad hooks should return None.")

    def _can_steal(self, grad, variable) -> bool:
        """Whether `grad` can become a .grad without a copy: as torch steals a gradient that no one
        else references and that is laid out like the variable, an array made in this backward
        (or a writable view of one, such as the transpose of a transpose) is taken as it is."""
        owner = grad if grad.base is None else grad.base
        if id(owner) in self.owned_elsewhere or (grad.strides != variable.strides
                                                 and not _obeys_layout_of(variable, grad)):
            return False
        if owner is grad:
            return True
        # references to the owner: the view's .base, the local `owner`, getrefcount's argument; a
        # read-only view (numpy's broadcast_to makes them, even 0-d) cannot take later additions
        return _overlap_free(grad) and getattr(grad.flags, "writeable", True) and sys.getrefcount(owner) <= 3

    def _store_grad(self, tensor: Tensor, grad) -> None:
        """Add into `.grad` as torch does: in place when possible, never aliasing another's array."""
        grad = self._seen(grad)
        existing = tensor._grad
        if self.create_graph:  # a first gradient is cloned, as torch's (grad mode is on: nothing is stolen)
            tensor._grad = namespaces.tensor_ops.clone(grad) if existing is None else existing + grad
            return
        if backends.cuda_loaded:
            backends.follow((grad,))
        if existing is None:
            if isinstance(grad, np.generic):  # numpy returns scalars from 0-d arithmetic
                grad = np.array(grad)
            elif not self._can_steal(grad, tensor._data):
                grad = _copy_in_layout_of(tensor._data, grad)
            self.owned_elsewhere.add(id(grad if grad.base is None else grad.base))
            tensor._grad = make_tensor(grad)
        elif existing.grad_fn is not None or existing._requires_grad or tensor.grad_fn is not None:
            tensor._grad = make_tensor(existing._data + grad)  # (a retained non-leaf's is replaced, as torch's)
        else:
            existing._data += grad
            existing._bump()


# torch's gradient layout contract: a .grad has its variable's strides where the variable is
# dense (a transposed weight gets a transposed gradient), else it is contiguous.

def _obeys_layout_of(variable, grad) -> bool:
    if variable.flags.c_contiguous or variable.flags.f_contiguous:  # strides of size-1 dims are free
        return all(g == v for g, v, n in zip(grad.strides, variable.strides, grad.shape) if n != 1)
    return grad.flags.c_contiguous


def _overlap_free(array) -> bool:
    """No two elements share memory (an expanded view, stride 0, would): numpy and cupy alike
    (cupy's flags have no `writeable` to tell broadcast views by)."""
    return all(stride or extent <= 1 for stride, extent in zip(array.strides, array.shape))


def _copy_in_layout_of(variable, grad):
    dense = variable.flags.c_contiguous or variable.flags.f_contiguous
    copy = array_module(grad).empty_like(variable if dense else grad, order="K" if dense else "C")
    copy[...] = grad
    return copy


def _hook_name(hook) -> str:
    return getattr(hook, "__name__", "<unknown>")


def _check_hook_result(hook, original, result) -> None:
    """torch's check_variable_result: a hook may change a gradient's values, not its type or size."""
    if original.dtype != result.dtype or device_of(original) != device_of(result):
        was, got = (type_description(a).split(" [")[0] for a in (original, result))
        raise RuntimeError(f"hook '{_hook_name(hook)}' has changed the type of value (was {was} got {got})")
    if original.shape != result.shape:
        raise RuntimeError(f"hook '{_hook_name(hook)}' has changed the size of value")


def _with_grad(slots: list | None, node, nr: int, grad) -> list:
    """A node's gradient slots (new ones for None) with `grad` added into slot `nr`."""
    if slots is None:
        slots = [None] * node.num_outputs
    held = slots[nr]
    if held is None or type(held) is KnownZero:
        slots[nr] = grad
    elif type(grad) is not KnownZero:
        slots[nr] = held + grad
    return slots


def _count_dependencies(roots) -> dict:
    """Edges leading into each node reachable from the roots (the roots start at 0: a root
    below another root is still found once)."""
    dependencies = {node: 0 for node, _ in roots}
    stack = list(dependencies)
    while stack:
        for next_node, _ in stack.pop().next_functions:
            if next_node is None:
                continue
            count = dependencies.get(next_node)
            if count is None:
                dependencies[next_node] = 1
                stack.append(next_node)
            else:
                dependencies[next_node] = count + 1
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


def _broadcast_axes(shape: tuple, grad_shape: tuple) -> tuple | None:
    """The axes by which `grad_shape` broadcasts `shape`, or None where it does not."""
    lead = len(grad_shape) - len(shape)
    if lead < 0:
        return None
    axes = list(range(lead))
    for i, size in enumerate(shape):
        if size != grad_shape[lead + i]:
            if size != 1:
                return None
            axes.append(lead + i)
    return tuple(axes)
