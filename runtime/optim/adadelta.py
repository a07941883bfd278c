"""Adadelta: step sizes from running averages of squared gradients and squared updates (torch's rule)."""

from __future__ import annotations

from .optimizer import Optimizer, check_lr, decay_weights, init_state, scalar

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    def __init__(self, params, lr=1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0, foreach=None,
                 *, capturable: bool = False, maximize: bool = False, differentiable: bool = False) -> None:
        check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize, capturable=capturable,
                        foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        lr = scalar(group["lr"])
        rho, eps, weight_decay = group["rho"], group["eps"], group["weight_decay"]
        for p, xp, d, state in self._gradients(group):
            init_state(state, xp, p, "square_avg", "acc_delta")
            state["step"]._data += 1
            d = decay_weights(p, d, lr, weight_decay)
            square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
            square_avg *= rho
            square_avg += (1 - rho) * d * d
            delta = xp.sqrt(acc_delta + eps) / xp.sqrt(square_avg + eps) * d
            acc_delta *= rho
            acc_delta += (1 - rho) * delta * delta
            p._data -= lr * delta
            p._bump()
