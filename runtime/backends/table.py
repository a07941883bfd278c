"""What every backend module shares: devices, and the Backend table (gradspec.backends)."""

from __future__ import annotations

import numpy as np


class device:  # noqa: N801 - named like torch.device
    __slots__ = ("type", "index")

    def __init__(self, spec, index=None):
        if isinstance(spec, device):
            spec, index = spec.type, spec.index if index is None else index
        kind, _, number = str(spec).partition(":")
        if kind not in ("cpu", "cuda", "meta"):
            raise RuntimeError(f"Expected one of cpu, cuda, meta device type at start of device string: {spec}")
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

    def __enter__(self) -> "device":
        """`with torch.device("meta"):` makes it the factories' default device inside the block."""
        _DEFAULT_DEVICE.append(self)
        return self

    def __exit__(self, *exc_info) -> None:
        _DEFAULT_DEVICE.pop()


CPU = device("cpu")
# where factories put new tensors (torch.set_default_device; the last of `with device(...)` blocks)
_DEFAULT_DEVICE = [CPU]


def set_default_device(new) -> None:
    _DEFAULT_DEVICE[0] = device("cpu" if new is None else new)


def get_default_device() -> device:
    return _DEFAULT_DEVICE[-1]


class Backend:
    """An array library gradspec runs on, as a table."""

    __slots__ = ("name", "xp", "array_type", "extras", "kernels", "launch", "set_tf32")

    def __init__(self, name: str, xp, array_type: type, extras=None, kernels=None, set_tf32=None):
        """`kernels`: its compiler and launcher of gradspec's kernels (backends/fused.FusedKernels:
        the fused backward kernels, the optimizers' steps), if it runs them; `set_tf32(on)`: its
        switch for TF32 float32 products, if it has one."""
        self.name, self.xp, self.array_type, self.extras, self.kernels = name, xp, array_type, extras, kernels
        self.launch = None if kernels is None else kernels.launch
        self.set_tf32 = set_tf32

    def backward(self, node, grads):
        """A node's input gradients: its fused kernel where this backend launches fused kernels
        and the node has one (elementwise), else its array form."""
        if self.launch is not None and node.apply_fused is not None:
            fused = node.apply_fused(grads, self.launch)
            if fused is not None:
                return fused
        return node.apply(grads)

    def __repr__(self) -> str:
        return f"<backend {self.name}: {self.xp.__name__}>"


INSTALL_HINT = ("install the cuda extra matching the machine's CUDA, `pip install gradspec[cuda12]` (or "
                "`gradspec[cuda13]`), on a machine with an NVIDIA GPU and its driver")


def mixed_devices_error(*arrays) -> RuntimeError:
    """torch's error for one op given arrays on different devices, naming two of them."""
    found = list(dict.fromkeys("cpu" if type(a) is np.ndarray or isinstance(a, np.generic) else
                               f"cuda:{a.device.id}" for a in arrays if hasattr(a, "shape")))
    found += ["cpu"] * (2 - len(found))
    return RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                        f"{found[0]} and {found[1]}!")
