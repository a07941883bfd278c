"""torch.multiprocessing: the standard library's multiprocessing, with tensors that cross process
boundaries through shared memory.

Everything of `multiprocessing` is here under the same names (Process, Queue, Pool,
set_start_method, get_context, ...), as torch's module re-exports it. What this module adds is
how tensors pickle for another process (registered with multiprocessing's ForkingPickler when
gradspec is imported, as torch registers its reductions): a tensor moves into shared memory
(Tensor.share_memory_, gradspec.shared_memory) and the receiving process maps the same pages,
so that what either writes the other sees (Hogwild training: workers update the parent's shared
parameters in place). A Parameter arrives as a Parameter, with its requires_grad. A tensor that
is part of a graph (not a leaf and requiring grad) is refused, as torch refuses it. A view whose
base is not shared travels as a copy. A cuda tensor is refused (torch shares it by CUDA IPC).
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import *  # noqa: F401,F403 - torch.multiprocessing's API is the standard library's
from multiprocessing.reduction import DupFd, ForkingPickler

import numpy as np

from .. import shared_memory
from ..nn.parameter import Parameter
from ..tensor import Tensor, make_tensor

__all__ = [*multiprocessing.__all__, "get_sharing_strategy", "set_sharing_strategy", "get_all_sharing_strategies"]

_STRATEGY = "file_descriptor"


def get_all_sharing_strategies() -> set:
    return {_STRATEGY}


def get_sharing_strategy() -> str:
    return _STRATEGY


def set_sharing_strategy(new_strategy: str) -> None:
    if new_strategy not in get_all_sharing_strategies():
        raise ValueError(f"gradspec shares tensors by file descriptor only, not {new_strategy!r}")


def _rebuild_shared(fd, nbytes, dtype, shape, strides, offset, requires_grad, kind):
    whole = shared_memory.map_segment(fd.detach(), nbytes)
    data = np.ndarray(shape, np.dtype(dtype), buffer=whole, offset=offset, strides=strides)
    return _tensor(data, requires_grad, kind)


def _rebuild_copy(data, requires_grad, kind):
    return _tensor(data, requires_grad, kind)


def _tensor(data, requires_grad, kind):
    tensor = make_tensor(data)
    return Parameter(tensor, requires_grad) if kind is Parameter else tensor.requires_grad_(requires_grad)


def _reduce_tensor(tensor: Tensor):
    if tensor.requires_grad and not tensor.is_leaf:
        raise RuntimeError("Cowardly refusing to serialize non-leaf tensor which requires_grad, since autograd "
                           "does not support crossing process boundaries.  If you just want to transfer the data, "
                           "call detach() on the tensor before serializing (e.g., putting it on the queue).")
    if type(tensor._data) is not np.ndarray:
        raise RuntimeError("gradspec cannot send a cuda tensor to another process: move it to the cpu first")
    if tensor._base is None:
        tensor.share_memory_()  # as torch moves a tensor's storage into shared memory to send it
    kind = Parameter if isinstance(tensor, Parameter) else Tensor
    data = tensor._data
    found = shared_memory.segment_of(data)
    if found is None:
        return _rebuild_copy, (np.array(data), tensor.requires_grad, kind)
    whole, fd = found
    return _rebuild_shared, (DupFd(fd), whole.nbytes, data.dtype.str, data.shape, data.strides,
                             shared_memory.byte_offset(data, whole), tensor.requires_grad, kind)


def _register() -> None:
    for kind in (Tensor, Parameter):
        ForkingPickler.register(kind, _reduce_tensor)


_register()
