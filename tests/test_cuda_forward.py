"""Fused forward kernels (codegen/cuda.py `forward_plan` -> generated/backward.cu `<op>_forward_kernel`):
an op whose `forward:` formula is elementwise and takes several array operations runs it as one
launch on cuda, and as written elsewhere.

On cuda each must give what its formula gives on the CPU (within float rounding: the kernel
rounds the per-call numbers to the tensors' dtype first), and what torch gives, for broadcast
operands and special values (NaN, ±inf, ±0, the branches' edges), in float32 and float64, in one
launch of its own kernel; operands the kernel does not take (mixed dtypes, integers, numbers in
place of tensors) take the formula on cuda too.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradspec
from conftest import CUDA_MISSING
from gradspec.generated import functions as F

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.cuda, pytest.mark.skipif(CUDA_MISSING is not None, reason=f"no cuda device: {CUDA_MISSING}")]

SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, -3.0, 3.0, 1.0, -1.0, 20.0, 1e-3, -30.0, 0.5]

# op name (its kernel is <name>_forward_kernel), gradspec's function, torch's, the tensor shapes
# (broadcast together), the per-call numbers
CASES = [
    ("rsqrt", F.rsqrt, torch.rsqrt, [(4, 13)], ()),
    ("lerp_Scalar", F.lerp_Scalar, torch.lerp, [(4, 13), (13,)], (0.25,)),
    ("lerp_Scalar", F.lerp_Scalar, torch.lerp, [(4, 13), (4, 1)], (0.75,)),
    ("lerp_Tensor", F.lerp_Tensor, torch.lerp, [(4, 13), (13,), (4, 1)], ()),
    ("leaky_relu_backward", F.leaky_relu_backward, torch.ops.aten.leaky_relu_backward, [(4, 13), (4, 13)],
     (0.2, False)),
    ("softplus_backward", F.softplus_backward, torch.ops.aten.softplus_backward, [(4, 13), (4, 13)], (2, 1)),
    ("hardtanh_backward", F.hardtanh_backward, torch.ops.aten.hardtanh_backward, [(4, 13), (1, 13)], (-0.5, 0.3)),
    ("hardswish_backward", F.hardswish_backward, torch.ops.aten.hardswish_backward, [(4, 13), (4, 13)], ()),
]

# torch's answer where this operand is NaN depends on the element's position (its vectorized loop
# gives 0 or NaN, its scalar tail grad_output, as the spec does): compared with the CPU only
TORCH_UNSETTLED_AT_NAN = {"hardtanh_backward": 1, "hardswish_backward": 1}


def _arrays(shapes, dtype, seed=0):
    """Random values, the special ones first in each operand (rotated, so that they meet each other)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for k, shape in enumerate(shapes):
        a = (rng.standard_normal(shape) * 4).astype(dtype)
        flat = a.reshape(-1)
        flat[:len(SPECIAL)] = np.roll(np.array(SPECIAL, dtype=dtype), 3 * k)[:flat.size]
        arrays.append(a)
    return arrays


def _launched(run):
    """run()'s result and the kernels it launched on the emulated device (None elsewhere)."""
    if gradspec.backends.backend_of(gradspec.zeros(1, device="cuda")._data).name != "emulated":
        return run(), None
    from gradspec import emulated_cuda

    before = emulated_cuda.snapshot()
    result = run()
    return result, emulated_cuda.since(before)["kernels"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, ours, theirs, shapes, numbers", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_fused_forward_is_one_launch_and_equals_the_cpu_and_torch(name, ours, theirs, shapes, numbers, dtype):
    arrays = _arrays(shapes, dtype)
    cpu = ours(*(gradspec.tensor(a) for a in arrays), *numbers)
    on_cuda = [gradspec.tensor(a, device="cuda") for a in arrays]
    out, kernels = _launched(lambda: ours(*on_cuda, *numbers))
    expected = theirs(*(torch.tensor(a) for a in arrays), *numbers).numpy()
    assert out.device.type == "cuda" and out.dtype == cpu.dtype and out.shape == cpu.shape
    tolerance = dict(rtol=1e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(out.cpu().numpy(), cpu.numpy(), **tolerance)  # NaN where the CPU has NaN
    settled = np.ones(out.shape, dtype=bool)
    if name in TORCH_UNSETTLED_AT_NAN:
        settled = ~np.broadcast_to(np.isnan(arrays[TORCH_UNSETTLED_AT_NAN[name]]), out.shape)
    np.testing.assert_allclose(out.cpu().numpy()[settled], expected[settled], **tolerance)
    if kernels is not None:
        t = "float" if dtype == np.float32 else "double"
        assert sum(kernels.values()) == 1, kernels
        assert list(kernels) == [f"gs::{name}_forward_kernel<{', '.join([t] * (len(shapes) + 1))}>"]


def test_mixed_dtypes_run_the_formula_and_promoted_ones_the_kernel():
    """Operands of several dtypes that the op does not promote (an integer `self`): the formula's
    own promotion decides the result. An op that promotes first (lerp) runs the kernel in the
    promoted dtype."""
    grad, self = np.array([[-2.0, 0.5, 3.0]], dtype=np.float32), np.array([[1, 2, 3]])
    out, kernels = _launched(lambda: F.leaky_relu_backward(gradspec.tensor(grad, device="cuda"),
                                                          gradspec.tensor(self, device="cuda"), 0.2, False))
    cpu = F.leaky_relu_backward(gradspec.tensor(grad), gradspec.tensor(self), 0.2, False)
    assert out.dtype == cpu.dtype and out.cpu().tolist() == cpu.tolist()
    assert kernels is None or not any("_forward_kernel" in k for k in kernels)

    a, b = np.array([0.0, 1.0, np.nan], dtype=np.float32), np.array([1.0, -1.0, 2.0])
    out, kernels = _launched(lambda: gradspec.lerp(gradspec.tensor(a, device="cuda"), gradspec.tensor(b, device="cuda"),
                                                   gradspec.tensor(a, device="cuda")))
    expected = torch.lerp(torch.tensor(a, dtype=torch.float64), torch.tensor(b), torch.tensor(a, dtype=torch.float64))
    assert out.dtype == gradspec.float64
    np.testing.assert_allclose(out.cpu().numpy(), expected.numpy(), rtol=1e-13)
    assert kernels is None or [k for k in kernels if "_forward_kernel" in k] == [
        "gs::lerp_Tensor_forward_kernel<double, double, double, double>"]


def test_a_broadcast_error_is_the_formulas():
    x, y = gradspec.ones(3, device="cuda"), gradspec.ones(4, device="cuda")
    with pytest.raises(RuntimeError, match="must match the size"):
        gradspec.lerp(x, y, 0.5)


def test_the_cpu_never_reaches_the_kernels():
    from gradspec.backends import fused

    before = dict(fused.stats)
    out = F.rsqrt(gradspec.tensor([4.0, 0.25]))
    assert fused.stats == before and out.tolist() == [0.5, 2.0]
