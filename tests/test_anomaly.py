"""Anomaly mode (runtime/autograd/anomaly_mode.py, the engine's error path, Node.__init__).

Messages are compared with PyTorch's where torch is installed; torch's warnings end with
" (Triggered internally at ...cpp:N.)", which is C++ detail and is cut before comparing.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradspec as gs
from gradspec import node as node_module
from gradspec.autograd import Function, detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from gradspec.autograd.anomaly_mode import is_anomaly_check_nan_enabled

ENABLED_WARNING = ("Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
                   "enabled for debugging.")



@pytest.fixture(autouse=True)
def _modes_restored():
    yield
    gs.set_grad_enabled(True)
    set_detect_anomaly(False)


def messages(record) -> list[str]:
    return [str(w.message).split(" (Triggered internally at")[0] for w in record]


def run_quietly(fn):
    """Run fn recording warnings (numpy's RuntimeWarnings about sqrt(-1) are dropped)."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        try:
            fn()
            error = None
        except Exception as caught:  # noqa: BLE001 - returned for the test to inspect
            error = caught
    return error, [w for w in record if w.category is UserWarning]


def line_of(text: str) -> int:
    """The line number in this file of the first line containing `text`."""
    with open(__file__) as source:
        return next(n for n, line in enumerate(source, 1) if text in line and "line_of" not in line)


# ---- switching the mode ---------------------------------------------------------------------------


def test_detect_anomaly_warns_and_switches_on_then_off(torch):
    with pytest.warns(UserWarning) as record:
        manager = detect_anomaly()
    assert messages(record) == [ENABLED_WARNING]
    with pytest.warns(UserWarning) as torch_record:
        torch.autograd.detect_anomaly()
    assert messages(torch_record) == [ENABLED_WARNING]
    assert not is_anomaly_enabled()
    with manager:
        assert is_anomaly_enabled()
        assert is_anomaly_check_nan_enabled()
    assert not is_anomaly_enabled()


def test_set_detect_anomaly_as_a_function_and_a_context_manager():
    set_detect_anomaly(True)
    assert is_anomaly_enabled()
    with set_detect_anomaly(False):
        assert not is_anomaly_enabled()
    assert is_anomaly_enabled()
    with set_detect_anomaly(True, check_nan=False):
        assert not is_anomaly_check_nan_enabled()
    assert is_anomaly_check_nan_enabled()
    set_detect_anomaly(False)
    assert not is_anomaly_enabled()


def test_when_off_nodes_record_nothing():
    assert node_module._on_node_created is None
    y = gs.tensor([1.0], requires_grad=True) * 2
    assert getattr(y.grad_fn, "_anomaly", None) is None


def test_when_on_nodes_record_their_forward_stack():
    with set_detect_anomaly(True):
        y = gs.tensor([1.0], requires_grad=True) * 2  # the recorded line
    record = y.grad_fn._anomaly
    ours = [frame for frame in record.stack if frame.filename == __file__]
    assert ours[-1].lineno == line_of("* 2  # the recorded line")
    # the stack ends at the op that made the node: the recording machinery is left out
    assert not any(frame.filename.endswith(("anomaly_mode.py", "node.py")) for frame in record.stack)
    assert node_module._on_node_created is None  # switched off again


# ---- NaN in backward ---------------------------------------------------------------------------------


def nan_error(lib, anomaly=True, check_nan=True):
    x = lib.tensor([-1.0, 4.0], requires_grad=True)

    def run():
        with lib.autograd.set_detect_anomaly(anomaly, check_nan=check_nan):
            y = x ** 0.5
            y.sum().backward()

    error, record = run_quietly(run)
    return error, messages(record), x


def test_nan_returned_by_a_backward_raises_naming_the_node(torch):
    error, _, _ = nan_error(gs)
    torch_error, _, _ = nan_error(torch)
    assert type(error) is type(torch_error) is RuntimeError
    assert str(error) == str(torch_error) == "Function 'PowBackward0' returned nan values in its 0th output."


def test_nan_in_a_later_output_names_its_index(torch):
    def run(lib):
        a = lib.tensor([0.0], requires_grad=True)
        b = lib.tensor([0.0], requires_grad=True)
        with lib.autograd.set_detect_anomaly(True):
            (a / b).sum().backward()

    error, _ = run_quietly(lambda: run(gs))
    torch_error, _ = run_quietly(lambda: run(torch))
    assert str(error) == str(torch_error) == "Function 'DivBackward0' returned nan values in its 1th output."


def test_nan_check_off_or_anomaly_off_lets_nan_through(torch):
    for kwargs in ({"check_nan": False}, {"anomaly": False}):
        error, _, x = nan_error(gs, **kwargs)
        torch_error, _, tx = nan_error(torch, **kwargs)
        assert error is None and torch_error is None
        assert np.isnan(x.grad.numpy()[0]) and np.isnan(tx.grad.numpy()[0])


def test_nan_error_is_preceded_by_the_forward_traceback_warning(torch):
    _, ours, _ = nan_error(gs)
    _, theirs, _ = nan_error(torch)
    head = "Error detected in PowBackward0. Traceback of forward call that caused the error:\n"
    assert ours[-1].startswith(head) and theirs[-1].startswith(head)
    for text in (ours[-1], theirs[-1]):
        assert f'File "{__file__}", line {line_of("y = x ** 0.5")}, in run\n    y = x ** 0.5\n' in text


def test_nan_in_a_custom_function_names_it(torch):
    def run(lib):
        cls = type("N", (lib.autograd.Function,), {
            "forward": staticmethod(lambda ctx, x, y: x + y),
            "backward": staticmethod(lambda ctx, g: (g, g * float("nan")))})
        with lib.autograd.set_detect_anomaly(True):
            cls.apply(lib.ones(2, requires_grad=True), lib.ones(2, requires_grad=True)).sum().backward()

    error, _ = run_quietly(lambda: run(gs))
    torch_error, _ = run_quietly(lambda: run(torch))
    assert str(error) == str(torch_error) == "Function 'NBackward' returned nan values in its 1th output."


# ---- errors in backward -------------------------------------------------------------------------------


class Bad(Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        raise ValueError("boom")


def make_bad(lib):
    def forward(ctx, x):
        return x.clone()

    def backward(ctx, grad):
        raise ValueError("boom")

    return type("Bad", (lib.autograd.Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward)})


def bad_backward(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    cls = make_bad(lib)

    def run():
        with lib.autograd.set_detect_anomaly(True):
            y = cls.apply(x)  # the failing node's forward line
            y.sum().backward()

    return run_quietly(run)


def test_error_in_backward_is_reraised_unchanged_after_the_warning(torch):
    error, record = bad_backward(gs)
    torch_error, torch_record = bad_backward(torch)
    assert type(error) is type(torch_error) is ValueError
    assert str(error) == str(torch_error) == "boom"
    ours, theirs = messages(record), messages(torch_record)
    head = "Error detected in BadBackward. Traceback of forward call that caused the error:\n"
    assert ours[0].startswith(head) and theirs[0].startswith(head)
    line = line_of("y = cls.apply(x)  # the failing node's forward line")
    for text in (ours[0], theirs[0]):
        assert f'File "{__file__}", line {line}, in run\n    y = cls.apply(x)' in text


def test_error_in_backward_carries_the_forward_traceback_as_a_note():
    error, _ = bad_backward(gs)
    notes = getattr(error, "__notes__", None)
    if notes is None:
        pytest.skip("exception notes need Python 3.11")
    assert notes[0].startswith("Error detected in BadBackward. Traceback of forward call that caused the error:")


def test_without_anomaly_mode_there_is_no_warning():
    x = gs.tensor([1.0], requires_grad=True)
    error, record = run_quietly(lambda: Bad.apply(x).sum().backward())
    assert isinstance(error, ValueError) and record == []
    assert not hasattr(error, "__notes__")


def test_node_created_before_anomaly_mode_has_no_forward_information(torch):
    def run(lib):
        x = lib.tensor([-1.0], requires_grad=True)
        y = x ** 0.5
        with lib.autograd.set_detect_anomaly(True):
            y.sum().backward()

    _, ours = run_quietly(lambda: run(gs))
    _, theirs = run_quietly(lambda: run(torch))
    assert messages(ours) == messages(theirs) == [
        "Error detected in PowBackward0. No forward pass information available. Enable detect anomaly during "
        "forward pass for more information."]


def test_engine_error_of_a_generated_node_names_its_forward_line():
    x = gs.tensor([1.0, 2.0], requires_grad=True)

    def run():
        with set_detect_anomaly(True):
            y = x.exp()  # saved, then modified
            loss = y.sum() * y.sum()
            with gs.no_grad():
                y.mul_(2)
            loss.backward()

    error, record = run_quietly(run)
    assert "modified by an inplace operation" in str(error)
    text = messages(record)[0]
    assert text.startswith("Error detected in ExpBackward0. Traceback of forward call that caused the error:\n")
    assert f'line {line_of("y = x.exp()  # saved, then modified")}, in run\n    y = x.exp()' in text


def test_version_error_hint_points_at_the_backtrace_in_anomaly_mode(torch):
    def run(lib, anomaly):
        cls = type("K", (lib.autograd.Function,), {
            "forward": staticmethod(lambda ctx, x: (ctx.save_for_backward(x), x * 2)[1]),
            "backward": staticmethod(lambda ctx, g: g * ctx.saved_tensors[0])})
        y = lib.tensor([1.0, 2.0], requires_grad=True)
        with lib.autograd.set_detect_anomaly(anomaly):
            out = cls.apply(y)
            with lib.no_grad():
                y.add_(1)
            out.sum().backward()

    error, _ = run_quietly(lambda: run(gs, True))
    torch_error, _ = run_quietly(lambda: run(torch, True))
    hint = ("Hint: the backtrace further above shows the operation that failed to compute its gradient. The variable "
            "in question was changed in there or anywhere later. Good luck!")
    assert str(error).endswith(hint) and str(torch_error).endswith(hint)
    assert str(error) == str(torch_error)
    plain, _ = run_quietly(lambda: run(gs, False))
    assert "Hint: enable anomaly detection" in str(plain)


def test_error_in_double_backward_names_the_node_that_induced_it(torch):
    def run(lib):
        inner = type("Inner", (lib.autograd.Function,), {
            "forward": staticmethod(lambda ctx, x: x.clone()),
            "backward": staticmethod(lambda ctx, g: (_ for _ in ()).throw(ValueError("inner boom")))})

        def outer_forward(ctx, x):
            ctx.save_for_backward(x)
            return x.clone()

        def outer_backward(ctx, g):
            (x,) = ctx.saved_tensors
            return inner.apply(g * x)  # created during backward

        outer = type("Outer", (lib.autograd.Function,), {"forward": staticmethod(outer_forward),
                                                         "backward": staticmethod(outer_backward)})
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with lib.autograd.set_detect_anomaly(True):
            y = outer.apply(x)  # the outer forward line
            (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
            g.sum().backward()

    error, ours = run_quietly(lambda: run(gs))
    torch_error, theirs = run_quietly(lambda: run(torch))
    assert str(error) == str(torch_error) == "inner boom"
    ours, theirs = messages(ours), messages(theirs)
    assert len(ours) == len(theirs) == 2
    for first, second in (ours, theirs):
        assert first.startswith("Error detected in InnerBackward. Traceback of forward call that caused the error:\n")
        assert "return inner.apply(g * x)  # created during backward" in first
        assert second.startswith("\n\nPrevious calculation was induced by OuterBackward. Traceback of forward call "
                                 "that induced the previous calculation:\n")
        assert f'line {line_of("y = outer.apply(x)  # the outer forward line")}, in run\n' in second
