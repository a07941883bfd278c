"""autograd.functional (runtime/autograd/functional.py): vjp, jvp, jacobian, hessian, hvp, vhp.

Values are compared with PyTorch's torch.autograd.functional on the same float64 inputs (to
1e-6 as the issue asks; in practice they agree to rounding), and shapes and result structure
(Tensor, tuple, tuple of tuples) with torch's. Where torch is not installed those tests skip;
the hand-computed checks still run.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradspec as gs
from gradspec.autograd import functional as AF




TOL = 1e-6
A = np.array([0.3, -0.5, 1.2, 0.7])
B = np.array([1.1, 0.4, -0.9, 2.0])


def np_of(t) -> np.ndarray:
    return np.array(t.detach().numpy())


def structure(value):
    """The nesting of a result: 'T' for a tensor, tuples as tuples, with shapes."""
    if isinstance(value, tuple):
        return tuple(structure(v) for v in value)
    return ("T", tuple(value.shape))


def assert_same(ours, theirs, tol=TOL):
    assert structure(ours) == structure(theirs)
    if isinstance(ours, tuple):
        for a, b in zip(ours, theirs):
            assert_same(a, b, tol)
    else:
        np.testing.assert_allclose(np_of(ours), np_of(theirs), rtol=tol, atol=tol)


def f_scalar(x, y):
    return (x.exp() * y).sin().sum() + (x * x * y).sum()


def g_matrix(x):
    return (x.sin() * x).reshape(2, 2) @ x.reshape(2, 2)


def h_two(x, y):
    return x * y.sin(), (x.exp() + y).sum()


def inputs(lib, *arrays, requires_grad=False):
    values = tuple(lib.tensor(a.copy(), requires_grad=requires_grad) for a in arrays)
    return values if len(values) > 1 else values[0]


# ---- jacobian ------------------------------------------------------------------------------------


def test_jacobian_of_a_matrix_function_equals_torch(torch):
    ours = AF.jacobian(g_matrix, inputs(gs, A))
    theirs = torch.autograd.functional.jacobian(g_matrix, inputs(torch, A))
    assert tuple(ours.shape) == (2, 2, 4)
    assert_same(ours, theirs)


def test_jacobian_with_tuple_inputs_and_outputs_nests_like_torch(torch):
    ours = AF.jacobian(h_two, inputs(gs, A, B))
    theirs = torch.autograd.functional.jacobian(h_two, inputs(torch, A, B))
    assert structure(ours) == ((("T", (4, 4)), ("T", (4, 4))), (("T", (4,)), ("T", (4,))))
    assert_same(ours, theirs)


def test_jacobian_of_a_single_output_with_tuple_inputs(torch):
    ours = AF.jacobian(f_scalar, inputs(gs, A, B))
    theirs = torch.autograd.functional.jacobian(f_scalar, inputs(torch, A, B))
    assert structure(ours) == (("T", (4,)), ("T", (4,)))
    assert_same(ours, theirs)


def test_jacobian_by_hand():
    # d(x * x)/dx = diag(2x)
    jac = AF.jacobian(lambda x: x * x, gs.tensor(A.copy()))
    np.testing.assert_allclose(np_of(jac), np.diag(2 * A), rtol=0, atol=1e-15)


def test_jacobian_of_an_unused_input_is_zeros(torch):
    ours = AF.jacobian(lambda x, y: x * 2, inputs(gs, A, B))
    theirs = torch.autograd.functional.jacobian(lambda x, y: x * 2, inputs(torch, A, B))
    assert_same(ours, theirs)
    assert not np_of(ours[1]).any()


def test_jacobian_results_are_detached_and_inputs_untouched():
    x = gs.tensor(A.copy(), requires_grad=True)
    jac = AF.jacobian(g_matrix, x)
    assert jac.requires_grad is False and jac.grad_fn is None
    assert x.grad is None
    np.testing.assert_array_equal(np_of(x), A)


def test_jacobian_create_graph_is_differentiable_like_torch(torch):
    x, tx = gs.tensor(A.copy(), requires_grad=True), torch.tensor(A.copy(), requires_grad=True)
    jac = AF.jacobian(g_matrix, x, create_graph=True)
    tjac = torch.autograd.functional.jacobian(g_matrix, tx, create_graph=True)
    assert jac.requires_grad and tjac.requires_grad
    (jac * jac).sum().backward()
    (tjac * tjac).sum().backward()
    np.testing.assert_allclose(np_of(x.grad), np_of(tx.grad), rtol=TOL, atol=TOL)


def test_jacobian_strict_rejects_an_independent_input(torch):
    with pytest.raises(RuntimeError) as expected:
        torch.autograd.functional.jacobian(lambda x, y: x * 2, inputs(torch, A, B), strict=True)
    with pytest.raises(RuntimeError) as actual:
        AF.jacobian(lambda x, y: x * 2, inputs(gs, A, B), strict=True)
    assert str(actual.value) == str(expected.value)
    assert "Output 0 of the user-provided function is independent of input 1. This is not allowed in strict mode." \
        == str(actual.value)


def test_strict_rejects_an_output_that_does_not_require_grad(torch):
    with pytest.raises(RuntimeError) as expected:
        torch.autograd.functional.jacobian(lambda x: torch.ones(2), inputs(torch, A), strict=True)
    with pytest.raises(RuntimeError) as actual:
        AF.jacobian(lambda x: gs.ones(2), inputs(gs, A), strict=True)
    assert str(actual.value) == str(expected.value)
    assert str(actual.value).startswith("Output 0 of the user-provided function does not require gradients.")


def test_non_tensor_inputs_raise_torchs_type_error(torch):
    with pytest.raises(TypeError) as expected:
        torch.autograd.functional.jacobian(g_matrix, (torch.tensor(A), [1.0]))
    with pytest.raises(TypeError) as actual:
        AF.jacobian(g_matrix, (gs.tensor(A), [1.0]))
    assert str(actual.value) == str(expected.value)
    assert "must be either a Tensor or a tuple of Tensors but the value at index 1 has type <class 'list'>" in \
        str(actual.value)


def test_vectorize_and_forward_mode_say_they_are_not_supported():
    with pytest.raises(NotImplementedError, match="vmap"):
        AF.jacobian(g_matrix, gs.tensor(A), vectorize=True)
    with pytest.raises(NotImplementedError, match="forward-mode"):
        AF.jacobian(g_matrix, gs.tensor(A), strategy="forward-mode")


# ---- hessian ----------------------------------------------------------------------------------------


def test_hessian_of_a_scalar_function_equals_torch(torch):
    func = lambda x: g_matrix(x).sum()  # noqa: E731
    ours = AF.hessian(func, inputs(gs, A))
    theirs = torch.autograd.functional.hessian(func, inputs(torch, A))
    assert tuple(ours.shape) == (4, 4)
    assert_same(ours, theirs)


def test_hessian_with_tuple_inputs_equals_torch(torch):
    ours = AF.hessian(f_scalar, inputs(gs, A, B))
    theirs = torch.autograd.functional.hessian(f_scalar, inputs(torch, A, B))
    assert structure(ours) == ((("T", (4, 4)), ("T", (4, 4))), (("T", (4, 4)), ("T", (4, 4))))
    assert_same(ours, theirs)


def test_hessian_is_the_double_backward_of_the_spec_formulas():
    # Row i of the hessian is d(grad f)_i / dx, computed here with two autograd.grad calls (the
    # second differentiates the graph that the first recorded from the differentiable form of
    # the spec's formulas): hessian must be exactly that.
    x = gs.tensor(A.copy(), requires_grad=True)
    y = gs.tensor(B.copy())
    (grad,) = gs.autograd.grad(f_scalar(x, y), x, create_graph=True)
    rows = [np_of(gs.autograd.grad(grad[i], x, retain_graph=True)[0]) for i in range(4)]
    hess = AF.hessian(lambda t: f_scalar(t, y), gs.tensor(A.copy()))
    np.testing.assert_array_equal(np_of(hess), np.stack(rows))


def test_hessian_by_hand():
    # f = sum(x^3 * y): d2f/dx2 = diag(6 x y), d2f/dxdy = diag(3 x^2), d2f/dy2 = 0
    (hxx, hxy), (hyx, hyy) = AF.hessian(lambda x, y: (x * x * x * y).sum(), (gs.tensor(A.copy()), gs.tensor(B.copy())))
    np.testing.assert_allclose(np_of(hxx), np.diag(6 * A * B), atol=1e-12)
    np.testing.assert_allclose(np_of(hxy), np.diag(3 * A * A), atol=1e-12)
    np.testing.assert_allclose(np_of(hyx), np.diag(3 * A * A), atol=1e-12)
    np.testing.assert_array_equal(np_of(hyy), np.zeros((4, 4)))


def test_hessian_create_graph_allows_third_derivatives(torch):
    func = lambda x: (x * x * x * x).sum()  # noqa: E731
    x, tx = gs.tensor(A.copy(), requires_grad=True), torch.tensor(A.copy(), requires_grad=True)
    hess = AF.hessian(func, x, create_graph=True)
    thess = torch.autograd.functional.hessian(func, tx, create_graph=True)
    hess.sum().backward()
    thess.sum().backward()
    np.testing.assert_allclose(np_of(x.grad), np_of(tx.grad), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(np_of(x.grad), 24 * A, rtol=1e-12)


def test_hessian_of_a_non_scalar_function_raises_torchs_message(torch):
    with pytest.raises(RuntimeError) as expected:
        torch.autograd.functional.hessian(g_matrix, inputs(torch, A))
    with pytest.raises(RuntimeError) as actual:
        AF.hessian(g_matrix, inputs(gs, A))
    assert str(actual.value) == str(expected.value) == \
        "The Tensor returned by the function given to hessian should contain a single element"


def test_hessian_strict_rejects_a_linear_function(torch):
    with pytest.raises(RuntimeError) as expected:
        torch.autograd.functional.hessian(lambda x: (x * 2).sum(), inputs(torch, A), strict=True)
    with pytest.raises(RuntimeError) as actual:
        AF.hessian(lambda x: (x * 2).sum(), inputs(gs, A), strict=True)
    assert str(actual.value) == str(expected.value)
    assert "the jacobian of the user-provided function with respect to input 0 is independent of the input" in \
        str(actual.value)


# ---- vjp / jvp / hvp / vhp -----------------------------------------------------------------------------


V4 = np.array([0.5, -1.0, 2.0, 1.0])
V22 = np.array([[1.0, 2.0], [3.0, 4.0]])


def test_vjp_equals_torch(torch):
    ours = AF.vjp(g_matrix, inputs(gs, A), gs.tensor(V22))
    theirs = torch.autograd.functional.vjp(g_matrix, inputs(torch, A), torch.tensor(V22))
    assert_same(ours, theirs)


def test_vjp_of_a_scalar_output_needs_no_v(torch):
    ours = AF.vjp(f_scalar, inputs(gs, A, B))
    theirs = torch.autograd.functional.vjp(f_scalar, inputs(torch, A, B))
    assert_same(ours, theirs)


def test_vjp_without_v_for_a_non_scalar_output_raises(torch):
    with pytest.raises(RuntimeError) as expected:
        torch.autograd.functional.vjp(g_matrix, inputs(torch, A))
    with pytest.raises(RuntimeError) as actual:
        AF.vjp(g_matrix, inputs(gs, A))
    assert str(actual.value) == str(expected.value)
    assert str(actual.value) == "The vector v can only be None if the user-provided function returns a single " \
                                "Tensor with a single element."


def test_v_of_the_wrong_size_raises_torchs_message(torch):
    with pytest.raises(RuntimeError) as expected:
        torch.autograd.functional.vjp(g_matrix, inputs(torch, A), torch.ones(3))
    with pytest.raises(RuntimeError) as actual:
        AF.vjp(g_matrix, inputs(gs, A), gs.ones(3))
    assert str(actual.value) == str(expected.value)
    assert str(actual.value) == "v has invalid size: should be torch.Size([2, 2]) but got torch.Size([3])."


def test_v_tuple_of_the_wrong_length_raises_torchs_message(torch):
    with pytest.raises(RuntimeError) as expected:
        torch.autograd.functional.jvp(f_scalar, inputs(torch, A, B), (torch.tensor(V4),))
    with pytest.raises(RuntimeError) as actual:
        AF.jvp(f_scalar, inputs(gs, A, B), (gs.tensor(V4),))
    assert str(actual.value) == str(expected.value) == "v is a tuple of invalid length: should be 2 but got 1."


def test_jvp_equals_torch_and_the_jacobian_times_v(torch):
    out, jv = AF.jvp(g_matrix, inputs(gs, A), gs.tensor(V4))
    tout, tjv = torch.autograd.functional.jvp(g_matrix, inputs(torch, A), torch.tensor(V4))
    assert_same((out, jv), (tout, tjv))
    jac = np_of(AF.jacobian(g_matrix, gs.tensor(A.copy())))
    np.testing.assert_allclose(np_of(jv), jac @ V4, rtol=1e-12, atol=1e-12)


def test_jvp_with_tuple_inputs_and_outputs_equals_torch(torch):
    ours = AF.jvp(h_two, inputs(gs, A, B), (gs.tensor(V4), gs.tensor(-V4)))
    theirs = torch.autograd.functional.jvp(h_two, inputs(torch, A, B), (torch.tensor(V4), torch.tensor(-V4)))
    assert_same(ours, theirs)


def test_jvp_create_graph_is_differentiable(torch):
    x, tx = gs.tensor(A.copy(), requires_grad=True), torch.tensor(A.copy(), requires_grad=True)
    _, jv = AF.jvp(g_matrix, x, gs.tensor(V4), create_graph=True)
    _, tjv = torch.autograd.functional.jvp(g_matrix, tx, torch.tensor(V4), create_graph=True)
    jv.sum().backward()
    tjv.sum().backward()
    np.testing.assert_allclose(np_of(x.grad), np_of(tx.grad), rtol=TOL, atol=TOL)


def test_jvp_strict_rejects_an_unused_input(torch):
    func = lambda x, y: x.exp()  # noqa: E731
    v = (np.ones(4), np.ones(4))
    with pytest.raises(RuntimeError) as expected:
        torch.autograd.functional.jvp(func, inputs(torch, A, B), tuple(torch.tensor(a) for a in v), strict=True)
    with pytest.raises(RuntimeError) as actual:
        AF.jvp(func, inputs(gs, A, B), tuple(gs.tensor(a) for a in v), strict=True)
    assert str(actual.value) == str(expected.value)
    assert str(actual.value) == "The output of the user-provided function is independent of input 1. This is not " \
                                "allowed in strict mode."


@pytest.mark.parametrize("name", ["hvp", "vhp"])
def test_hvp_and_vhp_equal_torch(torch, name):
    ours = getattr(AF, name)(f_scalar, inputs(gs, A, B), (gs.tensor(V4), gs.tensor(-V4)))
    theirs = getattr(torch.autograd.functional, name)(f_scalar, inputs(torch, A, B),
                                                      (torch.tensor(V4), torch.tensor(-V4)))
    assert_same(ours, theirs)


def test_hvp_is_the_hessian_times_v():
    func = lambda x: g_matrix(x).sum()  # noqa: E731
    hess = np_of(AF.hessian(func, gs.tensor(A.copy())))
    _, hv = AF.hvp(func, gs.tensor(A.copy()), gs.tensor(V4))
    _, vh = AF.vhp(func, gs.tensor(A.copy()), gs.tensor(V4))
    np.testing.assert_allclose(np_of(hv), hess @ V4, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np_of(vh), V4 @ hess, rtol=1e-12, atol=1e-12)


def test_hvp_of_a_non_scalar_function_raises_torchs_message(torch):
    with pytest.raises(RuntimeError) as expected:
        torch.autograd.functional.hvp(g_matrix, inputs(torch, A), torch.tensor(V4))
    with pytest.raises(RuntimeError) as actual:
        AF.hvp(g_matrix, inputs(gs, A), gs.tensor(V4))
    assert str(actual.value) == str(expected.value)


def test_vhp_create_graph_is_differentiable(torch):
    func = lambda x: (x.sin() * x * x).sum()  # noqa: E731
    x, tx = gs.tensor(A.copy(), requires_grad=True), torch.tensor(A.copy(), requires_grad=True)
    _, vh = AF.vhp(func, x, gs.tensor(V4), create_graph=True)
    _, tvh = torch.autograd.functional.vhp(func, tx, torch.tensor(V4), create_graph=True)
    vh.sum().backward()
    tvh.sum().backward()
    np.testing.assert_allclose(np_of(x.grad), np_of(tx.grad), rtol=TOL, atol=TOL)


# =====================================================================================================
# gradcheck / gradgradcheck (runtime/autograd/gradcheck.py), torch.autograd's numerical checkers
# =====================================================================================================


def scaled_product(lib, scale_a=1.0, scale_b=1.5):
    """a * b as a custom Function whose backward scales the gradients: wrong unless both are 1."""

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * b * scale_a, g * a * scale_b

    return type("Scaled", (lib.autograd.Function,), {"forward": staticmethod(forward),
                                                     "backward": staticmethod(backward)})


def gradcheck_message(lib, func_of_lib, arrays, requires=None, **kwargs):
    requires = requires or [True] * len(arrays)
    values = tuple(lib.tensor(np.array(a, dtype=np.float64), requires_grad=r) for a, r in zip(arrays, requires))
    with pytest.raises(RuntimeError) as info:
        lib.autograd.gradcheck(func_of_lib(lib), values, **kwargs)
    assert type(info.value).__name__ == "GradcheckError"
    return str(info.value)


PRODUCT_INPUTS = ([1.0], [[1.0, 2.0], [3.0, 4.0]], [[0.5, -1.0], [2.0, 0.25]])


def product_with_constant(lib):
    scaled = scaled_product(lib)
    return lambda c, a, b: scaled.apply(a, b) * c


def test_gradcheck_message_is_torchs_then_the_worst_element(torch):
    ours = gradcheck_message(gs, product_with_constant, PRODUCT_INPUTS, [False, True, True])
    theirs = gradcheck_message(torch, product_with_constant, PRODUCT_INPUTS, [False, True, True])
    # torch counts the inputs that require grad: b is input 1 (c does not require grad)
    assert theirs.startswith("Jacobian mismatch for output 0 with respect to input 1,\nnumerical:tensor([[1.0000,")
    assert ours.startswith(theirs)
    assert ours[len(theirs):] == ("worst element: input 1 element 3 (index (1, 1)), output 0 element 3 (index (1, 1)): "
                                  f"numerical {ours.split('numerical ')[-1].split(',')[0]}, analytical 6.0, "
                                  f"difference {ours.split('difference ')[-1]}")
    worst_numerical = float(ours.split("numerical ")[-1].split(",")[0])
    assert abs(worst_numerical - 4.0) < 1e-6


def test_gradcheck_counts_outputs_that_require_grad(torch):
    def two_outputs(lib):
        scaled = scaled_product(lib)
        return lambda a, b: (a.detach() * 2, scaled.apply(a, b))  # output 0 does not require grad

    ours = gradcheck_message(gs, two_outputs, PRODUCT_INPUTS[1:])
    theirs = gradcheck_message(torch, two_outputs, PRODUCT_INPUTS[1:])
    assert ours.startswith(theirs)
    assert theirs.startswith("Jacobian mismatch for output 0 with respect to input 1,")


def test_gradcheck_fast_mode_message_matches_torch(torch):
    ours = gradcheck_message(gs, product_with_constant, PRODUCT_INPUTS, [False, True, True], fast_mode=True)
    theirs = gradcheck_message(torch, product_with_constant, PRODUCT_INPUTS, [False, True, True], fast_mode=True)
    # u and v are drawn as torch draws them, so even the projected values agree
    head = theirs.split("\n\nThe above quantities")[0]
    assert ours.startswith(head)
    assert "numerical:2.22472691898" in head
    assert "Below, we recompute numerical and analytical jacobians in slow mode" in ours


def test_gradcheck_passes_and_fast_mode_passes_on_a_correct_function():
    values = tuple(gs.tensor(np.array(a), requires_grad=True) for a in PRODUCT_INPUTS[1:])
    right = scaled_product(gs, 1.0, 1.0)
    assert gs.autograd.gradcheck(right.apply, values) is True
    assert gs.autograd.gradcheck(right.apply, values, fast_mode=True) is True
    assert gs.autograd.gradgradcheck(lambda a, b: (a * b).sin() * a, values) is True
    assert gs.autograd.gradgradcheck(lambda a, b: (a * b).sin() * a, values, fast_mode=True) is True


def test_gradcheck_without_raise_exception_returns_false():
    values = tuple(gs.tensor(np.array(a), requires_grad=True) for a in PRODUCT_INPUTS[1:])
    assert gs.autograd.gradcheck(scaled_product(gs).apply, values, raise_exception=False) is False


def test_gradcheck_eps_atol_rtol_are_used():
    # a derivative 0.1% off passes with rtol=1e-2 and fails with the default rtol=1e-3 ... atol=0
    values = tuple(gs.tensor(np.array(a), requires_grad=True) for a in PRODUCT_INPUTS[1:])
    off = scaled_product(gs, 1.0, 1.005)
    assert gs.autograd.gradcheck(off.apply, values, rtol=1e-2, atol=0) is True
    assert gs.autograd.gradcheck(off.apply, values, rtol=1e-3, atol=0, raise_exception=False) is False
    assert gs.autograd.gradcheck(off.apply, values, eps=1e-3, rtol=1e-2, atol=0) is True


def test_gradcheck_warns_about_float32_inputs_like_torch(torch):
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with pytest.warns(UserWarning) as record:
            lib.autograd.gradcheck(lambda t: t * 2, (x,), eps=1e-2, atol=1e-2, raise_exception=False)
        return [str(w.message) for w in record if "double precision" in str(w.message)]

    assert run(gs) == run(torch) == [
        "Input #0 requires gradient and is not a double precision floating point or complex. This check will likely "
        "fail if all the inputs are not of double precision floating point or complex. "]


def test_gradcheck_without_inputs_requiring_grad_raises_like_torch(torch):
    with pytest.raises(ValueError) as expected:
        torch.autograd.gradcheck(lambda t: t * 2, (torch.ones(2, dtype=torch.float64),))
    with pytest.raises(ValueError) as actual:
        gs.autograd.gradcheck(lambda t: t * 2, (gs.ones(2, dtype=gs.float64),))
    assert str(actual.value) == str(expected.value)


def test_gradcheck_detects_a_non_reentrant_backward(torch):
    def noisy(lib):
        calls = iter(range(1000))

        def backward(ctx, g):
            return g * (2 + 1e-12 * next(calls))

        cls = type("Noisy", (lib.autograd.Function,), {"forward": staticmethod(lambda ctx, x: x * 2),
                                                        "backward": staticmethod(backward)})
        return cls.apply

    ours = gradcheck_message(gs, noisy, ([1.0, 2.0],))
    theirs = gradcheck_message(torch, noisy, ([1.0, 2.0],))
    assert ours == theirs
    assert ours.startswith("Backward is not reentrant, i.e., running backward with same input and grad_output "
                           "multiple times gives different values, although analytical gradient matches numerical "
                           "gradient.The tolerance for nondeterminism was 0.0.")
    x = gs.tensor([1.0, 2.0], dtype=gs.float64, requires_grad=True)
    assert gs.autograd.gradcheck(noisy(gs), (x,), nondet_tol=1e-9) is True


def test_gradcheck_detects_a_backward_not_multiplied_by_grad_output(torch):
    def leaky(lib):
        cls = type("Leaky", (lib.autograd.Function,), {
            "forward": staticmethod(lambda ctx, x: x * 2),
            "backward": staticmethod(lambda ctx, g: g * 2 + 1e-9)})
        return cls.apply

    assert gradcheck_message(gs, leaky, ([1.0, 2.0],)) == gradcheck_message(torch, leaky, ([1.0, 2.0],)) == \
        "backward not multiplied by grad_output"


def test_gradcheck_of_a_function_without_differentiable_outputs(torch):
    def detached(lib):
        return lambda x: x.detach() * 2

    assert gradcheck_message(gs, detached, ([1.0, 2.0],)) == gradcheck_message(torch, detached, ([1.0, 2.0],)) == \
        "Numerical gradient for function expected to be zero"


def test_gradcheck_modes_gradspec_lacks_say_so():
    x = gs.tensor([1.0], dtype=gs.float64, requires_grad=True)
    with pytest.raises(NotImplementedError, match="forward-mode"):
        gs.autograd.gradcheck(lambda t: t * 2, (x,), check_forward_ad=True)
    with pytest.raises(NotImplementedError, match="vmap"):
        gs.autograd.gradcheck(lambda t: t * 2, (x,), check_batched_grad=True)


def test_gradgradcheck_finds_a_wrong_second_derivative(torch):
    def wrong_double(lib):
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x * x.detach()  # right value, but x.detach() hides half the second derivative

        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        cls = type("Cube", (lib.autograd.Function,), {"forward": staticmethod(forward),
                                                      "backward": staticmethod(backward)})
        return cls.apply

    for lib in (gs, torch):
        x = lib.tensor([0.5, -1.5], dtype=lib.float64, requires_grad=True)
        assert lib.autograd.gradcheck(wrong_double(lib), (x,)) is True
        with pytest.raises(RuntimeError, match="Jacobian mismatch for output 0 with respect to input 0"):
            lib.autograd.gradgradcheck(wrong_double(lib), (x,))
