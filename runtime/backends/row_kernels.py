"""The row kernels (generated/rows.cu, codegen/rows.py), laid out and launched through cupy's RawModule.

A row kernel reduces along one dim (the rows are the elements that differ only in their index
along it) and writes from the rows' values, in one launch: one block of threads per row. The
generated rows.py declares each kernel (`RowProgram`: the kind of each operand and output) and
calls `rows(...)` where the arrays' backend runs gradspec's kernels (`runs_rows`); `rows`
returns None wherever the array kernel should run instead (another backend, a dtype without a
kernel, an empty tensor, a dim out of range, operands that do not fit the declared kinds), so
that the array kernel's checks and errors stay the only ones.

The `over` tensor, viewed as [outer, length, inner] around the dim, has outer * inner rows.
Its operands are read through gs::load as the fused kernels' are (backends/fused.lay_out): per
element broadcast to its shape, per row to its shape without the dim, per position to [length].
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import fused
from .fused import C_TYPES, NULL, lay_out

ELEMENT, ROW, INDEX, TOTAL = "element", "row", "index", "total"
MAX_BLOCKS = 4096  # the kernels loop over rows (row += gridDim.x), so a bounded grid covers any count
WARP = 32
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_NUMBERS = (int, float, np.integer, np.floating, np.bool_)


class RowProgram:
    """One row kernel of a generated package: `module_file`, the rows.py declaring it (rows.cu
    and backward.cuh lie beside it); `kernel`, its C++ name in gs::; the kind of each operand
    (the `over` tensor first: element, row or index) and of each output (element, row or
    total); how many totals it combines over all rows."""

    __slots__ = ("folder", "kernel", "operands", "outputs", "totals")

    def __init__(self, module_file: str, kernel: str, operands: tuple, outputs: tuple, totals: int):
        self.folder, self.kernel = Path(module_file).resolve().parent, kernel
        self.operands, self.outputs, self.totals = operands, outputs, totals

    def source(self) -> str:
        return fused.paste_header((self.folder / "rows.cu").read_text(), (self.folder / "backward.cuh").read_text())


def runs_rows(kernels, array) -> bool:
    """Whether `array`'s backend (its `kernels`, backends/fused.FusedKernels, or None) runs row kernels."""
    return kernels is not None and isinstance(array, kernels.array_type)


def rows(kernels, program: RowProgram, along: int, operands: tuple, values: tuple):
    """The outputs of `program` over `operands` (the `over` tensor first; None for an absent
    optional one) and `values` (per-call numbers), its rows along dim `along`; None for the
    array kernel."""
    over = operands[0]
    if not runs_rows(kernels, over) or over.dtype not in _FLOATS or over.size == 0 or \
            not -over.ndim <= along < over.ndim:
        return None
    xp, device = kernels.xp, kernels.device_id(over)
    along %= over.ndim
    shape = over.shape
    length = shape[along]
    row_shape = shape[:along] + shape[along + 1:]
    count = math.prod(row_shape)
    shapes = {ELEMENT: (shape, over.size), ROW: (row_shape, count), INDEX: ((length,), length)}
    arrays = [a for a in operands if isinstance(a, kernels.array_type)]
    if any(kernels.device_id(a) != device for a in arrays):
        raise fused.mixed_devices_error(*arrays)
    if any(a.dtype not in C_TYPES for a in arrays):
        return None
    t = np.float64 if any(a.dtype == _FLOATS[1] for a in arrays) else np.float32
    types, args = [C_TYPES[np.dtype(t)]], [np.int64(count), np.int64(length), np.int64(math.prod(shape[along + 1:]))]
    for operand, kind in zip(operands, program.operands):
        if operand is None or isinstance(operand, _NUMBERS):  # absent (reads as 0), or a number
            types.append(types[0])
            args += [NULL, t(operand or 0), np.int64(1), np.int64(1)]
            continue
        if not isinstance(operand, kernels.array_type):
            return None
        laid = lay_out(operand, *shapes[kind], xp)
        if laid is None:
            return None
        operand, (inner, size) = laid
        types.append(C_TYPES[operand.dtype])
        args += [operand, t(0), np.int64(inner), np.int64(size)]
    args += [t(value) for value in values]
    outputs = tuple(xp.empty(() if kind == TOTAL else shapes[kind][0], dtype=t) for kind in program.outputs)
    args += outputs
    grid = min(count, MAX_BLOCKS)
    if program.totals:
        args += [xp.empty(program.totals * grid, dtype=t), kernels.counter(device)]
    block = min(rows_block(length), fused.BLOCK)  # rows.cu's shared memory holds one value per thread
    name = f"gs::{program.kernel}<{', '.join(types)}>"
    kernel = kernels.compiled(name, program.source, device)
    with xp.cuda.Device(device):
        kernel((grid,), (block,), tuple(args))
    fused.stats["launches"] += 1
    return outputs


def rows_block(length: int) -> int:
    """Threads per row: a power of two (gs::block_reduce halves it), a warp at least, about one
    thread per element of the row."""
    return max(WARP, 1 << max(length - 1, 0).bit_length())
