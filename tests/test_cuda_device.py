"""The cuda device path against the CPU (`pytest -m cuda`), on a GPU where there is one, else on
the emulated device (gradspec.emulated_cuda; docs/cuda.md).

On a GPU: cupy compiling each kernel through nvrtc and launching it, on the GPU's own math
library and with its FMA contraction; on the emulated device, the same kernels compiled by g++
and launched through the emulated RawModule; on both, the whole cuda device path (factories,
`.cuda()`/`.cpu()`, `Module.to`, the array form of the other nodes on cupy, optimizers)
compared with the CPU:

* every elementwise entry's gradients on cuda, float32 and float64, against the CPU, with one
  kernel launch per node;
* the seed notebook's autograd example (seed 001) and a training step of a small network;
* `to` is differentiable across devices; mixing devices in one op raises naming both.

Skipped, with the reason, where neither a GPU nor the emulated device is available.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradspec
from gradspec import cuda as runtime_cuda
from conftest import CUDA_MISSING as MISSING

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(MISSING is not None, reason=f"no cuda device: {MISSING}")]

if MISSING is None:  # the same entries and inputs as the host check
    from test_cuda_host import CASES, make_inputs  # noqa: E402
else:
    CASES, make_inputs = [], None

RTOL = {np.float32: 1e-4, np.float64: 1e-10}  # the GPU's libdevice and FMA contraction vs numpy


def host(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def test_is_available_and_device_count():
    assert gradspec.cuda.is_available()
    assert gradspec.cuda.device_count() >= 1
    assert gradspec.zeros(2, device="cuda").device == gradspec.device("cuda", 0)


@pytest.mark.parametrize("plan,case,dtype", CASES)
def test_entry_gradients_on_cuda_match_the_cpu(plan, case, dtype):
    from gradspec.generated import functions as F

    op = getattr(F, plan.entry.function_name)
    kwargs = make_inputs(plan.entry, case, dtype, special=False)
    tensors = {k: v for k, v in kwargs.items() if isinstance(v, gradspec.Tensor)}
    leaves = [k for k, v in tensors.items() if v.requires_grad]
    result = op(**kwargs)
    cotangent = gradspec.tensor(np.asarray(np.random.default_rng(1).standard_normal(result.shape), dtype=dtype))
    expected = gradspec.autograd.grad(result, [kwargs[k] for k in leaves], cotangent)

    on_gpu = dict(kwargs, **{k: v.detach().cuda().requires_grad_(v.requires_grad) for k, v in tensors.items()})
    result_gpu = op(**on_gpu)
    assert result_gpu.grad_fn.name() == plan.node
    before = runtime_cuda.stats["launches"]
    actual = gradspec.autograd.grad(result_gpu, [on_gpu[k] for k in leaves], cotangent.cuda())
    fits = all(np.broadcast_shapes(t.shape, result.shape) == tuple(result.shape) for t in tensors.values())
    computed = {g.input for g in plan.computed} & set(leaves)
    assert runtime_cuda.stats["launches"] - before == (1 if fits and computed else 0)
    for name, want, got in zip(leaves, expected, actual):
        assert got.device.type == "cuda", name
        np.testing.assert_allclose(host(got), host(want), rtol=RTOL[dtype], atol=RTOL[dtype] * 1e-3, err_msg=name)


def test_one_launch_per_elementwise_node():
    x = gradspec.randn(64, 33, device="cuda", requires_grad=True)
    y = gradspec.randn(33, device="cuda", requires_grad=True)
    loss = ((x * y).sin() / (y * y + 1)).tanh().sum()
    before = dict(runtime_cuda.stats)
    loss.backward()
    # Tanh, Div, Sin and both Muls are elementwise: one launch each; the sum runs its array form
    assert runtime_cuda.stats["launches"] - before["launches"] == 5
    assert runtime_cuda.stats["fallbacks"] == before["fallbacks"]
    assert runtime_cuda.stats["copies"] == before["copies"]  # y is a bias; the sum's gradient an expanded view
    x_cpu, y_cpu = x.detach().cpu().requires_grad_(), y.detach().cpu().requires_grad_()
    ((x_cpu * y_cpu).sin() / (y_cpu * y_cpu + 1)).tanh().sum().backward()
    np.testing.assert_allclose(host(x.grad), x_cpu.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(host(y.grad), y_cpu.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_seed_001_autograd_example_on_cuda():
    """The tutorial's one-layer network (tests/test_seeds.py) on cuda: the same gradients."""
    from test_seeds import seed_001_model

    _, _, w_cpu, b_cpu, _, loss_cpu = seed_001_model()
    loss_cpu.backward()
    x = gradspec.ones(5, device="cuda")
    y = gradspec.zeros(3, device="cuda")
    w = w_cpu.detach().cuda().requires_grad_()
    b = b_cpu.detach().cuda().requires_grad_()
    z = gradspec.matmul(x, w) + b
    loss = gradspec.nn.functional.binary_cross_entropy_with_logits(z, y)
    assert z.grad_fn.name() == "AddBackward0" and loss.grad_fn.name() == "BinaryCrossEntropyWithLogitsBackward0"
    loss.backward()
    assert w.grad.device.type == "cuda"
    np.testing.assert_allclose(host(w.grad), w_cpu.grad.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(host(b.grad), b_cpu.grad.numpy(), rtol=1e-5, atol=1e-7)
    inp = gradspec.eye(5, device="cuda", requires_grad=True)
    out = (inp + 1).pow(2)
    out.backward(gradspec.ones_like(inp), retain_graph=True)
    np.testing.assert_array_equal(host(inp.grad), 2 * (np.eye(5) + 1))


def test_training_step_on_cuda_matches_the_cpu():
    nn, optim = gradspec.nn, gradspec.optim
    gradspec.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3))
    inputs, targets = gradspec.randn(32, 6), gradspec.randn(32, 3)
    on_gpu = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3))
    on_gpu.load_state_dict(model.state_dict())
    on_gpu.to("cuda")
    assert all(p.device.type == "cuda" for p in on_gpu.parameters())
    losses = []
    for net, x, t in ((model, inputs, targets), (on_gpu, inputs.cuda(), targets.cuda())):
        opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        for _ in range(3):
            opt.zero_grad()
            loss = nn.functional.mse_loss(net(x), t)
            loss.backward()
            opt.step()
        losses.append(float(loss))
    assert math.isclose(losses[0], losses[1], rel_tol=1e-4)
    for p_cpu, p_gpu in zip(model.parameters(), on_gpu.parameters()):
        np.testing.assert_allclose(host(p_gpu), p_cpu.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_to_is_differentiable_across_devices():
    x = gradspec.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = (x.cuda() * 2).exp().cpu()
    assert y.device.type == "cpu" and y.grad_fn is not None
    y.sum().backward()
    assert x.grad.device.type == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(2 * x.detach().numpy()), rtol=1e-6)


def test_mixing_devices_in_one_op_names_both():
    a, b = gradspec.ones(3, device="cuda"), gradspec.ones(3)
    with pytest.raises(RuntimeError, match="found at least two devices, (cuda:0 and cpu|cpu and cuda:0)"):
        a + b
    with pytest.raises(RuntimeError, match="found at least two devices"):
        gradspec.matmul(b, a)


def test_float16_and_non_elementwise_nodes_run_the_array_form_on_cupy():
    x = gradspec.randn(8, 8, device="cuda").to(gradspec.float16).requires_grad_()
    (x * x).sum().backward()
    assert x.grad.dtype == gradspec.float16 and x.grad.device.type == "cuda"
    y = gradspec.randn(4, 5, device="cuda", requires_grad=True)
    (y @ y.T).mean().backward()
    np.testing.assert_allclose(host(y.grad), (2 * host(y).sum(0, keepdims=True).repeat(4, 0)) / 16, rtol=1e-5)


def test_the_second_device_runs_its_own_ops_and_backward():
    """cuda:1: ops, backward, an optimizer step, and copies to and from cuda:0, against the CPU."""
    if gradspec.cuda.device_count() < 2:
        pytest.skip("one cuda device")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal(3)
    x, w = gradspec.tensor(a, device="cuda:1", requires_grad=True), gradspec.tensor(b, device="cuda:0",
                                                                                   requires_grad=True)
    y = (x * 2).exp().to("cuda:0") * w + x.sum(0).to("cuda:0")
    assert y.device == gradspec.device("cuda", 0)
    y.sum().backward()
    assert x.grad.device == gradspec.device("cuda", 1) and w.grad.device == gradspec.device("cuda", 0)
    np.testing.assert_allclose(host(x.grad), 2 * np.exp(2 * a) * b + 4, rtol=1e-12)  # x.sum(0) meets 4 rows
    np.testing.assert_allclose(host(w.grad), np.exp(2 * a).sum(0), rtol=1e-12)
    model = gradspec.nn.Linear(3, 2).to("cuda:1")
    opt = gradspec.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(2):
        opt.zero_grad()
        model(x.detach().float()).pow(2).mean().backward()
        opt.step()
    assert {p.device for p in model.parameters()} == {gradspec.device("cuda", 1)}
    with pytest.raises(RuntimeError, match="found at least two devices, (cuda:1 and cuda:0|cuda:0 and cuda:1)"):
        x + w


def test_tf32_is_an_opt_in_under_torchs_flag_names(torch):
    """Off for matmuls unless asked (allow_tf32 or set_float32_matmul_precision), as in torch; the
    cudnn flag (on by default in torch) governs convolutions. A TF32 product rounds its inputs to
    10 bits of mantissa: errors of about 1e-3 relative instead of 1e-7."""
    flags = gradspec.backends.cuda.matmul
    assert flags.allow_tf32 is torch.backends.cuda.matmul.allow_tf32 is False
    assert gradspec.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == "highest"
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((64, 64)).astype(np.float32), rng.standard_normal((64, 64)).astype(np.float32)
    exact = a.astype(np.float64) @ b
    image, weight = rng.standard_normal((1, 4, 8, 8)).astype(np.float32), rng.standard_normal((3, 4, 3, 3))

    def errors():
        product = host(gradspec.tensor(a, device="cuda") @ gradspec.tensor(b, device="cuda"))
        conv = gradspec.nn.functional.conv2d(gradspec.tensor(image, device="cuda"),
                                             gradspec.tensor(weight.astype(np.float32), device="cuda"))
        expected = torch.nn.functional.conv2d(torch.tensor(image, dtype=torch.float64), torch.tensor(weight))
        return np.abs(product - exact).max() / np.abs(exact).max(), \
            np.abs(host(conv) - expected.numpy()).max() / np.abs(expected.numpy()).max()

    cudnn = gradspec.backends.cudnn.allow_tf32
    try:
        gradspec.backends.cudnn.allow_tf32 = False
        assert max(errors()) < 1e-5
        flags.allow_tf32 = True
        assert gradspec.get_float32_matmul_precision() == "high"
        matmul, conv = errors()
        assert 1e-5 < matmul < 1e-2 and conv < 1e-5
        gradspec.set_float32_matmul_precision("highest")
        gradspec.backends.cudnn.allow_tf32 = True
        matmul, conv = errors()
        assert matmul < 1e-5 < conv < 1e-2 and flags.allow_tf32 is False
        cpu = gradspec.tensor(a) @ gradspec.tensor(b)  # the CPU never rounds
        assert np.abs(cpu.numpy() - exact).max() / np.abs(exact).max() < 1e-5
    finally:
        gradspec.set_float32_matmul_precision("highest")
        gradspec.backends.cudnn.allow_tf32 = cudnn
