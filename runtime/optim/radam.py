"""RAdam: Adam with the variance of its adaptive learning rate rectified (torch's update rule)."""

from __future__ import annotations

from .adam import update_moments_
from .optimizer import Optimizer, check_adam_arguments, decay_weights, init_state, scalar

__all__ = ["RAdam"]


class RAdam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 decoupled_weight_decay: bool = False, *, foreach=None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        check_adam_arguments(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        lr = scalar(group["lr"])
        beta1, beta2 = group["betas"]
        eps, weight_decay = group["eps"], group["weight_decay"]
        rho_inf = 2 / (1 - beta2) - 1  # the longest the approximated simple moving average gets
        for p, xp, d, state in self._gradients(group):
            init_state(state, xp, p, "exp_avg", "exp_avg_sq")
            state["step"]._data += 1
            step = state["step"].item()
            d = decay_weights(p, d, lr, weight_decay, group["decoupled_weight_decay"])
            exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
            update_moments_(xp, exp_avg, exp_avg_sq, d, beta1, beta2)
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            update = exp_avg / bias_correction1 * lr
            rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
            if rho_t > 5.0:  # the variance is tractable: rectify the adaptive learning rate
                adaptive = bias_correction2 ** 0.5 / (xp.sqrt(exp_avg_sq) + eps)
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                update = update * adaptive * rect
            p._data -= update
            p._bump()
