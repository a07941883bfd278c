"""The cuda backend: cupy (an optional extra) and its devices, with the fused backward kernels
compiled by nvrtc through cupy.RawModule (backends/fused.py)."""

from __future__ import annotations

from .table import INSTALL_HINT, Backend
from .fused import FusedKernels


def table(name: str, xp, extras) -> Backend:
    """The table of a cupy-compatible array module (`xp`, with RawModule and cuda.Device)."""
    return Backend(name, xp, xp.ndarray, extras, FusedKernels(xp).launch)


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

    return table("cupy", cupy, cupyx), None
