"""NAdam: Adam with Nesterov momentum and a momentum schedule (torch's update rule)."""

from __future__ import annotations

import numpy as np

from .adam import update_moments_
from .optimizer import Optimizer, check_adam_arguments, decay_weights, init_state, scalar

__all__ = ["NAdam"]


class NAdam(Optimizer):
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *, foreach=None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False) -> None:
        check_adam_arguments(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        lr = scalar(group["lr"])
        beta1, beta2 = group["betas"]
        eps, weight_decay, momentum_decay = group["eps"], group["weight_decay"], group["momentum_decay"]
        for p, xp, d, state in self._gradients(group):
            # torch keeps the product of the momentum schedule as a 0-d tensor of the default dtype
            # and multiplies it there: float32 products, as here
            init_state(state, xp, p, "exp_avg", "exp_avg_sq", scalars={"mu_product": 1.0})
            state["step"]._data += 1
            step = state["step"].item()
            bias_correction2 = 1 - beta2 ** step
            d = decay_weights(p, d, lr, weight_decay, group["decoupled_weight_decay"])
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
            mu_product = state["mu_product"]._data
            mu_product *= np.asarray(mu, mu_product.dtype)
            mu_product = float(mu_product)
            exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
            update_moments_(xp, exp_avg, exp_avg_sq, d, beta1, beta2)
            denom = xp.sqrt(exp_avg_sq / bias_correction2)
            denom += eps
            p._data += (-lr * (1.0 - mu) / (1.0 - mu_product)) * d / denom
            p._data += ((-lr * mu_next) / (1.0 - mu_product * mu_next)) * exp_avg / denom
            p._bump()
