"""Hooks and the parts of the graph a backward pass runs (runtime/engine.py).

Each test runs the same program with gradspec and with PyTorch and compares what the hooks saw
(the call order and the gradients) or the error raised. Covers: tensor pre-hooks, retain_grad,
node pre-hooks, node post-hooks, AccumulateGrad's hooks, register_post_accumulate_grad_hook,
the checks torch applies to a hook's result, and autograd.backward(inputs=...) /
autograd.grad running only the nodes between the roots and the inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradspec as gs




def values(grads):
    """Hook arguments as plain lists (None kept), comparable across the two libraries."""
    if grads is None:
        return None
    if isinstance(grads, tuple):
        return tuple(values(g) for g in grads)
    return np.array(grads.detach().numpy()).tolist()


def both(torch, program):
    """program(lib) -> log, for gradspec and torch."""
    return program(gs), program(torch)


# ---- order --------------------------------------------------------------------------------------


def full_order_program(lib):
    log = []
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y * 3
    y.register_hook(lambda g: log.append(("tensor pre-hook 1", values(g))) or g + 1)
    y.retain_grad()
    y.register_hook(lambda g: log.append(("tensor pre-hook 2", values(g))) or g * 10)
    y.grad_fn.register_prehook(lambda go: log.append(("node pre-hook", values(go))) or (go[0] + 100,))
    y.grad_fn.register_hook(lambda gi, go: log.append(("node post-hook", values(gi), values(go))))
    accumulator = y.grad_fn.next_functions[0][0]
    accumulator.register_prehook(lambda go: log.append(("accumulator pre-hook", values(go))))
    accumulator.register_hook(lambda gi, go: log.append(("accumulator post-hook", values(gi), values(go))))
    x.register_hook(lambda g: log.append(("leaf tensor hook", values(g))))
    x.register_post_accumulate_grad_hook(lambda t: log.append(("post accumulate", values(t.grad))))
    z.sum().backward()
    log.append(("y.grad", values(y.grad)))
    log.append(("x.grad", values(x.grad)))
    return log


def test_hooks_run_in_torchs_order_with_torchs_values(torch):
    ours, theirs = both(torch, full_order_program)
    assert ours == theirs
    assert [entry[0] for entry in ours] == [
        "tensor pre-hook 1", "tensor pre-hook 2", "node pre-hook", "node post-hook", "leaf tensor hook",
        "accumulator pre-hook", "post accumulate", "accumulator post-hook", "y.grad", "x.grad"]


def test_retain_grad_sees_the_gradient_after_all_tensor_hooks(torch):
    def program(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        y.retain_grad()  # registered before the hook, still sees its result
        y.register_hook(lambda g: g * 5)
        (y * 3).sum().backward()
        return values(y.grad), values(x.grad)

    ours, theirs = both(torch, program)
    assert ours == theirs == ([15.0, 15.0], [30.0, 30.0])


def test_accumulator_hooks_survive_a_later_tensor_hook(torch):
    # registering on the AccumulateGrad node first, then on the leaf, keeps both
    def program(lib):
        log = []
        x = lib.tensor([1.0], requires_grad=True)
        y = x * 2
        y.grad_fn.next_functions[0][0].register_prehook(lambda go: log.append("accumulator"))
        x.register_hook(lambda g: log.append("tensor"))
        y.sum().backward()
        return log

    ours, theirs = both(torch, program)
    assert ours == theirs == ["tensor", "accumulator"]


def test_accumulator_pre_hook_can_replace_the_gradient(torch):
    def program(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        y.grad_fn.next_functions[0][0].register_prehook(lambda go: (go[0] * 10,))
        y.sum().backward()
        return values(x.grad)

    ours, theirs = both(torch, program)
    assert ours == theirs == [20.0, 20.0]


def test_node_hook_handles_remove_their_hooks(torch):
    def program(lib):
        log = []
        x = lib.tensor([1.0], requires_grad=True)
        y = x * 2
        pre = y.grad_fn.register_prehook(lambda go: log.append("pre"))
        post = y.grad_fn.register_hook(lambda gi, go: log.append("post"))
        pre.remove()
        post.remove()
        y.sum().backward()
        return log

    ours, theirs = both(torch, program)
    assert ours == theirs == []


def test_hooks_under_create_graph_receive_differentiable_gradients(torch):
    def program(lib):
        seen = []
        x = lib.tensor([0.5, 1.5], requires_grad=True)
        y = x * x * x
        y.register_hook(lambda g: seen.append(g.requires_grad) or g * x)  # the hook joins the graph
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        return seen, values(g), values(gg)

    ours, theirs = both(torch, program)
    assert ours[0] == theirs[0]
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6)


# ---- checks on a hook's result --------------------------------------------------------------------


def same_error(torch, program, error=RuntimeError):
    with pytest.raises(error) as expected:
        program(torch)
    with pytest.raises(error) as actual:
        program(gs)
    assert str(actual.value) == str(expected.value)
    return str(actual.value)


def tensor_hook_program(result, leaf: bool):
    def program(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)

        def my_hook(g):
            return result(lib, g)

        if leaf:
            x.register_hook(my_hook)
            y = x * 2
        else:
            y = x * 2
            y.register_hook(my_hook)
        y.sum().backward()

    return program


@pytest.mark.parametrize("leaf", [False, True], ids=["non-leaf", "leaf"])
def test_tensor_hook_changing_the_size_raises(torch, leaf):
    program = tensor_hook_program(lambda lib, g: lib.ones(3), leaf)
    assert same_error(torch, program) == "hook 'my_hook' has changed the size of value"


@pytest.mark.parametrize("leaf", [False, True], ids=["non-leaf", "leaf"])
def test_tensor_hook_changing_the_dtype_raises(torch, leaf):
    program = tensor_hook_program(lambda lib, g: g.double(), leaf)
    assert same_error(torch, program) == \
        "hook 'my_hook' has changed the type of value (was torch.FloatTensor got torch.DoubleTensor)"


def test_tensor_hook_returning_a_broadcastable_shape_raises(torch):
    program = tensor_hook_program(lambda lib, g: g.reshape(1, 2), leaf=True)
    assert same_error(torch, program) == "hook 'my_hook' has changed the size of value"


def test_tensor_hook_returning_a_non_tensor_raises(torch):
    program = tensor_hook_program(lambda lib, g: 3, leaf=False)
    assert same_error(torch, program, TypeError) == "expected Variable, but hook returned 'int'"


def node_hook_program(kind, result):
    def program(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        if kind == "post":
            y.grad_fn.register_hook(lambda gi, go: result(lib, gi))
        else:
            y.grad_fn.register_prehook(lambda go: result(lib, go))
        y.sum().backward()

    return program


@pytest.mark.parametrize("kind,result,message", [
    ("post", lambda lib, g: (g[0],), "hook '<lambda>' has returned an incorrect number of values (got 1, but "
                                     "expected 2)"),
    ("post", lambda lib, g: (g[0], None, None), "hook '<lambda>' has returned an incorrect number of values (got 3, "
                                                "but expected 2)"),
    ("post", lambda lib, g: (lib.ones(3), None), "hook '<lambda>' has changed the size of value"),
    ("post", lambda lib, g: (g[0].double(), None), "hook '<lambda>' has changed the type of value (was "
                                                   "torch.FloatTensor got torch.DoubleTensor)"),
    ("post", lambda lib, g: (g[0], g[0]), "can't replace a None gradient with a non-None value"),
    ("pre", lambda lib, g: (), "hook '<lambda>' has returned an incorrect number of values (got 0, but expected 1)"),
    ("pre", lambda lib, g: (lib.ones(3),), "hook '<lambda>' has changed the size of value"),
])
def test_node_hook_results_are_checked_like_torch(torch, kind, result, message):
    assert same_error(torch, node_hook_program(kind, result)) == message


@pytest.mark.parametrize("kind", ["pre", "post"])
def test_node_hook_must_return_a_tuple(torch, kind):
    program = node_hook_program(kind, lambda lib, g: g[0])
    assert same_error(torch, program, TypeError) == "expected tuple, but hook returned 'Tensor'"


def test_node_hook_returning_none_in_its_tuple_drops_that_gradient(torch):
    def program(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        w = lib.tensor([3.0, 4.0], requires_grad=True)
        y = x * w
        y.grad_fn.register_hook(lambda gi, go: (None, gi[1]))
        y.sum().backward()
        return x.grad, values(w.grad)

    ours, theirs = both(torch, program)
    assert ours[0] is None and theirs[0] is None
    assert ours[1] == theirs[1]


# ---- register_post_accumulate_grad_hook ----------------------------------------------------------------


def test_post_accumulate_grad_hook_sees_each_accumulated_grad(torch):
    def program(lib):
        seen = []
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        handle = x.register_post_accumulate_grad_hook(lambda t: seen.append(values(t.grad)))
        (x * 2).sum().backward()
        (x * 3).sum().backward()
        lib.autograd.grad((x * 2).sum(), x)  # no accumulation: no call
        handle.remove()
        (x * 2).sum().backward()
        return seen

    ours, theirs = both(torch, program)
    assert ours == theirs == [[2.0, 2.0], [5.0, 5.0]]


def test_post_accumulate_grad_hook_on_a_non_leaf_raises(torch):
    def program(lib):
        (lib.tensor([1.0], requires_grad=True) * 2).register_post_accumulate_grad_hook(lambda t: None)

    assert same_error(torch, program) == "post accumulate grad hooks cannot be registered on non-leaf tensors"


def test_post_accumulate_grad_hook_must_return_none(torch):
    def program(returned):
        def run(lib):
            x = lib.tensor([1.0, 2.0], requires_grad=True)
            x.register_post_accumulate_grad_hook(lambda t: returned(t))
            (x * 2).sum().backward()

        return run

    assert same_error(torch, program(lambda t: t.grad * 2)) == "Tensor post accumulate grad hooks should return None."
    assert same_error(torch, program(lambda t: 5), TypeError) == "expected Variable, but hook returned 'int'"


def test_post_accumulate_grad_hook_can_step_the_parameter_in_place(torch):
    # the optimizer-in-backward pattern the hook exists for
    def program(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)

        def step(t):
            with lib.no_grad():
                t.sub_(0.5 * t.grad)
            t.grad = None

        w.register_post_accumulate_grad_hook(step)
        (w * w).sum().backward()
        return values(w), w.grad

    ours, theirs = both(torch, program)
    assert ours == theirs == ([0.0, 0.0], None)


# ---- which nodes run: backward(inputs=...) and autograd.grad ----------------------------------------------


def logged_graph(lib):
    log = []

    def record(name):
        return lambda *args: log.append(name)

    x = lib.tensor([1.0, 2.0], requires_grad=True)
    w = lib.tensor([3.0, 4.0], requires_grad=True)
    y = x * w
    z = (y * 3).sum()
    y.grad_fn.register_prehook(record("y pre"))
    y.grad_fn.register_hook(record("y post"))
    y.register_hook(record("y tensor"))
    z.grad_fn.register_hook(record("z post"))
    accumulator = y.grad_fn.next_functions[0][0]
    accumulator.register_prehook(record("x accumulator pre"))
    accumulator.register_hook(record("x accumulator post"))
    x.register_hook(record("x tensor"))
    w.register_hook(record("w tensor"))
    x.register_post_accumulate_grad_hook(record("x post accumulate"))
    return log, x, w, y, z


def test_backward_inputs_leaf_runs_only_the_path_to_it(torch):
    def program(lib):
        log, x, w, y, z = logged_graph(lib)
        z.backward(inputs=[x])
        return log, values(x.grad), w.grad

    ours, theirs = both(torch, program)
    assert ours == theirs
    assert "w tensor" not in ours[0]  # w's branch does not run
    assert ours[2] is None


def test_backward_inputs_non_leaf_runs_its_node_and_marks_it_retaining(torch):
    def program(lib):
        log, x, w, y, z = logged_graph(lib)
        z.backward(inputs=[y], retain_graph=True)
        first = (list(log), y.retains_grad, values(y.grad), x.grad, w.grad)
        log.clear()
        z.backward(inputs=[x], retain_graph=True)  # y now retains: its .grad accumulates again
        lib.autograd.backward([z], inputs=[w, y])
        return first, log, values(x.grad), values(w.grad), values(y.grad)

    ours, theirs = both(torch, program)
    assert ours == theirs
    assert ours[0][:2] == (["z post", "y tensor", "y pre", "y post"], True)
    assert ours[4] == [9.0, 9.0]


def test_backward_inputs_unreached_leaf_stays_none(torch):
    def program(lib):
        log, x, w, y, z = logged_graph(lib)
        u = lib.tensor([1.0], requires_grad=True)
        z.backward(inputs=[u])
        return log, u.grad

    ours, theirs = both(torch, program)
    assert ours == theirs == ([], None)  # nothing leads to u: nothing runs


def test_backward_inputs_empty_and_not_requiring_grad_raise_torchs_messages(torch):
    def empty(lib):
        (lib.tensor([1.0], requires_grad=True) * 2).sum().backward(inputs=[])

    def no_grad_input(lib):
        (lib.tensor([1.0], requires_grad=True) * 2).sum().backward(inputs=[lib.ones(1)])

    assert same_error(torch, empty) == "`inputs` argument to `backward()` cannot be empty."
    assert same_error(torch, no_grad_input) == "can't retain_grad on Tensor that has requires_grad=False"


def test_autograd_backward_with_several_roots_and_grad_tensors(torch):
    def program(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        lib.autograd.backward([a * 2, a * 3], [lib.tensor([1.0, 1.0]), lib.tensor([2.0, 0.0])])
        b = lib.tensor([1.0, 2.0], requires_grad=True)
        lib.autograd.backward((b * b).sum(), inputs=b)
        return values(a.grad), values(b.grad)

    ours, theirs = both(torch, program)
    assert ours == theirs == ([8.0, 2.0], [2.0, 4.0])


def test_autograd_backward_grad_tensor_shape_mismatch_raises(torch):
    def program(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        lib.autograd.backward([a * 2], [lib.ones(3)])

    assert same_error(torch, program) == "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and " \
                                         "output[0] has a shape of torch.Size([2])."


def test_grad_runs_only_the_path_to_its_inputs_and_their_tensor_hooks(torch):
    def program(lib):
        log, x, w, y, z = logged_graph(lib)
        (g,) = lib.autograd.grad(z, x)
        return log, values(g), x.grad

    ours, theirs = both(torch, program)
    assert ours == theirs
    assert ours[0] == ["z post", "y tensor", "y pre", "y post", "x tensor"]  # no accumulator, no w


def test_grad_with_respect_to_a_non_leaf_stops_there(torch):
    def program(lib):
        log, x, w, y, z = logged_graph(lib)
        (g,) = lib.autograd.grad(z, y)
        return log, values(g)

    ours, theirs = both(torch, program)
    assert ours == theirs == (["z post", "y tensor"], [3.0, 3.0])
