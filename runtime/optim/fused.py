"""One fused step over a parameter group, as torch's fused/foreach optimizers take on cuda.

The update rules are declared in optimizers.yaml and compiled by `make codegen` into one
multi-tensor kernel each (generated/optimizers.cu, declared in generated/optimizers.py). `step`
launches a rule over many parameters at once: per device and dtype, up to LIST parameters per
launch, their data pointers passed by value in the rule's list. Only backends that run
gradspec's kernels take it (cuda, and the emulated device); elsewhere, or where a parameter's
arrays are not alike (contiguous, one dtype, one size), the optimizer's per-parameter loop runs
(`applies` says which).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..backends import backend_of
from ..backends.fused import paste_header
from ..generated import optimizers as declarations
from ..generated.optimizers import LIST, RULES

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
_lists: dict = {}  # rule -> the numpy dtype of its list (the kernel's struct, laid out as C does)
_source: list = []


def applies(group: dict, columns: dict) -> bool:
    """Whether `columns` (role -> one array per parameter) can take a fused step: every array on a
    backend that runs gradspec's kernels, each parameter's arrays alike; and the group does not
    ask for torch's for-loop implementation (foreach=False without fused=True)."""
    if group.get("foreach") is False and not group.get("fused") or group.get("differentiable"):
        return False
    arrays = list(zip(*columns.values()))
    if not arrays:
        return False
    for per_param in arrays:
        first = per_param[0]
        if backend_of(first).kernels is None or first.dtype not in _FLOATS:
            return False
        for array in per_param:
            if type(array) is not type(first) or array.dtype != first.dtype or array.size != first.size or \
                    not array.flags.c_contiguous or array.device.id != first.device.id:
                return False
    return True


def step(rule: str, columns: dict, scalars: dict, flags: dict) -> int:
    """Run `rule` over the parameters of `columns` (role -> arrays, in the rule's tensor order),
    which `applies` accepted. Returns the number of launches."""
    declared = RULES[rule]
    params = columns[declared["tensors"][0]]
    arguments = tuple(np.float64(scalars[name]) for name in declared["scalars"]) + \
        tuple(np.bool_(flags[name]) for name in declared["flags"])
    batches: dict = {}
    for index, param in enumerate(params):
        batches.setdefault((param.device.id, param.dtype), []).append(index)
    launches = 0
    for (device, dtype), indices in batches.items():
        kernels = backend_of(params[indices[0]]).kernels
        kernel = kernels.compiled(f"gs::{rule}_step<{_TYPES[dtype]}>", _kernel_source, device, ("--fmad=false",))
        for start in range(0, len(indices), LIST):
            chunk = indices[start:start + LIST]
            record, total = _list(rule, declared["tensors"], columns, chunk)
            if total:
                kernels.start(kernel, total, device, (record,) + arguments)
                launches += 1
    return launches


def _list(rule: str, tensors: tuple, columns: dict, chunk: list) -> tuple[np.ndarray, int]:
    """The kernel's `<rule>_list` for the parameters `chunk`: their count, element offsets and
    data pointers by role (a numpy record of one element: cupy passes it by value)."""
    layout = _lists.get(rule)
    if layout is None:
        layout = _lists[rule] = np.dtype([("count", "<i8"), ("offsets", "<i8", (LIST + 1,))] +
                                         [(t, "<u8", (LIST,)) for t in tensors], align=True)
    record = np.zeros(1, layout)
    record["count"] = len(chunk)
    sizes = [columns[tensors[0]][i].size for i in chunk]
    record["offsets"][0, 1:len(chunk) + 1] = np.cumsum(sizes)
    for role in tensors:
        record[role][0, :len(chunk)] = [columns[role][i].data.ptr for i in chunk]
    return record, int(sum(sizes))


def _kernel_source() -> str:
    """gradspec.generated's optimizers.cu with backward.cuh pasted in (its math prelude)."""
    if not _source:
        folder = Path(declarations.__file__).resolve().parent
        _source.append(paste_header((folder / "optimizers.cu").read_text(), (folder / "backward.cuh").read_text()))
    return _source[0]
