"""relu's backward (threshold_backward, a bit-level kernel on numpy) against torch's at the values
where a multiply by the mask would differ: inf and NaN gradients below the threshold, negative
gradients (no -0.0), NaN inputs, every float dtype and a non-contiguous gradient."""

import numpy as np
import pytest

import gradspec as rt
from gradspec.generated import functions

SPECIAL = [np.inf, -np.inf, np.nan, -0.0, 0.0, -1.5, 2.0, 1e-30]


def _torch():
    return pytest.importorskip("torch")


def _cases():
    """Every input value (below, at, above the threshold, NaN) against every gradient value."""
    inputs = np.array([-2.0, -0.0, 0.0, 0.5, 3.0, np.nan, np.inf, -np.inf])
    x, g = np.meshgrid(inputs, np.array(SPECIAL), indexing="ij")
    return x.ravel(), g.ravel()


def _bits(array):
    return array.view(np.dtype(f"u{array.dtype.itemsize}"))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_relu_backward_matches_torch_bit_for_bit(dtype):
    torch = _torch()
    x, g = (a.astype(dtype) for a in _cases())
    ours = rt.tensor(x, requires_grad=True)
    ours.relu().backward(rt.tensor(g))
    theirs = torch.tensor(x, requires_grad=True)
    theirs.relu().backward(torch.tensor(g))
    expected = theirs.grad.numpy()
    assert ours.grad.dtype == getattr(rt, dtype)
    np.testing.assert_array_equal(_bits(ours.grad.numpy()), _bits(expected))


@pytest.mark.parametrize("threshold", [0.0, 0.5, -1.0])
def test_threshold_backward_on_strided_gradient_matches_torch(threshold):
    torch = _torch()
    x, g = (a.astype(np.float32) for a in _cases())
    x, g = x.reshape(8, 8), np.ascontiguousarray(g.reshape(8, 8).T).T  # a column-major gradient
    ours = functions.threshold_backward(rt.tensor(g), rt.tensor(x), threshold)
    theirs = torch.ops.aten.threshold_backward(torch.tensor(g), torch.tensor(x), threshold).numpy()
    np.testing.assert_array_equal(_bits(ours.numpy()), _bits(theirs))
