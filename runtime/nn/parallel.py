"""torch.nn.parallel for one device: gradspec runs a module on the device its parameters are on,
so DataParallel and data_parallel call the module on the whole batch (what torch does when
given a single device), and scripts written for several GPUs run unchanged."""

from __future__ import annotations

from .modules.module import Module


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0, module_kwargs=None):
    """`module(*inputs, **module_kwargs)`: torch's result for one device."""
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    return module(*inputs, **(module_kwargs or {}))


class DataParallel(Module):
    """Wraps `module` (reachable as `.module`, so state_dict keys gain torch's `module.` prefix)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module
        self.device_ids, self.output_device, self.dim = device_ids, output_device, dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


__all__ = ["DataParallel", "data_parallel"]
