"""gradspec: torch's API over a code-generated autograd: `import gradspec as torch`.

This module only collects names: gradspec.api assembles the API (the generated ops over the
core); nn, optim, utils, vision and models are the library above it (docs/decisions.md).

If that fails (most likely a broken or stale gradspec.generated), the package still imports, so
that the spec compiler, which needs none of the runtime, runs: `python -m gradspec.codegen`
regenerates gradspec.generated. Every other use raises the original error.
"""

from __future__ import annotations

__version__ = "0.1.0"

try:
    from .api import *  # noqa: F401,F403  the ops and composites derivatives.yaml declares as functions
    from . import accelerator, autograd, cuda, dtypes, models, multiprocessing, nn, optim, random, utils, vision  # noqa: F401,E501
    from .accelerator import get_default_device, set_default_device  # noqa: F401
    from ._tensor_str import get_printoptions, set_printoptions  # noqa: F401
    from .autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled  # noqa: F401
    from .autograd.anomaly_mode import set_detect_anomaly as set_anomaly_enabled  # noqa: F401
    from .backends import device  # noqa: F401
    from .backends.precision import get_float32_matmul_precision, set_float32_matmul_precision  # noqa: F401
    from .dtypes import (bool, double, dtype, float, float16, float32, float64, get_default_dtype, half,  # noqa: F401,A004
                         int, int8, int16, int32, int64, long, set_default_dtype, short, uint8)
    from .factories import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,  # noqa: F401
                            get_rng_state, linspace, manual_seed, ones, ones_like, rand, rand_like, randint, randn,
                            randn_like, randperm, set_rng_state, tensor, zeros, zeros_like)
    from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
    from .random import Generator, initial_seed, seed  # noqa: F401
    from .serialization import load, save  # noqa: F401
    from .legacy import TYPES as _TYPES  # FloatTensor, LongTensor, ...
    from .tensor import Size, Tensor  # noqa: F401

    globals().update(_TYPES)
except Exception as _error:  # noqa: BLE001 - kept, and raised on first use below
    _UNAVAILABLE = _error

    def __getattr__(name: str):
        raise ImportError(f"gradspec's API could not be assembled ({_UNAVAILABLE!r}); if gradspec.generated is "
                          "broken or stale, `python -m gradspec.codegen` regenerates it") from _UNAVAILABLE
