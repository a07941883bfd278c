"""In-place ops: `x.mul_(2)` is `mul(x, 2)` computed out of place, written back into x's storage,
and, when a graph is recorded, made x's history (x.grad_fn becomes the new MulBackward0).

Reusing the out-of-place op keeps one derivative per op in the spec. What PyTorch gets from
its in-place formulas is restored here: where the new node saved x itself, it gets a snapshot
of x as it was (same history, old values), and where it saved its output, it gets x (so a
later in-place write to x is caught by the version check).
"""

from __future__ import annotations

import numpy as np

from . import namespaces
from .grad_mode import STATE, no_grad
from .node import SavedOutput
from .tensor import LEAF_INPLACE_MESSAGE, Tensor, make_tensor, requires_grad, type_description


def inplace(self: Tensor, op, *args, casting: str = "same_kind", **kwargs) -> Tensor:
    base = self._base
    through_view = base is not None and base._requires_grad and STATE.enabled
    if not through_view and not is_recorded(self, *args, *kwargs.values()):
        with no_grad():
            result = op(self, *args, **kwargs)
        _write(self, result._data, op, casting)
        return self
    _check_graph_inplace(self)
    result = op(self, *args, **kwargs)
    node = result.grad_fn
    snapshot = _snapshot_if_saved(self, node)
    if through_view:
        _rebase_base_of_view(self, base, result)
    _write(self, result._data, op, casting)
    if node is not None:
        _rebase(self, result, node, snapshot)
    if through_view:
        _view_history_from_base(self, base)
    return self


def is_recorded(*values) -> bool:
    """Whether an op over these values records a node (grad mode on, some input requiring grad)."""
    return STATE.enabled and any(map(requires_grad, values))


def _check_graph_inplace(self: Tensor) -> None:
    if self._requires_grad and self.grad_fn is None:
        raise RuntimeError(LEAF_INPLACE_MESSAGE)
    base = self._base
    if base is not None and base._requires_grad and base.grad_fn is None:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")


def _positions_in_base(view: Tensor, base: Tensor) -> np.ndarray:
    """Flat index into the base of every element of the view, from their memory addresses."""
    data, owner = view._data, base._data
    if not owner.flags.c_contiguous:
        raise NotImplementedError("in-place modification of a view of a non-contiguous tensor that requires grad "
                                  "is not supported: make the base contiguous first")
    offset = (data.__array_interface__["data"][0] - owner.__array_interface__["data"][0]) // owner.itemsize
    steps = [s // owner.itemsize for s in data.strides]
    positions = np.full(data.shape, offset, dtype=np.int64)
    for axis, step in enumerate(steps):
        shape = [1] * data.ndim
        shape[axis] = data.shape[axis]
        positions = positions + (np.arange(data.shape[axis]) * step).reshape(shape)
    return positions


def _rebase_base_of_view(view: Tensor, base: Tensor, result: Tensor) -> None:
    """The base's new history, as torch's CopySlices: the base with the view's elements replaced
    by the op's result (where over a mask, the result placed by index_backward)."""
    F = namespaces.tensor_ops
    positions = _positions_in_base(view, base).reshape(-1)
    shape = base._data.shape
    mask = np.zeros(shape, bool)
    mask.reshape(-1)[positions] = True
    placed = F.index_backward(F.reshape(result, [-1]), shape, np.unravel_index(positions, shape))
    replaced = F.where(make_tensor(mask), placed, base)
    base.grad_fn, base._output_nr, base._requires_grad = replaced.grad_fn, 0, True


def _view_history_from_base(view: Tensor, base: Tensor) -> None:
    """The view's history after the write: its elements picked out of the base's new history."""
    F = namespaces.tensor_ops
    positions = _positions_in_base(view, base)
    picked = F.reshape(F.index(F.reshape(base, [-1]), [positions.reshape(-1)]), list(view._data.shape))
    view.grad_fn, view._output_nr, view._requires_grad = picked.grad_fn, 0, True


def _write(self: Tensor, data, op, casting: str) -> None:
    name = getattr(op, "__name__", "op")
    target = self._data
    if np.broadcast_shapes(data.shape, target.shape) != target.shape:
        raise RuntimeError(f"{name}_(): output with shape {list(target.shape)} doesn't match the broadcast shape "
                           f"{list(np.broadcast_shapes(data.shape, target.shape))}")
    if not np.can_cast(data.dtype, target.dtype, casting):
        raise RuntimeError(f"{name}_(): result type {cast_name(data.dtype)} can't be cast to the desired output "
                           f"type {cast_name(target.dtype)}")
    target[...] = data
    self._bump()


def cast_name(dtype) -> str:
    """torch's scalar-type name in casting errors (Float, Double, Long, ...)."""
    return type_description(np.empty(0, dtype)).split(" ")[0].split(".")[-1].removesuffix("Tensor")


def _snapshot_if_saved(self: Tensor, node):
    """x as it is now, if the node saved x itself: its history, and a copy of its values."""
    if node is None or not any(getattr(node, slot) is self for slot in node.saved_slots):
        return None
    snapshot = make_tensor(self._data.copy(), self._requires_grad, self.grad_fn)
    snapshot._output_nr = self._output_nr
    return snapshot


def _rebase(self: Tensor, result: Tensor, node, snapshot) -> None:
    versions = list(node.saved_versions) if node.saved_slots else []
    for position, slot in enumerate(node.saved_slots):
        saved = getattr(node, slot)
        if saved is self:
            setattr(node, slot, snapshot)
            versions[position] = 0
        elif slot in node.output_slots and saved._data is result._data:
            setattr(node, slot, SavedOutput(self))
            versions[position] = self._version
    if versions:
        node.saved_versions = tuple(versions)
    self.grad_fn = node
    self._output_nr = result._output_nr
    self._requires_grad = True
