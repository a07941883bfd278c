"""Tests for runtime/_tensor_str.py, the port of torch's tensor printing.

Expected strings below were produced by ``repr`` on real PyTorch 2.13.0 tensors.
"""

import importlib.util
import math
import pathlib

import numpy as np
import pytest

# Load the module from its file so this test does not depend on whatever else
# the runtime package imports.
_PATH = pathlib.Path(__file__).resolve().parent.parent / "runtime" / "_tensor_str.py"
_spec = importlib.util.spec_from_file_location("_tensor_str_under_test", _PATH)
ts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ts)

nan, inf = math.nan, math.inf
f32 = np.float32

DEFAULT_OPTIONS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}


@pytest.fixture(autouse=True)
def restore_printoptions():
    saved = ts.get_printoptions()
    yield
    ts.set_printoptions(**saved)


REPR_CASES = [
    # 0-d
    pytest.param(np.array(7.5344, f32), {}, "tensor(7.5344)", id="scalar-float"),
    pytest.param(np.array(3), {}, "tensor(3)", id="scalar-int"),
    pytest.param(np.array(-1.25e-7, f32), {}, "tensor(-1.2500e-07)", id="scalar-sci"),
    pytest.param(np.array(True), {}, "tensor(True)", id="scalar-bool"),
    # 1-d, float32 values printed via their float32 value
    pytest.param(np.array([1.0, 2.0, 3.0], f32), {}, "tensor([1., 2., 3.])", id="1d-int-mode"),
    pytest.param(np.array([0.1, 0.25, 1 / 3], f32), {}, "tensor([0.1000, 0.2500, 0.3333])", id="1d-float"),
    # 2-d with negative numbers: one width for all elements
    pytest.param(
        np.array([[-1.5, 2.0], [3.25, -40.125]], f32),
        {},
        "tensor([[ -1.5000,   2.0000],\n        [  3.2500, -40.1250]])",
        id="2d-negative-alignment",
    ),
    # 3-d and 4-d nesting: n-2 blank lines between blocks, indentation per level
    pytest.param(
        np.arange(24, dtype=f32).reshape(2, 3, 4),
        {},
        "tensor([[[ 0.,  1.,  2.,  3.],\n"
        "         [ 4.,  5.,  6.,  7.],\n"
        "         [ 8.,  9., 10., 11.]],\n"
        "\n"
        "        [[12., 13., 14., 15.],\n"
        "         [16., 17., 18., 19.],\n"
        "         [20., 21., 22., 23.]]])",
        id="3d",
    ),
    pytest.param(
        np.arange(16).reshape(2, 2, 2, 2) - 5,
        {},
        "tensor([[[[-5, -4],\n"
        "          [-3, -2]],\n"
        "\n"
        "         [[-1,  0],\n"
        "          [ 1,  2]]],\n"
        "\n"
        "\n"
        "        [[[ 3,  4],\n"
        "          [ 5,  6]],\n"
        "\n"
        "         [[ 7,  8],\n"
        "          [ 9, 10]]]])",
        id="4d-int",
    ),
    # scientific notation: range ratio > 1000, max > 1e8, min < 1e-4
    pytest.param(
        np.array([15.3, 1.3746e-3, 0.68693, 20.253, 1.4306], f32),
        {},
        "tensor([1.5300e+01, 1.3746e-03, 6.8693e-01, 2.0253e+01, 1.4306e+00])",
        id="sci-ratio",
    ),
    pytest.param(np.array([1e9, 1.0], f32), {}, "tensor([1.0000e+09, 1.0000e+00])", id="sci-big"),
    pytest.param(np.array([1e-5, 0.5], f32), {}, "tensor([1.0000e-05, 5.0000e-01])", id="sci-small"),
    pytest.param(np.array([1.0, 100000.0], f32), {}, "tensor([1.0000e+00, 1.0000e+05])", id="sci-int-valued"),
    # integer and bool
    pytest.param(np.array([[1, -20], [300, 4]]), {}, "tensor([[  1, -20],\n        [300,   4]])", id="int64"),
    pytest.param(
        np.array([[True, False], [False, True]]),
        {},
        "tensor([[ True, False],\n        [False,  True]])",
        id="bool",
    ),
    # dtype suffix for everything but the default float dtype, int64 and bool
    pytest.param(np.array([1.0, 2.0]), {}, "tensor([1., 2.], dtype=torch.float64)", id="float64-suffix"),
    pytest.param(np.array([0.1, 2.0], np.float16), {}, "tensor([0.1000, 2.0000], dtype=torch.float16)", id="float16"),
    pytest.param(np.array([1, 2], np.int32), {}, "tensor([1, 2], dtype=torch.int32)", id="int32-suffix"),
    pytest.param(np.array([255, 0], np.uint8), {}, "tensor([255,   0], dtype=torch.uint8)", id="uint8"),
    pytest.param(
        np.array([1.5], f32), {"default_dtype": np.float64}, "tensor([1.5000], dtype=torch.float32)", id="default-float64"
    ),
    pytest.param(np.array([1.5]), {"default_dtype": np.float64}, "tensor([1.5000])", id="default-float64-own"),
    # empty tensors: size unless (0,), dtype unless the default float dtype
    pytest.param(np.zeros((0, 3), f32), {}, "tensor([], size=(0, 3))", id="empty-0x3"),
    pytest.param(np.zeros(0, f32), {}, "tensor([])", id="empty-1d"),
    pytest.param(np.zeros(0, np.int64), {}, "tensor([], dtype=torch.int64)", id="empty-int64"),
    pytest.param(
        np.zeros((2, 0, 3), np.int32), {}, "tensor([], size=(2, 0, 3), dtype=torch.int32)", id="empty-3d-int32"
    ),
    # summarization above threshold=1000
    pytest.param(
        np.arange(2000, dtype=f32),
        {},
        "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])",
        id="summarize-2000",
    ),
    pytest.param(
        np.arange(10000).reshape(100, 100),
        {},
        "tensor([[   0,    1,    2,  ...,   97,   98,   99],\n"
        "        [ 100,  101,  102,  ...,  197,  198,  199],\n"
        "        [ 200,  201,  202,  ...,  297,  298,  299],\n"
        "        ...,\n"
        "        [9700, 9701, 9702,  ..., 9797, 9798, 9799],\n"
        "        [9800, 9801, 9802,  ..., 9897, 9898, 9899],\n"
        "        [9900, 9901, 9902,  ..., 9997, 9998, 9999]])",
        id="summarize-100x100-int",
    ),
    pytest.param(
        np.arange(10000, dtype=f32).reshape(100, 100) / f32(7),
        {},
        "tensor([[0.0000e+00, 1.4286e-01, 2.8571e-01,  ..., 1.3857e+01, 1.4000e+01,\n"
        "         1.4143e+01],\n"
        "        [1.4286e+01, 1.4429e+01, 1.4571e+01,  ..., 2.8143e+01, 2.8286e+01,\n"
        "         2.8429e+01],\n"
        "        [2.8571e+01, 2.8714e+01, 2.8857e+01,  ..., 4.2429e+01, 4.2571e+01,\n"
        "         4.2714e+01],\n"
        "        ...,\n"
        "        [1.3857e+03, 1.3859e+03, 1.3860e+03,  ..., 1.3996e+03, 1.3997e+03,\n"
        "         1.3999e+03],\n"
        "        [1.4000e+03, 1.4001e+03, 1.4003e+03,  ..., 1.4139e+03, 1.4140e+03,\n"
        "         1.4141e+03],\n"
        "        [1.4143e+03, 1.4144e+03, 1.4146e+03,  ..., 1.4281e+03, 1.4283e+03,\n"
        "         1.4284e+03]])",
        id="summarize-100x100-float",
    ),
    # linewidth wrapping
    pytest.param(
        np.arange(30, dtype=f32) * f32(0.5),
        {},
        "tensor([ 0.0000,  0.5000,  1.0000,  1.5000,  2.0000,  2.5000,  3.0000,  3.5000,\n"
        "         4.0000,  4.5000,  5.0000,  5.5000,  6.0000,  6.5000,  7.0000,  7.5000,\n"
        "         8.0000,  8.5000,  9.0000,  9.5000, 10.0000, 10.5000, 11.0000, 11.5000,\n"
        "        12.0000, 12.5000, 13.0000, 13.5000, 14.0000, 14.5000])",
        id="wrap-long-1d",
    ),
    # non-finite values and signed zero
    pytest.param(np.array([nan, inf, -inf, 1.5], f32), {}, "tensor([   nan,    inf,   -inf, 1.5000])", id="nan-inf"),
    pytest.param(np.array([nan, 1.0, -2.0], f32), {}, "tensor([nan,  1., -2.])", id="nan-int-mode"),
    pytest.param(np.array([nan, 0.0, -inf], f32), {}, "tensor([nan, 0., -inf])", id="no-finite-nonzero"),
    pytest.param(np.array([-0.0, 1.0], f32), {}, "tensor([-0., 1.])", id="negative-zero"),
    # autograd suffixes; grad_fn supersedes requires_grad
    pytest.param(
        np.array([0.4, 0.4], f32), {"requires_grad": True}, "tensor([0.4000, 0.4000], requires_grad=True)", id="requires-grad"
    ),
    pytest.param(
        np.array([5.0, 7.0, 9.0], f32),
        {"requires_grad": True, "grad_fn_name": "AddBackward0"},
        "tensor([5., 7., 9.], grad_fn=<AddBackward0>)",
        id="grad-fn",
    ),
    pytest.param(
        np.array(7.5344, f32), {"grad_fn_name": "MeanBackward0"}, "tensor(7.5344, grad_fn=<MeanBackward0>)", id="grad-fn-0d"
    ),
    pytest.param(
        np.array([15.3, 1.3746e-3, 0.68693, 20.253, 1.4306], f32),
        {"grad_fn_name": "MulBackward0"},
        "tensor([1.5300e+01, 1.3746e-03, 6.8693e-01, 2.0253e+01, 1.4306e+00],\n       grad_fn=<MulBackward0>)",
        id="grad-fn-wraps",
    ),
    # device suffix comes first
    pytest.param(
        np.array([0.0, 1.0, 2.0]),
        {"device": "cuda:0"},
        "tensor([0., 1., 2.], device='cuda:0', dtype=torch.float64)",
        id="device",
    ),
]


@pytest.mark.parametrize("data, kwargs, expected", REPR_CASES)
def test_tensor_repr(data, kwargs, expected):
    assert ts.tensor_repr(data, **kwargs) == expected


OPTION_CASES = [
    pytest.param({"precision": 2}, np.array([1.12345, -0.5], f32), "tensor([ 1.12, -0.50])", id="precision-2"),
    pytest.param({"precision": 2}, np.array([1e-5, 1.0], f32), "tensor([1.00e-05, 1.00e+00])", id="precision-2-sci"),
    pytest.param({"sci_mode": False}, np.array([1e-5, 1.0], f32), "tensor([0.0000, 1.0000])", id="sci-off"),
    pytest.param({"sci_mode": True}, np.array([2.0, 1.0], f32), "tensor([2.0000e+00, 1.0000e+00])", id="sci-on"),
    pytest.param({"threshold": 5}, np.arange(10), "tensor([0, 1, 2,  ..., 7, 8, 9])", id="threshold-5"),
    pytest.param({"threshold": 5, "edgeitems": 0}, np.arange(10), "tensor([...], size=(10,))", id="edgeitems-0-1d"),
    pytest.param(
        {"threshold": 5, "edgeitems": 0}, np.arange(12).reshape(3, 4), "tensor([...], size=(3, 4))", id="edgeitems-0-2d"
    ),
    pytest.param(
        {"profile": "short"},
        np.arange(2000, dtype=f32) / f32(3),
        "tensor([0.00e+00, 3.33e-01,  ..., 6.66e+02, 6.66e+02])",
        id="profile-short",
    ),
    pytest.param(
        {"linewidth": 30},
        np.arange(12, dtype=f32).reshape(2, 6),
        "tensor([[ 0.,  1.,  2.,  3.,\n          4.,  5.],\n        [ 6.,  7.,  8.,  9.,\n         10., 11.]])",
        id="linewidth-30",
    ),
]


@pytest.mark.parametrize("options, data, expected", OPTION_CASES)
def test_printoptions(options, data, expected):
    ts.set_printoptions(**options)
    assert ts.tensor_repr(data) == expected


def test_precision_restored_afterwards():
    data = np.array([1.12345], f32)
    saved = ts.get_printoptions()
    ts.set_printoptions(precision=2)
    assert ts.tensor_repr(data) == "tensor([1.12])"
    ts.set_printoptions(**saved)
    assert ts.get_printoptions() == DEFAULT_OPTIONS
    assert ts.tensor_repr(data) == "tensor([1.1235])"


def test_profile_full_disables_summarization():
    ts.set_printoptions(profile="full")
    assert ts.get_printoptions()["threshold"] == inf
    assert "..." not in ts.tensor_repr(np.arange(1001))
    ts.set_printoptions(profile="default")
    assert ts.get_printoptions() == DEFAULT_OPTIONS


@pytest.mark.parametrize(
    "dtype, name",
    [
        (np.float16, "torch.float16"),
        (np.float32, "torch.float32"),
        (np.float64, "torch.float64"),
        (np.int8, "torch.int8"),
        (np.int16, "torch.int16"),
        (np.int32, "torch.int32"),
        (np.int64, "torch.int64"),
        (np.uint8, "torch.uint8"),
        (np.bool_, "torch.bool"),
        (np.complex64, "torch.complex64"),
    ],
)
def test_dtype_name(dtype, name):
    assert ts.dtype_name(dtype) == name
    assert ts.dtype_name(np.dtype(dtype)) == name


def test_dtype_name_rejects_unknown():
    with pytest.raises(TypeError):
        ts.dtype_name(np.dtype("U3"))


def _random_array(rng):
    dtype = rng.choice(
        [np.float16, np.float32, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.bool_]
    )
    ndim = int(rng.integers(0, 5))
    shape = tuple(int(n) for n in rng.integers(1, 7 if ndim < 3 else 4, size=ndim))
    if rng.random() < 0.1:
        shape = (int(rng.integers(900, 2500)),)  # long enough to wrap or summarize
    values = rng.standard_normal(shape) * 10.0 ** int(rng.integers(-6, 10))
    if rng.random() < 0.3:
        values = np.round(values)
    if dtype == np.bool_:
        return np.asarray(values > 0)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.asarray(np.clip(values, info.min, info.max).astype(dtype))
    with np.errstate(over="ignore"):  # float16 may overflow to inf: also worth printing
        return np.asarray(values.astype(dtype))


def test_matches_torch_on_random_arrays():
    torch = pytest.importorskip("torch")
    torch.set_printoptions(profile="default")
    rng = np.random.default_rng(20240531)
    for _ in range(50):
        a = _random_array(rng)
        assert ts.tensor_repr(a) == repr(torch.from_numpy(a)), f"dtype={a.dtype} shape={a.shape}"
