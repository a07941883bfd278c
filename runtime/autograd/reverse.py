"""Reverse mode as torch.autograd calls it: backward() and grad() turn tensors and their gradients
into the engine's roots and root gradients."""

from __future__ import annotations

import numpy as np

from .. import engine
from ..backends import array_module
from ..node import edge
from ..grad_mode import no_grad
from ..tensor import Tensor, make_tensor, requires_grad, view_of


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None,
             inputs=None) -> None:
    """Accumulate d(tensors)/d(leaf) into every leaf's .grad (or only into `inputs`' .grad)."""
    tensors = _as_tuple(tensors)
    grad_tensors = _as_tuple(grad_tensors if grad_tensors is not None else grad_variables, len(tensors))
    retain_graph = create_graph if retain_graph is None else retain_graph
    roots = _root_edges(tensors)
    root_grads = _root_grads(tensors, grad_tensors, create_graph)
    if inputs is None:
        engine.run_backward(roots, root_grads, retain_graph, create_graph)
        return
    inputs = _as_tuple(inputs)
    if not inputs:
        raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    for index, tensor in enumerate(inputs):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"backward: inputs must be Tensors, got {type(tensor).__name__} at position {index}")
        tensor.retain_grad()  # as torch: a non-leaf named in inputs keeps its .grad from now on
    # Only the nodes between the roots and the inputs run, and the inputs' own nodes: a leaf's
    # AccumulateGrad, a non-leaf's grad_fn (its retain_grad hook stores .grad).
    engine.run_backward(roots, root_grads, retain_graph, create_graph, [edge(t) for t in inputs], accumulate=True)


def tensor_backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """Tensor.backward (bound by gradspec.api): backward() from this one tensor."""
    backward(self, gradient, retain_graph, create_graph, inputs=inputs)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of `outputs` with respect to `inputs`, returned rather than accumulated."""
    if is_grads_batched:
        raise NotImplementedError("autograd.grad(is_grads_batched=True) is not supported")
    outputs, inputs = _as_tuple(outputs), _as_tuple(inputs)
    allow_unused = materialize_grads if allow_unused is None else allow_unused
    if materialize_grads and not allow_unused:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, "
                         "but got: allow_unused=False.")
    grad_outputs = _as_tuple(grad_outputs, len(outputs))
    retain_graph = create_graph if retain_graph is None else retain_graph
    roots = _root_edges(outputs)
    root_grads = _root_grads(outputs, grad_outputs, create_graph)
    targets = [_input_edge(t, "grad") for t in inputs]
    grads = engine.run_backward(roots, root_grads, retain_graph, create_graph, targets)
    # a gradient that reached an input untouched is the caller's own tensor, and one that reached
    # two inputs untouched (through clone, or a sum) is one tensor twice, as torch's
    wrapped = {id(g._data): (g._data, g) for g in grad_outputs if isinstance(g, Tensor)}  # id: (array, tensor)
    result = []
    for index, (tensor, g) in enumerate(zip(inputs, grads)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {index} appears to not have been used in the "
                                   "graph. Set allow_unused=True if this is the desired behavior.")
            if materialize_grads:
                g = np.zeros_like(tensor._data)
        array, known = wrapped.get(id(g), (None, None))
        if array is not g:
            known = _wrap(g, create_graph)
            wrapped[id(g)] = g, known
        result.append(known)
    return tuple(result)


def _is_checkpoint_valid() -> bool:
    """False inside a backward pass that captures gradients (autograd.grad, backward(inputs=...)),
    where reentrant checkpointing cannot run."""
    return engine.STATE.checkpoint_valid


def _wrap(grad, create_graph: bool):
    if grad is None or create_graph:
        return grad
    if grad.base is not None and 0 in grad.strides:
        # an expanded gradient (sum's, mean's): torch's formula returns grad.expand(...), a view
        # made with grad mode off, which a recorded in-place write refuses as torch's does
        owner = grad.base
        while owner.base is not None:
            owner = owner.base
        with no_grad():
            return view_of(make_tensor(owner), grad)
    return make_tensor(grad)


def _as_tuple(value, length: int | None = None) -> tuple:
    if value is None:
        return (None,) * (length or 0)
    if isinstance(value, Tensor) or not isinstance(value, (tuple, list)):
        value = (value,)
    value = tuple(value)
    if length is not None and len(value) != length:
        raise RuntimeError(f"got {length} tensors and {len(value)} gradients")
    return value


def _root_edges(tensors) -> list:
    roots = []
    for index, tensor in enumerate(tensors):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"backward expects Tensors, got {type(tensor).__name__} at position {index}")
        root = edge(tensor)
        if root[0] is None:
            raise RuntimeError(f"element {index} of tensors does not require grad and does not have a grad_fn")
        roots.append(root)
    return roots


def _root_grads(tensors, grads, create_graph: bool) -> list:
    result = []
    for index, (tensor, grad) in enumerate(zip(tensors, grads)):
        data = tensor._data
        if grad is None:
            if data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            value = make_tensor(_ones(data))
        elif isinstance(grad, Tensor):
            if grad._data.shape != data.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{index}] has a shape of {grad.shape} and "
                                   f"output[{index}] has a shape of {tensor.shape}.")
            value = grad if grad._data.dtype == data.dtype else grad.to(tensor.dtype)
        else:
            raise TypeError(f"gradients can be either Tensors or None, but got {type(grad).__name__}")
        result.append(value if create_graph else value._data)
    return result


def _ones(data):
    """The implicit gradient of a one-element output: np.ones_like by one C call, not four
    Python ones (the cost of each shows when a training step leaves the caches cold)."""
    if type(data) is np.ndarray:
        return np.array(1, data.dtype).reshape(data.shape)
    return array_module(data).ones_like(data)


def _input_edge(tensor, caller: str):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{caller}: inputs must be Tensors, got {type(tensor).__name__}")
    if not requires_grad(tensor):  # (a view whose base came to require grad does too)
        raise RuntimeError("One of the differentiated Tensors does not require grad")
    return edge(tensor)
