"""An emulated CUDA device: a numpy stand-in for cupy that accepts only what cupy accepts.

With `GRADSPEC_EMULATE_CUDA=1` on a machine where cupy sees no GPU, gradspec.backends.cupy()
returns `module()` in place of cupy: `cuda` and `cuda:0`/`cuda:1` then work, every array
operation runs in numpy, and the fused backward kernels (generated/backward.cu) run on the
host, compiled by g++ through the emulated `cupy.RawModule`. It is never used without the
variable, nor where cupy and a GPU are present.

The point is to run gradspec's cuda path on every machine and fail where a GPU would: the
stand-in is built by introspecting the installed cupy (`pip install cupy-cuda12x`, which
imports without a GPU), so it exposes only cupy's names, checks calls against cupy's
signatures, has cupy's `flags`, refuses implicit host conversions and arrays of another
device (array.py, namespace.py). What it counts (counters.py: launches, allocations, host
transfers) is a model of cupy's work, for benchmarks and launch-count tests.
"""

from __future__ import annotations

import os

from .counters import since, snapshot, stats

VARIABLE = "GRADSPEC_EMULATE_CUDA"

__all__ = ["VARIABLE", "requested", "module", "cupyx", "set_compute_type", "stats", "snapshot", "since"]


def requested() -> bool:
    return os.environ.get(VARIABLE, "") not in ("", "0")


def module():
    """The emulated cupy module (needs cupy installed, to read its API from)."""
    try:
        from .namespace import MODULE
    except ImportError as error:
        raise RuntimeError(f"{VARIABLE}=1 emulates cupy from the installed cupy's own API, and cupy could not be "
                           f"imported ({error}): install it, `pip install cupy-cuda12x` (no GPU needed)") from None
    return MODULE


def cupyx():
    """The emulated cupyx (scatter_add, scipy.special)."""
    from .namespace import CUPYX

    return CUPYX


def set_compute_type(dtype, compute_type: int) -> None:
    """cupy._core._routines_linalg.set_compute_type: COMPUTE_TYPE_TF32 (7) rounds the inputs of
    float32 products to TF32, as cuBLAS's fast TF32 mode does."""
    from .namespace import set_compute_type as record

    record(dtype, compute_type)
