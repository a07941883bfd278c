"""What the emulated device did: kernel launches, allocations and host transfers.

A model of cupy's work, counted per call: one launch for every cupy call that writes device
memory (an elementwise op, a reduction, a copy, a matmul; `zeros` is a memset, `empty` nothing;
a view is nothing), one more where cupy gathers with several index arrays
(cupy_prepare_array_indexing), a device-to-host copy for everything that reads values on the
host (`get`, `item`, `float()`, `bool()`, printing, boolean-mask indexing), and an allocation for
every new buffer. Fused kernels (RawModule) count as one launch each, under their C++ name.
"""

from __future__ import annotations

import collections

stats = {"launches": 0, "allocations": 0, "device_to_host": 0, "host_to_device": 0}
kernels: collections.Counter = collections.Counter()  # launches by kernel name


def launch(name: str) -> None:
    stats["launches"] += 1
    kernels[name] += 1


def device_to_host() -> None:
    stats["device_to_host"] += 1
    launch("memcpy DtoH")


def host_to_device() -> None:
    stats["host_to_device"] += 1
    launch("memcpy HtoD")


def snapshot() -> dict:
    """The counts so far, kernels included: subtract two snapshots to count a region."""
    return dict(stats, kernels=collections.Counter(kernels))


def since(before: dict) -> dict:
    now = snapshot()
    counted = {key: now[key] - before[key] for key in stats}
    counted["kernels"] = now["kernels"] - before["kernels"]
    return counted
