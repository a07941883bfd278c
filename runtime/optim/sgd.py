"""SGD with momentum, dampening, Nesterov, weight decay and maximize (torch's update rule)."""

from __future__ import annotations

from ..backends import array_module
from ..tensor import make_tensor
from . import fused
from .optimizer import Optimizer, check_lr, scalar

__all__ = ["SGD"]


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum: float = 0, dampening: float = 0, weight_decay: float = 0,
                 nesterov: bool = False, *, maximize: bool = False, foreach=None, differentiable: bool = False,
                 fused=None) -> None:
        check_lr(lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                        maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        lr = scalar(group["lr"])
        momentum, dampening = group["momentum"], group["dampening"]
        weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
        if self._fused_update(group, lr):
            return
        for p in group["params"]:
            grad = p._grad
            if grad is None:
                continue
            d = grad._data
            if maximize:
                d = -d
            if weight_decay != 0:
                d = d + weight_decay * p._data
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = make_tensor(d.copy())
                    state["momentum_buffer"] = buf
                else:
                    b = buf._data
                    b *= momentum
                    if dampening == 0:
                        b += d
                    else:
                        b += (1 - dampening) * d
                    buf._bump()
                d = d + momentum * buf._data if nesterov else buf._data
            p._data -= lr * d
            p._bump()

    def _fused_update(self, group: dict, lr: float) -> bool:
        """The whole group in one launch per device and dtype (optimizers.yaml's sgd and
        sgd_momentum rules), where gradspec.optim.fused applies; False where it does not."""
        params = [p for p in group["params"] if p._grad is not None]
        momentum, weight_decay = group["momentum"], group["weight_decay"]
        columns = {"param": [p._data for p in params], "grad": [p._grad._data for p in params]}
        buffers = [self.state[p].get("momentum_buffer") for p in params] if momentum != 0 else []
        moving = [i for i, b in enumerate(buffers) if b is not None]
        if not fused.applies(group, columns) or moving and not fused.applies(group, {
                "param": [columns["param"][i] for i in moving], "buffer": [buffers[i]._data for i in moving]}):
            return False
        scalars = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, dampening=group["dampening"])
        flags = dict(maximize=group["maximize"], decay=weight_decay != 0, nesterov=group["nesterov"])
        if momentum == 0:
            fused.step("sgd", columns, scalars, flags)
        for first, chosen in ((True, [i for i, b in enumerate(buffers) if b is None]), (False, moving)):
            if not chosen:
                continue
            for i in chosen:
                if first:  # torch's buffer starts as the gradient: the kernel writes it
                    buffers[i] = self.state[params[i]]["momentum_buffer"] = make_tensor(
                        array_module(params[i]._data).empty_like(params[i]._data))
                buffers[i]._bump()
            fused.step("sgd_momentum", {"param": [columns["param"][i] for i in chosen],
                                        "grad": [columns["grad"][i] for i in chosen],
                                        "momentum_buffer": [buffers[i]._data for i in chosen]},
                       scalars, dict(flags, first=first))
        for p in params:
            p._bump()
        return True
