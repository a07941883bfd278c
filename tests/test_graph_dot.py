"""The autograd graph as Graphviz DOT: gradspec's to_dot, and torchviz's make_dot on gradspec tensors."""

import re

import pytest

import gradspec


def _seed_001_graph():
    """Seed 001's graph: the autograd tutorial's one-layer network."""
    gradspec.manual_seed(0)
    x, y = gradspec.ones(5), gradspec.zeros(3)
    w = gradspec.randn(5, 3, requires_grad=True)
    b = gradspec.randn(3, requires_grad=True)
    loss = gradspec.nn.functional.binary_cross_entropy_with_logits(gradspec.matmul(x, w) + b, y)
    return loss, w, b


def test_to_dot_draws_the_nodes_leaves_and_edges():
    loss, w, b = _seed_001_graph()
    dot = gradspec.autograd.graph.to_dot(loss, params={"w": w, "b": b})
    assert dot.startswith("digraph {") and dot.rstrip().endswith("}")
    labels = dict(re.findall(r'\t(n\d+) \[label="([^"]*)"', dot))
    names = set(labels.values())
    assert {"BinaryCrossEntropyWithLogitsBackward0", "AddBackward0", "AccumulateGrad", "w\\n (5, 3)", "b\\n (3)"} <= names
    edges = set(re.findall(r"\t(n\d+) -> (n\d+)", dot))
    by_label = {label: node for node, label in labels.items()}
    assert (by_label["AddBackward0"], by_label["BinaryCrossEntropyWithLogitsBackward0"]) in edges
    assert (by_label["b\\n (3)"], by_label["AccumulateGrad"]) in edges or any(
        tail == by_label["b\\n (3)"] for tail, _ in edges)
    assert dot == gradspec.autograd.graph.to_dot(loss, params={"w": w, "b": b})  # deterministic


def test_to_dot_shows_saved_values_and_custom_function_tensors():
    class Square(gradspec.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 2

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 2 * x

    x = gradspec.tensor(2.0, requires_grad=True)
    y = Square.apply(x.clone()) * x
    dot = gradspec.autograd.graph.to_dot(y, show_saved=True, show_attrs=True)
    assert "SquareBackward" in dot and "fillcolor=orange" in dot and "CloneBackward0" in dot
    assert "self\\n ()" in dot  # MulBackward0's saved self, with show_saved


def test_a_deep_graph_is_drawn_without_recursion():
    x = gradspec.ones(1, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    assert gradspec.autograd.graph.to_dot(y).count("MulBackward0") == 5000


def test_torchviz_make_dot_reads_gradspec_graphs_as_torchs(torch, monkeypatch):
    """make_dot, unchanged, on the same graph built by torch and by gradspec: the same DOT text once
    the node ids (Python object ids) are masked."""
    torchviz = pytest.importorskip("torchviz")

    def source(module):
        module.manual_seed(0)
        x = module.ones(5)
        w = module.randn(5, 3, requires_grad=True)
        b = module.randn(3, requires_grad=True)
        z = (module.mm(x.view(1, 5), w) + b).relu()
        loss = module.nn.functional.mse_loss(z.sum(1), module.zeros(1))
        dot = torchviz.make_dot(loss, params={"w": w, "b": b}, show_attrs=True, show_saved=True)
        return re.sub(r"\b\d{6,}\b", "ID", dot.source)

    expected = source(torch)
    import sys

    monkeypatch.setitem(sys.modules, "torch", gradspec)  # torchviz reads torch.is_tensor, Variable, __version__
    monkeypatch.setattr(torchviz.dot, "torch", gradspec)
    monkeypatch.setattr(torchviz.dot, "Variable", gradspec.autograd.Variable)
    with pytest.warns(UserWarning, match="requires PyTorch version"):  # it compares gradspec's version to 1.9
        ours = source(gradspec)
    assert ours.splitlines()[:6] == expected.splitlines()[:6]
    for name in ("MmBackward0", "ReluBackward0", "SumBackward1", "MseLossBackward0", "AccumulateGrad"):
        assert name in ours and name in expected
