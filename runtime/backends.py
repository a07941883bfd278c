"""Devices and their array modules: numpy for `cpu`, cupy (imported only when asked) for `cuda`."""

from __future__ import annotations

import numpy as np

_cupy = None
cuda_loaded = False  # True once cupy is imported: generated ops check devices only from then on


class device:  # noqa: N801 - named like torch.device
    __slots__ = ("type", "index")

    def __init__(self, spec, index=None):
        if isinstance(spec, device):
            spec, index = spec.type, spec.index if index is None else index
        kind, _, number = str(spec).partition(":")
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {spec}")
        self.type = kind
        self.index = int(number) if number else index

    def __eq__(self, other) -> bool:
        other = device(other) if isinstance(other, str) else other
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        suffix = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{suffix})"


CPU = device("cpu")


INSTALL_HINT = ("install the cuda extra matching the machine's CUDA, `pip install gradspec[cuda12]` (or "
                "`gradspec[cuda13]`), on a machine with an NVIDIA GPU and its driver")


def cupy():
    """The cupy module, imported on first use; a clear error says what is missing. With
    GRADSPEC_EMULATE_CUDA=1 and no GPU visible to cupy, the emulated device (gradspec.emulated_cuda)."""
    global _cupy, cuda_loaded
    if _cupy is None:
        module, problem = _real_cupy()
        if problem is not None:
            from . import emulated_cuda

            if not emulated_cuda.requested():
                raise RuntimeError(problem)
            module = emulated_cuda.module()
        _cupy, cuda_loaded = module, True
    return _cupy


def _real_cupy():
    """(cupy, None) where cupy sees a GPU, else (None, why not)."""
    try:
        import cupy as module
    except ImportError as error:
        missing = "cupy is not installed" if getattr(error, "name", None) == "cupy" else \
            f"cupy could not be imported ({error})"
        return None, f"CUDA was requested but {missing}: {INSTALL_HINT}"
    try:
        count, detail = module.cuda.runtime.getDeviceCount(), ""
    except Exception as error:  # noqa: BLE001 - cupy's CUDARuntimeError when there is no driver
        count, detail = 0, f" ({error})"
    if count == 0:
        return None, (f"CUDA was requested but no NVIDIA GPU is visible to cupy{detail}; cupy is installed, the GPU "
                      f"or its driver is missing (or hidden by CUDA_VISIBLE_DEVICES): {INSTALL_HINT}")
    return module, None


def cupyx():
    """cupyx (scatter_add, scipy.special) of the cuda backend in use."""
    module = cupy()
    if module.__class__.__module__.startswith(__package__ + ".emulated_cuda"):
        from . import emulated_cuda

        return emulated_cuda.cupyx()
    import cupyx as extras

    return extras


def mixed_devices_error(*arrays) -> RuntimeError:
    """torch's error for one op given arrays on different devices, naming two of them."""
    found = list(dict.fromkeys(str(device_of(a)) for a in arrays if hasattr(a, "shape")))
    found += ["cpu"] * (2 - len(found))
    return RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                        f"{found[0]} and {found[1]}!")


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
    return np if dev.type == "cpu" else cupy()


def array_module(array):
    """numpy or cupy, whichever holds `array` (numbers count as numpy)."""
    return np if _cupy is None or type(array) is not _cupy.ndarray else _cupy


def array_types() -> tuple:
    """The array classes of the backends loaded so far, and numpy's scalars: what arithmetic on a
    0-d array gives, a 0-d array to every kernel (a gradient in backward may be one)."""
    return (np.ndarray, np.generic) if _cupy is None else (np.ndarray, np.generic, _cupy.ndarray)


def device_of(array) -> device:
    if _cupy is not None and type(array) is _cupy.ndarray:
        return device("cuda", array.device.id)
    return CPU


def to_device(array, dev: device):
    """`array` on `dev` (itself if already there); moving to cuda:N makes cuda:N current."""
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
