"""In-place ops: `x.mul_(2)` is `mul(x, 2)` computed out of place, written back into x's storage,
and, when a graph is recorded, made x's history (x.grad_fn becomes the new MulBackward0).

Reusing the out-of-place op keeps one derivative per op in the spec. What PyTorch gets from
its in-place formulas is restored here: where the new node saved x itself, it gets a snapshot
of x as it was (same history, old values), and where it saved its output, it gets x (so a
later in-place write to x is caught by the version check).
"""

from __future__ import annotations

import contextlib
import re
import weakref

import numpy as np

from . import namespaces
from .backends import array_module
from .dtypes import can_cast, scalar_type_name
from .grad_mode import STATE, no_grad
from .node import SavedOutput
from .tensor import LEAF_INPLACE_MESSAGE, Tensor, make_tensor, refresh_view, requires_grad, set_view_refresher


# ops torch lets write where several elements share a location (one value for all of them)
WRITES_SHARED_LOCATIONS = frozenset({"fill", "zero", "masked_fill", "index_put"})


def inplace(self: Tensor, op, *args, casting: str = "same_kind", **kwargs) -> Tensor:
    check_no_internal_overlap(self._data, op.__name__)  # torch's first check, before any dtype's
    if op.__name__ != "fill":  # fill_ reads its value as a number; index_put_ refuses any shared memory
        check_no_partial_overlap(self, *args, *kwargs.values(), full=op.__name__ == "index_put")
    base = self._base
    if base is not None:
        refresh_view(self)
    if not is_recorded(self, *args, *kwargs.values()):
        with no_grad():
            result = op(self, *args, **kwargs)
        write(self, result._data, op, casting)
        return self
    check_graph_inplace(self)
    with _integral_history(self):
        return _recorded_write(self, base, op, args, kwargs, casting)


@contextlib.contextmanager
def _integral_history(tensor: Tensor):
    """An integral tensor that requires grad (a fill_ from a tensor that does leaves one): torch
    rebases its history, and derives its views' from it, where an out-of-place op refuses to
    record an integral result."""
    if tensor._data.dtype.kind == "f":
        yield
        return
    STATE.integral_in_place = True
    try:
        yield
    finally:
        STATE.integral_in_place = False


def _recorded_write(self: Tensor, base, op, args, kwargs, casting: str) -> Tensor:
    result = op(self, *args, **kwargs)
    _check_write(self, result._data, op, casting)  # before any history changes
    node = result.grad_fn
    snapshot = _snapshot_if_saved(self, node)
    if base is not None:
        _rebase_base_of_view(self, base, result)
    write(self, result._data, op, casting)
    if node is not None:
        _rebase(self, result, node, snapshot)
    if base is not None:
        _view_history_from_base(self, base)
        if node is not None:
            _saved_output_follows_view(node, self)
    return self


PARTIAL_OVERLAP_MESSAGE = ("unsupported operation: some elements of the input tensor and the written-to tensor refer "
                           "to a single memory location. Please clone() the tensor before performing the operation.")


def check_no_partial_overlap(self: Tensor, *operands, full: bool = False) -> None:
    """torch refuses an in-place op reading a tensor that shares part (not all, strides alike; with
    `full`, any) of the memory it writes (x.add_(x[0])); where either is not dense it cannot tell,
    and lets it be."""
    target = self._data
    for operand in operands:
        if not isinstance(operand, Tensor):
            continue
        if operand is self:
            if full:
                raise RuntimeError(PARTIAL_OVERLAP_MESSAGE)
            continue
        source = operand._data
        if (source.base is None and target.base is None) or type(source) is not np.ndarray:
            continue  # two allocations of their own: disjoint
        if not _dense(source) or not _dense(target) or not np.may_share_memory(source, target):
            continue
        start, other = _address(target), _address(source)
        # torch's "full" overlap: the same bytes with the same strides; anything else shared is partial
        if full or (start, target.nbytes, target.strides) != (other, source.nbytes, source.strides):
            raise RuntimeError(PARTIAL_OVERLAP_MESSAGE)


def _dense(array) -> bool:
    return array.flags.c_contiguous or array.flags.f_contiguous


def is_recorded(*values) -> bool:
    """Whether an op over these values records a node (grad mode on, some input requiring grad)."""
    return STATE.enabled and any(map(requires_grad, values))


def check_graph_inplace(self: Tensor) -> None:
    """torch's check_inplace, for an in-place op that records a node."""
    base = self._base
    if base is not None:
        if self._view_meta.creation != "default":
            raise RuntimeError(view_rebase_message(self, indirect=False))
        if requires_grad(self) and base.grad_fn is None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")
    elif self._requires_grad and self.grad_fn is None:
        raise RuntimeError(LEAF_INPLACE_MESSAGE)


_MULTI_OUTPUT_HINT = (" This view is the output of a function that returns multiple views. Such functions do not "
                      "allow the output views to be modified inplace. You should replace the inplace operation by an "
                      "out-of-place one.")
_NO_GRAD_HINT = (" Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify your code "
                 "by moving both the view and the inplace either both inside the no_grad block (if you don't want "
                 "the inplace to be tracked) or both outside (if you want the inplace to be tracked).")


def view_rebase_message(view: Tensor, indirect: bool) -> str:
    """torch's handle_view_on_rebase: why a view made with grad mode off, or an output of an op
    with several (split, unbind), may not be written in place (directly, or through its base)."""
    meta = view._view_meta
    modified = "its base or another view of its base has been" if indirect else "is being"
    grad_fn = view.grad_fn
    if meta.creator is not None:
        name, output_nr = meta.creator, meta.output_nr
    elif grad_fn is not None:
        name, output_nr = re.sub(r"Backward\d*$", "", grad_fn.name()), view._output_nr
    if meta.creation == "no_grad" or grad_fn is None:
        prefix = (f"Output {output_nr} of {name} is a view of a view which was created in" if grad_fn is not None
                  else "A view was created in")
        message = f"{prefix} no_grad mode and {modified} modified inplace with grad mode enabled."
    else:
        message = f"Output {output_nr} of {name} is a view and {modified} modified inplace."
    return message + (_MULTI_OUTPUT_HINT if meta.creation == "multi_output" else _NO_GRAD_HINT)


def mark_multi_output(views, creator: str) -> None:
    """The outputs of split/chunk/unbind: views torch refuses to write in place where that is
    recorded (their creation mode stays no_grad where grad mode was off)."""
    for output_nr, view in enumerate(views):
        meta = view._view_meta
        if meta.creation == "default":
            meta.creation, meta.creator, meta.output_nr = "multi_output", creator, output_nr


def _refresh(view: Tensor) -> None:
    """A stale view's history, derived again from its base's (see tensor.refresh_view)."""
    meta, base = view._view_meta, view._base
    if view.grad_fn is None and not base._requires_grad:  # nothing to derive, as torch skips it
        meta.version = view._vc[0]
        return
    if meta.creation != "default":
        raise RuntimeError(view_rebase_message(view, indirect=True))
    _view_history_from_base(view, base)


set_view_refresher(_refresh)


def _positions_in_base(view: Tensor, base: Tensor) -> np.ndarray:
    """Flat (C-order) index into the base of every element of the view, from memory addresses:
    the view's element offsets looked up among the base's."""
    data, owner = view._data, base._data
    itemsize = owner.itemsize
    offset = (_address(data) - _address(owner)) // itemsize
    offsets = _element_offsets(data, itemsize) + offset
    if owner.flags.c_contiguous:
        return offsets
    in_base = _element_offsets(owner, itemsize).reshape(-1)
    order = np.argsort(in_base, kind="stable")
    return order[np.searchsorted(in_base[order], offsets)]


def _address(array) -> int:
    return array.__array_interface__["data"][0] if type(array) is np.ndarray else array.data.ptr


def _element_offsets(array, itemsize: int) -> np.ndarray:
    """Every element's offset from the first, in items, in the array's shape."""
    offsets = np.zeros(array.shape, dtype=np.int64)
    for axis, (size, stride) in enumerate(zip(array.shape, array.strides)):
        shape = [1] * array.ndim
        shape[axis] = size
        offsets = offsets + (np.arange(size) * (stride // itemsize)).reshape(shape)
    return offsets


def _geometry(view: Tensor, base: Tensor) -> tuple[list[int], list[int], int]:
    """The view as torch's as_strided over its base's elements (C order): size, stride, offset."""
    positions = _positions_in_base(view, base)
    size = list(positions.shape)
    if positions.size == 0:
        return size, [0] * len(size), 0
    origin = positions[(0,) * positions.ndim]
    stride = [int(positions[tuple(1 if d == axis else 0 for d in range(len(size)))] - origin) if n > 1 else 0
              for axis, n in enumerate(size)]
    return size, stride, int(origin)


def _rebase_base_of_view(view: Tensor, base: Tensor, result: Tensor) -> None:
    """The base's new history, as torch's CopySlices: the base with the view's elements replaced
    by the op's result."""
    F = namespaces.tensor_ops
    result = F.expand(result, view._data.shape) if result._data.shape != view._data.shape else result
    replaced = F._as_strided_scatter(base, result, *_geometry(view, base))
    base._set_history(replaced.grad_fn, 0)
    base._requires_grad = True


def _saved_output_follows_view(node, view: Tensor) -> None:
    """The op's saved output is the view: for a double backward it has the view's history
    (derived from the base's), so that the view and its base are on that path, as in torch."""
    for slot in node.output_slots:
        saved = getattr(node, slot)
        if isinstance(saved, SavedOutput) and saved._data is view._data and view.grad_fn is not None:
            saved.history = weakref.ref(view.grad_fn)


def _view_history_from_base(view: Tensor, base: Tensor) -> None:
    """The view's history (after a write to it, or to its base): its elements picked out of the
    base's history, as torch regenerates a view's grad_fn (AsStrided)."""
    with _integral_history(base):
        picked = namespaces.tensor_ops._as_strided_copy(base, *_geometry(view, base))
    view._set_history(picked.grad_fn, 0)
    view._requires_grad = picked._requires_grad
    view._view_meta.version = view._vc[0]


OVERLAP_MESSAGE = ("unsupported operation: more than one element of the written-to tensor refers to a single memory "
                   "location. Please clone() the tensor before performing the operation.")


def check_no_internal_overlap(target, op_name: str) -> None:
    """torch refuses to write where several elements share a location (an expanded tensor), except
    by the ops that write one value to all of them (WRITES_SHARED_LOCATIONS)."""
    if 0 in target.strides and op_name not in WRITES_SHARED_LOCATIONS and target.size and any(
            s == 0 and n > 1 for s, n in zip(target.strides, target.shape)):
        raise RuntimeError(OVERLAP_MESSAGE)


def writable(self: Tensor):
    """The array an in-place op writes: the tensor's own, or, for a view of an expanded tensor
    (read-only in numpy, so that nothing writes through it by accident), a writable alias of the
    same memory."""
    target = self._data
    if type(target) is not np.ndarray or target.flags.writeable:  # (cupy arrays are always writable)
        return target
    owner = target
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    if not owner.flags.writeable:
        return target  # memory that is read-only for a reason (numpy raises)
    if not (owner.flags.c_contiguous or owner.flags.f_contiguous):  # a dense layout of its own (a clone's):
        owner = owner.transpose(np.argsort(owner.strides)[::-1])  # its dims in memory order, one buffer
    offset = target.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
    return np.ndarray(target.shape, target.dtype, owner, offset, target.strides)


def _check_write(self: Tensor, data, op, casting: str) -> None:
    """casting: "unsafe" (copy_ casts anything), or torch's in-place rule (dtypes.can_cast)."""
    name = getattr(op, "__name__", "op")
    target = self._data
    if np.broadcast_shapes(data.shape, target.shape) != target.shape:
        raise RuntimeError(f"{name}_(): output with shape {list(target.shape)} doesn't match the broadcast shape "
                           f"{list(np.broadcast_shapes(data.shape, target.shape))}")
    if casting != "unsafe" and not can_cast(data.dtype, target.dtype):
        raise RuntimeError(f"{name}_(): result type {cast_name(data.dtype)} can't be cast to the desired output "
                           f"type {cast_name(target.dtype)}")


def write(self: Tensor, data, op, casting: str) -> None:
    _check_write(self, data, op, casting)
    name = getattr(op, "__name__", "op")
    check_no_internal_overlap(self._data, name)
    out = writable(self)
    if out.size and 0 in out.strides:  # locations shared by several elements: write only what changes
        data = array_module(out).broadcast_to(data, out.shape)  # (a masked_fill writes its mask's elements only)
        changed = (data != out) & ((data == data) | (out == out))  # (NaN over NaN is no change)
        out[changed] = data[changed]
    else:
        out[...] = data
    self._bump()


def cast_name(dtype) -> str:
    """torch's scalar-type name in casting errors (Float, Double, Long, ...)."""
    return scalar_type_name(dtype)


def _saved_as_self(node, position: int, saved, self: Tensor) -> bool:
    """Whether a saved slot holds x as the op's `self`. Saved as another argument (x.mul_(x)'s
    other) it stays x, with the version it had, so that backward refuses it as torch's does."""
    return saved is self and node.saved_names[position] == "self"


def _snapshot_if_saved(self: Tensor, node):
    """x as it is now, if the node saved x as its self: its history, and a copy of its values."""
    if node is None or not any(_saved_as_self(node, position, getattr(node, slot), self)
                               for position, slot in enumerate(node.saved_slots)):
        return None
    snapshot = make_tensor(self._data.copy(), self._requires_grad, self.grad_fn)
    snapshot._output_nr = self._output_nr
    return snapshot


def _rebase(self: Tensor, result: Tensor, node, snapshot) -> None:
    versions = list(node.saved_versions) if node.saved_slots else []
    for position, slot in enumerate(node.saved_slots):
        saved = getattr(node, slot)
        if _saved_as_self(node, position, saved, self):
            setattr(node, slot, snapshot)
            versions[position] = 0
        elif slot in node.output_slots and saved._data is result._data:
            setattr(node, slot, SavedOutput(self))
            versions[position] = self._version
    if versions:
        node.saved_versions = tuple(versions)
    self._set_history(node, result._output_nr)
    self._requires_grad = True
