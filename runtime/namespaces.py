"""The Tensor ops, for the few places of the core that record ops without importing generated code.

The ops are generated from the spec (gradspec.generated.functions), a layer above the core. In-place
writes through views (inplace.py), the engine's broadcast sums with create_graph=True and
autograd.functional's stacking call them through `tensor_ops`, which gradspec.api installs when it
assembles the public API: the core depends on the ops' names, never on the generated modules.
"""

from __future__ import annotations

from types import ModuleType

tensor_ops: ModuleType | None = None


def install(tensor: ModuleType) -> None:
    global tensor_ops
    tensor_ops = tensor
