"""torch.autograd: backward, grad and the graph's building blocks."""

from __future__ import annotations

from ..legacy import Variable  # torch.autograd.Variable: a tensor since torch 0.4
from ..node import AccumulateGrad, Node
from ..tensor import Tensor
from . import anomaly_mode, function, functional, graph  # noqa: F401  (torch's submodules)
from .anomaly_mode import detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly
from .function import Function, FunctionCtx, InplaceFunction, once_differentiable
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .reverse import _is_checkpoint_valid, backward, grad  # noqa: F401  (torch.autograd._is_checkpoint_valid)

__all__ = ["Variable", "backward", "grad", "gradcheck", "gradgradcheck", "GradcheckError", "Node",
           "AccumulateGrad", "Function", "FunctionCtx", "InplaceFunction", "once_differentiable", "functional",
           "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled"]
