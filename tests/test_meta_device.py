"""The meta device (torch's device="meta"): tensors with a shape and a dtype but no data, for
working out a model's shapes without memory or compute (the PyTorch recipe "reasoning about
shapes"). Printed, shaped and refused as torch's, where torch is installed."""

import tracemalloc

import numpy as np
import pytest

import gradspec as gs

torch = pytest.importorskip("torch")


def _each(build):
    return [build(lib) for lib in (gs, torch)]


REPRS = [
    lambda t: t.rand(2, 3, device="meta"),
    lambda t: t.rand(2, 3, device="meta", dtype=t.float64, requires_grad=True),
    lambda t: t.zeros(0, device="meta"),
    lambda t: t.zeros((), device="meta"),
    lambda t: t.zeros(3, device="meta", dtype=t.int64),
    lambda t: t.nn.Conv2d(3, 5, 2, device="meta").weight,
    lambda t: t.nn.Conv2d(3, 5, 2, device="meta")(t.rand(2, 3, 10, 10, device="meta")),
    lambda t: t.ones(2).to("meta"),
]


@pytest.mark.parametrize("build", REPRS)
def test_meta_tensors_print_as_torchs(build):
    ours, theirs = _each(build)
    assert repr(ours) == repr(theirs)
    assert str(ours.device) == str(theirs.device) == "meta"


def _net(lib):
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.pool = lib.nn.Conv2d(3, 6, 5), lib.nn.MaxPool2d(2, 2)
            self.fc1 = lib.nn.Linear(6 * 14 * 14, 10)

        def forward(self, x):
            x = self.pool(self.conv1(x).relu())
            return self.fc1(x.flatten(1)).softmax(-1)

    return Net()


def _shapes(lib):
    with lib.device("meta"):  # the default device inside the block, for modules and factories alike
        net = _net(lib)
        x = lib.randn((1024, 3, 32, 32))
    assert lib.ones(1).device.type == "cpu"  # and the block's device is gone after it
    out = net(x)
    return [tuple(p.shape) for p in net.parameters()], tuple(out.shape), out.grad_fn.name(), str(out.dtype)


def test_a_model_built_and_run_on_meta_gives_torchs_shapes():
    assert _shapes(gs) == _shapes(torch)


def test_huge_meta_tensors_cost_nothing():
    tracemalloc.start()
    conv = gs.nn.Conv2d(3, 5, 2, device="meta")
    out = conv(gs.rand(2 ** 10, 3, 2 ** 16, 2 ** 16, device="meta"))  # 12 TiB of float32 were it real
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert tuple(out.shape) == (1024, 5, 65535, 65535) and peak < 10 << 20


def test_meta_factories_draw_no_random_numbers_as_torchs():
    for lib in (gs, torch):
        lib.manual_seed(0)
        lib.rand(3, device="meta")
        lib.nn.Linear(4, 4, device="meta")
        drawn = lib.rand(2).numpy()
        lib.manual_seed(0)
        np.testing.assert_array_equal(drawn, lib.rand(2).numpy())


def test_reading_data_out_of_a_meta_tensor_is_refused_as_torch_refuses_it():
    for lib in (gs, torch):
        meta = lib.ones(2, device="meta")
        with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor; no data!"):
            meta.tolist()
        with pytest.raises(TypeError, match="can't convert meta device type tensor to numpy"):
            meta.numpy()


def test_an_op_without_a_meta_rule_says_so():
    with pytest.raises(NotImplementedError, match="meta device has no rule for numpy"):
        gs.ones(3, device="meta").sort()
