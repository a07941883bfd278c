"""Known-zero gradients: sgn's derivative is torch's efficient ZeroTensor, which the engine adds as
nothing and passes through formula nodes without running them, so that a zero meeting an inf
upstream (x * x at x = inf) stays zero instead of NaN. Whoever sees a gradient gets zeros."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradspec as gs
from conftest import DEVICES

INF = math.inf


def _leaf(values):
    return gs.tensor(values, requires_grad=True)


def leaf_grad(m, device="cpu"):
    x = m.tensor([1.0, INF, -2.0], requires_grad=True, device=device)
    x.sgn().sum().backward()
    return x.grad


def captured(m, device="cpu"):
    x = m.tensor([1.0, INF, -2.0], requires_grad=True, device=device)
    return m.autograd.grad(x.sgn().sum(), [x])[0]


def abs_second_order(m, device="cpu"):
    x = m.tensor([1.0, INF, -2.0], requires_grad=True, device=device)
    (g,) = m.autograd.grad((x * x).abs().sum(), [x], create_graph=True)
    return m.autograd.grad(g.sum(), [x])[0]


def inf_norm_second_order(m, device="cpu"):  # seed 2031, program 27017
    x = m.tensor([[1.0, INF, 1.0], [1.0, 1.0, 1.0]], requires_grad=True, device=device)
    (g,) = m.autograd.grad((x * x).norm(INF), [x], create_graph=True)
    return m.autograd.grad((g * g).sum(), [x])[0]


def l1_loss_second_order(m, device="cpu"):
    x = m.tensor([1.0, 3.0, -2.0], requires_grad=True, device=device)
    target = m.tensor([0.5, 0.5, 0.5], device=device)
    (g,) = m.autograd.grad(m.nn.functional.l1_loss(x * x, target), [x], create_graph=True)
    return m.autograd.grad(g.sum(), [x])[0]


def beside_a_real_gradient(m, device="cpu"):
    x = m.tensor([1.0, INF, -2.0], requires_grad=True, device=device)
    ((x * x).sgn() * 3 + x * 2).sum().backward()
    return x.grad


def one_output_of_var_mean(m, device="cpu"):  # beside the other output's real gradient, it adds nothing
    x = m.tensor([[1.0, INF], [-2.0, 3.0]], requires_grad=True, device=device)
    var, mean = m.var_mean(x * x, 0)
    (var.sgn().sum() + mean.sum()).backward()
    return x.grad


def after_hooks(m):
    x = m.tensor([1.0, INF, -2.0], requires_grad=True)
    v = x * x
    seen = []
    v.register_hook(lambda g: seen.append(g.clone()))
    v.retain_grad()
    v.sgn().sum().backward()
    return seen[0], v.grad, x.grad


CASES = {
    "leaf_grad": (leaf_grad, [0.0, 0.0, 0.0]),
    "captured": (captured, [0.0, 0.0, 0.0]),
    "abs_second_order": (abs_second_order, [2.0, 2.0, 2.0]),
    "inf_norm_second_order": (inf_norm_second_order, [[0.0, INF, 0.0], [0.0, 0.0, 0.0]]),
    "l1_loss_second_order": (l1_loss_second_order, [2 / 3] * 3),
    "beside_a_real_gradient": (beside_a_real_gradient, [2.0, 2.0, 2.0]),
    "one_output_of_var_mean": (one_output_of_var_mean, [[1.0, INF], [-2.0, 3.0]]),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", CASES)
def test_known_zero_gradient(name, device):
    case, expected = CASES[name]
    grad = case(gs, device)
    assert grad.device.type == device
    np.testing.assert_allclose(grad.cpu().numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_known_zero_gradient_as_torch(name, torch):
    case, _ = CASES[name]
    np.testing.assert_allclose(case(gs).numpy(), case(torch).clone().numpy(), rtol=1e-6)


def test_hooks_and_retained_grads_see_zeros_that_pass_on():
    """A hook gets zeros; returning nothing, it lets the known zero pass on (no NaN at x = inf)."""
    hooked, retained, leaf = after_hooks(gs)
    for tensor in (hooked, retained, leaf):
        np.testing.assert_array_equal(tensor.numpy(), [0.0, 0.0, 0.0])


def test_a_zero_gradient_is_a_writable_tensor():
    """gradspec has no ZeroTensor type: what it returns is ordinary zeros (docs/decisions.md)."""
    grad = captured(gs)
    grad += 1
    np.testing.assert_array_equal(grad.numpy(), [1.0, 1.0, 1.0])


def test_a_custom_function_runs_with_zeros():
    calls = []

    class Twice(gs.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            calls.append(grad.clone())
            return grad * 2

    x = _leaf([1.0, 2.0])
    Twice.apply(x).sgn().sum().backward()
    np.testing.assert_array_equal(calls[0].numpy(), [0.0, 0.0])
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


def test_a_node_passing_zeros_still_checks_its_saved_tensors():
    """torch runs the node, unpacking its saved tensors: a write since is refused all the same."""
    x = _leaf([1.0, 2.0])
    y = x * 1
    z = y * y
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sgn().sum().backward()
