"""Devices and backends: numpy for `cpu`, cupy (imported only when asked) for `cuda`.

A backend is a table (`Backend`): its array module, its array type, its extras (cupyx), and
its launcher of the fused backward kernels, if it has one. Tables are looked up by the type of
an array (`backend_of`); the engine asks the table of a node's gradients to run the node
(`Backend.backward`), so generated node bodies hold formulas, never backend branches. One
module per backend: numpy_backend (the cpu), cupy_backend (cuda through cupy), emulated_backend
(cuda on the emulated device, GRADSPEC_EMULATE_CUDA=1). A new backend is one new module whose
table `register` installs.
"""

from __future__ import annotations

import numpy as np

from . import precision, row_kernels
from .meta_backend import META, META_BACKEND, META_XP, MetaArray, meta_array
from .numpy_backend import NUMPY
from .precision import cuda  # torch.backends.cuda (matmul.allow_tf32)
from .row_kernels import RowProgram
from .table import CPU, INSTALL_HINT, Backend, device, mixed_devices_error

__all__ = ["CPU", "INSTALL_HINT", "Backend", "device", "mixed_devices_error", "register", "backend_of", "backward",
           "precision", "cuda", "product_precision", "fused_forward", "RowProgram", "runs_rows", "rows",
           "cupy", "cupyx", "check_devices", "follow", "use_device", "module_for", "array_module", "array_types",
           "device_of", "to_device", "META", "MetaArray", "meta_array"]

_cupy = None  # the cuda table's array module, once loaded
cuda_loaded = False  # True once a cuda backend is loaded: generated ops check devices only from then on
_TABLES: dict = {np.ndarray: NUMPY, MetaArray: META_BACKEND}  # array type -> Backend
_cuda_table: Backend | None = None


def register(table: Backend) -> None:
    _TABLES[table.array_type] = table


def backend_of(array) -> Backend:
    return _TABLES.get(type(array), NUMPY)


def backward(node, grads):
    """Run `node` on the backend (and the device) of its gradients: the engine's call once a cuda
    backend is loaded (before that, every gradient is numpy's and the engine calls node.apply)."""
    for grad in grads:
        if grad is not None:
            table = _TABLES.get(type(grad), NUMPY)
            if table is not NUMPY:
                use_device(grad.device.id)
            return table.backward(node, grads)
    return node.apply(grads)


def fused_forward(name: str, operands: tuple, values: tuple):
    """The output of an op's fused forward kernel (backward.cu's `<op>_forward_kernel`) where the
    backend of its first operand runs gradspec's kernels and the call fits it, else None: the op
    then runs its `forward:` formula (backends/fused.FusedKernels.forward)."""
    kernels = _TABLES.get(type(operands[0]), NUMPY).kernels
    return None if kernels is None else kernels.forward(name, operands, values)


def runs_rows(array) -> bool:
    """Whether `array`'s backend launches the row kernels (rows.py of a generated package)."""
    return row_kernels.runs_rows(_TABLES.get(type(array), NUMPY).kernels, array)


def rows(program: RowProgram, along: int, operands: tuple, values: tuple):
    """A row kernel's outputs over `operands` on their backend, or None for the array kernel
    (backends/row_kernels.py)."""
    return row_kernels.rows(_TABLES.get(type(operands[0]), NUMPY).kernels, program, along, operands, values)


def product_precision(array, kind: str = "matmul") -> None:
    """Before a float32 matrix product (`kind`: "matmul" or "conv") on a backend with a TF32 switch:
    set it as torch's flags say (backends/precision.py). Nothing on numpy."""
    table = _TABLES.get(type(array))
    if table is not None and table.set_tf32 is not None and array.dtype == np.float32:
        table.set_tf32(precision.allowed(kind))


def cupy():
    """The cuda backend's array module (cupy), loaded on first use; a clear error says what is
    missing. With GRADSPEC_EMULATE_CUDA=1 and no GPU visible to cupy, the emulated device's."""
    global _cupy, _cuda_table, cuda_loaded
    if _cupy is None:
        from . import cupy_backend

        table, problem = cupy_backend.load()
        if table is None:
            from .. import emulated_cuda

            if not emulated_cuda.requested():
                raise RuntimeError(problem)
            from . import emulated_backend

            table = emulated_backend.load()
        register(table)
        _cuda_table, _cupy, cuda_loaded = table, table.xp, True
    return _cupy


def cupyx():
    """cupyx (scatter_add, scipy.special) of the cuda backend in use."""
    cupy()
    return _cuda_table.extras


def check_devices(*arrays) -> None:
    """Raise mixed_devices_error unless every array (numbers are ignored) is on one device, and make
    that device cupy's current one (cupy runs an operation on its current device, torch on its
    tensors'). Only called once cupy is loaded: before that every array is a numpy array."""
    found = None  # the cuda index, or -1 for the cpu
    for array in arrays:
        if hasattr(array, "shape") and not isinstance(array, np.generic):
            here = array.device.id if type(array) is _cupy.ndarray else -1
            if found is None:
                found = here
            elif here != found:
                raise mixed_devices_error(*arrays)
    if found is not None and found >= 0:
        use_device(found)


def follow(arrays) -> None:
    """Make the device of the first cuda array among `arrays` current (the engine calls this before
    a node runs: its gradients tell where its work happens)."""
    for array in arrays:
        if type(array) is _cupy.ndarray:
            use_device(array.device.id)
            return


def use_device(index: int) -> None:
    """Make cuda:index cupy's current device. It stays current after the operation (no restore): the
    next operation makes its own device current, so gradspec never runs on a stale one."""
    runtime = _cupy.cuda.runtime
    if runtime.getDevice() != index:
        runtime.setDevice(index)


def module_for(dev: device):
    return np if dev.type == "cpu" else META_XP if dev.type == "meta" else cupy()


def array_module(array):
    """numpy or cupy, whichever holds `array` (numbers count as numpy); meta arrays' numpy."""
    if _cupy is not None and type(array) is _cupy.ndarray:
        return _cupy
    return META_XP if type(array) is MetaArray else np


def array_types() -> tuple:
    """The array classes of the backends loaded so far, and numpy's scalars: what arithmetic on a
    0-d array gives, a 0-d array to every kernel (a gradient in backward may be one)."""
    return (np.ndarray, np.generic) if _cupy is None else (np.ndarray, np.generic, _cupy.ndarray)


def device_of(array) -> device:
    if _cupy is not None and type(array) is _cupy.ndarray:
        return device("cuda", array.device.id)
    return META if type(array) is MetaArray else CPU


def to_device(array, dev: device):
    """`array` on `dev` (itself if already there); moving to cuda:N makes cuda:N current."""
    if dev.type == "meta":
        return meta_array(array.shape, array.dtype)
    if type(array) is MetaArray:
        raise NotImplementedError("Cannot copy out of meta tensor; no data!")
    if dev.type == "cpu":
        return array if device_of(array) == CPU else array.get()
    xp = cupy()
    index, count = xp.cuda.runtime.getDevice() if dev.index is None else dev.index, xp.cuda.runtime.getDeviceCount()
    if not 0 <= index < count:
        raise RuntimeError(f"CUDA error: invalid device ordinal: {dev} was requested but cupy sees {count} "
                           f"device(s), cuda:0 to cuda:{count - 1}")
    if type(array) is xp.ndarray and array.device.id == index:
        return array
    use_device(index)
    return xp.asarray(array)
