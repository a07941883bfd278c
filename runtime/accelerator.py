"""torch.accelerator, the default device, and the torch.backends flags scripts set.

gradspec's only accelerator is CUDA (cupy); `current_accelerator()` is None where cupy sees no
GPU, as torch's is on a CPU-only build. `set_default_device` changes where factories
(`torch.zeros`, `torch.tensor`, ...) put new tensors, as torch's does.
"""

from __future__ import annotations

import importlib.machinery
import sys
import types

from . import backends, cuda
from .backends import device
from .backends.table import get_default_device, set_default_device  # noqa: F401 - torch's names, here


def is_available() -> bool:
    return cuda.is_available()


def current_accelerator(check_available: bool = False):
    """torch.device('cuda') where a GPU is visible, else None."""
    return device("cuda") if cuda.is_available() else None


def device_count() -> int:
    return cuda.device_count()


def current_device_index() -> int:
    return cuda.current_device() if cuda.is_available() else -1


current_device_idx = current_device_index


def set_device_index(index) -> None:
    if cuda.is_available():
        cuda.backends.cupy().cuda.Device(int(index)).use()


set_device_idx = set_device_index


def synchronize(device_index=None) -> None:
    if cuda.is_available():
        cuda.synchronize(device_index)


def _flags_module(name: str, doc: str, **attributes) -> types.ModuleType:
    """A module importable as gradspec.backends.<name> (so `import torch.backends.cudnn` works)."""
    full_name = f"{__package__}.backends.{name}"
    module = types.ModuleType(full_name, doc)
    module.__spec__ = importlib.machinery.ModuleSpec(full_name, None)
    module.__dict__.update(attributes)
    sys.modules[full_name] = module
    return module


def _install_backend_flags(backends_module) -> None:
    """torch.backends.cudnn and torch.backends.mps: flags that change nothing here (no cuDNN: the
    CUDA kernels are gradspec's own; no Apple GPU), kept so scripts that set or query them run."""
    backends_module.cudnn = _flags_module(
        "cudnn", "cuDNN flags: gradspec does not use cuDNN; allow_tf32 is honoured by its own convolutions "
                 "on cuda (gradspec.backends.precision), the others are accepted and ignored.",
        enabled=True, benchmark=False, deterministic=False, allow_tf32=True,
        is_available=lambda: False, version=lambda: None)
    backends_module.mps = _flags_module(
        "mps", "Apple's Metal backend: never available in gradspec.",
        is_available=lambda: False, is_built=lambda: False)


_install_backend_flags(backends)
