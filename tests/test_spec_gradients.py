"""Generated per-op tests: every entry of derivatives.yaml, checked numerically.

The cases come from each entry's `test:` hints (domains, shapes, argument values), so adding
an op to the spec adds its tests; an entry these tests cannot exercise fails here.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import gradspec
from gradspec.codegen import load_spec
from gradspec.codegen.schema import REDUCTIONS
from conftest import DEVICES, ROOT
from gradspec.generated import functions as F
from gradspec.autograd import gradcheck, gradgradcheck

SPEC = load_spec(ROOT / "derivatives.yaml", ROOT / "runtime" / "formulas.py", ROOT / "runtime" / "kernels")

def _default_shapes(entry, scalar: bool) -> list[dict]:
    names = [a.name for a in entry.schema.tensor_arguments if not a.optional]
    first, rest = names[0], names[1:]
    if not rest:
        return [{first: shape} for shape in ([3, 4], [], [5, 1]) if shape or scalar]
    return [{first: [3, 4], **{n: [3, 4] for n in rest}},
            {first: [3, 4], **{n: [4] for n in rest}},
            {first: [2, 1, 4], **{n: [3, 1] for n in rest}}]


def _cases(entry) -> list[dict]:
    given = entry.test.get("cases") or [{}]
    cases = []
    for case in given:
        # 0-d inputs only where no argument (a dim, a size) assumes more dims
        shape_sets = [case["shapes"]] if "shapes" in case else _default_shapes(entry, scalar=not case.get("args"))
        cases.extend({"shapes": shapes, "args": case.get("args") or {}, "numeric": case.get("numeric", True)}
                     for shapes in shape_sets)
    return cases


CASES = [pytest.param(entry, case, id=f"{entry.schema.full_name}-{i}")
         for entry in SPEC.entries for i, case in enumerate(_cases(entry))]
DIFFERENTIABLE = [p for p in CASES if p.values[0].differentiable and p.values[1]["numeric"]]
SECOND_ORDER = [p for p in DIFFERENTIABLE if p.values[0].test.get("order", 2) >= 2]


def _sample(domain: str, shape, rng) -> np.ndarray:
    return np.asarray(_draw(domain, tuple(shape), rng))  # numpy gives scalars for shape ()


def _draw(domain: str, shape: tuple, rng):
    if domain == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if domain == "nonzero":
        return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    if domain == "unit":
        return rng.uniform(-0.9, 0.9, shape)
    if domain == "probability":
        return rng.uniform(0.05, 0.95, shape)
    if domain == "bool":
        return rng.random(shape) > 0.5
    return rng.standard_normal(shape)


def _argument_value(argument, value):
    if argument.type == "ScalarType" and isinstance(value, str):
        return getattr(gradspec, value)
    if argument.type == "int" and isinstance(value, str):
        return REDUCTIONS[value]
    return value


def _literal_tensor(value, device="cpu"):
    """A tensor given as a literal in a test case (indices, targets): float64 if it holds floats."""
    array = np.asarray(value)
    return gradspec.tensor(array.astype(np.float64) if array.dtype.kind == "f" else array, device=device)


def make_call(entry, case, seed: int = 0, device="cpu"):
    """(function of the flat tensor inputs, those inputs, the other arguments, the argument layout)."""
    rng = np.random.default_rng(seed)
    domains = entry.test.get("domain") or {}
    layout, inputs, others = [], [], {}  # layout: (name, how many flat inputs it takes, or None)

    def draw(argument, shape):
        domain = domains.get(argument.name, "real")
        # inputs of non-differentiable ops require grad too: their outputs must not
        differentiable = domain != "bool" and (entry.formula_for(argument.name) is not None
                                               or not entry.differentiable)
        return gradspec.tensor(_sample(domain, shape, rng), requires_grad=differentiable, device=device)

    for argument in entry.schema.arguments:
        name = argument.name
        if argument.is_input and name in case["args"]:
            others[name] = _literal_tensor(case["args"][name], device)
        elif argument.is_input and name in case["shapes"]:
            shapes = case["shapes"][name]
            tensors = [draw(argument, s) for s in shapes] if argument.is_tensor_list else [draw(argument, shapes)]
            layout.append((name, len(tensors) if argument.is_tensor_list else None))
            inputs.extend(tensors)
        elif argument.is_input and argument.optional:
            others[name] = None
        elif argument.is_input:
            pytest.fail(f"{entry.schema.full_name}: no test shape for {name!r}")
        elif name in case["args"]:
            others[name] = _argument_value(argument, case["args"][name])
        elif not argument.has_default:
            pytest.fail(f"{entry.schema.full_name}: test case gives no value for {name!r}")
    function = getattr(F, entry.function_name)

    def call(*values):
        kwargs, at = {}, 0
        for name, count in layout:
            kwargs[name] = list(values[at:at + count]) if count is not None else values[at]
            at += count or 1
        return function(**kwargs, **others)

    return call, inputs, others, layout


def _outputs(result) -> list:
    return list(result) if isinstance(result, tuple) else [result]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("entry,case", DIFFERENTIABLE)
def test_first_order(entry, case, device):
    call, inputs, _, _ = make_call(entry, case, device=device)
    assert gradcheck(call, inputs)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("entry,case", SECOND_ORDER)
def test_second_order(entry, case, device):
    call, inputs, _, _ = make_call(entry, case, device=device)
    assert gradgradcheck(call, inputs)


def _takes_floats(entry) -> bool:
    """Ops over integers and bools only (bitwise ops) have no input that could require grad."""
    domains = entry.test.get("domain", {})
    return any(domains.get(a.name, "real") != "bool" for a in entry.schema.tensor_arguments)


@pytest.mark.parametrize("entry,case", [p for p in CASES if not p.values[0].differentiable
                                        and _takes_floats(p.values[0])])
def test_non_differentiable_outputs_stay_off_the_graph(entry, case):
    call, inputs, _, _ = make_call(entry, case)
    result = call(*inputs)
    assert any(t.requires_grad for t in inputs)
    assert not result.requires_grad and result.grad_fn is None
    assert result.dtype in (gradspec.bool, gradspec.int64)


def test_every_entry_is_exercised_on_at_least_two_shapes():
    tested = {p.values[0].schema.full_name for p in CASES}
    assert tested == {e.schema.full_name for e in SPEC.entries}
    few = [e.schema.full_name for e in SPEC.entries if len({str(c["shapes"]) for c in _cases(e)}) < 2]
    assert not few, f"entries tested on a single input shape: {few}"


def _to_torch(torch, value):
    if isinstance(value, gradspec.Tensor):
        return torch.tensor(value.detach().numpy(), requires_grad=value.requires_grad)
    if isinstance(value, gradspec.dtype):
        return getattr(torch, str(value).removeprefix("torch."))
    if isinstance(value, list):  # Tensor?[] indices
        return [None if v is None else torch.tensor(np.asarray(v)) for v in value]
    return value


@pytest.mark.parametrize("entry,case", CASES)
def test_matches_torch(entry, case):
    """Forward values and a vector-Jacobian product equal torch's aten op on the same inputs."""
    torch = pytest.importorskip("torch")
    schema = entry.schema
    aten = getattr(getattr(torch.ops.aten, schema.base, None), schema.overload or "default", None)
    if aten is None:
        pytest.skip(f"torch has no aten.{schema.full_name}")
    call, inputs, others, layout = make_call(entry, case)
    torch_inputs = [_to_torch(torch, t) for t in inputs]
    kwargs, at = {}, 0
    for name, count in layout:
        kwargs[name] = torch_inputs[at:at + count] if count is not None else torch_inputs[at]
        at += count or 1
    if schema.base == "native_dropout":
        pytest.skip("dropout masks are random; tests/test_ops.py compares them under a shared seed")
    defaults = {a.name: a.default for a in schema.arguments if a.has_default and not a.is_input}
    arguments = {**defaults, **{k: _to_torch(torch, v) for k, v in others.items()}}
    # a name torch's schema lacks is torch's at the same position: codegen reserves some of torch's
    # names (tanh_backward's `output`, from which it derives `grad_output`)
    theirs = [a.name for a in aten._schema.arguments]
    torch_name = {a.name: a.name if a.name in theirs else theirs[i] for i, a in enumerate(schema.arguments)}
    expected = _outputs(aten(**{torch_name[k]: v for k, v in {**kwargs, **arguments}.items()}))
    results = _outputs(call(*inputs))
    for mine, theirs in zip(results, expected):
        if theirs.numel():
            np.testing.assert_allclose(mine.detach().numpy(), theirs.detach().numpy(), rtol=1e-6, atol=1e-9)
        assert str(mine.dtype) == str(theirs.dtype)
    if not entry.differentiable:
        return
    differentiable = [(m, t) for m, t in zip(results, expected) if m.requires_grad]
    rng = np.random.default_rng(1)
    cotangents = [rng.standard_normal(tuple(m.shape)) for m, _ in differentiable]
    wrt = [t for t in inputs if t.requires_grad]
    ours = gradspec.autograd.grad([m for m, _ in differentiable], wrt,
                                 [gradspec.tensor(c, dtype=m.dtype) for c, (m, _) in zip(cotangents, differentiable)],
                                 allow_unused=True)
    theirs = torch.autograd.grad([t for _, t in differentiable], [t for t in torch_inputs if t.requires_grad],
                                 [torch.tensor(c, dtype=t.dtype) for c, (_, t) in zip(cotangents, differentiable)],
                                 allow_unused=True)
    for mine, reference in itertools.zip_longest(ours, theirs):
        if reference is None:
            assert mine is None or not np.any(mine.numpy())
        else:
            # force: torch's ZeroTensors (sgn's gradient) refuse a plain numpy()
            np.testing.assert_allclose(mine.numpy(), reference.numpy(force=True), rtol=1e-6, atol=1e-9)
