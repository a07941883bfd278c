"""gradspec.nn: Module rules, containers, layers, default initialisation, init, clip_grad, against torch."""

import copy
import math
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import gradspec as rt
from gradspec import nn
from gradspec.nn import functional as F
from conftest import DEVICES


def _torch():
    return pytest.importorskip("torch")


def needs(*names):
    """Skip (not fail) until gradspec.nn.functional has these ops (the op library, issue 4)."""
    missing = [n for n in names if not hasattr(F, n)]
    return pytest.mark.skipif(bool(missing), reason=f"gradspec.nn.functional lacks {', '.join(missing)}")


def to_np(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


SEED_003_REPR = """NeuralNetwork(
  (flatten): Flatten(start_dim=1, end_dim=-1)
  (linear_relu_stack): Sequential(
    (0): Linear(in_features=784, out_features=512, bias=True)
    (1): ReLU()
    (2): Linear(in_features=512, out_features=512, bias=True)
    (3): ReLU()
    (4): Linear(in_features=512, out_features=10, bias=True)
  )
)"""


def make_quickstart(lib, in_features=28 * 28):
    class NeuralNetwork(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = lib.nn.Flatten()
            self.linear_relu_stack = lib.nn.Sequential(
                lib.nn.Linear(in_features, 512), lib.nn.ReLU(), lib.nn.Linear(512, 512), lib.nn.ReLU(),
                lib.nn.Linear(512, 10))

        def forward(self, x):
            return self.linear_relu_stack(self.flatten(x))

    return NeuralNetwork()


# ---- repr ---------------------------------------------------------------------------------------

def test_quickstart_model_prints_as_torch_prints_it():
    assert repr(make_quickstart(rt)) == SEED_003_REPR
    assert str(make_quickstart(rt)) == SEED_003_REPR


def test_quickstart_repr_matches_torch():
    torch = _torch()
    assert repr(make_quickstart(rt)) == repr(make_quickstart(torch))


LAYERS = [
    "Linear(3, 4)", "Linear(3, 4, bias=False)", "Bilinear(2, 3, 4)", "Bilinear(2, 3, 4, bias=False)",
    "Conv1d(2, 4, 3)", "Conv1d(2, 4, 3, stride=2, padding=1, groups=2)", "Conv2d(3, 8, 3, stride=2, padding=1, bias=False)",
    "Conv2d(3, 8, (3, 5), padding='same', dilation=2, padding_mode='reflect')", "Conv2d(4, 8, 1, groups=4)",
    "BatchNorm1d(5)", "BatchNorm2d(5, momentum=None, affine=False)", "BatchNorm2d(3, eps=1e-3, track_running_stats=False)",
    "LayerNorm(5)", "LayerNorm([4, 5], elementwise_affine=False)", "LayerNorm(6, bias=False)", "GroupNorm(2, 4)",
    "GroupNorm(1, 3, affine=False)", "Dropout()", "Dropout(0.2, inplace=True)", "Embedding(10, 3)",
    "Embedding(10, 3, padding_idx=0, max_norm=1.0)", "Embedding(10, 3, norm_type=1.0, scale_grad_by_freq=True)",
    "Flatten()", "Flatten(0, 2)", "Unflatten(1, (2, 5))", "Identity()", "MaxPool2d(3, 2, 1)", "MaxPool2d(2)",
    "AvgPool2d(2)", "AvgPool2d(3, 1, 1, ceil_mode=True)", "AdaptiveAvgPool2d((1, 1))", "AdaptiveAvgPool2d(7)",
    "ReLU()", "ReLU(inplace=True)", "ReLU6()", "LeakyReLU()", "LeakyReLU(0.2, True)", "GELU()", "GELU('tanh')",
    "SiLU()", "ELU()", "ELU(0.5, inplace=True)", "Softplus()", "Softplus(2, 10)", "Hardtanh()", "Hardtanh(-2.0, 2.0)",
    "Sigmoid()", "Tanh()", "Softmax(dim=1)", "Softmax()", "LogSoftmax(1)",
    "CrossEntropyLoss()", "CrossEntropyLoss(label_smoothing=0.1)", "NLLLoss()", "BCELoss()", "BCEWithLogitsLoss()",
    "MSELoss()", "L1Loss()", "SmoothL1Loss(beta=0.5)",
    "Sequential(Linear(2, 3), ReLU(), Sequential(Linear(3, 1), Sigmoid()))",
    "ModuleList([Linear(2, 2), Linear(2, 2), Linear(2, 2), ReLU(), Linear(2, 2)])", "ModuleList()",
    "ModuleDict({'a': ReLU(), 'b': Linear(1, 2)})",
]


@pytest.mark.parametrize("expr", LAYERS)
def test_layer_repr_matches_torch(expr):
    torch = _torch()
    ours = eval(expr, {**vars(nn), "OrderedDict": OrderedDict})
    theirs = eval(expr, {**vars(torch.nn), "OrderedDict": OrderedDict})
    assert repr(ours) == repr(theirs)


def test_parameter_repr_and_identity():
    p = nn.Parameter(rt.tensor([1.0, 2.0]))
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert isinstance(p, rt.Tensor) and p.is_leaf and p.requires_grad
    q = nn.Parameter(rt.tensor([1.0]), requires_grad=False)
    assert repr(q) == "Parameter containing:\ntensor([1.])"
    torch = pytest.importorskip("torch")
    assert repr(p) == repr(torch.nn.Parameter(torch.tensor([1.0, 2.0])))


def test_parameter_shares_storage_and_is_a_leaf():
    base = rt.zeros(3)
    p = nn.Parameter(base)
    with rt.no_grad():
        p.add_(1)
    assert base.tolist() == [1.0, 1.0, 1.0]
    x = rt.ones(2, requires_grad=True) * 2
    assert nn.Parameter(x).is_leaf
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(rt.tensor([1, 2]))


# ---- registration and traversal ---------------------------------------------------------------

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.bn = nn.BatchNorm1d(3)
        self.fc2 = nn.Linear(3, 2)
        self.register_buffer("scale", rt.ones(1))
        self.register_buffer("scratch", rt.zeros(2), persistent=False)
        self.gain = nn.Parameter(rt.ones(2))

    def forward(self, x):
        return self.fc2(F.relu(self.bn(self.fc1(x)))) * self.gain * self.scale


def test_registration_and_names():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["gain", "fc1.weight", "fc1.bias", "bn.weight", "bn.bias",
                                                      "fc2.weight", "fc2.bias"]
    assert [n for n, _ in net.named_buffers()] == ["scale", "scratch", "bn.running_mean", "bn.running_var",
                                                   "bn.num_batches_tracked"]
    assert list(net.state_dict().keys()) == ["gain", "scale", "fc1.weight", "fc1.bias", "bn.weight", "bn.bias",
                                             "bn.running_mean", "bn.running_var", "bn.num_batches_tracked",
                                             "fc2.weight", "fc2.bias"]
    assert [n for n, _ in net.named_children()] == ["fc1", "bn", "fc2"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "bn", "fc2"]
    assert len(list(net.parameters())) == 7 and len(list(net.parameters(recurse=False))) == 1
    assert net.get_submodule("bn") is net.bn and net.get_parameter("fc1.bias") is net.fc1.bias
    assert "fc1" in dir(net) and "gain" in dir(net)


def test_state_dict_keys_match_torch():
    torch = _torch()

    def build(lib):
        class M(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = lib.nn.Linear(4, 3)
                self.bn = lib.nn.BatchNorm1d(3)
                self.seq = lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.ModuleList([lib.nn.LayerNorm(3)]))
                self.heads = lib.nn.ModuleDict({"a": lib.nn.Linear(3, 1)})
                self.register_buffer("scale", lib.ones(1))
                self.register_buffer("scratch", lib.zeros(2), persistent=False)

        return M()

    ours, theirs = build(rt), build(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [(k, list(v.shape)) for k, v in ours.state_dict().items()] == \
           [(k, list(v.shape)) for k, v in theirs.state_dict().items()]


def test_setattr_rules():
    net = Net()
    with pytest.raises(TypeError, match="cannot assign 'torch.Tensor' as parameter 'gain'"):
        net.gain = rt.ones(2)
    net.gain = None
    assert "gain" in net._parameters and net.gain is None
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'fc1'"):
        net.fc1 = 3
    with pytest.raises(TypeError, match="as buffer 'scale'"):
        net.scale = 2.0
    net.scale = rt.zeros(1)
    assert net.scale.tolist() == [0.0]
    net.other = nn.ReLU()
    assert "other" in net._modules
    net.other = nn.Parameter(rt.ones(1))  # re-registering under another kind moves it
    assert "other" not in net._modules and "other" in net._parameters
    del net.other
    assert "other" not in net._parameters
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'missing'"):
        net.missing

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(rt.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    with pytest.raises(KeyError, match="contain"):
        nn.Module().register_buffer("a.b", rt.ones(1))


def test_missing_forward_message():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required "forward" function'):
        nn.Module()(rt.ones(1))


def test_train_eval_requires_grad_apply_zero_grad():
    net = Net()
    assert net.training and net.bn.training
    assert net.eval() is net and not net.bn.training
    net.train()
    assert net.fc2.training
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    net.requires_grad_()
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "BatchNorm1d", "Linear", "Net"]
    out = net(rt.randn(5, 4)).sum()
    out.backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(float(abs(p.grad).sum()) == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_to_dtype_keeps_parameter_objects():
    net = Net()
    weight = net.fc1.weight
    net.to(rt.float64)
    assert net.fc1.weight is weight and weight.dtype == rt.float64 and isinstance(weight, nn.Parameter)
    assert net.bn.running_mean.dtype == rt.float64
    assert net.bn.num_batches_tracked.dtype == rt.int64  # integer buffers keep their dtype
    net.float()
    assert weight.dtype == rt.float32
    assert net.to("cpu") is net
    with pytest.raises(TypeError, match="floating point"):
        net.to(rt.int32)


def test_deepcopy_clones_parameters_and_buffers():
    net = Net()
    twin = copy.deepcopy(net)
    assert twin is not net and twin.fc1.weight is not net.fc1.weight
    assert isinstance(twin.fc1.weight, nn.Parameter)
    np.testing.assert_array_equal(to_np(twin.fc1.weight), to_np(net.fc1.weight))
    with rt.no_grad():
        twin.fc1.weight.fill_(0)
    assert float(abs(net.fc1.weight).sum()) > 0


# ---- load_state_dict ------------------------------------------------------------------------------

def test_load_state_dict_roundtrip_and_result():
    a, b = Net(), Net()
    result = b.load_state_dict(a.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(to_np(x), to_np(y), err_msg=name)
    # state_dict values alias the module's tensors (as in torch), loading copies into them
    weight = b.fc1.weight
    b.load_state_dict(Net().state_dict())
    assert b.fc1.weight is weight


def test_load_state_dict_strict_errors_match_torch():
    torch = _torch()
    state = make_quickstart(rt).state_dict()
    del state["linear_relu_stack.0.bias"]
    state["extra.weight"] = rt.ones(1)
    state["linear_relu_stack.4.weight"] = rt.ones(3, 512)
    tstate = {k: torch.from_numpy(to_np(v).copy()) for k, v in state.items()}
    with pytest.raises(RuntimeError) as ours:
        make_quickstart(rt).load_state_dict(state)
    with pytest.raises(RuntimeError) as theirs:
        make_quickstart(torch).load_state_dict(tstate)
    assert str(ours.value) == str(theirs.value)
    assert 'Missing key(s) in state_dict: "linear_relu_stack.0.bias"' in str(ours.value)


def test_load_state_dict_non_strict_and_assign():
    net = Net()
    state = net.state_dict()
    del state["fc2.bias"]
    state["bogus"] = rt.ones(1)
    with pytest.raises(RuntimeError, match="size mismatch"):
        Net().load_state_dict({**state, "fc1.bias": rt.ones(7)}, strict=False)
    result = Net().load_state_dict(state, strict=False)
    assert result.missing_keys == ["fc2.bias"] and result.unexpected_keys == ["bogus"]
    fresh = Net()
    new_weight = rt.ones(3, 4)
    fresh.load_state_dict({**net.state_dict(), "fc1.weight": new_weight}, assign=True)
    assert isinstance(fresh.fc1.weight, nn.Parameter) and fresh.fc1.weight.tolist() == new_weight.tolist()


def test_batchnorm_loads_old_state_dict_without_num_batches_tracked():
    bn = nn.BatchNorm1d(3)
    state = OrderedDict((k, v) for k, v in bn.state_dict().items() if k != "num_batches_tracked")
    nn.BatchNorm1d(3).load_state_dict(state)  # no _metadata: an old checkpoint, as torch accepts it


# ---- hooks ------------------------------------------------------------------------------------------

def test_forward_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: calls.append("pre") or (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append("post") or out + 1)
    h3 = lin.register_forward_hook(lambda m, args, out: calls.append("first"), prepend=True)
    out = lin(rt.ones(1, 2))
    assert calls == ["pre", "first", "post"]
    np.testing.assert_allclose(to_np(out), to_np(lin.bias)[None] + 1, rtol=1e-6)
    for h in (h1, h2, h3):
        h.remove()
    calls.clear()
    lin(rt.ones(1, 2))
    assert calls == []
    seen = {}
    with lin.register_forward_hook(lambda m, a, k, o: seen.update(k), with_kwargs=True):
        lin(input=rt.ones(1, 2))
    assert "input" in seen


def test_global_forward_hook():
    from gradspec.nn.modules import register_module_forward_hook

    names = []
    handle = register_module_forward_hook(lambda m, a, o: names.append(type(m).__name__))
    try:
        nn.Sequential(nn.Linear(2, 2), nn.ReLU())(rt.ones(1, 2))
    finally:
        handle.remove()
    assert names == ["Linear", "ReLU", "Sequential"]


# ---- containers ---------------------------------------------------------------------------------

def test_sequential_indexing():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and isinstance(seq[1:], nn.Sequential)
    assert list(seq[1:]._modules) == ["1", "2"]
    seq[1] = nn.Tanh()
    assert isinstance(seq[1], nn.Tanh)
    del seq[0]
    assert list(seq._modules) == ["0", "1"]
    seq.append(nn.Sigmoid())
    assert len(seq) == 3
    with pytest.raises(IndexError):
        seq[5]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert named.fc is named[0] and [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]
    assert seq.insert(0, nn.Identity())[0].__class__ is nn.Identity


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh()])
    ml.insert(0, nn.Identity())
    assert len(ml) == 6 and isinstance(ml[0], nn.Identity) and isinstance(ml[-1], nn.Tanh)
    assert len(list(ml.parameters())) == 6
    del ml[0]
    assert list(ml._modules) == [str(i) for i in range(5)]
    md = nn.ModuleDict({"a": nn.Linear(1, 2)})
    md["b"] = nn.ReLU()
    assert list(md.keys()) == ["a", "b"] and "a" in md and len(md) == 2
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]
    assert isinstance(md.pop("b"), nn.ReLU) and len(md) == 1
    pl = nn.ParameterList([nn.Parameter(rt.ones(2)), rt.zeros(3)])
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"] and isinstance(pl[1], nn.Parameter)
    pd = nn.ParameterDict({"w": rt.ones(1)})
    assert [n for n, _ in pd.named_parameters()] == ["w"]


# ---- default initialisation, bit for bit --------------------------------------------------------

INIT_LAYERS = ["Linear(64, 512)", "Linear(3, 2)", "Linear(5, 7, bias=False)", "Bilinear(3, 4, 5)", "Conv1d(2, 4, 3)",
               "Conv2d(3, 8, 3)", "Conv2d(4, 8, (1, 3), groups=2)", "Embedding(10, 5)", "Embedding(6, 4, padding_idx=2)",
               "BatchNorm2d(4)", "LayerNorm(6)", "GroupNorm(2, 4)"]


@pytest.mark.parametrize("expr", INIT_LAYERS)
@pytest.mark.parametrize("seed", [0, 1, 1234])
def test_default_init_is_torchs_bit_for_bit(expr, seed):
    torch = _torch()
    rt.manual_seed(seed)
    torch.manual_seed(seed)
    ours = eval(expr, vars(nn))
    theirs = eval(expr, vars(torch.nn))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (name, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        np.testing.assert_array_equal(to_np(a), b.numpy(), err_msg=name)
    # the generators are left in the same state
    np.testing.assert_array_equal(to_np(rt.rand(4)), torch.rand(4).numpy())


def test_quickstart_model_init_matches_torch():
    torch = _torch()
    rt.manual_seed(0)
    torch.manual_seed(0)
    ours, theirs = make_quickstart(rt, 64), make_quickstart(torch, 64)
    for (name, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        np.testing.assert_array_equal(to_np(a), b.numpy(), err_msg=name)


INIT_CALLS = [
    ("uniform_", (), {}), ("uniform_", (-2.0, 3.0), {}), ("normal_", (), {}), ("normal_", (1.0, 0.5), {}),
    ("kaiming_uniform_", (), {}), ("kaiming_uniform_", (), {"a": math.sqrt(5)}),
    ("kaiming_uniform_", (), {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", (), {}), ("kaiming_normal_", (), {"mode": "fan_out", "nonlinearity": "relu"}),
    ("xavier_uniform_", (), {}), ("xavier_uniform_", (), {"gain": 2.0}), ("xavier_normal_", (), {}),
    ("trunc_normal_", (), {}), ("trunc_normal_", (), {"std": 0.02}), ("constant_", (0.3,), {}), ("ones_", (), {}),
    ("zeros_", (), {}),
]


@pytest.mark.parametrize("shape", [(5,), (3, 4), (8, 3, 3, 3), (40, 30)])
@pytest.mark.parametrize("name,args,kwargs", INIT_CALLS)
def test_init_functions_match_torch(name, args, kwargs, shape):
    torch = _torch()
    if len(shape) < 2 and ("kaiming" in name or "xavier" in name):
        with pytest.raises(ValueError, match="fewer than 2 dimensions"):
            getattr(nn.init, name)(rt.empty(*shape), *args, **kwargs)
        return
    rt.manual_seed(7)
    torch.manual_seed(7)
    ours = getattr(nn.init, name)(rt.empty(*shape), *args, **kwargs)
    theirs = getattr(torch.nn.init, name)(torch.empty(*shape), *args, **kwargs)
    np.testing.assert_array_equal(to_np(ours), theirs.numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_init_float64_and_generator_argument(dtype):
    torch = _torch()
    g1, g2 = rt.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    ours = nn.init.kaiming_normal_(rt.empty(20, 10, dtype=getattr(rt, dtype)), generator=g1)
    theirs = torch.nn.init.kaiming_normal_(torch.empty(20, 10, dtype=getattr(torch, dtype)), generator=g2)
    np.testing.assert_array_equal(to_np(ours), theirs.numpy())


def test_init_gain_eye_dirac_orthogonal():
    torch = _torch()
    for args in [("linear",), ("relu",), ("tanh",), ("leaky_relu", 0.2), ("selu",)]:
        assert nn.init.calculate_gain(*args) == torch.nn.init.calculate_gain(*args)
    np.testing.assert_array_equal(to_np(nn.init.eye_(rt.empty(3, 4))), torch.nn.init.eye_(torch.empty(3, 4)).numpy())
    np.testing.assert_array_equal(to_np(nn.init.dirac_(rt.empty(4, 2, 3, 3), groups=2)),
                                  torch.nn.init.dirac_(torch.empty(4, 2, 3, 3), groups=2).numpy())
    q = to_np(nn.init.orthogonal_(rt.empty(6, 4)))
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-5)


def test_init_under_a_graph_leaf_is_allowed():
    p = nn.Parameter(rt.zeros(3))
    nn.init.ones_(p)  # initialisers write outside the graph, as under torch.no_grad()
    assert p.tolist() == [1.0, 1.0, 1.0] and p.requires_grad


# ---- forward and backward against torch, same weights --------------------------------------------

def _copy_weights(ours, theirs):
    state = {k: rt.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)


FORWARD_CASES = [
    ("Linear(6, 4)", (5, 6)), ("Bilinear(3, 4, 2)", None), ("Conv1d(2, 4, 3, padding=1)", (2, 2, 7)),
    ("Conv2d(3, 4, 3, stride=2, padding=1)", (2, 3, 7, 7)), ("Conv2d(2, 4, 3, padding='same', groups=2)", (1, 2, 5, 5)),
    ("Conv2d(2, 3, 3, padding=1, padding_mode='reflect')", (1, 2, 5, 5)),
    ("BatchNorm1d(4)", (6, 4)), ("BatchNorm2d(3)", (4, 3, 5, 5)), ("BatchNorm2d(3, momentum=None)", (4, 3, 2, 2)),
    ("LayerNorm(5)", (3, 5)), ("GroupNorm(2, 4)", (2, 4, 3, 3)), ("MaxPool2d(3, 2, 1)", (2, 3, 8, 8)),
    ("AvgPool2d(2)", (2, 3, 6, 6)), ("AdaptiveAvgPool2d((1, 1))", (2, 3, 5, 5)), ("ReLU()", (4, 5)),
    ("LeakyReLU(0.2)", (4, 5)), ("GELU()", (4, 5)), ("GELU('tanh')", (4, 5)), ("SiLU()", (4, 5)), ("ELU()", (4, 5)),
    ("Softplus()", (4, 5)), ("Hardtanh()", (4, 5)), ("ReLU6()", (4, 5)), ("Sigmoid()", (4, 5)), ("Tanh()", (4, 5)),
    ("Softmax(dim=1)", (4, 5)), ("LogSoftmax(dim=1)", (4, 5)), ("Flatten()", (2, 3, 4)), ("Unflatten(1, (2, 3))", (4, 6)),
    ("Identity()", (3,)), ("Dropout(0.3)", (4, 5)),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("expr,shape", FORWARD_CASES)
def test_layer_forward_backward_match_torch(expr, shape, device):
    torch = _torch()
    ours, theirs = eval(expr, vars(nn)), eval(expr, vars(torch.nn))
    _copy_weights(ours, theirs)
    ours.to(device)
    if "Dropout" in expr:  # random masks: compare eval mode (identity) only
        ours.eval(), theirs.eval()
    rng = np.random.default_rng(0)
    if shape is None:  # Bilinear
        inputs = [rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal((5, 4)).astype(np.float32)]
    else:
        inputs = [rng.standard_normal(shape).astype(np.float32)]
    xs = [rt.tensor(a, requires_grad=True, device=device) for a in inputs]
    ts = [torch.tensor(a, requires_grad=True) for a in inputs]
    try:
        out = ours(*xs)
    except NotImplementedError as error:  # an op-library limit, reported upstream; not this layer's
        pytest.skip(f"op library: {error}")
    ref = theirs(*ts)
    np.testing.assert_allclose(to_np(out), ref.detach().numpy(), rtol=1e-5, atol=1e-5)
    grad = rng.standard_normal(tuple(ref.shape)).astype(np.float32)
    out.backward(rt.tensor(grad, device=device))
    ref.backward(torch.tensor(grad))
    assert out.device.type == device and all(p.grad.device.type == device for p in ours.parameters())
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(to_np(x.grad), t.grad.numpy(), rtol=1e-4, atol=1e-5)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(to_np(p.grad), q.grad.numpy(), rtol=1e-4, atol=1e-4, err_msg=name)
    for (name, b), (_, c) in zip(ours.named_buffers(), theirs.named_buffers()):
        np.testing.assert_allclose(to_np(b), c.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm_running_stats_over_steps(mode, device):
    torch = _torch()
    ours, theirs = nn.BatchNorm2d(3, momentum=0.3).to(device), torch.nn.BatchNorm2d(3, momentum=0.3)
    rng = np.random.default_rng(1)
    for _ in range(3):
        a = (rng.standard_normal((4, 3, 2, 2)) * 3 + 1).astype(np.float32)
        ours(rt.tensor(a, device=device)), theirs(torch.tensor(a))
    if mode == "eval":
        ours.eval(), theirs.eval()
    a = rng.standard_normal((2, 3, 2, 2)).astype(np.float32)
    np.testing.assert_allclose(to_np(ours(rt.tensor(a, device=device))), theirs(torch.tensor(a)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)
    assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked)
    np.testing.assert_allclose(to_np(ours.running_var), theirs.running_var.numpy(), rtol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_embedding_forward_backward_and_padding(device):
    torch = _torch()
    ours, theirs = nn.Embedding(6, 3, padding_idx=1), torch.nn.Embedding(6, 3, padding_idx=1)
    _copy_weights(ours, theirs)
    ours.to(device)
    idx = np.array([[0, 1, 5], [1, 2, 2]])
    out, ref = ours(rt.tensor(idx, device=device)), theirs(torch.tensor(idx))
    np.testing.assert_allclose(to_np(out), ref.detach().numpy())
    out.sum().backward(), ref.sum().backward()
    np.testing.assert_allclose(to_np(ours.weight.grad), theirs.weight.grad.numpy())
    assert to_np(nn.Embedding(6, 3, padding_idx=1).weight)[1].tolist() == [0.0, 0.0, 0.0]


LOSS_CASES = [
    ("CrossEntropyLoss()", "class"), ("CrossEntropyLoss(reduction='sum')", "class"),
    ("CrossEntropyLoss(label_smoothing=0.1)", "class"), ("CrossEntropyLoss(ignore_index=2)", "class"),
    ("CrossEntropyLoss(weight=W)", "class"), ("NLLLoss()", "logprob"), ("NLLLoss(reduction='none')", "logprob"),
    ("BCELoss()", "prob"), ("BCEWithLogitsLoss()", "binary"), ("BCEWithLogitsLoss(pos_weight=P)", "binary"),
    ("MSELoss()", "regression"), ("MSELoss(reduction='sum')", "regression"), ("L1Loss()", "regression"),
    ("SmoothL1Loss()", "regression"), ("SmoothL1Loss(beta=0.5, reduction='none')", "regression"),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("expr,kind", LOSS_CASES)
def test_losses_match_torch(expr, kind, device):
    torch = _torch()
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((6, 4)).astype(np.float32)
    w = np.array([0.5, 1.0, 2.0, 1.5], np.float32)
    if kind == "class":
        x, target = logits, rng.integers(0, 4, 6)
    elif kind == "logprob":
        x, target = logits - np.log(np.exp(logits).sum(1, keepdims=True)), rng.integers(0, 4, 6)
    elif kind == "prob":
        x, target = 1 / (1 + np.exp(-logits)), rng.random((6, 4)).astype(np.float32)
    elif kind == "binary":
        x, target = logits, (rng.random((6, 4)) > 0.5).astype(np.float32)
    else:
        x, target = logits, rng.standard_normal((6, 4)).astype(np.float32)
    ours = eval(expr, {**vars(nn), "W": rt.tensor(w, device=device), "P": rt.tensor(w, device=device)})
    theirs = eval(expr, {**vars(torch.nn), "W": torch.tensor(w), "P": torch.tensor(w)})
    a, b = rt.tensor(x, requires_grad=True, device=device), torch.tensor(x, requires_grad=True)
    out, ref = ours(a, rt.tensor(target, device=device)), theirs(b, torch.tensor(target))
    np.testing.assert_allclose(to_np(out), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    out.sum().backward(), ref.sum().backward()
    np.testing.assert_allclose(to_np(a.grad), b.grad.numpy(), rtol=1e-4, atol=1e-6)
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_relu_inplace_outside_and_inside_a_graph():
    x = rt.tensor([-1.0, 2.0])
    assert nn.ReLU(inplace=True)(x) is x and x.tolist() == [0.0, 2.0]
    leaf = rt.tensor([-1.0, 2.0], requires_grad=True)
    y = leaf * 1
    out = nn.ReLU(inplace=True)(y)  # recorded out of place: same values, gradients flow
    out.sum().backward()
    assert out.tolist() == [0.0, 2.0] and leaf.grad.tolist() == [0.0, 1.0]


@pytest.mark.parametrize("device", DEVICES)
def test_dropout_modes(device):
    drop = nn.Dropout(0.5)
    x = rt.ones(1000, device=device)
    y = drop(x)
    kept = to_np(y) != 0
    assert 0.4 < kept.mean() < 0.6 and np.allclose(to_np(y)[kept], 2.0)
    drop.eval()
    assert to_np(drop(x)).tolist() == to_np(x).tolist()


def test_dropout_mask_matches_torch_after_same_seed():
    torch = _torch()
    rt.manual_seed(5)
    torch.manual_seed(5)
    np.testing.assert_array_equal(to_np(nn.Dropout(0.25)(rt.ones(64))), torch.nn.Dropout(0.25)(torch.ones(64)).numpy())


# ---- gradient clipping ----------------------------------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.1, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, device):
    torch = _torch()
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (5,), (2, 2, 2)]]
    ours = [nn.Parameter(rt.zeros(*g.shape, device=device)) for g in grads]
    theirs = [torch.nn.Parameter(torch.zeros(*g.shape)) for g in grads]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = rt.tensor(g, device=device), torch.tensor(g)
    a = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    b = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    np.testing.assert_allclose(float(a), float(b), rtol=1e-5)
    assert a.dtype == rt.float32 and a.ndim == 0
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(to_np(p.grad), q.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_value_and_nonfinite():
    torch = _torch()
    g = np.array([-3.0, 0.5, 2.0], np.float32)
    p, q = nn.Parameter(rt.zeros(3)), torch.nn.Parameter(torch.zeros(3))
    p.grad, q.grad = rt.tensor(g), torch.tensor(g)
    nn.utils.clip_grad_value_([p], 1.0)
    torch.nn.utils.clip_grad_value_([q], 1.0)
    assert p.grad.tolist() == q.grad.tolist()
    p.grad = rt.tensor([np.inf, 1.0, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    assert float(nn.utils.clip_grad_norm_([], 1.0)) == 0.0


def test_parameters_to_vector_roundtrip():
    net = Net()
    vec = nn.utils.parameters_to_vector(net.parameters())
    assert vec.shape[0] == sum(p.numel() for p in net.parameters())
    nn.utils.vector_to_parameters(vec * 0, net.parameters())
    assert all(float(abs(p).sum()) == 0 for p in net.parameters())


def test_no_warnings_from_plain_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = make_quickstart(rt, 64)
        model(rt.randn(2, 64)).sum().backward()


_RNG = np.random.default_rng(7)
_SCORES = _RNG.standard_normal((4, 3)).astype(np.float32)
_PROBS = _RNG.uniform(0.1, 0.9, (4, 3)).astype(np.float32)
_LABELS = np.array([0, 1, 2, 1])
# float32 in, float32 out, on every numpy pyproject allows: numpy 1.26's where promoted a Python 0
# with float32 to float64, which made nll_loss's value float64 there (CI's oldest numpy)
FLOAT32_LOSSES = {
    "cross_entropy": lambda x, p, y: F.cross_entropy(x, y),
    "cross_entropy_probabilities": lambda x, p, y: F.cross_entropy(x, p),
    "cross_entropy_smoothed": lambda x, p, y: F.cross_entropy(x, y, label_smoothing=0.1),
    "nll_loss": lambda x, p, y: F.nll_loss(x, y),
    "nll_loss_none": lambda x, p, y: F.nll_loss(x, y, reduction="none").sum(),
    "nll_loss_ignore_index": lambda x, p, y: F.nll_loss(x, y, ignore_index=1),
    "mse_loss": lambda x, p, y: F.mse_loss(x, p),
    "l1_loss": lambda x, p, y: F.l1_loss(x, p),
    "smooth_l1_loss": lambda x, p, y: F.smooth_l1_loss(x, p),
    "binary_cross_entropy": lambda x, p, y: F.binary_cross_entropy(p, (p.detach() > 0.5).float()),
    "binary_cross_entropy_with_logits": lambda x, p, y: F.binary_cross_entropy_with_logits(x, p.detach()),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", FLOAT32_LOSSES)
def test_a_float32_loss_and_its_gradients_stay_float32(name, device):
    x = rt.tensor(_SCORES, device=device, requires_grad=True)
    p = rt.tensor(_PROBS, device=device, requires_grad=True)
    loss = FLOAT32_LOSSES[name](x, p, rt.tensor(_LABELS, device=device))
    loss.backward()
    assert loss.dtype == rt.float32
    assert all(t.grad.dtype == rt.float32 for t in (x, p) if t.grad is not None)
