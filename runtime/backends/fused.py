"""The fused backward kernels (generated/backward.cu), launched through cupy's RawModule API.

A backend that has them (cupy's, the emulated device's) hands `FusedKernels(xp).launch` to the
`apply_fused` of each elementwise node (generated/nodes.py): one launch computes every input
gradient the node needs (docs/cuda.md). Each instantiation (node, T, G, operand types) is
compiled on first use (by nvrtc through cupy, or by g++ through the emulated RawModule) and
cached, in memory here and on disk by the compiler. `prepare` is separate from the launch and
works over any array module, so that tests/test_cuda_host.py runs it with numpy and a
host-compiled kernel.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .table import mixed_devices_error

BLOCK = 256  # threads per block
MAX_BLOCKS = 4096  # the kernels loop (grid-stride), so a bounded grid covers any n

# numpy dtype -> the C++ type of a kernel operand; gradients and T are float or double
C_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double", np.dtype(np.bool_): "bool",
           np.dtype(np.int8): "signed char", np.dtype(np.uint8): "unsigned char", np.dtype(np.int16): "short",
           np.dtype(np.int32): "int", np.dtype(np.int64): "long long"}
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_NUMBERS = (int, float, np.integer, np.floating, np.bool_)
NULL = np.uint64(0)  # a null pointer kernel argument (cupy passes None as no argument at all)

# Counters for tests and benchmarks: kernel launches, compilations, copies made to lay an
# operand out for a kernel, and calls that fell back to the array form.
stats = {"launches": 0, "compiles": 0, "copies": 0, "fallbacks": 0}



class Launch:
    """The arguments of one kernel launch, prepared over an array module."""

    __slots__ = ("types", "args", "n", "outputs", "device")

    def __init__(self, types, args, n, outputs, device):
        self.types, self.args, self.n, self.outputs, self.device = types, args, n, outputs, device


class FusedKernels:
    """Compiles each node's kernel with `xp.RawModule`, from the backward.cu of the generated
    package that registered the node (register_kernels), and launches them."""

    def __init__(self, xp):
        self.xp, self.array_type = xp, xp.ndarray
        self.kernels: dict = {}

    @staticmethod
    def device_id(array) -> int:
        return array.device.id

    def launch(self, node: str, grad, operands: tuple, values: tuple, needs: tuple):
        """The gradients computed by `node`'s fused kernel, one per entry of `needs` (None where
        False), or None when the node must run its array form: a gradient that is not one of
        this backend's arrays, a dtype without a kernel (float16), or operands that do not
        broadcast into the gradient's shape (as for reductions)."""
        if not isinstance(grad, self.array_type):
            return None
        if not any(needs):
            return (None,) * len(needs)
        call = prepare(grad, operands, values, needs, self)
        if call is None:
            stats["fallbacks"] += 1
            return None
        if call.n:
            self.run(node, call)
            stats["launches"] += 1
        return call.outputs

    def forward(self, name: str, operands: tuple, values: tuple):
        """The output of an op's fused forward kernel (`name`: `<op>_forward`) over its tensor
        operands and its per-call numbers, or None for its formula: operands that are not all
        this backend's arrays of one float dtype (the formula's promotions then decide the
        result's dtype), values that are not numbers, shapes that do not broadcast (the formula
        raises numpy's error)."""
        dtype = operands[0].dtype if isinstance(operands[0], self.array_type) else None
        if dtype not in (_F32, _F64) or not all(isinstance(o, self.array_type) and o.dtype == dtype for o in operands) \
                or not all(isinstance(v, _NUMBERS) for v in values):
            return None
        device = self.device_id(operands[0])
        if any(self.device_id(o) != device for o in operands):
            raise mixed_devices_error(*operands)
        try:
            shape = np.broadcast_shapes(*(o.shape for o in operands))
        except ValueError:
            return None
        n, t = math.prod(shape), dtype.type
        types, args = [C_TYPES[dtype]], [np.int64(n)]
        for operand in operands:
            types.append(_describe(operand, shape, n, t, self.xp, args))
        args += [t(value) for value in values]
        out = self.xp.empty(shape, dtype=dtype)
        args.append(out)
        if n:
            self.run(name, Launch(tuple(types), args, n, (out,), device))
            stats["launches"] += 1
        return out

    def counter(self, device: int):
        """A zeroed counter on `device` for the kernels that count their finished blocks (row
        kernels with totals), each of which leaves it at zero again: allocated once."""
        key = ("counter", device)
        if key not in self.kernels:
            with self.xp.cuda.Device(device):
                self.kernels[key] = self.xp.zeros(1, dtype=np.uint32)
        return self.kernels[key]

    def kernel(self, name: str, types: tuple, device: int):
        return self.compiled(kernel_name(name, types), lambda: _source_of(name), device)

    def compiled(self, expression: str, source, device: int, options: tuple = ()):
        """The kernel `expression` of the source that `source()` gives, compiled for `device` on
        first use (cupy caches the binary on disk too)."""
        key = (expression, device)
        kernel = self.kernels.get(key)
        if kernel is None:
            with self.xp.cuda.Device(device):
                module = self.xp.RawModule(code=source(), options=("--std=c++14",) + options,
                                           name_expressions=[expression])
                kernel = self.kernels[key] = module.get_function(expression)
            stats["compiles"] += 1
        return kernel

    def run(self, name: str, call: Launch) -> None:
        self.start(self.kernel(name, call.types, call.device), call.n, call.device, tuple(call.args))

    def start(self, kernel, n: int, device: int, args: tuple) -> None:
        """Launch `kernel` over n elements (a grid-stride loop: a bounded grid covers any n)."""
        with self.xp.cuda.Device(device):
            kernel((min(MAX_BLOCKS, -(-n // BLOCK)),), (BLOCK,), args)


# node name -> the folder of the generated package whose backward.cu holds its kernel: gradspec's
# own, and each package compiled from a user's spec, register theirs when imported.
_kernel_folders: dict[str, Path] = {}
_sources: dict[Path, str] = {}


def register_kernels(module_file: str, nodes: tuple[str, ...]) -> None:
    """Called by a generated package's __init__ (its `__file__`): the kernels of these nodes are
    in the backward.cu beside it. A node name registered from two packages is refused."""
    folder = Path(module_file).resolve().parent
    for node in nodes:
        first = _kernel_folders.setdefault(node, folder)
        if first != folder:
            raise RuntimeError(f"the fused kernel of {node} is registered by {first} and by {folder}: two generated "
                               "packages define a node of that name; rename the op of one")


def _source_of(node: str) -> str:
    folder = _kernel_folders[node]
    if folder not in _sources:
        _sources[folder] = kernel_source(folder)
    return _sources[folder]


def kernel_name(node: str, types: tuple) -> str:
    """The C++ name of one instantiation (the name expression cupy compiles)."""
    return f"gs::{node}_kernel<{', '.join(types)}>"


def kernel_source(folder: Path) -> str:
    """A generated package's backward.cu with backward.cuh pasted in (nvrtc is given one source,
    no include path)."""
    return paste_header((folder / "backward.cu").read_text(), (folder / "backward.cuh").read_text())


def paste_header(kernels: str, header: str) -> str:
    include = '#include "backward.cuh"'
    if include not in kernels:
        raise RuntimeError("backward.cu does not include backward.cuh: regenerate generated/ (make codegen)")
    return kernels.replace(include, header, 1)


def prepare(grad, operands: tuple, values: tuple, needs: tuple, backend) -> Launch | None:
    """Kernel arguments for `grad` and the node's operands, or None for the array form.

    An operand is an array of the backend, a Python number (a wrapped number), a host array of
    one element (torch's CPU scalar beside cuda tensors), or None where the forward did not
    save it because no gradient needed now reads it (passed as 0). Each array is passed as
    (pointer, 0, inner, size): its elements C-contiguous, broadcast to the gradient's shape as
    one block repeated (see gs::load); expanded views (stride 0, as the gradient of a sum)
    qualify as they are. An operand that does not is copied so that it does (counted in
    stats["copies"]). A number is passed as (null, value, 1, 1).
    """
    xp, array_type = backend.xp, backend.array_type
    if grad.dtype not in (_F32, _F64):
        return None
    shape, n = grad.shape, grad.size
    device = backend.device_id(grad)
    wide = grad.dtype == _F64
    arrays = [grad]
    for operand in operands:
        if isinstance(operand, array_type):
            if operand.dtype not in C_TYPES:
                return None
            if backend.device_id(operand) != device:
                raise mixed_devices_error(grad, operand)
            wide = wide or operand.dtype == _F64
        elif isinstance(operand, np.ndarray):
            if operand.size != 1:
                raise mixed_devices_error(grad, operand)
            operand = operand.item()
        elif operand is None:  # not saved: only the gradients not needed now read it
            operand = 0
        elif not isinstance(operand, _NUMBERS):
            return None
        arrays.append(operand)
    t = np.float64 if wide else np.float32
    types, args = [C_TYPES[np.dtype(t)]], [np.int64(n)]
    for operand in arrays:
        if not isinstance(operand, array_type):
            try:
                value = t(operand)
            except (TypeError, ValueError):
                return None
            types.append(types[0])
            args += [NULL, value, np.int64(1), np.int64(1)]
            continue
        described = _describe(operand, shape, n, t, xp, args)
        if described is None:
            return None  # does not broadcast into the gradient's shape: the array form knows better
        types.append(described)
    for value in values:
        if value is None:
            value = 0  # not saved: only the gradients not needed now read it
        elif not isinstance(value, _NUMBERS):
            return None
        args.append(t(value))
    outputs = tuple(xp.empty(shape, dtype=t) if need else None for need in needs)
    args.extend(NULL if out is None else out for out in outputs)
    return Launch(tuple(types), args, n, outputs, device)


def _describe(array, shape: tuple, n: int, t, xp, args: list) -> str | None:
    """Append `array`'s descriptor (pointer, value, inner, size; see gs::load) as a kernel over
    `shape` reads it to `args`, and give its element's C++ type; None (nothing appended) where it
    does not broadcast to `shape`."""
    laid = lay_out(array, shape, n, xp)
    if laid is None:
        return None
    array, (inner, size) = laid
    args += [array, t(0), np.int64(inner), np.int64(size)]
    return C_TYPES[array.dtype]


def lay_out(array, shape: tuple, n: int, xp):
    """(array, (inner, size)): `array` as a kernel reads it broadcast to `shape` (n elements), element
    i at (i // inner) % size (gs::load); a copy where its layout allows no such pair (counted in
    stats["copies"]); None where it does not broadcast to `shape`."""
    if array.flags.c_contiguous:
        layout = _layout(array.shape, shape, n)
    else:  # a view: an expanded one (stride 0) reads its elements in place
        compact = _compact_shape(array)
        layout = "copy" if compact is None else _layout(compact, shape, n)
    if layout == "copy":
        stats["copies"] += 1
        return xp.broadcast_to(array, shape).copy(), (1, n)
    return None if layout is None else (array, layout)


def _compact_shape(array) -> tuple | None:
    """The shape of the elements a view reads, 1 along its stride-0 (expanded) dims, if those
    elements are C-contiguous from its first one; None otherwise (a transpose, a slice)."""
    shape = tuple(1 if stride == 0 else extent for extent, stride in zip(array.shape, array.strides))
    expected = array.itemsize
    for extent, stride in zip(reversed(shape), reversed(array.strides)):
        if extent != 1:
            if stride != expected:
                return None
            expected *= extent
    return shape


def _layout(shape: tuple, out: tuple, n: int):
    """(inner, size) such that element i of `out` reads element (i // inner) % size of a
    C-contiguous array of `shape` broadcast to `out`; "copy" where no such pair exists (the
    array's dims are not one block, as [3, 1, 4] in [3, 5, 4]); None if `shape` does not
    broadcast to `out`."""
    if shape == out:
        return 1, n
    lead = len(out) - len(shape)
    if lead < 0:
        return None
    kept = []
    for d, extent in enumerate(shape):
        target = out[lead + d]
        if extent == target:
            if extent != 1:
                kept.append(lead + d)
        elif extent != 1:
            return None
    if not kept:
        return 1, 1
    first, last = kept[0], kept[-1]
    if any(shape[d - lead] == 1 and out[d] != 1 for d in range(first, last + 1)):
        return "copy"
    return math.prod(out[last + 1:]), math.prod(out[first:last + 1])
