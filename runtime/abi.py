"""The ABI of generated code: all that a generated package may use of the runtime.

gradspec.generated (and a package compiled from a user's own spec) imports this module and
nothing else of the runtime, so this list is the contract between the compiler's templates and
the core: argument checks, recording a node, overload dispatch, return types, the node base
class, the in-place mechanism, the registration of fused kernels (cuda.register_kernels), and for
gradspec's own spec its array kernels and formula helpers. Names are re-exported unchanged: a generated op pays no extra call.
"""

from __future__ import annotations

from . import backends, cuda, dtypes, factories, formulas, kernels
from .backends import array_module, array_types, device_of
from .backends import device as as_device
from .dispatch import dispatch
from .dtypes import promote
from .grad_mode import STATE
from .inplace import inplace
from .node import NO_EDGE, Node, SavedOutput, edge, version
from .return_types import return_type
from .shapes import broadcast_error, int_arg, int_list
from .tensor import (Tensor, any_requires_grad, data_of, index_list, make_tensor, optional_tensor_data, requires_grad,
                     tensor_data, tensor_list_data, view_of)

__all__ = ["backends", "cuda", "dtypes", "factories", "formulas", "kernels", "array_module", "array_types",
           "device_of", "as_device", "dispatch", "promote", "STATE", "inplace", "NO_EDGE", "Node", "SavedOutput",
           "edge", "version", "return_type", "broadcast_error", "int_arg", "int_list", "Tensor", "any_requires_grad",
           "data_of", "index_list", "make_tensor", "optional_tensor_data", "requires_grad", "tensor_data", "tensor_list_data",
           "view_of"]
