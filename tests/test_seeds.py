"""The deterministic snippets of the seed notebooks, run with `import gradspec as torch`.

Each test runs a notebook cell (with random tensors replaced by literal values chosen so that
PyTorch prints exactly what the notebook shows) and compares what it prints with the output
text copied from the notebook. Object addresses (`0x7fb66c278fd0`) are masked. Where the seed
files are present (/work/shared/seeds) the expected text is also checked to be in them, so a
typo here cannot make a test pass.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

import gradspec as torch
from conftest import DEVICES

SEEDS = Path("/work/shared/seeds")
SEED_001 = "001_85d3e80b34eec3d0.txt"
SEED_004 = "004_048d99d53b177e9f.txt"

ADDRESS = re.compile(r"0x[0-9a-f]+")


def mask(text: str) -> str:
    return ADDRESS.sub("0x...", text)


def check_in_seed(seed: str, expected: str) -> None:
    path = SEEDS / seed
    if path.exists():
        assert expected in path.read_text(), f"expected text not found verbatim in {seed}"


def assert_printed(capsys, seed: str, expected: str, device: str = "cpu") -> None:
    check_in_seed(seed, expected)
    assert mask(capsys.readouterr().out) == mask(on_device(expected, device))


def on_device(text: str, device: str) -> str:
    """What torch prints for the tensors of `text` on `device`: `device='cuda:0'` as the first
    suffix of every `tensor(...)`, wrapped as torch's _add_suffixes wraps (80 columns)."""
    if device == "cpu":
        return text
    out, at = [], 0
    while (start := text.find("tensor(", at)) >= 0:
        depth, end = 0, start + len("tensor(")
        while depth or text[end] != ")":
            depth += {"(": 1, "[": 1, "<": 1, ")": -1, "]": -1, ">": -1}.get(text[end], 0)
            end += 1
        body = text[start:end]  # without the closing parenthesis
        suffixes = re.split(r",\s+(?=(?:grad_fn|requires_grad|dtype)=)", body)
        line = suffixes[0]
        result, last = [line], len(line) - line.rfind("\n") + 1
        for suffix in ["device='cuda:0'"] + suffixes[1:]:
            if last + len(suffix) + 2 > 80:
                result.append(",\n" + " " * len("tensor(") + suffix)
                last = len("tensor(") + len(suffix)
            else:
                result.append(", " + suffix)
                last += len(suffix) + 2
        out += [text[at:start], "".join(result), ")"]
        at = end + 1
    return "".join(out) + text[at:]


# ---- seed 001: torch.autograd tutorial -------------------------------------------------------


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def seed_001_model(device="cpu"):
    """In [1]: the one-layer network. w and b are chosen so that the gradients print as in the
    notebook: with x = ones, dloss/db_j = sigmoid(z_j) / 3 and every row of dloss/dw is dloss/db."""
    x = torch.ones(5, device=device)  # input tensor
    y = torch.zeros(3, device=device)  # expected output
    z_target = [logit(3 * g) for g in (0.0051, 0.0433, 0.1946)]
    w = torch.tensor([[z / 10 for z in z_target]] * 5, requires_grad=True, device=device)
    b = torch.tensor([z / 2 for z in z_target], requires_grad=True, device=device)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    return x, y, w, b, z, loss


@pytest.mark.parametrize("device", DEVICES)
def test_seed_001_grad_fn_prints(capsys, device):
    x, y, w, b, z, loss = seed_001_model(device)
    print('Gradient function for z =', z.grad_fn)
    print('Gradient function for loss =', loss.grad_fn)
    assert_printed(capsys, SEED_001, "Gradient function for z = <AddBackward0 object at 0x7fb66c278fd0>\n"
                   "Gradient function for loss = <BinaryCrossEntropyWithLogitsBackward0 object at 0x7fb66c278940>\n",
                   device)


@pytest.mark.parametrize("device", DEVICES)
def test_seed_001_loss_backward_prints(capsys, device):
    x, y, w, b, z, loss = seed_001_model(device)
    loss.backward()
    print(w.grad)
    print(b.grad)
    assert_printed(capsys, SEED_001, """tensor([[0.0051, 0.0433, 0.1946],
        [0.0051, 0.0433, 0.1946],
        [0.0051, 0.0433, 0.1946],
        [0.0051, 0.0433, 0.1946],
        [0.0051, 0.0433, 0.1946]])
tensor([0.0051, 0.0433, 0.1946])
""", device)


@pytest.mark.parametrize("device", DEVICES)
def test_seed_001_no_grad_requires_grad_prints(capsys, device):
    torch.manual_seed(0)
    x = torch.ones(5, device=device)
    w = torch.randn(5, 3, requires_grad=True, device=device)
    b = torch.randn(3, requires_grad=True, device=device)
    z = torch.matmul(x, w)+b
    print(z.requires_grad)

    with torch.no_grad():
        z = torch.matmul(x, w)+b
    print(z.requires_grad)
    assert_printed(capsys, SEED_001, "True\nFalse\n", device)


@pytest.mark.parametrize("device", DEVICES)
def test_seed_001_detach_requires_grad_print(capsys, device):
    torch.manual_seed(0)
    x = torch.ones(5, device=device)
    w = torch.randn(5, 3, requires_grad=True, device=device)
    b = torch.randn(3, requires_grad=True, device=device)
    z = torch.matmul(x, w)+b
    z_det = z.detach()
    print(z_det.requires_grad)
    assert capsys.readouterr().out == "False\n"


@pytest.mark.parametrize("device", DEVICES)
def test_seed_001_retain_graph_example(capsys, device):
    inp = torch.eye(5, requires_grad=True, device=device)
    out = (inp+1).pow(2)
    out.backward(torch.ones_like(inp), retain_graph=True)
    print("First call\n", inp.grad)
    out.backward(torch.ones_like(inp), retain_graph=True)
    print("\nSecond call\n", inp.grad)
    inp.grad.zero_()
    out.backward(torch.ones_like(inp), retain_graph=True)
    print("\nCall after zeroing gradients\n", inp.grad)
    assert_printed(capsys, SEED_001, """First call
 tensor([[4., 2., 2., 2., 2.],
        [2., 4., 2., 2., 2.],
        [2., 2., 4., 2., 2.],
        [2., 2., 2., 4., 2.],
        [2., 2., 2., 2., 4.]])

Second call
 tensor([[8., 4., 4., 4., 4.],
        [4., 8., 4., 4., 4.],
        [4., 4., 8., 4., 4.],
        [4., 4., 4., 8., 4.],
        [4., 4., 4., 4., 8.]])

Call after zeroing gradients
 tensor([[4., 2., 2., 2., 2.],
        [2., 4., 2., 2., 2.],
        [2., 2., 4., 2., 2.],
        [2., 2., 2., 4., 2.],
        [2., 2., 2., 2., 4.]])
""", device)


# ---- seed 004: micrograd-style autograd notebook ---------------------------------------------

# torch.randn(5) in the notebook, replaced by values that print (through t2, t3, t4 and
# t1.grad) exactly as the notebook shows.
T1 = [0.765863, -2.026216, -1.413941, 1.182216, -1.15426]


@pytest.mark.parametrize("device", DEVICES)
def test_seed_004_leaf_repr(device):
    t1 = torch.tensor(T1, requires_grad=True, device=device)
    expected = "tensor([ 0.7659, -2.0262, -1.4139,  1.1822, -1.1543], requires_grad=True)"
    check_in_seed(SEED_004, expected)
    assert repr(t1) == on_device(expected, device)


@pytest.mark.parametrize("device", DEVICES)
def test_seed_004_add_prints_add_backward(capsys, device):
    t1 = torch.tensor(T1, requires_grad=True, device=device)
    t2 = t1 + 2
    print(t2)
    assert_printed(capsys, SEED_004,
                   "tensor([ 2.7659, -0.0262,  0.5861,  3.1822,  0.8457], grad_fn=<AddBackward0>)\n",
                   device)


@pytest.mark.parametrize("device", DEVICES)
def test_seed_004_mul_prints_mul_backward(capsys, device):
    t1 = torch.tensor(T1, requires_grad=True, device=device)
    t2 = t1 + 2
    t3 = 2*t2**2
    print(t3)
    assert_printed(capsys, SEED_004, """tensor([1.5300e+01, 1.3746e-03, 6.8693e-01, 2.0253e+01, 1.4306e+00],
       grad_fn=<MulBackward0>)
""", device)


@pytest.mark.parametrize("device", DEVICES)
def test_seed_004_mean_repr(device):
    t1 = torch.tensor(T1, requires_grad=True, device=device)
    t4 = (2*(t1 + 2)**2).mean()
    expected = "tensor(7.5344, grad_fn=<MeanBackward0>)"
    check_in_seed(SEED_004, expected)
    assert repr(t4) == on_device(expected, device)


@pytest.mark.parametrize("device", DEVICES)
def test_seed_004_grads_after_backward(capsys, device):
    t1 = torch.tensor(T1, requires_grad=True, device=device)
    t2 = t1 + 2
    t3 = 2*t2**2
    t4 = t3.mean()
    t4.backward() #calling backward method on final variable set the gradient for all vraibles before.
    with pytest.warns(UserWarning, match="not a leaf Tensor") as record:
        print('t1.grad = ', t1.grad)
        print('t2.grad = ', t2.grad)
        print('t3.grad = ', t3.grad)
        print('t4.grad = ', t4.grad) #expected to be 1 since d(t4)/d(t4) = 1
    assert len(record) == 3  # one per non-leaf, none for t1
    assert_printed(capsys, SEED_004, """t1.grad =  tensor([ 2.2127, -0.0210,  0.4688,  2.5458,  0.6766])
t2.grad =  None
t3.grad =  None
t4.grad =  None
""", device)


@pytest.mark.parametrize("device", DEVICES)
def test_seed_004_non_scalar_backward_needs_a_gradient(device):
    t1 = torch.randn(3, requires_grad=True, device=device)
    t2 = t1 + 2
    t3 = 2 * t2 ** 2
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        t3.backward()


@pytest.mark.parametrize("device", DEVICES)
def test_seed_004_backward_with_vector(capsys, device):
    # torch.randn(3, device=device) in the notebook, replaced by values giving its printed t1.grad = 4 * (t1 + 2)
    t1 = torch.tensor([7.0332 / 4 - 2, 9.2314 / 4 - 2, 10.7467 / 4 - 2], requires_grad=True, device=device)
    t2 = t1 + 2
    t3 = 2 * t2 ** 2
    v = torch.ones(t3.shape[0], device=device)

    t3.backward(v)
    print(t1.grad)
    assert_printed(capsys, SEED_004, "tensor([ 7.0332,  9.2314, 10.7467])\n", device)


@pytest.mark.parametrize("device", DEVICES)
def test_seed_004_weights_loop(capsys, device):
    weights = torch.ones(4, requires_grad=True, device=device)

    for epoch in range(2):
        # just a dummy example
        model_output = (weights*3).sum()
        model_output.backward()

        print(weights.grad)

        # optimize model, i.e. adjust weights...
        with torch.no_grad():
            weights -= 0.1 * weights.grad

        # this is important! It affects the final weights & output
        weights.grad.zero_()

    print(weights)
    print(model_output)
    assert_printed(capsys, SEED_004, """tensor([3., 3., 3., 3.])
tensor([3., 3., 3., 3.])
tensor([0.4000, 0.4000, 0.4000, 0.4000], requires_grad=True)
tensor(8.4000, grad_fn=<SumBackward0>)
""", device)
