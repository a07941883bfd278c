"""torch.nn: neural-network functions (modules, layers and losses grow here)."""

from . import functional

__all__ = ["functional"]
