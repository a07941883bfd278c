"""Custom autograd.Function (runtime/autograd/function.py): one rule per test.

Expected values come from PyTorch (the `torch` fixture skips where it is not installed) run on
the same inputs with the same Function body, or are computed by hand; never from gradspec.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import gradspec as gs
from gradspec.autograd import Function
from gradspec.autograd.function import once_differentiable




def np_of(t) -> np.ndarray:
    return np.array(t.detach().numpy())


def both(torch, *arrays, requires_grad=True):
    """The same values as gradspec tensors and torch tensors."""
    ours = [gs.tensor(np.array(a, dtype=np.float64), requires_grad=requires_grad) for a in arrays]
    theirs = [torch.tensor(np.array(a, dtype=np.float64), requires_grad=requires_grad) for a in arrays]
    return ours, theirs


def close(actual, expected, rtol=1e-12, atol=1e-12):
    np.testing.assert_allclose(np_of(actual), np_of(expected), rtol=rtol, atol=atol)


def define(lib, name, forward, backward, **extra):
    """The same Function subclass for gradspec or torch (bodies use only `lib`-agnostic methods)."""
    body = {"forward": staticmethod(forward), "backward": staticmethod(backward), **extra}
    return type(name, (lib.autograd.Function,), body)


# ---- the basics -----------------------------------------------------------------------------------


def exp_forward(ctx, x):
    result = x.exp()
    ctx.save_for_backward(result)
    return result


def exp_backward(ctx, grad):
    (result,) = ctx.saved_tensors
    return grad * result


def test_exp_function_forward_and_backward_match_torch(torch):
    (x,), (tx,) = both(torch, [0.5, -1.0, 2.0])
    y = define(gs, "Exp", exp_forward, exp_backward).apply(x)
    ty = define(torch, "Exp", exp_forward, exp_backward).apply(tx)
    close(y, ty)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    close(x.grad, tx.grad)


def test_node_is_named_after_the_function(torch):
    (x,), (tx,) = both(torch, [1.0])
    y = define(gs, "MyExp", exp_forward, exp_backward).apply(x)
    ty = define(torch, "MyExp", exp_forward, exp_backward).apply(tx)
    assert y.grad_fn.name() == ty.grad_fn.name() == "MyExpBackward"
    assert type(y.grad_fn).__name__ == "MyExpBackward"


def test_grad_fn_is_the_ctx():
    seen = []

    def forward(ctx, x):
        seen.append(ctx)
        ctx.constant = 3
        return x * 2

    y = define(gs, "Ctx", forward, lambda ctx, g: g * 2).apply(gs.tensor([1.0], requires_grad=True))
    assert y.grad_fn is seen[0]
    assert y.grad_fn.constant == 3


def test_next_functions_have_one_edge_per_tensor_argument(torch):
    def forward(ctx, x, k, w):
        return x * k + w

    def backward(ctx, g):
        return g, None, g

    (x, w), (tx, tw) = both(torch, [1.0, 2.0], [3.0, 4.0])
    y = define(gs, "F", forward, backward).apply(x, 2.0, w)
    ty = define(torch, "F", forward, backward).apply(tx, 2.0, tw)
    assert len(y.grad_fn.next_functions) == len(ty.grad_fn.next_functions) == 2
    assert [type(n).__name__ for n, _ in y.grad_fn.next_functions] == ["AccumulateGrad", "AccumulateGrad"]
    assert y.grad_fn.next_functions[0][0].variable is x


def test_non_tensor_arguments_pass_through_and_get_no_gradient(torch):
    def forward(ctx, x, scale, label):
        ctx.scale = scale
        ctx.label = label
        return x * scale

    def backward(ctx, g):
        assert ctx.label == "tag"
        return g * ctx.scale, None, None

    (x,), (tx,) = both(torch, [1.0, -2.0])
    define(gs, "Scale", forward, backward).apply(x, 3.0, "tag").sum().backward()
    define(torch, "Scale", forward, backward).apply(tx, 3.0, "tag").sum().backward()
    close(x.grad, tx.grad)


def expect_same_error(torch, run, error=RuntimeError):
    """Run `run(lib)` with gradspec and torch; both must raise the same type and message."""
    with pytest.raises(error) as expected:
        run(torch)
    with pytest.raises(error) as actual:
        run(gs)
    assert str(actual.value) == str(expected.value)
    return str(actual.value)


def test_too_few_gradients_raise_torchs_message(torch):
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        define(lib, "G", lambda ctx, x, k: x * k, lambda ctx, g: g).apply(x, 2.0).sum().backward()

    message = expect_same_error(torch, run)
    assert message == "function GBackward returned an incorrect number of gradients (expected 2, got 1)"


def test_gradient_for_a_non_tensor_argument_raises_torchs_message(torch):
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        define(lib, "H", lambda ctx, x, k: x * k, lambda ctx, g: (g, g)).apply(x, 2.0).sum().backward()

    message = expect_same_error(torch, run)
    assert "returned a gradient different than None at position 2, but the corresponding forward input was " \
           "not a Variable" in message


def test_extra_trailing_none_gradients_are_accepted(torch):
    def backward(ctx, g):
        return g * 2, None, None

    (x,), (tx,) = both(torch, [1.0, 2.0])
    define(gs, "T", lambda ctx, x: x * 2, backward).apply(x).sum().backward()
    define(torch, "T", lambda ctx, x: x * 2, backward).apply(tx).sum().backward()
    close(x.grad, tx.grad)


def test_non_tensor_gradient_raises_torchs_message(torch):
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        define(lib, "J", lambda ctx, x: x * 2, lambda ctx, g: 3).apply(x).sum().backward()

    assert expect_same_error(torch, run) == "expected Variable or None (got int)"


def test_wrong_gradient_shape_raises_torchs_message(torch):
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        define(lib, "I", lambda ctx, x: x * 2, lambda ctx, g: g[:1]).apply(x).sum().backward()

    message = expect_same_error(torch, run)
    assert message == "Function IBackward returned an invalid gradient at index 0 - got [1] but expected shape " \
                      "compatible with [2]"


def test_broadcast_gradient_is_summed_to_the_input_shape(torch):
    (x,), (tx,) = both(torch, [1.0, 2.0])
    define(gs, "B", lambda ctx, x: x * 2, lambda ctx, g: g.expand(3, 2)).apply(x).sum().backward()
    define(torch, "B", lambda ctx, x: x * 2, lambda ctx, g: g.expand(3, 2)).apply(tx).sum().backward()
    close(x.grad, tx.grad)


def test_gradient_of_another_dtype_is_cast_to_the_input_dtype(torch):
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    define(gs, "D", lambda ctx, x: x * 2, lambda ctx, g: g.double()).apply(x).sum().backward()
    define(torch, "D", lambda ctx, x: x * 2, lambda ctx, g: g.double()).apply(tx).sum().backward()
    assert str(x.grad.dtype) == str(tx.grad.dtype) == "torch.float32"


def test_missing_backward_raises_torchs_message(torch):
    def run(lib):
        x = lib.tensor([1.0], requires_grad=True)
        type("NoBackward", (lib.autograd.Function,), {"forward": staticmethod(lambda ctx, x: x * 2)}) \
            .apply(x).sum().backward()

    assert "You must implement either the backward or vjp method" in expect_same_error(torch, run,
                                                                                       NotImplementedError)


def test_vjp_is_an_alias_of_backward(torch):
    (x,), (tx,) = both(torch, [1.0, 2.0])
    for lib, t in ((gs, x), (torch, tx)):
        cls = type("V", (lib.autograd.Function,), {"forward": staticmethod(lambda ctx, x: x * 2),
                                                   "vjp": staticmethod(lambda ctx, g: g * 5)})
        cls.apply(t).sum().backward()
    close(x.grad, tx.grad)


def test_backward_and_vjp_together_raise(torch):
    def run(lib):
        cls = type("BV", (lib.autograd.Function,), {"forward": staticmethod(lambda ctx, x: x * 2),
                                                    "backward": staticmethod(lambda ctx, g: g),
                                                    "vjp": staticmethod(lambda ctx, g: g)})
        cls.apply(lib.tensor([1.0], requires_grad=True)).sum().backward()

    assert "Implementing both 'backward' and 'vjp'" in expect_same_error(torch, run)


def test_instantiating_warns_and_calling_an_instance_raises(torch):
    cls = define(gs, "Old", lambda ctx, x: x, lambda ctx, g: g)
    with pytest.warns(DeprecationWarning, match="should not be instantiated"):
        instance = cls()
    with pytest.raises(RuntimeError) as actual:
        instance(gs.tensor([1.0]))
    tcls = define(torch, "Old", lambda ctx, x: x, lambda ctx, g: g)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tinstance = tcls()
    with pytest.raises(RuntimeError) as expected:
        tinstance(torch.tensor([1.0]))
    assert str(actual.value) == str(expected.value)


# ---- needs_input_grad and grad mode ------------------------------------------------------------------


def test_needs_input_grad_matches_torch_in_forward_and_backward(torch):
    def record(lib, seen):
        def forward(ctx, x, y, k):
            seen.append(("forward", ctx.needs_input_grad, lib.is_grad_enabled()))
            return x + y

        def backward(ctx, g):
            seen.append(("backward", ctx.needs_input_grad, lib.is_grad_enabled()))
            return g, None, None

        return define(lib, "N", forward, backward)

    ours, theirs = [], []
    for lib, seen in ((gs, ours), (torch, theirs)):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        record(lib, seen).apply(x, lib.ones(2), 3).sum().backward()
        with lib.no_grad():
            record(lib, seen).apply(x, lib.ones(2), 3)
    assert ours == theirs
    assert ours[0] == ("forward", (True, False, False), False)


def test_keyword_arguments_are_bound_to_forwards_parameters(torch):
    def forward(ctx, x, y, k=5):
        ctx.k = k
        return x + y * k

    def backward(ctx, g):
        return g, g * ctx.k, None

    (x, y), (tx, ty) = both(torch, [1.0, 2.0], [3.0, 4.0])
    out = define(gs, "KW", forward, backward).apply(x, y=y, k=3)
    tout = define(torch, "KW", forward, backward).apply(tx, y=ty, k=3)
    assert out.grad_fn.needs_input_grad == tout.grad_fn.needs_input_grad == (True, True, False)
    out.sum().backward()
    tout.sum().backward()
    close(y.grad, ty.grad)


def test_backward_runs_with_grad_mode_equal_to_create_graph(torch):
    def record(lib, seen):
        def backward(ctx, g):
            seen.append(lib.is_grad_enabled())
            return g * 2

        return define(lib, "GM", lambda ctx, x: x * 2, backward)

    ours, theirs = [], []
    for lib, seen in ((gs, ours), (torch, theirs)):
        x = lib.tensor([1.0], requires_grad=True)
        record(lib, seen).apply(x).sum().backward()
        lib.autograd.grad(record(lib, seen).apply(x).sum(), x, create_graph=True)
    assert ours == theirs == [False, True]


def test_no_input_requiring_grad_records_nothing(torch):
    cls = define(gs, "NoGrad", lambda ctx, x: x * 2, lambda ctx, g: g)
    tcls = define(torch, "NoGrad", lambda ctx, x: x * 2, lambda ctx, g: g)
    y, ty = cls.apply(gs.ones(2)), tcls.apply(torch.ones(2))
    assert y.grad_fn is None and ty.grad_fn is None
    assert y.requires_grad is ty.requires_grad is False
    with gs.no_grad():
        assert cls.apply(gs.ones(2, requires_grad=True)).requires_grad is False


# ---- saved tensors ------------------------------------------------------------------------------------


def test_save_for_backward_rejects_non_tensors(torch):
    def run(lib):
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 2

        define(lib, "SF", forward, lambda ctx, g: g).apply(lib.tensor([1.0], requires_grad=True))

    assert expect_same_error(torch, run, TypeError) == \
        "save_for_backward can only save variables, but argument 1 is of type int"


def test_saved_tensors_are_the_inputs_themselves_and_none_stays_none(torch):
    def check(lib):
        seen = {}

        def forward(ctx, x, y):
            ctx.save_for_backward(x, None, y)
            return x * y

        def backward(ctx, g):
            x, none, y = ctx.saved_tensors
            seen.update(x=x, none=none, y=y)
            return g * y, g * x

        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 3
        define(lib, "Saved", forward, backward).apply(x, y).sum().backward()
        return seen["x"] is x, seen["none"] is None, seen["y"] is y, type(seen["y"].grad_fn).__name__

    assert check(gs) == check(torch) == (True, True, True, "MulBackward0")


def test_saved_output_comes_back_with_this_node_as_grad_fn(torch):
    def check(lib):
        seen = {}

        def backward(ctx, g):
            (result,) = ctx.saved_tensors
            seen.update(grad_fn=result.grad_fn, requires_grad=result.requires_grad)
            return g * result

        y = define(lib, "Exp", exp_forward, backward).apply(lib.tensor([1.0], requires_grad=True))
        y.sum().backward()
        return seen["grad_fn"] is y.grad_fn, seen["requires_grad"]

    assert check(gs) == check(torch) == (True, True)


def test_saved_tensors_before_backward_are_readable_and_in_forward_empty(torch):
    def check(lib):
        seen = []

        def forward(ctx, x):
            seen.append(ctx.saved_tensors)
            ctx.save_for_backward(x)
            return x * 2

        x = lib.tensor([1.0], requires_grad=True)
        y = define(lib, "Early", forward, lambda ctx, g: g).apply(x)
        return seen[0], y.grad_fn.saved_tensors[0] is x

    assert check(gs) == check(torch) == ((), True)


def test_saved_tensors_are_freed_by_backward(torch):
    def run(lib):
        y = define(lib, "Exp", exp_forward, exp_backward).apply(lib.tensor([1.0], requires_grad=True))
        y.sum().backward()
        y.grad_fn.saved_tensors

    message = expect_same_error(torch, run)
    assert message.startswith("Trying to backward through the graph a second time")


def test_second_backward_through_a_function_raises_unless_retained(torch):
    def run(lib):
        y = define(lib, "Exp", exp_forward, exp_backward).apply(lib.tensor([1.0], requires_grad=True)).sum()
        y.backward(retain_graph=True)
        y.backward(retain_graph=True)  # retained: fine
        y.backward()
        y.backward()

    assert expect_same_error(torch, run).startswith("Trying to backward through the graph a second time")


def version_error(torch, lib_run):
    """The messages of gradspec and torch for the same saved-tensor modification."""
    with pytest.raises(RuntimeError) as expected:
        lib_run(torch)
    with pytest.raises(RuntimeError) as actual:
        lib_run(gs)
    return str(actual.value), str(expected.value)


def save_x_forward(ctx, x):
    ctx.save_for_backward(x)
    return x * 2


def save_x_backward(ctx, g):
    (x,) = ctx.saved_tensors
    return g * x


def test_saved_leaf_modified_in_place_raises_the_version_error(torch):
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        out = define(lib, "K", save_x_forward, save_x_backward).apply(x)
        with lib.no_grad():
            x.add_(1)
        out.sum().backward()

    ours, theirs = version_error(torch, run)
    head = "one of the variables needed for gradient computation has been modified by an inplace operation: " \
           "[torch.FloatTensor [2]] is at version 1; expected version 0 instead."
    assert ours.startswith(head) and theirs.startswith(head)
    assert "Hint:" in ours


def test_saved_output_modified_in_place_raises_the_version_error_naming_the_output(torch):
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        out = define(lib, "K2", exp_forward, exp_backward).apply(x)
        loss = out.sum()
        with lib.no_grad():
            out.mul_(2)
        loss.backward()

    ours, theirs = version_error(torch, run)
    for message in (ours, theirs):
        assert message.startswith("one of the variables needed for gradient computation has been modified by an "
                                  "inplace operation: [torch.FloatTensor [2]], which is output 0 of K2")
        assert message.split(", is at ")[1].startswith("version 1; expected version 0 instead.")


# ---- outputs --------------------------------------------------------------------------------------------


def two_outputs_forward(ctx, x):
    return x * 2, x * 3


def two_outputs_backward(ctx, g1, g2):
    return g1 * 2 + g2 * 3


def test_several_outputs_share_the_node_with_their_output_nr(torch):
    (x,), (tx,) = both(torch, [1.0, 2.0])
    p, q = define(gs, "Two", two_outputs_forward, two_outputs_backward).apply(x)
    tp, tq = define(torch, "Two", two_outputs_forward, two_outputs_backward).apply(tx)
    assert p.grad_fn is q.grad_fn
    assert (p.output_nr, q.output_nr) == (tp.output_nr, tq.output_nr) == (0, 1)
    assert p.grad_fn.num_outputs == 2
    assert p.grad_fn.output_meta == ((2,), np.dtype(np.float64), (2,), np.dtype(np.float64))
    (p * q).sum().backward()
    (tp * tq).sum().backward()
    close(x.grad, tx.grad)


def test_unused_output_gets_a_zero_gradient_by_default(torch):
    def record(lib, seen):
        def backward(ctx, g1, g2):
            seen.append(np_of(g2))
            return g1 * 2 + g2 * 3

        return define(lib, "Two", two_outputs_forward, backward)

    ours, theirs = [], []
    for lib, seen in ((gs, ours), (torch, theirs)):
        record(lib, seen).apply(lib.tensor([1.0, 2.0], requires_grad=True))[0].sum().backward()
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_array_equal(ours[0], [0.0, 0.0])


def test_set_materialize_grads_false_passes_none(torch):
    def record(lib, seen):
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        def backward(ctx, g1, g2):
            seen.append((g1 is None, g2 is None))
            return g1 * 2 if g1 is not None else None

        return define(lib, "Lazy", forward, backward)

    ours, theirs = [], []
    for lib, seen in ((gs, ours), (torch, theirs)):
        record(lib, seen).apply(lib.tensor([1.0, 2.0], requires_grad=True))[0].sum().backward()
    assert ours == theirs == [(False, True)]


def test_non_tensor_outputs_pass_through_and_count_as_outputs(torch):
    def record(lib, seen):
        def forward(ctx, x):
            return x * 2, 3, x * 4

        def backward(ctx, a, b, c):
            seen.append((b is None, np_of(c).tolist()))
            return a * 2 + c * 4

        return define(lib, "Mixed", forward, backward)

    ours, theirs = [], []
    results = []
    for lib, seen in ((gs, ours), (torch, theirs)):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        a, b, c = record(lib, seen).apply(x)
        results.append((b, c.output_nr))
        a.sum().backward()
    assert ours == theirs == [(True, [0.0, 0.0])]
    assert results[0] == results[1] == (3, 2)
    a, _, c = record(gs, []).apply(gs.tensor([1.0, 2.0], requires_grad=True))
    assert a.grad_fn.num_outputs == 3
    assert a.grad_fn.output_meta[2:4] == (None, None)


def test_mark_non_differentiable_keeps_an_output_off_the_graph(torch):
    def record(lib, seen):
        def forward(ctx, x):
            mask = x > 0
            doubled = x * 2
            ctx.mark_non_differentiable(mask)
            return doubled, mask, x * 1

        def backward(ctx, g, g_mask, g_copy):
            seen.append(np_of(g_mask).tolist() if g_mask is not None else None)
            return g * 2 + g_copy

        return define(lib, "Masked", forward, backward)

    ours, theirs, flags = [], [], []
    for lib, seen in ((gs, ours), (torch, theirs)):
        doubled, mask, copy = record(lib, seen).apply(lib.tensor([1.0, -2.0], requires_grad=True))
        flags.append((doubled.requires_grad, mask.requires_grad, mask.grad_fn is None))
        doubled.sum().backward()
    assert flags[0] == flags[1] == (True, False, True)
    assert ours == theirs


def test_mark_non_differentiable_on_a_float_output(torch):
    def forward(ctx, x):
        a, b = x * 2, x * 3
        ctx.mark_non_differentiable(b)
        return a, b

    flags = []
    for lib in (gs, torch):
        a, b = define(lib, "NDF", forward, lambda ctx, ga, gb: ga * 2).apply(lib.tensor([1.0], requires_grad=True))
        flags.append((a.requires_grad, b.requires_grad))
    assert flags[0] == flags[1] == (True, False)


def test_integer_outputs_are_not_differentiable(torch):
    flags = []
    for lib in (gs, torch):
        y = define(lib, "Int", lambda ctx, x: x.long(), lambda ctx, g: g).apply(lib.tensor([1.5], requires_grad=True))
        flags.append(y.requires_grad)
    assert flags == [False, False]


def test_returning_an_input_returns_an_alias_with_this_node(torch):
    def check(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = define(lib, "Same", lambda ctx, x: x, lambda ctx, g: g * 3).apply(x)
        facts = (y is x, x.is_leaf, y.is_leaf, type(y.grad_fn).__name__)
        y.sum().backward()
        return facts, np_of(x.grad).tolist()

    assert check(gs) == check(torch) == ((False, True, False, "SameBackward"), [3.0, 3.0])


def test_returned_input_alias_shares_storage():
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    y = define(gs, "Same", lambda ctx, x: x, lambda ctx, g: g).apply(x)
    with gs.no_grad():
        y.mul_(10)
    np.testing.assert_array_equal(np_of(x), [10.0, 20.0])


# ---- mark_dirty -------------------------------------------------------------------------------------------


def dirty_forward(ctx, x):
    x.mul_(2)
    ctx.mark_dirty(x)
    return x


def test_mark_dirty_returns_the_input_with_this_node_and_a_new_version(torch):
    def check(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = a * 1
        c = define(lib, "Dirty", dirty_forward, lambda ctx, g: g * 2).apply(b)
        facts = (c is b, type(b.grad_fn).__name__, b._version, np_of(b).tolist())
        c.sum().backward()
        return facts, np_of(a.grad).tolist()

    assert check(gs) == check(torch) == ((True, "DirtyBackward", 2, [2.0, 4.0]), [2.0, 2.0])


def test_mark_dirty_on_a_leaf_that_requires_grad_raises(torch):
    def run(lib):
        define(lib, "Dirty", dirty_forward, lambda ctx, g: g).apply(lib.tensor([1.0], requires_grad=True))

    assert expect_same_error(torch, run) == "a leaf Variable that requires grad has been used in an in-place " \
                                            "operation."


def test_dirty_tensor_not_returned_raises(torch):
    def forward(ctx, x):
        ctx.mark_dirty(x)
        return x * 2

    def run(lib):
        define(lib, "D2", forward, lambda ctx, g: g).apply(lib.tensor([1.0], requires_grad=True) * 1)

    assert expect_same_error(torch, run).startswith("Some elements marked as dirty during the forward method were "
                                                    "not returned as output.")


# ---- setup_context style -----------------------------------------------------------------------------------


def test_setup_context_style(torch):
    def forward(x, k):
        return x * k

    def setup_context(ctx, inputs, output):
        x, k = inputs
        ctx.k = k
        ctx.save_for_backward(x, output)

    def backward(ctx, g):
        x, out = ctx.saved_tensors
        assert out.grad_fn is ctx
        return g * ctx.k + x, None

    grads = []
    for lib in (gs, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        cls = type("S", (lib.autograd.Function,), {"forward": staticmethod(forward),
                                                   "setup_context": staticmethod(setup_context),
                                                   "backward": staticmethod(backward)})
        cls.apply(x, 3.0).sum().backward()
        grads.append(np_of(x.grad))
    np.testing.assert_array_equal(grads[0], grads[1])


# ---- higher order and integration ----------------------------------------------------------------------------


def test_double_backward_through_a_function_whose_backward_is_differentiable(torch):
    (x,), (tx,) = both(torch, [0.5, -1.0, 2.0])
    y = define(gs, "Exp", exp_forward, exp_backward).apply(x)
    ty = define(torch, "Exp", exp_forward, exp_backward).apply(tx)
    (g,) = gs.autograd.grad((y * x).sum(), x, create_graph=True)
    (tg,) = torch.autograd.grad((ty * tx).sum(), tx, create_graph=True)
    close(g, tg)
    assert g.requires_grad
    (gg,) = gs.autograd.grad(g.sum(), x)
    (tgg,) = torch.autograd.grad(tg.sum(), tx)
    close(gg, tgg)


def test_gradgradcheck_passes_on_a_custom_function():
    def cube_forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    def cube_backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x

    cube = define(gs, "Cube", cube_forward, cube_backward)
    x = gs.tensor([0.5, -1.5, 2.0], dtype=gs.float64, requires_grad=True)
    assert gs.autograd.gradcheck(cube.apply, (x,))
    assert gs.autograd.gradgradcheck(cube.apply, (x,))


def test_gradcheck_finds_a_wrong_custom_backward():
    wrong = define(gs, "Wrong", exp_forward, lambda ctx, g: g * ctx.saved_tensors[0] * 1.5)
    x = gs.tensor([0.5, -1.5], dtype=gs.float64, requires_grad=True)
    with pytest.raises(gs.autograd.GradcheckError, match="Jacobian mismatch for output 0 with respect to input 0"):
        gs.autograd.gradcheck(wrong.apply, (x,))


def test_function_inside_a_larger_graph_matches_torch(torch):
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a.sin() * b

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * a.cos() * b, g * a.sin()

    (a, b), (ta, tb) = both(torch, [[0.1, 0.2], [0.3, 0.4]], [[1.0, -1.0], [2.0, 0.5]])
    out = (define(gs, "SinMul", forward, backward).apply(a * 2, b) @ b).relu().sum()
    tout = (define(torch, "SinMul", forward, backward).apply(ta * 2, tb) @ tb).relu().sum()
    out.backward()
    tout.backward()
    close(a.grad, ta.grad)
    close(b.grad, tb.grad)


def test_node_hooks_work_on_a_function_node(torch):
    grads = []
    for lib in (gs, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = define(lib, "GM", lambda ctx, x: x * 2, lambda ctx, g: g * 2).apply(x)
        y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: (grad_inputs[0] * 10,))
        y.sum().backward()
        grads.append(np_of(x.grad).tolist())
    assert grads[0] == grads[1] == [20.0, 20.0]


# ---- once_differentiable ------------------------------------------------------------------------------------


def square_forward(ctx, x):
    ctx.save_for_backward(x)
    return x * x


@once_differentiable
def square_backward_once(ctx, g):
    (x,) = ctx.saved_tensors
    return 2 * x * g


def test_once_differentiable_first_order_is_right(torch):
    from torch.autograd.function import once_differentiable as torch_once

    (x,), (tx,) = both(torch, [1.0, 2.0])
    define(gs, "OD", square_forward, square_backward_once).apply(x).sum().backward()
    define(torch, "OD", square_forward, torch_once(square_backward_once.__wrapped__)).apply(tx).sum().backward()
    close(x.grad, tx.grad)


def test_once_differentiable_refuses_double_backward(torch):
    from torch.autograd.function import once_differentiable as torch_once

    def run(lib):
        backward = square_backward_once if lib is gs else torch_once(square_backward_once.__wrapped__)
        y = lib.tensor([1.0, 2.0], requires_grad=True)
        (g,) = lib.autograd.grad((define(lib, "OD", square_forward, backward).apply(y) * y).sum(), y,
                                 create_graph=True)
        g.sum().backward()

    assert expect_same_error(torch, run) == "trying to differentiate twice a function that was marked with " \
                                            "@once_differentiable"


def test_once_differentiable_result_does_not_require_grad_when_the_gradient_does_not(torch):
    from torch.autograd.function import once_differentiable as torch_once

    flags = []
    for lib in (gs, torch):
        backward = square_backward_once if lib is gs else torch_once(square_backward_once.__wrapped__)
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        (g,) = lib.autograd.grad(define(lib, "OD", square_forward, backward).apply(x).sum(), x, create_graph=True)
        flags.append(g.requires_grad)
    assert flags == [False, False]


def test_torch_names_are_exported():
    assert gs.autograd.Function is Function
    assert re.match(r"<class 'gradspec\.autograd\.function\.Function'>", repr(Function))
    assert hasattr(gs.autograd, "FunctionCtx") and hasattr(gs.autograd.function, "once_differentiable")


def test_mark_dirty_without_recording_keeps_the_history_and_returns_an_alias(torch):
    def check(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = a * 1
        with lib.no_grad():
            c = define(lib, "Dirty", dirty_forward, lambda ctx, g: g * 2).apply(b)
        return c is b, type(b.grad_fn).__name__, b.requires_grad, b._version, np_of(c).tolist()

    assert check(gs) == check(torch) == (False, "MulBackward0", True, 2, [2.0, 4.0])
