"""The emulated devices: how many there are, which one is current, and cupy's errors about them.

cupy runs every operation on the *current* device (a per-thread setting, changed by
`with cupy.cuda.Device(i):`) and refuses an array that lives on another one unless peer access
is available. The emulation has no peer access, so an array on cuda:1 given to an operation
while cuda:0 is current raises cupy's ValueError, as on a machine whose GPUs cannot reach each
other's memory.
"""

from __future__ import annotations

import threading

from cupy_backends.cuda.api.driver import CUDADriverError as _DriverError
from cupy_backends.cuda.api.runtime import CUDARuntimeError

COUNT = 2  # emulated GPUs: cuda:0 and cuda:1

_local = threading.local()


def current() -> int:
    return getattr(_local, "device", 0)


def set_current(index: int) -> None:
    check_ordinal(index)
    _local.device = index


def check_ordinal(index: int) -> None:
    if not 0 <= index < COUNT:
        raise CUDARuntimeError(101)  # cudaErrorInvalidDevice: invalid device ordinal


def peer_access_error(resident: int, here: int) -> ValueError:
    """cupy's refusal of an array on another device (cupy/_core/_kernel.pyx, _check_peer_access)."""
    return ValueError(f"The device where the array resides ({resident}) is different from the current device "
                      f"({here}). Peer access is unavailable between these devices.")


class CUDADriverError(_DriverError):
    """cupy's driver error, built without libcuda (whose message table the real class reads)."""

    def __init__(self, status: int, message: str):
        RuntimeError.__init__(self, message)
        self.status = status


class Device:
    """cupy.cuda.Device: `with Device(i):` makes device i current for the block."""

    __slots__ = ("id", "_previous")

    def __init__(self, device=None):
        if isinstance(device, Device):
            device = device.id
        self.id = current() if device is None else int(device)
        self._previous = []

    def use(self) -> None:
        set_current(self.id)

    def synchronize(self) -> None:
        check_ordinal(self.id)  # the host ran everything already

    @property
    def compute_capability(self) -> str:
        return "90"

    def __enter__(self) -> "Device":
        self._previous.append(current())
        set_current(self.id)
        return self

    def __exit__(self, *exc) -> None:
        _local.device = self._previous.pop()

    def __eq__(self, other) -> bool:
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __int__(self) -> int:
        return self.id

    def __repr__(self) -> str:
        return f"<CUDA Device {self.id}>"


def get_device_id() -> int:
    return current()


# ---- cupy.cuda.runtime ----------------------------------------------------------------------

def getDeviceCount() -> int:  # noqa: N802 - cupy's names
    return COUNT


def getDevice() -> int:  # noqa: N802
    return current()


def setDevice(device: int) -> None:  # noqa: N802
    set_current(int(device))


def deviceSynchronize() -> None:  # noqa: N802
    """Nothing is queued: every emulated operation has finished when it returns."""


def deviceCanAccessPeer(device: int, peer: int) -> int:  # noqa: N802
    check_ordinal(device)
    check_ordinal(peer)
    return 0


def runtimeGetVersion() -> int:  # noqa: N802
    return 12000


def driverGetVersion() -> int:  # noqa: N802
    return 12000


RUNTIME = {name: globals()[name] for name in ("getDeviceCount", "getDevice", "setDevice", "deviceSynchronize",
                                              "deviceCanAccessPeer", "runtimeGetVersion", "driverGetVersion")}
RUNTIME["CUDARuntimeError"] = CUDARuntimeError
