"""torch.optim.Optimizer: parameter groups, per-parameter state, state_dict and hooks.

Subclasses update parameters in place on their arrays (numpy, or cupy for CUDA tensors), which
records nothing in the graph, following torch's single-tensor ("for-loop") implementations op
for op so that float32 updates agree with torch's to rounding.
"""

from __future__ import annotations

import copy
from collections import OrderedDict, defaultdict
from itertools import chain

import numpy as np

from ..backends import array_module
from ..grad_mode import enable_grad
from ..hooks import add_hook
from ..tensor import Tensor, make_tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()

_global_step_pre_hooks: dict = OrderedDict()
_global_step_post_hooks: dict = OrderedDict()


def register_optimizer_step_pre_hook(hook):
    return add_hook(_global_step_pre_hooks, hook)


def register_optimizer_step_post_hook(hook):
    return add_hook(_global_step_post_hooks, hook)


def _typename(value) -> str:
    if isinstance(value, Tensor):
        return "torch.Tensor"
    return type(value).__qualname__


def _scalar_dtype():
    from .. import dtypes

    return np.float64 if dtypes.get_default_dtype() is dtypes.float64 else np.float32


def step_tensor(value: float = 0.0) -> Tensor:
    """The 0-d float tensor torch keeps as state["step"]."""
    return make_tensor(np.array(value, dtype=_scalar_dtype()))


class Optimizer:
    """Base class of all optimizers (torch.optim.Optimizer)."""

    def __init__(self, params, defaults: dict) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: dict = OrderedDict()
        self._optimizer_step_post_hooks: dict = OrderedDict()
        self._optimizer_state_dict_pre_hooks: dict = OrderedDict()
        self._optimizer_state_dict_post_hooks: dict = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks: dict = OrderedDict()
        self._optimizer_load_state_dict_post_hooks: dict = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got " + _typename(params))
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        out = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            out += "\n"
            out += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    out += f"    {key}: {group[key]}\n"
        return out + ")"

    def add_param_group(self, param_group: dict) -> None:
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering of "
                            "tensors in sets will change between runs. Please use a list instead.")
        else:
            param_group["params"] = list(params)
        tensors, names = [], []
        for param in param_group["params"]:
            if isinstance(param, tuple):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        for param in tensors:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is " + _typename(param))
            if not self.defaults.get("differentiable", None) and not (param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        ids = [id(p) for p in tensors]
        if len(ids) != len(set(ids)):
            import warnings

            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        existing = set()
        for group in self.param_groups:
            existing.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not existing.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    if grad.grad_fn is not None:
                        grad.detach_()
                    else:
                        grad._requires_grad = False
                    grad._data[...] = 0
                    grad._bump()

    # ---- stepping ------------------------------------------------------------------------

    def step(self, closure=None):
        """One update of every parameter that has a gradient; `closure` re-evaluates the loss first."""
        for hook in chain(_global_step_pre_hooks.values(), self._optimizer_step_pre_hooks.values()):
            result = hook(self, (), {})
            if result is not None:
                raise RuntimeError(f"{hook} must return None, but returned {result}.")
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group)
        self._opt_called = True
        for hook in chain(self._optimizer_step_post_hooks.values(), _global_step_post_hooks.values()):
            hook(self, (), {})
        return loss

    def _update_group(self, group: dict) -> None:
        raise NotImplementedError

    def _gradients(self, group: dict):
        """(parameter, its array module, its gradient negated under `maximize`, its state) for each
        parameter of the group that has a gradient, in order: the loop of every update rule."""
        maximize = group.get("maximize", False)
        for p in group["params"]:
            grad = p._grad
            if grad is not None:
                yield p, array_module(p._data), -grad._data if maximize else grad._data, self.state[p]

    def register_step_pre_hook(self, hook):
        return add_hook(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        return add_hook(self._optimizer_step_post_hooks, hook)

    # ---- state dict ----------------------------------------------------------------------

    def state_dict(self) -> dict:
        """{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}, as torch lays it out.

        The state's tensors are the optimizer's own (not copies), as in torch.
        """
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        mapping: dict[int, int] = {}
        start = 0

        def pack_group(group: dict) -> dict:
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            mapping.update({id(p): i for i, p in enumerate(group["params"], start) if id(p) not in mapping})
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        state_dict = {"state": packed_state, "param_groups": param_groups}
        for hook in self._optimizer_state_dict_post_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore state saved by state_dict() (state tensors are copied to each parameter's dtype/device)."""
        state_dict = dict(state_dict)
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = copy.deepcopy([{k: v for k, v in g.items()} for g in state_dict["param_groups"]])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def cast(param, value, key=None):
            if isinstance(value, Tensor):
                data = value._data
                if key != "step" and param.is_floating_point() and data.dtype != param._data.dtype:
                    data = data.astype(param._data.dtype)
                from ..backends import device_of, to_device

                data = to_device(data, device_of(param._data)) if key != "step" else data
                # a copy: the optimizer updates its state in place and must not write into the caller's dict
                return make_tensor(data.copy() if data is value._data else data)
            if isinstance(value, dict):
                return {k: cast(param, v, k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v) for v in value)
            return value

        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = cast(param, v)
            else:
                state[k] = v

        def update_group(group: dict, new_group: dict) -> dict:
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group

        self.__setstate__({"state": state,
                           "param_groups": [update_group(g, ng) for g, ng in zip(groups, saved_groups)]})
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)

    def register_state_dict_pre_hook(self, hook, prepend: bool = False):
        return add_hook(self._optimizer_state_dict_pre_hooks, hook)

    def register_state_dict_post_hook(self, hook, prepend: bool = False):
        return add_hook(self._optimizer_state_dict_post_hooks, hook)

    def register_load_state_dict_pre_hook(self, hook, prepend: bool = False):
        return add_hook(self._optimizer_load_state_dict_pre_hooks, hook)

    def register_load_state_dict_post_hook(self, hook, prepend: bool = False):
        return add_hook(self._optimizer_load_state_dict_post_hooks, hook)


def init_state(state: dict, xp, param: Tensor, *buffers: str, scalars: dict | None = None) -> None:
    """torch's lazy state, made on a parameter's first update, in torch's key order: step 0, any
    other 0-d `scalars` (name: start value), then zero-filled buffers."""
    if len(state) == 0:
        state["step"] = step_tensor(0.0)
        for name, value in (scalars or {}).items():
            state[name] = step_tensor(value)
        for name in buffers:
            state[name] = make_tensor(xp.zeros_like(param._data))


def decay_weights(param: Tensor, d, lr: float, weight_decay: float, decoupled: bool = False):
    """The gradient after weight decay as torch applies it: `d + weight_decay * param`, or with
    decoupled decay (AdamW's) the parameter itself shrunk by lr * weight_decay, d unchanged."""
    if weight_decay == 0:
        return d
    if decoupled:
        param._data *= 1 - lr * weight_decay
        return d
    return d + weight_decay * param._data


def check_lr(lr) -> None:
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= float(lr):
        raise ValueError(f"Invalid learning rate: {lr}")


def check_adam_arguments(lr, betas, eps, weight_decay) -> None:
    """The checks Adam, AdamW, NAdam and RAdam make of their shared arguments, with torch's messages."""
    check_lr(lr)
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def scalar(value) -> float:
    """A hyper-parameter as a Python float (a 1-element tensor lr is allowed, as in torch)."""
    return float(value.item()) if isinstance(value, Tensor) else value
