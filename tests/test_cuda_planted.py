"""Planted numpy-only calls fail on the cuda device (the emulated one where no GPU is visible).

The issue that brought the emulated device: the engine read `grad.flags.writeable` and conv2d
passed `writeable=False` to `as_strided`; numpy takes both, cupy neither, so both crashed on the
first GPU run. Planted back into a copy of the code, each passes on the CPU and fails on cuda.
"""

from __future__ import annotations

import inspect
import textwrap

import numpy as np
import pytest

import gradspec
from conftest import CUDA_MISSING
from gradspec import engine
from gradspec.generated import nodes
from gradspec.kernels import nn as kernels_nn

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(CUDA_MISSING is not None, reason=f"no cuda device: {CUDA_MISSING}")]


def _planted(function, anchor: str, replacement: str, namespace: dict):
    """`function` recompiled with the line containing `anchor` replaced by `replacement`."""
    source = textwrap.dedent(inspect.getsource(function))
    lines = source.split("\n")
    at = next(i for i, text in enumerate(lines) if anchor in text)
    lines[at] = lines[at][:len(lines[at]) - len(lines[at].lstrip())] + replacement
    scope = dict(namespace)
    exec(compile("\n".join(lines), f"<planted {function.__qualname__}>", "exec"), scope)  # noqa: S102
    return scope[function.__name__]


def _step(device: str) -> None:
    x = gradspec.randn(4, 3, device=device, requires_grad=True)
    w = gradspec.randn(3, device=device, requires_grad=True)
    (x * w).tanh().sum().backward()
    assert x.grad.shape == (4, 3) and w.grad.shape == (3,)


@pytest.mark.parametrize("node,method", [("SumBackward0", "apply"), ("MulBackward0", "apply_fused")])
def test_flags_writeable_in_a_node_body(monkeypatch, node, method):
    """In the array form of a node that runs it on cuda (a reduction), and in the fused form of
    an elementwise one."""
    cls = getattr(nodes, node)
    planted = _planted(getattr(cls, method), "grad = grads[0]", "grad = grads[0]; grad.flags.writeable", vars(nodes))
    monkeypatch.setattr(cls, method, planted)
    _step("cpu")
    with pytest.raises(AttributeError, match="writeable"):
        _step("cuda")


def test_flags_writeable_in_the_engine(monkeypatch):
    """The original bug: _can_steal asking numpy's flags whether a view may be stolen."""
    monkeypatch.setattr(engine, "_overlap_free", lambda array: array.flags.writeable)
    for device in ("cpu", "cuda"):
        leaf = gradspec.randn(3, 4, device=device, requires_grad=True)
        loss = (leaf.t().t() * 2).sum()  # the leaf's gradient: a view (the transpose of a transpose)
        if device == "cpu":
            loss.backward()
        else:
            with pytest.raises(AttributeError, match="writeable"):
                loss.backward()


def test_writeable_keyword_in_a_kernel(monkeypatch):
    assert "writeable=" not in inspect.getsource(kernels_nn._windows)
    planted = _planted(kernels_nn._windows, "return xp.lib.stride_tricks.as_strided",
                       "return xp.lib.stride_tricks.as_strided(padded, shape, strides, writeable=False)",
                       vars(kernels_nn))
    monkeypatch.setattr(kernels_nn, "_windows", planted)
    conv = gradspec.nn.Conv2d(2, 3, 3, padding=1)
    image = np.random.default_rng(0).standard_normal((1, 2, 5, 5)).astype(np.float32)
    conv(gradspec.tensor(image)).sum().backward()
    conv.to("cuda")
    with pytest.raises(TypeError, match="as_strided\\(\\) got an unexpected keyword argument 'writeable'"):
        conv(gradspec.tensor(image, device="cuda"))
