"""The tensor-level API the corpus of public scripts needs, compared with torch (issue 14 item 2)."""

import re

import numpy as np
import pytest

import gradspec


def test_legacy_constructors_and_typed_tensors(torch):
    for args in ([[[1, 2], [3, 4]]], [(2.5, 3)], [np.arange(3)], []):
        ours, theirs = gradspec.Tensor(*args), torch.Tensor(*args)
        assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.") and ours.tolist() == theirs.tolist()
    assert gradspec.Tensor(2, 3).shape == torch.Tensor(2, 3).shape
    assert gradspec.Tensor(gradspec.Size([4])).shape == (4,)
    for name in ("FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "ByteTensor", "BoolTensor"):
        ours, theirs = getattr(gradspec, name)([1, 0, 2]), getattr(torch, name)([1, 0, 2])
        assert str(ours.dtype) == str(theirs.dtype) and ours.tolist() == theirs.tolist()
        assert ours.type() == theirs.type() == f"torch.{name}"
        assert isinstance(ours, getattr(gradspec, name)) and not isinstance(ours.double() if name != "DoubleTensor"
                                                                            else ours.float(), getattr(gradspec, name))
    assert gradspec.zeros(2).type(gradspec.LongTensor).dtype == gradspec.int64
    assert gradspec.zeros(2).type("torch.DoubleTensor").dtype == gradspec.float64
    with pytest.raises(TypeError, match="expected Float"):
        gradspec.FloatTensor(gradspec.tensor([1, 2]))


def test_variable_is_a_leaf_sharing_storage(torch):
    data = gradspec.ones(3)
    v = gradspec.autograd.Variable(data, requires_grad=True)
    assert v.requires_grad and v.is_leaf and isinstance(v, gradspec.autograd.Variable)
    (v * 2).sum().backward()
    assert v.grad.tolist() == [2.0, 2.0, 2.0]
    data.add_(1)
    assert v.tolist() == [2.0, 2.0, 2.0]


def test_out_argument(torch):
    a = gradspec.arange(6.0).view(2, 3)
    out = gradspec.empty(2, 2)
    assert gradspec.matmul(a, a.T, out=out) is out
    reference = torch.arange(6.0).view(2, 3)
    np.testing.assert_array_equal(out.numpy(), (reference @ reference.T).numpy())
    resized = gradspec.empty(0)
    gradspec.add(a, 1, out=resized)
    assert resized.shape == (2, 3) and resized[1, 2].item() == 6.0
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        gradspec.mul(gradspec.ones(2, requires_grad=True), 2, out=gradspec.empty(2))


def test_numpy_keyword_names(torch):
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    ours, theirs = gradspec.tensor(x), torch.tensor(x)
    np.testing.assert_allclose(ours.sum(1, keepdims=True).numpy(), theirs.sum(1, keepdims=True).numpy(), rtol=1e-6)
    np.testing.assert_allclose(gradspec.mean(ours, axis=0).numpy(), torch.mean(theirs, axis=0).numpy(), rtol=1e-6)
    np.testing.assert_allclose(gradspec.sum(input=ours, dim=1).numpy(), torch.sum(input=theirs, dim=1).numpy(),
                               rtol=1e-6)


def test_accelerator_and_default_device(torch, no_cupy):
    """On a machine without a GPU (torch's CPU build here), both report no accelerator."""
    assert gradspec.accelerator.is_available() == torch.accelerator.is_available()
    assert (gradspec.accelerator.current_accelerator() is None) == (torch.accelerator.current_accelerator() is None)
    assert str(gradspec.get_default_device()) == str(torch.get_default_device()) == "cpu"
    gradspec.set_default_device("cpu")
    assert gradspec.zeros(2).device.type == "cpu"
    import gradspec.backends.cudnn as cudnn

    cudnn.benchmark = True
    assert gradspec.backends.mps.is_available() is False


def test_accelerator_reports_cuda_where_cupy_sees_a_gpu():
    if not gradspec.cuda.is_available():
        pytest.skip("no GPU, real or emulated (GRADSPEC_EMULATE_CUDA=1)")
    assert gradspec.accelerator.is_available()
    assert gradspec.accelerator.current_accelerator() == gradspec.device("cuda")
    assert gradspec.accelerator.device_count() == gradspec.cuda.device_count() >= 1


@pytest.mark.parametrize("case", [
    dict(shape=(10,), n=1, replacement=False), dict(shape=(10,), n=6, replacement=False),
    dict(shape=(4, 27), n=1, replacement=True), dict(shape=(4, 27), n=50, replacement=True),
    dict(shape=(3, 8), n=8, replacement=False), dict(shape=(27,), n=1, replacement=True, double=True)])
def test_multinomial_draws_torchs_indices_after_manual_seed(torch, case):
    for seed in (0, 2147483647):
        torch.manual_seed(seed)
        gradspec.manual_seed(seed)
        dtype = "float64" if case.get("double") else "float32"
        probabilities = torch.rand(case["shape"], dtype=getattr(torch, dtype))
        weights = gradspec.rand(case["shape"], dtype=getattr(gradspec, dtype))
        probabilities[..., 0] = weights[..., 0] = 0  # a zero-weight category is never drawn
        expected = torch.multinomial(probabilities, case["n"], case["replacement"])
        ours = gradspec.multinomial(weights, case["n"], case["replacement"])
        assert ours.dtype == gradspec.int64 and ours.tolist() == expected.tolist()
        # and the generators are left in the same state
        assert gradspec.rand(3).tolist() == torch.rand(3).tolist()


def test_multinomial_with_a_generator_and_as_a_method(torch):
    g, h = torch.Generator().manual_seed(2147483647), gradspec.Generator().manual_seed(2147483647)
    p = torch.rand(27, generator=g)
    q = gradspec.rand(27, generator=h)
    assert q.multinomial(100, replacement=True, generator=h).tolist() == \
        p.multinomial(100, replacement=True, generator=g).tolist()


def test_exponential_matches_torch(torch):
    for dtype in ("float32", "float64"):
        torch.manual_seed(3)
        gradspec.manual_seed(3)
        expected = torch.empty(1000, dtype=getattr(torch, dtype)).exponential_(2.0)
        ours = gradspec.empty(1000, dtype=getattr(gradspec, dtype)).exponential_(2.0)
        np.testing.assert_array_equal(ours.numpy(), expected.numpy())


def test_multinomial_errors_name_the_problem():
    with pytest.raises(RuntimeError, match="without replacement"):
        gradspec.multinomial(gradspec.ones(3), 4)
    with pytest.raises(RuntimeError, match="sum of probabilities"):
        gradspec.multinomial(gradspec.zeros(2, 3), 1)


def test_isclose_allclose_equal(torch):
    a = [1.0, 2.0, float("nan"), float("inf"), 1e-9]
    b = [1.0 + 1e-6, 2.1, float("nan"), float("inf"), 0.0]
    for kwargs in ({}, {"equal_nan": True}, {"rtol": 0.1}, {"atol": 1e-8, "rtol": 0}):
        ours = gradspec.isclose(gradspec.tensor(a), gradspec.tensor(b), **kwargs)
        theirs = torch.isclose(torch.tensor(a), torch.tensor(b), **kwargs)
        assert ours.tolist() == theirs.tolist()
        assert gradspec.allclose(gradspec.tensor(a[:2]), gradspec.tensor(b[:2]), **kwargs) == \
            torch.allclose(torch.tensor(a[:2]), torch.tensor(b[:2]), **kwargs)
    assert gradspec.equal(gradspec.ones(2), gradspec.ones(2)) and not gradspec.equal(gradspec.ones(2), gradspec.ones(3))
    assert gradspec.isclose(gradspec.tensor([1, 2]), gradspec.tensor([1, 3])).tolist() == [True, False]


def test_topk_values_indices_and_gradient(torch):
    x = np.random.default_rng(1).standard_normal((4, 6)).astype(np.float32)
    for kwargs in ({"k": 3}, {"k": 2, "dim": 0, "largest": False}):
        ours, theirs = gradspec.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        (ov, oi), (tv, ti) = ours.topk(**kwargs), theirs.topk(**kwargs)
        np.testing.assert_array_equal(ov.detach().numpy(), tv.detach().numpy())
        assert oi.tolist() == ti.tolist()
        (ov * ov).sum().backward()
        (tv * tv).sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)
        assert type(ov.grad_fn).__name__ == type(tv.grad_fn).__name__ == "TopkBackward0"


def test_tril_triu_and_masked_fill_as_in_attention(torch):
    ours = gradspec.tril(gradspec.ones(4, 4))
    theirs = torch.tril(torch.ones(4, 4))
    assert ours.tolist() == theirs.tolist() and gradspec.ones(3, 3).triu(1).tolist() == torch.ones(3, 3).triu(1).tolist()
    scores = np.random.default_rng(2).standard_normal((2, 4, 4)).astype(np.float32)
    o = gradspec.tensor(scores, requires_grad=True)
    t = torch.tensor(scores, requires_grad=True)
    ow = gradspec.nn.functional.softmax(o.masked_fill(ours == 0, float("-inf")), dim=-1)
    tw = torch.nn.functional.softmax(t.masked_fill(theirs == 0, float("-inf")), dim=-1)
    np.testing.assert_allclose(ow.detach().numpy(), tw.detach().numpy(), rtol=1e-6)
    (ow * gradspec.arange(4.0)).sum().backward()
    (tw * torch.arange(4.0)).sum().backward()
    np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_randint_high_with_size_keyword(torch):
    torch.manual_seed(5)
    gradspec.manual_seed(5)
    assert gradspec.randint(10, size=(6,)).tolist() == torch.randint(10, size=(6,)).tolist()
    assert gradspec.randint(3, 10, size=(2, 2)).tolist() == torch.randint(3, 10, size=(2, 2)).tolist()


def test_comparison_with_none_is_false(torch):
    assert (gradspec.ones(2) == None) is False and (gradspec.ones(2) != None) is True  # noqa: E711


@pytest.mark.parametrize("op, args", [("unsqueeze_", (-1,)), ("squeeze_", ()), ("transpose_", (0, 2)), ("t_", ())])
def test_inplace_shape_ops_change_shape_history_and_version(torch, op, args):
    start = np.arange(6.0).reshape(1, 2, 3) if op != "t_" else np.arange(6.0).reshape(2, 3)
    results = []
    for lib in (gradspec, torch):
        x = lib.tensor(start, requires_grad=True)
        y = x * 2
        version = y._version
        assert getattr(y, op)(*args) is y
        (y * lib.arange(y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
        results.append((tuple(y.shape), y.detach().numpy().copy(), x.grad.numpy(), y._version - version))
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            getattr(lib.tensor(start, requires_grad=True), op)(*args)
    (shape, values, grad, bumped), (shape_t, values_t, grad_t, bumped_t) = results
    assert shape == shape_t and bumped == bumped_t
    np.testing.assert_array_equal(values, values_t)
    np.testing.assert_array_equal(grad, grad_t)


def test_data_parallel_on_one_device_calls_the_module(torch):
    import gradspec.nn.parallel  # noqa: F401  (importable as torch.nn.parallel)

    gradspec.manual_seed(0)
    torch.manual_seed(0)
    ours, theirs = gradspec.nn.DataParallel(gradspec.nn.Linear(3, 2)), torch.nn.DataParallel(torch.nn.Linear(3, 2))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["module.weight", "module.bias"]
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(ours(gradspec.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6)
    out = gradspec.nn.parallel.data_parallel(ours.module, gradspec.tensor(x))
    np.testing.assert_array_equal(out.detach().numpy(), ours(gradspec.tensor(x)).detach().numpy())


def test_backends_flag_modules_import_as_submodules():
    import importlib

    assert importlib.import_module("gradspec.backends.cudnn") is gradspec.backends.cudnn
    assert gradspec.backends.mps.is_available() is False


@pytest.mark.parametrize("kwargs", [{}, {"bins": 7}, {"bins": 5, "density": True}, {"bins": 4, "range": (-1.0, 1.0)}])
def test_histogram_counts_and_edges_match_torch(torch, kwargs):
    values = np.random.RandomState(0).randn(300).astype(np.float32)
    ours, theirs = gradspec.histogram(gradspec.tensor(values), **kwargs), torch.histogram(torch.tensor(values), **kwargs)
    assert ours.hist.dtype == gradspec.float32 and ours.bin_edges.dtype == gradspec.float32
    np.testing.assert_allclose(ours.hist.numpy(), theirs.hist.numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.bin_edges.numpy(), theirs.bin_edges.numpy(), rtol=1e-6, atol=1e-7)
    hist, edges = gradspec.tensor(values).histogram(3)  # the method, unpacked as makemore unpacks it
    assert hist.sum().item() == 300 and edges.shape == (4,)


def test_histogram_refuses_integers_as_torch_does(torch):
    with pytest.raises(RuntimeError, match="histogram"):
        gradspec.histogram(gradspec.tensor([1, 2, 3]))
    with pytest.raises(RuntimeError):
        torch.histogram(torch.tensor([1, 2, 3]))


def test_device_type_flags_match_torch(torch):
    ours, theirs = gradspec.ones(2), torch.ones(2)
    for flag in ("is_cpu", "is_cuda", "is_xpu", "is_mps", "is_meta"):
        assert getattr(ours, flag) == getattr(theirs, flag), flag


def test_onnx_imports_and_export_says_it_is_not_supported():
    import gradspec.onnx

    assert not gradspec.onnx.is_in_onnx_export()
    with pytest.raises(NotImplementedError, match="torch.onnx.export"):
        gradspec.onnx.export(gradspec.nn.Linear(2, 2), (gradspec.ones(1, 2),), "model.onnx")


def test_generator_repr_is_torchs(torch):
    pattern = r"<torch\._C\.Generator object at 0x[0-9a-f]+>"
    assert re.fullmatch(pattern, repr(gradspec.manual_seed(1))) and re.fullmatch(pattern, repr(torch.manual_seed(1)))


def test_cuda_seeding_is_accepted_and_random_draws_follow_the_cpu_seed(torch):
    gradspec.manual_seed(3), gradspec.cuda.manual_seed_all(3), gradspec.cuda.manual_seed(3)
    torch.manual_seed(3), torch.cuda.manual_seed_all(3)
    assert gradspec.randn(4).tolist() == torch.randn(4).tolist()
