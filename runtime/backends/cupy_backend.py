"""The cuda backend: cupy (an optional extra) and its devices, with the fused backward kernels
compiled by nvrtc through cupy.RawModule (backends/fused.py)."""

from __future__ import annotations

import numpy as np

from .table import INSTALL_HINT, Backend
from .fused import FusedKernels


def table(name: str, xp, extras, set_compute_type) -> Backend:
    """The table of a cupy-compatible array module (`xp`, with RawModule and cuda.Device);
    `set_compute_type(dtype, type)` is cupy's switch of cuBLAS's compute type."""
    return Backend(name, xp, xp.ndarray, extras, FusedKernels(xp), _tf32_switch(set_compute_type))


COMPUTE_TYPE_DEFAULT, COMPUTE_TYPE_TF32 = 1, 7  # cupy/_core/_routines_linalg.pxd


def _tf32_switch(set_compute_type):
    current = [None]

    def set_tf32(on: bool) -> None:
        if current[0] is not on:
            set_compute_type(np.float32, COMPUTE_TYPE_TF32 if on else COMPUTE_TYPE_DEFAULT)
            current[0] = on

    return set_tf32


def load():
    """(the cupy table, None) where cupy sees a GPU, else (None, why not)."""
    try:
        import cupy
    except ImportError as error:
        missing = "cupy is not installed" if getattr(error, "name", None) == "cupy" else \
            f"cupy could not be imported ({error})"
        return None, f"CUDA was requested but {missing}: {INSTALL_HINT}"
    try:
        count, detail = cupy.cuda.runtime.getDeviceCount(), ""
    except Exception as error:  # noqa: BLE001 - cupy's CUDARuntimeError when there is no driver
        count, detail = 0, f" ({error})"
    if count == 0:
        return None, (f"CUDA was requested but no NVIDIA GPU is visible to cupy{detail}; cupy is installed, the GPU "
                      f"or its driver is missing (or hidden by CUDA_VISIBLE_DEVICES): {INSTALL_HINT}")
    import cupyx
    from cupy._core._routines_linalg import set_compute_type

    return table("cupy", cupy, cupyx, set_compute_type), None
