"""The emulated cuda device (gradspec.emulated_cuda, GRADSPEC_EMULATE_CUDA=1): cupy's table over
the numpy stand-in, whose RawModule compiles the same fused kernels with g++ for the host."""

from __future__ import annotations

from .. import emulated_cuda
from .table import Backend
from .cupy_backend import table


def load() -> Backend:
    return table("emulated", emulated_cuda.module(), emulated_cuda.cupyx(), emulated_cuda.set_compute_type)
