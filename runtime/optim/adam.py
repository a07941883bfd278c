"""Adam and AdamW (decoupled weight decay), with amsgrad and maximize (torch's update rule)."""

from __future__ import annotations

from ..backends import array_module
from . import fused
from .optimizer import Optimizer, check_adam_arguments, decay_weights, init_state, scalar

__all__ = ["Adam", "AdamW"]


def lerp_(xp, start, end, weight: float) -> None:
    """start <- torch.lerp(start, end, weight), in place (torch's two-branch formula)."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


def update_moments_(xp, exp_avg, exp_avg_sq, d, beta1: float, beta2: float) -> None:
    """Adam's running averages of the gradient and its square, in place (torch's lerp_ and addcmul_)."""
    lerp_(xp, exp_avg, d, 1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * d * d


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 amsgrad: bool = False, *, foreach=None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused=None, decoupled_weight_decay: bool = False) -> None:
        check_adam_arguments(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        lr = scalar(group["lr"])
        beta1, beta2 = (scalar(b) for b in group["betas"])
        eps, amsgrad = group["eps"], group["amsgrad"]
        if not amsgrad and self._fused_update(group, lr, beta1, beta2, eps):
            return
        for p, xp, d, state in self._gradients(group):
            init_state(state, xp, p, "exp_avg", "exp_avg_sq", *(("max_exp_avg_sq",) if amsgrad else ()))
            step_t = state["step"]
            step_t._data += 1
            d = decay_weights(p, d, lr, group["weight_decay"], group.get("decoupled_weight_decay", False))
            exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
            update_moments_(xp, exp_avg, exp_avg_sq, d, beta1, beta2)
            step = step_t.item()
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            step_size = lr / bias_correction1
            bias_correction2_sqrt = bias_correction2 ** 0.5
            if amsgrad:
                max_sq = state["max_exp_avg_sq"]._data
                xp.maximum(max_sq, exp_avg_sq, out=max_sq)
                denom = xp.sqrt(max_sq) / bias_correction2_sqrt
            else:
                denom = xp.sqrt(exp_avg_sq) / bias_correction2_sqrt
            denom += eps
            p._data += (-step_size) * exp_avg / denom
            p._bump()


    def _fused_update(self, group: dict, lr: float, beta1: float, beta2: float, eps: float) -> bool:
        """The group in one launch per device, dtype and step count (optimizers.yaml's adam rule),
        where gradspec.optim.fused applies; False where it does not."""
        params = [p for p in group["params"] if p._grad is not None]
        columns = {"param": [p._data for p in params], "grad": [p._grad._data for p in params]}
        states = [self.state[p] for p in params]
        started = [i for i, state in enumerate(states) if state]
        if not fused.applies(group, columns) or started and not fused.applies(group, {
                k: [states[i][k]._data for i in started] for k in ("exp_avg", "exp_avg_sq")}):
            return False
        by_step: dict = {}
        for i, (p, state) in enumerate(zip(params, states)):
            init_state(state, array_module(p._data), p, "exp_avg", "exp_avg_sq")
            state["step"]._data += 1  # on the host, as torch keeps it
            by_step.setdefault(state["step"].item(), []).append(i)
        weight_decay = group["weight_decay"]
        flags = dict(maximize=group["maximize"], decay=weight_decay != 0,
                     decoupled=group.get("decoupled_weight_decay", False))
        for step, chosen in by_step.items():
            scalars = dict(lr=lr, weight_decay=weight_decay, beta1=beta1, beta2=beta2, eps=eps,
                           step_size=lr / (1 - beta1 ** step), bias_correction2_sqrt=(1 - beta2 ** step) ** 0.5)
            fused.step("adam", {"param": [columns["param"][i] for i in chosen],
                                "grad": [columns["grad"][i] for i in chosen],
                                "exp_avg": [states[i]["exp_avg"]._data for i in chosen],
                                "exp_avg_sq": [states[i]["exp_avg_sq"]._data for i in chosen]}, scalars, flags)
        for p in params:
            p._bump()
        return True


class AdamW(Adam):
    """Adam with weight decay applied to the parameters (p *= 1 - lr * weight_decay), not the gradients."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, maximize: bool = False, foreach=None, capturable: bool = False,
                 differentiable: bool = False, fused=None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
