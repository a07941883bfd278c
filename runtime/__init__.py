"""gradspec's runtime: `import gradspec as torch` and run torch's autograd tutorials.

The core (tensor, node, engine, grad_mode, backends, kernels, formulas) never imports the
generated code at import time; this module does, binds its ops onto Tensor and installs the
array and Tensor namespaces into the engine.
"""

from __future__ import annotations

from . import dtypes, engine, formulas, random
from ._tensor_str import get_printoptions, set_printoptions
from .backends import device
from .dtypes import (bool, double, float, float16, float32, float64, get_default_dtype, half, int, int8,  # noqa: A004
                     int16, int32, int64, long, set_default_dtype, short, uint8)
from .factories import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, get_rng_state,
                        linspace, manual_seed, ones, ones_like, rand, rand_like, randint, randn, randn_like, randperm,
                        set_rng_state, tensor, zeros, zeros_like)
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .random import Generator, initial_seed, seed
from .tensor import Size, Tensor

from . import generated
from .generated.functions import *  # noqa: E402,F401,F403  the ops: add, mul, matmul, exp, sum, ...

from . import composites, methods  # noqa: E402

methods.bind()
engine.install(generated.array_ops, generated.functions, formulas)

from . import autograd, cuda, nn  # noqa: E402
from .autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled  # noqa: E402
from .autograd.anomaly_mode import set_detect_anomaly as set_anomaly_enabled  # noqa: E402

from .composites import (chunk, clamp, einsum, flatten, is_tensor, log_softmax, matmul, max, min,  # noqa: E402,A004
                         movedim, narrow, norm, numel, outer, prod, reshape, softmax, split, square, squeeze, std,
                         tile, unbind, unflatten, var)

from . import accelerator, arguments, backends, legacy  # noqa: E402
from .accelerator import get_default_device, set_default_device  # noqa: E402
from .comparison import allclose, equal, isclose  # noqa: E402
from .factories import multinomial  # noqa: E402

accelerator.install_backend_flags(backends)
globals().update(legacy.TYPES)  # FloatTensor, LongTensor, ...

dtype = dtypes.dtype
clip = clamp
sum = composites.reduce_sum  # noqa: A001
mean = composites.reduce_mean

# torch's binding gives every function out= and numpy's keyword names (runtime/arguments.py)
for _name in (*generated.functions.__all__, "chunk", "clamp", "clip", "einsum", "flatten", "log_softmax", "matmul",
              "max", "min", "movedim", "narrow", "norm", "outer", "prod", "reshape", "softmax", "split", "square",
              "squeeze", "std", "tile", "unbind", "unflatten", "var", "sum", "mean", "isclose"):
    if not _name.startswith("_") and not _name.endswith("_") and _name in globals():
        globals()[_name] = arguments.torch_function(globals()[_name])
del _name

__version__ = "0.1.0"

# ---- training: nn (above), optim, data utilities, checkpoints, models (issue 5) ------------
from . import models, optim, utils, vision  # noqa: E402
from .serialization import load, save  # noqa: E402
