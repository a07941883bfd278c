"""Adagrad with lr_decay, weight decay, initial accumulator value and maximize (torch's update rule)."""

from __future__ import annotations

from ..backends import array_module
from ..tensor import make_tensor
from .optimizer import Optimizer, check_lr, scalar, step_tensor

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach=None, *, maximize: bool = False,
                 differentiable: bool = False, fused=None) -> None:
        check_lr(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:  # torch creates Adagrad's state eagerly
            for p in group["params"]:
                state = self.state[p]
                state["step"] = step_tensor(0.0)
                xp = array_module(p._data)
                state["sum"] = make_tensor(xp.full_like(p._data, group["initial_accumulator_value"]))

    def _update_group(self, group: dict) -> None:
        lr = scalar(group["lr"])
        lr_decay, eps, weight_decay, maximize = group["lr_decay"], group["eps"], group["weight_decay"], \
            group["maximize"]
        for p in group["params"]:
            grad = p._grad
            if grad is None:
                continue
            xp = array_module(p._data)
            state = self.state[p]
            step_t = state["step"]
            step_t._data += 1
            step = step_t.item()
            d = -grad._data if maximize else grad._data
            if weight_decay != 0:
                d = d + weight_decay * p._data
            clr = lr / (1 + (step - 1) * lr_decay)
            state_sum = state["sum"]._data
            state_sum += d * d
            std = xp.sqrt(state_sum)
            std += eps
            p._data += (-clr) * d / std
            p._bump()
