"""Generated per-op tests: every entry of derivatives.yaml, checked numerically.

The cases come from each entry's `test:` hints (domains, shapes, argument values), so adding
an op to the spec adds its tests; an entry these tests cannot exercise fails here.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import runtime
from codegen import load_spec
from codegen.schema import REDUCTIONS
from conftest import ROOT
from generated import functions as F
from runtime.autograd import gradcheck, gradgradcheck

SPEC = load_spec(ROOT / "derivatives.yaml", ROOT / "runtime" / "formulas.py", ROOT / "runtime" / "kernels.py")

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
        cases.extend({"shapes": shapes, "args": case.get("args") or {}} for shapes in shape_sets)
    return cases


CASES = [pytest.param(entry, case, id=f"{entry.schema.full_name}-{i}")
         for entry in SPEC.entries for i, case in enumerate(_cases(entry))]
DIFFERENTIABLE = [p for p in CASES if p.values[0].differentiable]
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
        return getattr(runtime, value)
    if argument.type == "int" and isinstance(value, str):
        return REDUCTIONS[value]
    return value


def make_call(entry, case, seed: int = 0):
    """(function of the tensor inputs, the tensor inputs, the other arguments)."""
    rng = np.random.default_rng(seed)
    domains = entry.test.get("domain") or {}
    tensors, others = {}, {}
    for argument in entry.schema.arguments:
        if argument.is_tensor:
            if argument.name not in case["shapes"]:
                if argument.optional:
                    continue
                pytest.fail(f"{entry.schema.full_name}: no test shape for {argument.name!r}")
            domain = domains.get(argument.name, "real")
            array = _sample(domain, case["shapes"][argument.name], rng)
            # inputs of non-differentiable ops require grad too: their outputs must not
            differentiable = domain != "bool" and (entry.formula_for(argument.name) is not None
                                                   or not entry.differentiable)
            tensors[argument.name] = runtime.tensor(array, requires_grad=differentiable)
        elif argument.name in case["args"]:
            others[argument.name] = _argument_value(argument, case["args"][argument.name])
        elif not argument.has_default:
            pytest.fail(f"{entry.schema.full_name}: test case gives no value for {argument.name!r}")
    names = list(tensors)
    function = getattr(F, entry.function_name)

    def call(*values):
        return function(**dict(zip(names, values)), **others)

    return call, list(tensors.values()), others


@pytest.mark.parametrize("entry,case", DIFFERENTIABLE)
def test_first_order(entry, case):
    call, inputs, _ = make_call(entry, case)
    assert gradcheck(call, inputs)


@pytest.mark.parametrize("entry,case", SECOND_ORDER)
def test_second_order(entry, case):
    call, inputs, _ = make_call(entry, case)
    assert gradgradcheck(call, inputs)


@pytest.mark.parametrize("entry,case", [p for p in CASES if not p.values[0].differentiable])
def test_non_differentiable_outputs_stay_off_the_graph(entry, case):
    call, inputs, _ = make_call(entry, case)
    result = call(*inputs)
    assert any(t.requires_grad for t in inputs)
    assert not result.requires_grad and result.grad_fn is None
    assert result.dtype == runtime.bool


def test_every_entry_is_exercised():
    tested = {p.values[0].schema.full_name for p in CASES}
    assert tested == {e.schema.full_name for e in SPEC.entries}
    assert all(len(_cases(e)) >= 1 for e in SPEC.entries)


@pytest.mark.parametrize("entry,case", CASES)
def test_matches_torch(entry, case):
    """Forward values and a vector-Jacobian product equal torch's aten op on the same inputs."""
    torch = pytest.importorskip("torch")
    call, inputs, others = make_call(entry, case)
    schema = entry.schema
    aten = getattr(getattr(torch.ops.aten, schema.base), schema.overload or "default")
    names = [a.name for a in schema.tensor_arguments if a.name in case["shapes"]]
    torch_inputs = [torch.tensor(t.detach().numpy(), requires_grad=t.requires_grad) for t in inputs]
    torch_others = {k: getattr(torch, str(v).removeprefix("torch.")) if isinstance(v, runtime.dtype) else v
                    for k, v in others.items()}
    expected = aten(**dict(zip(names, torch_inputs)), **torch_others)
    result = call(*inputs)
    np.testing.assert_allclose(result.detach().numpy(), expected.detach().numpy(), rtol=1e-6, atol=1e-9)
    assert str(result.dtype) == str(expected.dtype)
    if not entry.differentiable:
        return
    cotangent = np.random.default_rng(1).standard_normal(result.shape)
    ours = runtime.autograd.grad(result, [t for t in inputs if t.requires_grad],
                                 runtime.tensor(cotangent, dtype=result.dtype), allow_unused=True)
    theirs = torch.autograd.grad(expected, [t for t in torch_inputs if t.requires_grad],
                                 torch.tensor(cotangent, dtype=expected.dtype), allow_unused=True)
    for mine, reference in itertools.zip_longest(ours, theirs):
        if reference is None:
            assert mine is None or not np.any(mine.numpy())
        else:
            np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=1e-6, atol=1e-9)
