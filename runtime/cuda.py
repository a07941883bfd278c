"""CUDA: torch.cuda's queries.

`is_available()`, `device_count()`, `current_device()` and `synchronize()` as in torch.cuda.
cupy is imported only when one of them is called or a tensor goes to a cuda device
(gradspec.backends.cupy()); `import gradspec` never imports it. `stats` counts the fused
backward kernels' work (gradspec.backends.fused): launches, compilations, copies, fallbacks.
"""

from __future__ import annotations

from . import backends
from .backends.fused import register_kernels, stats

__all__ = ["is_available", "device_count", "current_device", "synchronize", "stats", "register_kernels",
           "manual_seed", "manual_seed_all"]


def manual_seed(seed) -> None:
    """Nothing to seed: a cuda tensor's random numbers are drawn by the CPU generator (which
    gradspec.manual_seed seeds) and copied, so there is no CUDA generator. Programs that seed
    every device (`torch.cuda.manual_seed_all`, minGPT's set_seed) call it."""
    int(seed)  # torch's check: a seed is an integer


manual_seed_all = manual_seed


def is_available() -> bool:
    """True when cupy is installed and sees at least one GPU (never raises)."""
    try:
        backends.cupy()
    except RuntimeError:
        return False
    return True


def device_count() -> int:
    return backends.cupy().cuda.runtime.getDeviceCount() if is_available() else 0


def current_device() -> int:
    return backends.cupy().cuda.runtime.getDevice()


def synchronize(device=None) -> None:
    """Wait for the work queued on `device` (the current one by default)."""
    cp = backends.cupy()
    if device is None:
        cp.cuda.runtime.deviceSynchronize()
        return
    with cp.cuda.Device(device if isinstance(device, int) else backends.device(device).index or 0):
        cp.cuda.runtime.deviceSynchronize()


