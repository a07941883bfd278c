"""The cpu backend: numpy arrays, each node's array form (numpy has no fused kernels)."""

from __future__ import annotations

import numpy as np

from .table import Backend

NUMPY = Backend("numpy", np, np.ndarray)
