"""The operator library beyond the per-entry checks: a ResNet-18 built from the ops against
torch, torch's node names and dtype promotion, dropout's mask, and error messages."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import gradspec as gs
import gradspec.nn.functional as GF
from gradspec.dtypes import result_type



# ---- ResNet-18 ---------------------------------------------------------------------------------

def _resnet18_weights(rng, classes=10):
    """torchvision's resnet18 parameter shapes, by torchvision's names."""
    weights = {"conv1.weight": (64, 3, 7, 7), "bn1.weight": (64,), "bn1.bias": (64,)}
    inplanes = 64
    for layer, planes in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            prefix = f"layer{layer}.{block}."
            stride = 2 if layer > 1 and block == 0 else 1
            weights[prefix + "conv1.weight"] = (planes, inplanes if block == 0 else planes, 3, 3)
            weights[prefix + "conv2.weight"] = (planes, planes, 3, 3)
            for bn in ("bn1", "bn2"):
                weights[prefix + bn + ".weight"] = (planes,)
                weights[prefix + bn + ".bias"] = (planes,)
            if block == 0 and (stride != 1 or inplanes != planes):
                weights[prefix + "downsample.0.weight"] = (planes, inplanes, 1, 1)
                weights[prefix + "downsample.1.weight"] = (planes,)
                weights[prefix + "downsample.1.bias"] = (planes,)
        inplanes = planes
    weights.update({"fc.weight": (classes, 512), "fc.bias": (classes,)})
    arrays = {}
    for name, shape in weights.items():
        if name.endswith("bias"):
            arrays[name] = rng.normal(0, 0.1, shape)
        elif len(shape) == 1:
            arrays[name] = rng.uniform(0.5, 1.5, shape)
        else:
            arrays[name] = rng.normal(0, np.sqrt(2 / np.prod(shape[1:])), shape)
    return arrays


def _resnet18_forward(F, params, x, running):
    """The same function written against either library's functional API."""

    def bn(h, name):
        mean, var = running[name]
        return F.batch_norm(h, mean, var, params[name + ".weight"], params[name + ".bias"], training=True)

    h = F.relu(bn(F.conv2d(x, params["conv1.weight"], stride=2, padding=3), "bn1"))
    h = F.max_pool2d(h, 3, stride=2, padding=1)
    for layer in range(1, 5):
        for block in range(2):
            prefix = f"layer{layer}.{block}."
            stride = 2 if layer > 1 and block == 0 else 1
            out = F.relu(bn(F.conv2d(h, params[prefix + "conv1.weight"], stride=stride, padding=1), prefix + "bn1"))
            out = bn(F.conv2d(out, params[prefix + "conv2.weight"], padding=1), prefix + "bn2")
            if prefix + "downsample.0.weight" in params:
                h = bn(F.conv2d(h, params[prefix + "downsample.0.weight"], stride=stride), prefix + "downsample.1")
            h = F.relu(out + h)
    h = F.adaptive_avg_pool2d(h, (1, 1)).flatten(1)
    return F.linear(h, params["fc.weight"], params["fc.bias"])


def test_resnet18_layers_match_torch_loss_and_every_gradient(torch):
    import torch.nn.functional as TF

    rng = np.random.default_rng(0)
    arrays = _resnet18_weights(rng)
    x = rng.standard_normal((2, 3, 64, 64))
    target = np.array([3, 7])
    bn_names = sorted({n.rsplit(".", 1)[0] for n in arrays if n.endswith(".bias") and not n.startswith("fc")})
    ours = {n: gs.tensor(a, requires_grad=True) for n, a in arrays.items()}
    theirs = {n: torch.tensor(a, requires_grad=True) for n, a in arrays.items()}
    stats = {n: arrays[n + ".weight"].shape[0] for n in bn_names}
    our_running = {n: (gs.zeros(c, dtype=gs.float64), gs.ones(c, dtype=gs.float64)) for n, c in stats.items()}
    their_running = {n: (torch.zeros(c, dtype=torch.float64), torch.ones(c, dtype=torch.float64))
                     for n, c in stats.items()}

    our_loss = GF.cross_entropy(_resnet18_forward(GF, ours, gs.tensor(x), our_running), gs.tensor(target))
    their_loss = TF.cross_entropy(_resnet18_forward(TF, theirs, torch.tensor(x), their_running),
                                  torch.tensor(target))
    our_loss.backward()
    their_loss.backward()

    assert our_loss.item() == pytest.approx(their_loss.item(), rel=1e-9)
    for name in arrays:
        np.testing.assert_allclose(ours[name].grad.numpy(), theirs[name].grad.numpy(), rtol=1e-6, atol=1e-9,
                                   err_msg=name)
    for name in bn_names:  # training updates the running statistics in place, as torch does
        np.testing.assert_allclose(our_running[name][0].numpy(), their_running[name][0].numpy(), rtol=1e-9)
        np.testing.assert_allclose(our_running[name][1].numpy(), their_running[name][1].numpy(), rtol=1e-9)


# ---- node names and promotion follow torch ------------------------------------------------------------

NAMED = {
    "x.max()": "MaxBackward1", "x.max(1)[0]": "MaxBackward0", "x.min(0)[0]": "MinBackward0",
    "x.clamp(0.6, 0.9)": "ClampBackward1", "x.clamp(y)": "ClampBackward0", "x[None].squeeze()": "SqueezeBackward0",
    "x[None].squeeze(0)": "SqueezeBackward1", "x.var()": "VarBackward0", "x.std(1)": "StdBackward0",
    "x.norm()": "LinalgVectorNormBackward0", "x.prod(1)": "ProdBackward1", "x.cumsum(0)": "CumsumBackward0",
    "x.logsumexp(1)": "LogsumexpBackward0", "lib.cat([x, y])": "CatBackward0", "lib.stack([x, y])": "StackBackward0",
    "x[lib.tensor([0, 2])]": "IndexBackward0", "x.gather(1, lib.tensor([[0], [1], [2]]))": "GatherBackward0",
    "x @ y.t()": "MmBackward0", "x.log1p()": "Log1PBackward0", "x.softmax(1)": "SoftmaxBackward0",
    "x.square()": "PowBackward0", "x[0].outer(y[0])": "MulBackward0", "x.roll(1, 0)": "RollBackward0",
    "x.masked_fill(x > 1, 0.0)": "MaskedFillBackward0", "lib.where(x > 1, x, y)": "WhereBackward0",
}


@pytest.mark.parametrize("expression,name", NAMED.items())
def test_node_names_follow_torch(expression, name, torch):
    def build(lib):
        rng = np.random.default_rng(0)
        x = lib.tensor(rng.random((3, 4)) + 0.5, requires_grad=True)
        y = lib.tensor(rng.random((3, 4)) + 0.5, requires_grad=True)
        return eval(expression, {"x": x, "y": y, "lib": lib}).grad_fn.name()

    assert build(gs) == build(torch) == name


OPERANDS = {"f32": np.ones(3, np.float32), "f64": np.ones(3), "i64": np.ones(3, np.int64),
            "i32": np.ones(3, np.int32), "u8": np.ones(3, np.uint8), "bool": np.ones(3, bool),
            "0d f64": np.array(1.0), "0d i64": np.array(1), "2.5": 2.5, "2": 2, "True": True}


@pytest.mark.parametrize("a,b", [(a, b) for a, b in itertools.product(OPERANDS, repeat=2)
                                 if isinstance(OPERANDS[a], np.ndarray)])
def test_result_type_is_torch_s(a, b, torch):
    def as_torch(value):
        return torch.from_numpy(value) if isinstance(value, np.ndarray) else value

    expected = torch.result_type(as_torch(OPERANDS[a]), as_torch(OPERANDS[b]))
    assert f"torch.{result_type((OPERANDS[a], OPERANDS[b]))}" == str(expected)


def test_mixed_dtype_arithmetic_follows_torch():
    ints = gs.tensor([1, 2, 3])
    assert (ints / 2).dtype == gs.float32
    assert (ints * 2.5).dtype == gs.float32
    assert (ints + gs.tensor([0.5], dtype=gs.float32)).dtype == gs.float32
    assert (gs.ones(3) * gs.tensor(2.0, dtype=gs.float64)).dtype == gs.float32
    assert gs.exp(ints).dtype == gs.float32
    np.testing.assert_allclose((ints / 2).numpy(), [0.5, 1.0, 1.5])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_mean_of_all_elements_is_numpy_s_to_the_last_bit(dtype):
    # float32/float64 take a direct sum-and-divide path; float16 keeps numpy's float32 accumulation
    values = np.random.default_rng(5).standard_normal((64, 10)).astype(dtype) ** 2 + 1
    ours = gs.tensor(values).mean().numpy()
    assert ours.dtype == dtype and ours == values.mean()
    assert gs.tensor(values).mean(dtype=gs.float64).numpy() == values.mean(dtype=np.float64)


def test_mean_of_empty_tensor_is_nan_as_torch_s():
    assert np.isnan(gs.zeros(0).mean().item())


def test_dropout_draws_torch_s_mask_under_the_same_seed(torch):
    gs.manual_seed(7)
    torch.manual_seed(7)
    ours = GF.dropout(gs.ones(64, 33), p=0.3)
    theirs = torch.nn.functional.dropout(torch.ones(64, 33), p=0.3)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_dropout_scales_kept_values_and_is_identity_in_eval():
    gs.manual_seed(0)
    x = gs.ones(1000, requires_grad=True)
    out = GF.dropout(x, p=0.25)
    kept = out.detach().numpy() != 0
    np.testing.assert_allclose(out.detach().numpy()[kept], 1 / 0.75)
    assert 0.65 < kept.mean() < 0.85
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.75)
    assert GF.dropout(x, p=0.25, training=False) is x


# ---- errors name the op, the argument and what was expected --------------------------------------------

@pytest.mark.parametrize("call,error,message", [
    (lambda: gs.ones(2, 3) @ gs.ones(4, 5), RuntimeError, r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
    (lambda: gs.ones(4, 3).index_select(0, gs.tensor([0.0, 1.0])), RuntimeError,
     "index_select\\(\\): Expected dtype int32 or int64 for index"),
    (lambda: gs.ones(3, 4)[gs.tensor([0.5])], IndexError, "tensors used as indices must be long, int, byte or bool"),
    (lambda: GF.cross_entropy(gs.zeros(2, 10), gs.tensor([3, 10])), IndexError, "Target 10 is out of bounds."),
    (lambda: GF.cross_entropy(gs.zeros(2, 10), gs.tensor([3.0, 1.0])), RuntimeError,
     r"expected target of shape \[2, 10\] for class probabilities"),
    (lambda: gs.mul(gs.ones(2), "x"), TypeError, r"mul\(\): argument 'other' \(position 2\) must be Tensor, not str"),
    (lambda: gs.ones(2, 3).view(4), RuntimeError, r"shape '\[4\]' is invalid for input of size 6"),
    (lambda: gs.ones(2, 3).sum(dim=2), IndexError, r"Dimension out of range \(expected to be in range of \[-2, 1\]"),
    (lambda: GF.conv2d(gs.ones(1, 3, 5, 5), gs.ones(4, 2, 3, 3)), RuntimeError,
     "expected input\\[1, 3, 5, 5\\] to have 2 channels, but got 3 channels instead"),
    (lambda: gs.cat([]), RuntimeError, "expected a non-empty list of Tensors"),
    (lambda: gs.ones(3).expand(2, 4), RuntimeError, r"The expanded size of the tensor \(4\) must match the existing size \(3\)"),
    (lambda: gs.ones(2, 2).select(0, 5), IndexError, r"select\(\): index 5 out of range for tensor of size \[2, 2\]"),
    (lambda: GF.embedding(gs.tensor([0, 9]), gs.ones(5, 2)), IndexError, "index out of range in self"),
])
def test_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---- subgradients at kinks and ties are torch's ----------------------------------------------------

@pytest.mark.parametrize("expression", [
    "lib.maximum(x, y)", "lib.minimum(x, y)", "x.max()", "x.min()", "x.amax(0)", "x.relu()", "x.abs()",
    "x.clamp(0.0, 1.0)", "x.clamp_min(1.0)", "x.clamp_max(0.0)", "lib.nn.functional.hardtanh(x, 0.0, 1.0)",
    "lib.nn.functional.leaky_relu(x, 0.1)", "x.max(0)[0]", "x.norm()", "x.sign()", "(x * 0).norm()",
])
def test_gradients_at_kinks_and_ties_are_torch_s(expression, torch):
    """Inputs sitting exactly on the kinks (0, the clamp bounds) and ties (equal elements)."""

    def run(lib):
        x = lib.tensor([0.0, 1.0, 1.0, -1.0, 0.0], requires_grad=True)
        y = lib.tensor([0.0, 1.0, 2.0, -1.0, 3.0], requires_grad=True)
        out = eval(expression, {"x": x, "y": y, "lib": lib})
        (out * lib.arange(1.0, out.numel() + 1.0).reshape(out.shape)).sum().backward()
        return x.grad.numpy(), None if y.grad is None else y.grad.numpy()

    for mine, reference in zip(run(gs), run(torch)):
        if reference is None:
            assert mine is None
        else:
            np.testing.assert_allclose(mine, reference)
