"""The public API stated once: derivatives.yaml's `variants:`, `inplace:` and composites decide
what is a function and what a Tensor method; gradspec.api binds exactly that."""

from __future__ import annotations

import inspect
import textwrap
import types

import numpy as np
import pytest

import gradspec
from gradspec import api, codegen
from gradspec.generated import bindings
from conftest import ROOT

HELPERS = ROOT / "runtime" / "formulas.py"
KERNELS = ROOT / "runtime" / "kernels"

EXP = """
- name: exp(Tensor self) -> Tensor
  forward: xp.exp(self)
  self: grad * result
"""
EXP_TWICE = EXP + """
- name: exp.out_dtype(Tensor self, ScalarType dtype) -> Tensor
  forward: xp.exp(self)
  self: grad * result
"""


def _bindings(tmp_path, text: str):
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(text))
    return codegen.load_spec(path, HELPERS, KERNELS).bindings


def test_a_second_overload_keeps_the_method(tmp_path):
    once, twice = _bindings(tmp_path, EXP), _bindings(tmp_path, EXP_TWICE)
    assert "exp" in once.methods and "exp" in twice.methods
    assert once == twice


def test_variants_belong_to_the_first_overload_only(tmp_path):
    text = EXP_TWICE.replace("ScalarType dtype) -> Tensor\n", "ScalarType dtype) -> Tensor\n  variants: function\n")
    with pytest.raises(codegen.SpecError, match=r"variants: belongs to the op exp, all its overloads"):
        _bindings(tmp_path, text)


def test_default_variants(tmp_path):
    found = _bindings(tmp_path, EXP + """
- name: where.self(Tensor condition, Tensor self, Tensor other) -> Tensor
  forward: xp.where(condition, self, other)
  condition: non_differentiable
  self: where(condition, grad, 0)
  other: where(condition, 0, grad)
- name: _private(Tensor self) -> Tensor
  forward: self
  self: grad
""")
    assert found.functions == ("exp", "where", "_private") and found.methods == ("exp",)


def test_a_name_claimed_twice_is_refused(tmp_path):
    with pytest.raises(codegen.SpecError, match=r"clamp is declared a function twice: by op clamp .* composite clamp"):
        _bindings(tmp_path, """
- name: clamp(Tensor self, Scalar? min=None, Scalar? max=None) -> Tensor
  forward: self
  self: grad
- composite: clamp
""")


def test_a_composite_must_exist(tmp_path):
    with pytest.raises(codegen.SpecError, match=r"composite 'no_such_thing': no such function"):
        _bindings(tmp_path, "- composite: no_such_thing\n")


def test_bad_variants_are_refused(tmp_path):
    with pytest.raises(codegen.SpecError, match=r"variants: must be"):
        _bindings(tmp_path, EXP.replace("  forward", "  variants: function, property\n  forward"))


def test_bound_methods_are_the_declared_ones():
    """Every declared method is on Tensor, as the op or composite named; nothing else of
    gradspec.generated.functions is."""
    F = gradspec.generated.functions
    for name in bindings.METHODS:  # unwrapped: bound with the keywords torch adds (gradspec.arguments)
        assert inspect.unwrap(getattr(gradspec.Tensor, name)) is getattr(F, name), name
    for name in bindings.COMPOSITE_METHODS:
        assert inspect.unwrap(getattr(gradspec.Tensor, name)) is getattr(gradspec.composites, name), name
    for name in bindings.FUNCTIONS:
        assert inspect.unwrap(getattr(gradspec, name)) is getattr(F, name), name
    declared = set(bindings.METHODS) | set(bindings.COMPOSITE_METHODS)
    stray = [n for n in F.__all__
             if n not in declared and inspect.unwrap(getattr(gradspec.Tensor, n, None) or (lambda: 0)) is getattr(F, n)]
    assert not stray


def test_lerp_is_a_function_and_a_method(torch):
    start, end = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    x = gradspec.tensor(start, requires_grad=True)
    out = x.lerp(gradspec.tensor(end), 0.25)
    out.sum().backward()
    expected = torch.tensor(start, requires_grad=True)
    torch.lerp(expected, torch.tensor(end), 0.25).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), expected.lerp(torch.tensor(end), 0.25).detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), expected.grad.numpy())
    assert inspect.unwrap(gradspec.lerp) is gradspec.generated.functions.lerp


def test_bind_refuses_to_replace_a_tensor_method():
    declared = types.SimpleNamespace(FUNCTIONS=(), METHODS=("exp",), COMPOSITE_FUNCTIONS=(), COMPOSITE_METHODS=())
    ops = types.SimpleNamespace(__name__="userpkg.functions", exp=lambda self: self)
    with pytest.raises(ImportError, match=r"userpkg.functions.exp is declared a Tensor method, but Tensor.exp is "
                                          r"already bound"):
        api.bind(declared, ops, ops, {})
    assert inspect.unwrap(gradspec.Tensor.exp) is gradspec.generated.functions.exp
