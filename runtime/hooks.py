"""Hook tables and their removable handles: ground floor, shared by tensors, nodes, nn and optim."""

from __future__ import annotations


class Hooks:
    """Hooks of one node (or of one leaf tensor), created on first registration."""

    __slots__ = ("tensor_pre", "retains", "pre", "post", "post_accumulate")

    def __init__(self):
        self.tensor_pre = {}  # output_nr -> {handle id: fn(grad) -> grad | None}
        self.retains = {}  # output_nr -> weakref to the non-leaf tensor whose .grad is kept
        self.pre = {}  # handle id -> fn(grad_outputs) -> grad_outputs | None
        self.post = {}  # handle id -> fn(grad_inputs, grad_outputs) -> grad_inputs | None
        self.post_accumulate = {}  # handle id -> fn(tensor), leaf tensors only


class RemovableHandle:
    _next_id = 0

    __slots__ = ("_table", "id")

    def __init__(self, table: dict):
        RemovableHandle._next_id += 1
        self.id = RemovableHandle._next_id
        self._table = table

    def remove(self) -> None:
        self._table.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def add_hook(table: dict, fn) -> RemovableHandle:
    handle = RemovableHandle(table)
    table[handle.id] = fn
    return handle
