"""Engine state per thread, and torch's "undefined" gradients for nodes of several outputs."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import gradspec as gs
from gradspec.autograd import _is_checkpoint_valid
from gradspec.utils.checkpoint import checkpoint


def _in_threads(*targets) -> list:
    """Run each target in a thread of its own; their results (an exception counts as one)."""
    results = [None] * len(targets)

    def run(i, target):
        try:
            results[i] = target()
        except Exception as error:  # noqa: BLE001 - reported to the test
            results[i] = error

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_checkpoint_validity_is_per_thread():
    """autograd.grad makes reentrant checkpointing invalid on its own thread only, and restores it:
    two threads' passes interleaved no longer leave it False for everyone."""
    barrier = threading.Barrier(2, timeout=10)

    def pass_seeing_validity(run_backward):
        x = gs.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        seen = []

        def hook(grad):  # both threads are inside their backward passes here
            barrier.wait()
            seen.append(_is_checkpoint_valid())
            barrier.wait()

        y.register_hook(hook)
        run_backward(y.sum(), x)
        return seen

    capturing = lambda: pass_seeing_validity(lambda out, x: gs.autograd.grad(out, [x]))  # noqa: E731
    accumulating = lambda: pass_seeing_validity(lambda out, x: out.backward())  # noqa: E731
    assert _in_threads(capturing, accumulating) == [[False], [True]]
    assert _is_checkpoint_valid()


def test_threads_calling_autograd_grad_leave_reentrant_checkpointing_working():
    def grads():
        for _ in range(50):
            x = gs.tensor([1.0, 2.0], requires_grad=True)
            gs.autograd.grad((x * x).sum(), [x])

    assert _in_threads(grads, grads) == [None, None]
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    checkpoint(lambda t: (t * t).sin(), x, use_reentrant=True).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos([1.0, 4.0]) * [2.0, 4.0], rtol=1e-6)


def test_anomaly_mode_is_per_thread():
    """Turning the mode on in one thread neither turns it on in another nor makes its nodes record
    their forward stack there."""
    barrier = threading.Barrier(2, timeout=10)

    def debugging():
        with gs.autograd.set_detect_anomaly(True):
            barrier.wait()
            node = (gs.tensor([1.0], requires_grad=True) * 2).grad_fn
            barrier.wait()
            return gs.is_anomaly_enabled(), getattr(node, "_anomaly", None) is not None

    def working():
        barrier.wait()
        node = (gs.tensor([1.0], requires_grad=True) * 2).grad_fn
        barrier.wait()
        return gs.is_anomaly_enabled(), getattr(node, "_anomaly", None) is not None

    assert _in_threads(debugging, working) == [(True, True), (False, False)]
    assert not gs.is_anomaly_enabled()


@pytest.mark.filterwarnings("ignore:var_mean")
def test_an_unreached_output_gets_an_undefined_gradient(torch):
    """var_mean's mean alone: its var part must add nothing (zeros times 2 / (n - 1) is NaN for
    one element); torch's formula tests `grads[0].defined()`, ours `defined(grads[0])`."""
    for values in ([1.0, 2.0, 4.0], [3.0]):
        def run(lib, which):
            x = lib.tensor(values, requires_grad=True)
            lib.var_mean(x)[which].sum().backward()
            return x.grad.numpy()

        for which in (0, 1):
            np.testing.assert_allclose(run(gs, which), run(torch, which), rtol=1e-6)


def test_node_hooks_see_none_for_unreached_outputs():
    x = gs.tensor([1.0, 2.0, 4.0], requires_grad=True)
    var, mean = gs.var_mean(x)
    seen = []
    mean.grad_fn.register_prehook(lambda grads: seen.append([g is None for g in grads]))
    mean.backward()
    assert seen == [[True, False]]


@pytest.mark.parametrize("op", ["scatter", "max", "min", "sort", "gather", "index_select", "cumsum"])
def test_backward_through_ops_on_0d_tensors(op, torch):
    """They raised IndexError (dims of 0-d tensors)."""
    def run(lib):
        x = lib.tensor(1.5, requires_grad=True)
        index = lib.tensor(0)
        out = {"scatter": lambda: x.scatter(0, index, 2.0) * x, "max": lambda: x.max(0)[0],
               "min": lambda: lib.min(x, -1, keepdim=True)[0], "sort": lambda: x.sort()[0],
               "gather": lambda: x.gather(0, index), "index_select": lambda: x.index_select(0, index),
               "cumsum": lambda: x.cumsum(0)}[op]()
        (out * 3).sum().backward()
        return x.grad.numpy()

    np.testing.assert_allclose(run(gs), run(torch))
