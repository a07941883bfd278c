"""Activation checkpointing (runtime/utils/checkpoint.py).

The memory test measures what the graph holds: starting from the loss's grad_fn it follows every
Python reference (gc.get_referents; functions through their closures and defaults, never their
module globals) and adds up the bytes of the distinct numpy buffers it reaches, leaving out the
parameters and the input, which exist with or without a graph.
"""

from __future__ import annotations

import gc
import types
import warnings

import numpy as np
import pytest

import gradspec as gs
from gradspec.utils.checkpoint import CheckpointError, checkpoint, checkpoint_sequential




DEPTH, WIDTH, BATCH = 16, 64, 32


def mlp_arrays(seed=0):
    rng = np.random.default_rng(seed)
    weights = [(rng.standard_normal((WIDTH, WIDTH)) / np.sqrt(WIDTH), rng.standard_normal(WIDTH) * 0.1)
               for _ in range(DEPTH)]
    return weights, rng.standard_normal((BATCH, WIDTH))


def make_mlp(lib, weights):
    params = [(lib.tensor(w.copy(), requires_grad=True), lib.tensor(b.copy(), requires_grad=True)) for w, b in weights]

    def block(start, end):
        def run(h):
            for w, b in params[start:end]:
                h = (h @ w + b).tanh()
            return h

        return run

    return params, block


def mlp_loss(lib, weights, x, segment=None, **kwargs):
    """The loss of the deep MLP, each `segment` layers checkpointed (None: no checkpointing)."""
    params, block = make_mlp(lib, weights)
    h = lib.tensor(x.copy(), requires_grad=True)
    inp = h
    if segment is None:
        h = block(0, DEPTH)(h)
    else:
        run = checkpoint if lib is gs else __import__("torch.utils.checkpoint", fromlist=["checkpoint"]).checkpoint
        for start in range(0, DEPTH, segment):
            h = run(block(start, start + segment), h, **kwargs)
    return (h * h).mean(), params, inp


def held_bytes(tensor, exclude=()) -> int:
    """Bytes of the distinct numpy buffers reachable from tensor.grad_fn (see the module docstring)."""
    excluded = {id(_root(a)) for a in exclude}
    seen, buffers = set(), {}
    stack = [tensor.grad_fn]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            root = _root(obj)
            if id(root) not in excluded:
                buffers[id(root)] = root.nbytes
            continue
        if isinstance(obj, (types.ModuleType, type, str, bytes, int, float, bool, np.dtype, np.generic)):
            continue
        if isinstance(obj, types.FunctionType):
            stack.extend(cell.cell_contents for cell in obj.__closure__ or () if _filled(cell))
            stack.extend(obj.__defaults__ or ())
            continue
        stack.extend(gc.get_referents(obj))
    return sum(buffers.values())


def _root(array):
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _filled(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def parameter_arrays(params, inp):
    return [p._data for pair in params for p in pair] + [inp._data]


# ---- the deep MLP: memory and gradients --------------------------------------------------------------


@pytest.mark.parametrize("use_reentrant", [False, True], ids=["non-reentrant", "reentrant"])
def test_checkpointing_a_deep_mlp_holds_less_and_gives_equal_gradients(use_reentrant):
    weights, x = mlp_arrays()
    plain, plain_params, plain_inp = mlp_loss(gs, weights, x)
    ckpt, ckpt_params, ckpt_inp = mlp_loss(gs, weights, x, segment=4, use_reentrant=use_reentrant)

    held_plain = held_bytes(plain, parameter_arrays(plain_params, plain_inp))
    held_ckpt = held_bytes(ckpt, parameter_arrays(ckpt_params, ckpt_inp))
    activation = BATCH * WIDTH * 8
    rng_state = gs.random.default_generator.get_state().nbytes  # each segment keeps one, as torch
    # without checkpointing every layer keeps one activation (its tanh output, which is also the
    # next matmul's saved input); with 4 checkpointed segments of 4 layers, the graph keeps the
    # segments' inputs (the first is the input, left out), the last segment's output and the
    # segments' RNG states
    assert held_plain >= DEPTH * activation
    assert held_ckpt <= (DEPTH // 4) * (activation + rng_state)
    assert held_ckpt * 3 < held_plain

    plain.backward()
    ckpt.backward()
    np.testing.assert_array_equal(plain.detach().numpy(), ckpt.detach().numpy())
    np.testing.assert_allclose(ckpt_inp.grad.numpy(), plain_inp.grad.numpy(), rtol=1e-12, atol=1e-15)
    for (w1, b1), (w2, b2) in zip(plain_params, ckpt_params):
        np.testing.assert_allclose(w2.grad.numpy(), w1.grad.numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(b2.grad.numpy(), b1.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("use_reentrant", [False, True], ids=["non-reentrant", "reentrant"])
def test_checkpointed_mlp_gradients_equal_torchs(torch, use_reentrant):
    weights, x = mlp_arrays(1)
    loss, params, inp = mlp_loss(gs, weights, x, segment=4, use_reentrant=use_reentrant)
    tloss, tparams, tinp = mlp_loss(torch, weights, x, segment=4, use_reentrant=use_reentrant)
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(inp.grad.numpy(), tinp.grad.numpy(), rtol=1e-10, atol=1e-13)
    for (w, b), (tw, tb) in zip(params, tparams):
        np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("use_reentrant", [False, True], ids=["non-reentrant", "reentrant"])
def test_the_forward_runs_again_during_backward_once(use_reentrant):
    calls = []

    def fn(x):
        calls.append(gs.is_grad_enabled())
        return (x * x).sin()

    x = gs.tensor([0.5, 1.0], requires_grad=True)
    y = checkpoint(fn, x, use_reentrant=use_reentrant).sum()
    assert len(calls) == 1
    y.backward(retain_graph=True)
    assert len(calls) == 2 and calls[1] is True  # recomputed with grad enabled
    np.testing.assert_allclose(x.grad.numpy(), np.cos(np.array([0.25, 1.0])) * 2 * np.array([0.5, 1.0]))
    if not use_reentrant:
        y.backward()  # retained: the recomputed values are reused, no third run
        assert len(calls) == 2


# ---- what works with the non-reentrant variant ----------------------------------------------------------


def test_non_reentrant_works_with_autograd_grad_and_captured_parameters(torch):
    results = []
    for lib in (gs, torch):
        run = checkpoint if lib is gs else torch.utils.checkpoint.checkpoint
        w = lib.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=lib.float64, requires_grad=True)
        x = lib.tensor([[0.1, 0.2]], dtype=lib.float64, requires_grad=True)
        y = run(lambda h: (h @ w).tanh() @ w, x, use_reentrant=False).sum()
        results.append([g.detach().numpy() for g in lib.autograd.grad(y, (x, w))])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_non_reentrant_passes_keyword_arguments():
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    y = checkpoint(lambda h, scale=1.0: h * h * scale, x, use_reentrant=False, scale=3.0)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])


def test_non_reentrant_supports_double_backward(torch):
    results = []
    for lib in (gs, torch):
        run = checkpoint if lib is gs else torch.utils.checkpoint.checkpoint
        x = lib.tensor([0.3, -0.7], dtype=lib.float64, requires_grad=True)
        y = run(lambda h: (h * h * h).sin(), x, use_reentrant=False).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        results.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)


def test_nested_checkpoints_give_the_plain_gradients():
    def inner(h):
        return (h * 2).tanh()

    def outer(h):
        return checkpoint(inner, h * h, use_reentrant=False).exp()

    x = gs.tensor([0.1, -0.4, 0.9], dtype=gs.float64, requires_grad=True)
    checkpoint(outer, x, use_reentrant=False).sum().backward()
    y = gs.tensor([0.1, -0.4, 0.9], dtype=gs.float64, requires_grad=True)
    outer_plain = (((y * y) * 2).tanh()).exp()
    outer_plain.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-12)


def test_random_ops_draw_the_same_numbers_when_recomputed(torch):
    def fn(h):
        return h * gs.rand_like(h)

    gs.manual_seed(7)
    x = gs.tensor([1.0, 2.0, 3.0], requires_grad=True)
    checkpoint(fn, x, use_reentrant=False).sum().backward()
    gs.manual_seed(7)
    expected = gs.rand(3).numpy()  # d(x * r)/dx = r, the numbers drawn in forward
    np.testing.assert_array_equal(x.grad.numpy(), expected)

    gs.manual_seed(7)
    x = gs.tensor([1.0, 2.0, 3.0], requires_grad=True)
    checkpoint(fn, x, use_reentrant=False, preserve_rng_state=False).sum().backward()
    assert not np.array_equal(x.grad.numpy(), expected)  # redrawn: other numbers


def test_recomputation_that_saves_tensors_of_other_shapes_raises():
    sizes = iter([2, 1])

    def fn(h):
        return h * gs.ones(next(sizes), dtype=gs.float64, requires_grad=True)  # (2,) then (1,): broadcast

    x = gs.tensor([1.0, 2.0], dtype=gs.float64, requires_grad=True)
    y = checkpoint(fn, x, use_reentrant=False)
    with pytest.raises(CheckpointError, match="torch.utils.checkpoint: Recomputed values for the following tensors "
                                              "have different metadata than during the forward pass."):
        y.sum().backward()


def test_recomputation_that_records_other_nodes_raises():
    calls = iter([0, 1])

    def fn(h):
        return h * h if next(calls) == 0 else h.exp()

    x = gs.tensor([1.0, 2.0], requires_grad=True)
    y = checkpoint(fn, x, use_reentrant=False)
    with pytest.raises(CheckpointError, match="torch.utils.checkpoint: A different number of tensors was saved"):
        y.sum().backward()


def test_input_modified_in_place_before_backward_raises():
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = checkpoint(lambda t: t * t, h, use_reentrant=False)
    with gs.no_grad():
        h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_checkpoint_under_no_grad_records_nothing():
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    with gs.no_grad():
        y = checkpoint(lambda t: t * t, x, use_reentrant=False)
    assert y.grad_fn is None and not y.requires_grad


# ---- the reentrant variant and the arguments -------------------------------------------------------


def test_reentrant_refuses_autograd_grad_with_torchs_message(torch):
    def run(lib):
        fn = checkpoint if lib is gs else torch.utils.checkpoint.checkpoint
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        lib.autograd.grad(fn(lambda t: t * t, x, use_reentrant=True).sum(), x)

    with pytest.raises(RuntimeError) as expected:
        run(torch)
    with pytest.raises(RuntimeError) as actual:
        run(gs)
    assert str(actual.value) == str(expected.value)
    assert str(actual.value).startswith("When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad()")


def test_leaving_out_use_reentrant_warns_like_torch(torch):
    x = gs.tensor([1.0], requires_grad=True)
    with pytest.warns(UserWarning) as ours:
        checkpoint(lambda t: t * 2, x)
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        torch.utils.checkpoint.checkpoint(lambda t: t * 2, torch.ones(1, requires_grad=True))
    ours = [str(w.message) for w in ours]
    theirs = [str(w.message) for w in theirs if "use_reentrant" in str(w.message)]
    assert ours == theirs
    assert ours[0].startswith("torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly.")


def test_reentrant_rejects_keyword_arguments_like_torch(torch):
    with pytest.raises(ValueError) as expected:
        torch.utils.checkpoint.checkpoint(lambda t, k: t, torch.ones(1), use_reentrant=True, k=1)
    with pytest.raises(ValueError) as actual:
        checkpoint(lambda t, k: t, gs.ones(1), use_reentrant=True, k=1)
    assert str(actual.value) == str(expected.value) == "Unexpected keyword arguments: k"


def test_reentrant_warns_when_no_input_requires_grad(torch):
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True. Gradients will be None"):
        checkpoint(lambda t: t * 2, gs.ones(1), use_reentrant=True)


def test_checkpoint_sequential_gives_the_plain_gradients(torch):
    weights, x = mlp_arrays(2)
    grads = []
    for lib in (gs, torch):
        params, block = make_mlp(lib, weights)
        layers = [block(i, i + 1) for i in range(DEPTH)]
        inp = lib.tensor(x.copy(), requires_grad=True)
        run = checkpoint_sequential if lib is gs else torch.utils.checkpoint.checkpoint_sequential
        run(layers, 4, inp, use_reentrant=False).sum().backward()
        grads.append([inp.grad.numpy()] + [w.grad.numpy() for w, _ in params])
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-13)


def test_modules_with_dropout_give_the_plain_gradients():
    # nn modules (parameters captured, not passed) and dropout, whose mask is drawn again in the
    # recomputation from the restored generator state
    gs.manual_seed(0)
    model = gs.nn.Sequential(gs.nn.Linear(8, 16), gs.nn.ReLU(), gs.nn.Dropout(0.5), gs.nn.Linear(16, 4), gs.nn.Tanh())
    x = gs.randn(5, 8, requires_grad=True)

    def gradients(run):
        model.zero_grad()
        x.grad = None
        gs.manual_seed(1)
        run().sum().backward()
        return [p.grad.numpy().copy() for p in model.parameters()] + [x.grad.numpy().copy()]

    plain = gradients(lambda: model(x))
    for run in (lambda: checkpoint(model, x, use_reentrant=False),
                lambda: checkpoint(model, x, use_reentrant=True),
                lambda: checkpoint_sequential(model, 2, x, use_reentrant=False)):
        for ours, expected in zip(gradients(run), plain):
            np.testing.assert_array_equal(ours, expected)


def test_region_with_in_place_ops_and_a_custom_function():
    class Cube(gs.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            ctx.k = 3
            return t * t * t

        @staticmethod
        def backward(ctx, g):
            (t,) = ctx.saved_tensors
            return g * ctx.k * t * t

    def region(h):
        y = h * 2
        y.mul_(3)  # rewrites y's history inside the region
        return Cube.apply(y.sigmoid()).sin()

    values = np.array([0.1, -0.3, 0.7])
    x, y = gs.tensor(values, requires_grad=True), gs.tensor(values, requires_grad=True)
    (g,) = gs.autograd.grad(checkpoint(region, x, use_reentrant=False).sum(), x, create_graph=True)
    (g_plain,) = gs.autograd.grad(region(y).sum(), y, create_graph=True)
    np.testing.assert_array_equal(g.detach().numpy(), g_plain.detach().numpy())
    (gg,) = gs.autograd.grad(g.sum(), x)
    (gg_plain,) = gs.autograd.grad(g_plain.sum(), y)
    np.testing.assert_allclose(gg.numpy(), gg_plain.numpy(), rtol=1e-12)
