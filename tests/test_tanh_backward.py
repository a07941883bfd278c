"""tanh's backward (tanh_backward) against torch's bit for bit: torch rounds `1 - y * y` once (a
fused multiply-add), so a gradient computed by hand, `(1 - h**2) * dh`, differs from autograd's in
the last bit at some elements, under torch and here alike (makemore part 4 prints that)."""

import numpy as np
import pytest

import gradspec as rt

torch = pytest.importorskip("torch")


def _bits(array):
    return array.view(np.dtype(f"u{array.dtype.itemsize}"))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_tanh_backward_matches_torch_bit_for_bit(dtype):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(100_003) * 2).astype(dtype)
    g = rng.standard_normal(100_003).astype(dtype)
    ours = rt.tensor(x, requires_grad=True)
    ours.tanh().backward(rt.tensor(g))
    theirs = torch.tensor(x, requires_grad=True)
    theirs.tanh().backward(torch.tensor(g))
    # from the same outputs (tanh itself is libm's here, torch's own there)
    y = theirs.detach().tanh()
    expected = torch.ops.aten.tanh_backward(torch.tensor(g), y).numpy()
    from_torch_outputs = rt.generated.functions.tanh_backward(rt.tensor(g), rt.tensor(y.numpy()))
    np.testing.assert_array_equal(_bits(from_torch_outputs.numpy()), _bits(expected))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), atol=2e-3 if dtype == "float16" else 1e-6)


def test_tanh_double_backward_matches_torch():
    x = np.random.default_rng(1).standard_normal(7)
    ours = rt.tensor(x, requires_grad=True)
    (g,) = rt.autograd.grad(ours.tanh().sum(), ours, create_graph=True)
    (gg,) = rt.autograd.grad((g * g).sum(), ours)
    theirs = torch.tensor(x, requires_grad=True)
    (tg,) = torch.autograd.grad(theirs.tanh().sum(), theirs, create_graph=True)
    (tgg,) = torch.autograd.grad((tg * tg).sum(), theirs)
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gg.numpy(), tgg.numpy(), rtol=1e-12)
    assert type(g.grad_fn).__name__ == type(tg.grad_fn).__name__ == "TanhBackwardBackward0"
