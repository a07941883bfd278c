"""RMSprop, optionally centered and with momentum (torch's update rule)."""

from __future__ import annotations

from ..backends import array_module
from ..tensor import make_tensor
from .adam import lerp_
from .optimizer import Optimizer, check_lr, scalar, step_tensor

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, capturable: bool = False, foreach=None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        lr = scalar(group["lr"])
        alpha, eps, weight_decay = group["alpha"], group["eps"], group["weight_decay"]
        momentum, centered, maximize = group["momentum"], group["centered"], group["maximize"]
        for p in group["params"]:
            grad = p._grad
            if grad is None:
                continue
            xp = array_module(p._data)
            state = self.state[p]
            if len(state) == 0:
                state["step"] = step_tensor(0.0)
                state["square_avg"] = make_tensor(xp.zeros_like(p._data))
                if momentum > 0:
                    state["momentum_buffer"] = make_tensor(xp.zeros_like(p._data))
                if centered:
                    state["grad_avg"] = make_tensor(xp.zeros_like(p._data))
            d = -grad._data if maximize else grad._data
            state["step"]._data += 1
            if weight_decay != 0:
                d = d + weight_decay * p._data
            square_avg = state["square_avg"]._data
            square_avg *= alpha
            square_avg += (1 - alpha) * d * d
            if centered:
                grad_avg = state["grad_avg"]._data
                lerp_(xp, grad_avg, d, 1 - alpha)
                avg = xp.sqrt(square_avg + (-1) * grad_avg * grad_avg)
            else:
                avg = xp.sqrt(square_avg)
            avg += eps
            if momentum > 0:
                buf = state["momentum_buffer"]._data
                buf *= momentum
                buf += d / avg
                p._data += (-lr) * buf
            else:
                p._data += (-lr) * d / avg
            p._bump()
