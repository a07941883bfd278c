"""In-place ops and views: PyTorch's rules, each with a test that fails if the rule breaks."""

from __future__ import annotations

import numpy as np
import pytest

import gradspec as gs



def test_modifying_a_saved_output_in_place_is_refused():
    x = gs.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = x.sigmoid()
    a.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*is at version 1; expected version 0"):
        a.sum().backward()


def test_writing_through_a_detached_view_changes_the_original():
    v = gs.tensor([1.0, 2.0])
    v.detach()[0] = 5
    assert v.tolist() == [5.0, 2.0]


def test_update_under_no_grad_keeps_a_leaf():
    w = gs.ones(3, requires_grad=True)
    (w * 2).sum().backward()
    with gs.no_grad():
        w -= 0.5 * w.grad
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    assert w.tolist() == [0.0, 0.0, 0.0]


def test_in_place_on_a_leaf_that_requires_grad_is_refused():
    w = gs.ones(3, requires_grad=True)
    for op in (lambda: w.mul_(2), lambda: w.add_(1), lambda: w.zero_(), lambda: w.__setitem__(0, 1.0),
               lambda: w.exp_(), lambda: w.copy_(gs.zeros(3))):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            op()


@pytest.mark.parametrize("method,args", [
    ("add_", (1.5,)), ("sub_", (0.5,)), ("mul_", (3.0,)), ("div_", (2.0,)), ("pow_", (2,)), ("clamp_", (0.2, 0.7)),
    ("exp_", ()), ("sigmoid_", ()), ("tanh_", ()), ("relu_", ()), ("neg_", ()), ("abs_", ()), ("sqrt_", ()),
    ("log_", ()), ("sin_", ()), ("reciprocal_", ()), ("fill_", (0.25,)), ("zero_", ()),
])
def test_in_place_on_a_non_leaf_records_the_op_as_torch(method, args, torch):
    """x.clone().op_(...) then backward: the values, grad_fn name and gradient are torch's."""
    data = np.array([0.3, 0.6, 0.9, 1.2])

    def run(lib):
        x = lib.tensor(data, requires_grad=True)
        y = x.clone() * 1.5
        returned = getattr(y, method)(*args)
        assert returned is y
        (y * lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64)).sum().backward()
        return y.detach().numpy(), y.grad_fn.name(), x.grad.numpy()

    ours, theirs = run(gs), run(torch)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
    if method != "fill_":  # torch names fill_'s node FillBackward2, after its own fill_ schemas
        assert ours[1] == theirs[1]
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12)


def test_in_place_reads_its_input_before_overwriting_it():
    """y.mul_(w): the node reads y as it was (a snapshot), so d/dw of (2x * w) is 2x, not the result."""
    x = gs.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = gs.tensor([4.0, 5.0, 6.0], requires_grad=True)
    y = x * 2
    y.mul_(w)
    y.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 4.0, 6.0])
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 10.0, 12.0])


@pytest.mark.parametrize("target", ["whole", "element", "slice"])
def test_in_place_reading_itself_as_another_argument_is_refused_at_backward(target):
    """y.mul_(y): MulBackward0 saved y as other, then y changed, so backward refuses it, as torch's
    (seed 2035, program 983: through an element view it once went through)."""
    x = gs.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    v = {"whole": y, "element": y[0], "slice": y[0:2]}[target]
    v.mul_(v)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@pytest.mark.parametrize("product", ["mm", "matmul", "addmm", "linear", "batched"])
def test_a_product_saves_an_operand_only_for_the_other_s_gradient(product):
    """x @ w with x needing no gradient saves x alone (mm's gradient for w reads w's sizes and
    strides only, as torch's): w written in place since is no error, and w's gradient is x's."""
    x = gs.tensor([[1.0, 2.0], [3.0, 4.0]])
    w = gs.tensor([[1.0, -1.0], [0.5, 2.0]], requires_grad=True)
    y = {"mm": lambda: gs.mm(x, w), "matmul": lambda: x @ w, "addmm": lambda: gs.addmm(gs.zeros(2), x, w),
         "linear": lambda: gs.nn.functional.linear(x, w.t()), "batched": lambda: (x.unsqueeze(0) @ w)[0]}[product]()
    w.detach().mul_(2)
    y.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [[4.0, 4.0], [6.0, 6.0]])
    x.requires_grad_()
    y = x @ w  # x's gradient reads w: then it is saved, and checked
    w.detach().mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@pytest.mark.parametrize("index,value", [
    (0, 10.0), (slice(1, None), 7.0), ((slice(None), 1), -1.0), ("mask", 0.0), ("tensor_value", None),
])
def test_setitem_on_a_non_leaf_as_torch(index, value, torch):
    def run(lib):
        x = lib.tensor(np.arange(6.0).reshape(2, 3) / 3, requires_grad=True)
        v = lib.tensor([5.0, 6.0, 7.0], requires_grad=True)
        y = x * 2
        if index == "mask":
            y[y > 1] = value
        elif index == "tensor_value":
            y[1] = v * 3
        else:
            y[index] = value
        (y * lib.tensor(np.arange(1.0, 7.0).reshape(2, 3))).sum().backward()
        return y.detach().numpy(), x.grad.numpy(), None if v.grad is None else v.grad.numpy()

    ours, theirs = run(gs), run(torch)
    for mine, reference in zip(ours, theirs):
        if reference is None:
            assert mine is None
        else:
            np.testing.assert_allclose(mine, reference)


def test_in_place_broadcast_and_dtype_rules():
    y = gs.ones(2, 3, requires_grad=True) * 1
    with pytest.raises(RuntimeError, match=r"output with shape \[2, 3\] doesn't match the broadcast shape \[4, 2, 3\]"):
        y.add_(gs.ones(4, 2, 3))
    ints = gs.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        ints.mul_(1.5)
    ints.mul_(2)
    assert ints.tolist() == [2, 4, 6]


def test_views_share_storage_and_version_with_their_base():
    base = gs.arange(6.0).reshape(2, 3)
    for view in (base.view(3, 2), base.t(), base[0], base[:, 1:], base.transpose(0, 1), base.unsqueeze(0),
                 base.expand(4, 2, 3), base.permute(1, 0), base.detach()):
        before = view._version
        base.add_(1)
        assert view._version == before + 1
    row = base[1]
    row[0] = 100.0
    assert base[1, 0].item() == 100.0


def test_a_saved_tensor_changed_through_its_view_is_caught():
    x = gs.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    w = gs.tensor([1.0, 2.0, 3.0, 4.0])
    y = x * w.view(2, 2).view(4)
    with gs.no_grad():
        w[0] = 7.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_requires_grad_can_be_set_only_on_leaves():
    y = gs.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
        y.requires_grad = False


def test_reading_grad_of_a_non_leaf_warns():
    y = gs.ones(2, requires_grad=True) * 2
    with pytest.warns(UserWarning, match="is not a leaf Tensor is being accessed"):
        assert y.grad is None


def test_in_place_through_views_of_a_non_leaf_as_torch(torch):
    """torch's CopySlices: writing through a view rewrites the base's history (and the view's)."""

    def run(lib):
        x = lib.tensor(np.arange(1.0, 7.0).reshape(2, 3) / 4, requires_grad=True)
        w = lib.tensor([2.0, 3.0, 4.0], requires_grad=True)
        y = x * 1.5
        y[0].mul_(2)
        row = y[1]
        row.add_(w * w)
        y.t()[1:].exp_()
        (y * lib.tensor(np.arange(1.0, 7.0).reshape(2, 3))).sum().backward()
        return y.detach().numpy(), x.grad.numpy(), w.grad.numpy()

    for mine, reference in zip(run(gs), run(torch)):
        np.testing.assert_allclose(mine, reference, rtol=1e-12)


def test_in_place_through_a_view_of_a_leaf_is_refused():
    x = gs.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being used in an in-place"):
        x[0].mul_(2)
