"""The optimizers' fused step on cuda (optimizers.yaml -> generated/optimizers.cu -> gradspec.optim.fused),
and the device work of one training step, counted on the emulated device.

The fused step must give exactly what the per-parameter loop gives (foreach=False runs that loop:
the same rules op for op, which tests/test_optim.py checks against torch), in one launch per
group, device and dtype.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradspec
from conftest import CUDA_MISSING, ROOT
from gradspec.codegen import optim as codegen_optim
from gradspec.codegen.model import SpecError
from gradspec.codegen.emit import environment

needs_cuda = pytest.mark.skipif(CUDA_MISSING is not None, reason=f"no cuda device: {CUDA_MISSING}")
STEPS = {"sgd": "gs::sgd_step<float>", "sgd_momentum": "gs::sgd_momentum_step<float>", "adam": "gs::adam_step<float>"}
CONFIGS = [("SGD", dict(lr=0.1), "sgd"), ("SGD", dict(lr=0.1, weight_decay=0.01, maximize=True), "sgd"),
           ("SGD", dict(lr=0.1, momentum=0.9), "sgd_momentum"),
           ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01), "sgd_momentum"),
           ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.3, maximize=True), "sgd_momentum"),
           ("Adam", dict(lr=0.01), "adam"), ("Adam", dict(lr=0.01, betas=(0.3, 0.99), weight_decay=0.1), "adam"),
           ("Adam", dict(lr=0.01, maximize=True), "adam"), ("AdamW", dict(lr=0.01, weight_decay=0.1), "adam")]


def _emulated() -> bool:
    return gradspec.backends.backend_of(gradspec.zeros(1, device="cuda")._data).name == "emulated"


def _train(name, kwargs, foreach, device="cuda", steps=4):
    gradspec.manual_seed(0)
    model = gradspec.nn.Sequential(gradspec.nn.Linear(5, 8), gradspec.nn.Tanh(), gradspec.nn.Linear(8, 3)).to(device)
    optimizer = getattr(gradspec.optim, name)(model.parameters(), foreach=foreach, **kwargs)
    x = gradspec.randn(7, 5).to(device)
    for _ in range(steps):
        optimizer.zero_grad()
        model(x).pow(2).mean().backward()
        optimizer.step()
    return model, optimizer


@needs_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("name,kwargs,rule", CONFIGS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(CONFIGS)])
def test_the_fused_step_equals_the_per_parameter_loop_bit_for_bit(name, kwargs, rule):
    from gradspec import emulated_cuda

    before = emulated_cuda.snapshot() if _emulated() else None
    fused_model, fused_optimizer = _train(name, kwargs, foreach=None)
    if before is not None:  # one launch per step for the whole group, its rule's kernel
        assert emulated_cuda.since(before)["kernels"][STEPS[rule]] == 4
    loop_model, loop_optimizer = _train(name, kwargs, foreach=False)
    for a, b in zip(fused_model.parameters(), loop_model.parameters()):
        np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())
    for a, b in zip(fused_optimizer.state.values(), loop_optimizer.state.values()):
        assert list(a) == list(b)
        for key in a:
            np.testing.assert_array_equal(a[key].cpu().numpy(), b[key].cpu().numpy(), err_msg=key)


@needs_cuda
@pytest.mark.cuda
def test_one_launch_per_device_and_dtype_and_list_of_64():
    if not _emulated():
        pytest.skip("counted on the emulated device")
    from gradspec import emulated_cuda

    params = [gradspec.nn.Parameter(gradspec.ones(3, device="cuda")) for _ in range(70)]
    params += [gradspec.nn.Parameter(gradspec.ones(2, device="cuda:1")),
               gradspec.nn.Parameter(gradspec.ones(2, device="cuda", dtype=gradspec.float64))]
    for p in params:
        p.grad = gradspec.ones_like(p)
    before = emulated_cuda.snapshot()
    gradspec.optim.SGD(params, lr=0.5).step()
    kernels = emulated_cuda.since(before)["kernels"]
    assert kernels["gs::sgd_step<float>"] == 3 and kernels["gs::sgd_step<double>"] == 1  # 64 + 6, and cuda:1
    assert all(p.cpu().tolist() == [0.5] * p.numel() for p in params)


@pytest.mark.parametrize("rules,message", [
    ("- name: bad\n  tensors: [p]\n  update:\n    - p = p +\n", "optimizers.yaml:4:7: invalid syntax"),
    ("- name: bad\n  tensors: [p]\n  scalars: [lr]\n  update:\n    - lr = p\n", "lr is a per-launch scalar"),
    ("- name: bad\n  tensors: [p]\n  update:\n    - p = p * q\n", "name 'q' is not a tensor, scalar or flag"),
    ("- name: bad\n  tensors: [p]\n  update:\n    - p = p.sum()\n", "not elementwise"),
    ("- name: bad\n  tensors: [p]\n  update:\n    - q = p\n", "the update writes no tensor"),
    ("- name: bad\n  tensors: [p]\n  speed: 3\n  update:\n    - p = p\n", "unknown keys ['speed']"),
])
def test_malformed_update_rules_are_refused_where_they_are(tmp_path, rules, message):
    path = tmp_path / "optimizers.yaml"
    path.write_text(rules)
    with pytest.raises(SpecError) as error:
        codegen_optim.render(environment(), path)
    assert message in str(error.value) and str(error.value).startswith("optimizers.yaml:")


def test_the_rules_compile_to_the_committed_files():
    files = codegen_optim.render(environment(), ROOT / "optimizers.yaml")
    for name, text in files.items():
        assert (ROOT / "generated" / name).read_text() == text


@needs_cuda
@pytest.mark.cuda
def test_a_training_step_reads_nothing_back_to_the_host():
    """The MLP batch-64 SGD-momentum step (bench/bench_cuda.py --counts): no device-to-host copy
    (torch checks targets on the device too), and no more launches than counted when this was
    written (issue 11: 87 before, 47 with the fused optimizer step; torch launches 31): log_softmax,
    nll_loss and their backward are one row kernel each (generated/rows.cu), the same on every cupy."""
    if not _emulated():
        pytest.skip("counted on the emulated device")
    from gradspec import emulated_cuda

    rng = np.random.default_rng(0)
    model = gradspec.nn.Sequential(gradspec.nn.Linear(784, 512), gradspec.nn.ReLU(), gradspec.nn.Linear(512, 512),
                                   gradspec.nn.ReLU(), gradspec.nn.Linear(512, 10)).to("cuda")
    x = gradspec.tensor(rng.standard_normal((64, 784), dtype=np.float32), device="cuda")
    y = gradspec.tensor(rng.integers(0, 10, 64), device="cuda")
    optimizer = gradspec.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for _ in range(3):
        before = emulated_cuda.snapshot()
        gradspec.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        optimizer.zero_grad()
    counted = emulated_cuda.since(before)
    assert counted["device_to_host"] == 0 and counted["host_to_device"] == 0, counted["kernels"]
    assert counted["launches"] <= 25, counted["kernels"]
