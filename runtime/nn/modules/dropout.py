"""Dropout, Dropout1d and Dropout2d: elements (or whole channels) zeroed with probability p in training
mode, the rest scaled by 1 / (1 - p)."""

from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d"]


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    _function = staticmethod(F.dropout)

    def forward(self, input):
        return self._function(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Each element zeroed with probability p in training, the rest scaled by 1 / (1 - p)."""


class Dropout1d(_DropoutNd):
    """Whole channels of (N, C, L) or (C, L) inputs zeroed with probability p."""

    _function = staticmethod(F.dropout1d)


class Dropout2d(_DropoutNd):
    """Whole channels of (N, C, H, W) inputs zeroed with probability p."""

    _function = staticmethod(F.dropout2d)
