"""Unit tests of the generator's pieces: schema parsing, saved-value inference, node naming,
and the array and differentiable forms emitted from one formula.

Generated source is inspected through `ast` (class slots, the expressions returned by
`apply`), so that these tests pin meaning rather than formatting; tests/test_golden.py pins
the bytes.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from gradspec import codegen
from gradspec.codegen.schema import REDUCTIONS, SchemaError, parse_schema

ROOT = Path(__file__).resolve().parent.parent
HELPERS = ROOT / "runtime" / "formulas.py"
KERNELS = ROOT / "runtime" / "kernels"


# ---- helpers -------------------------------------------------------------------------------

def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "derivatives.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def load(tmp_path: Path, text: str) -> codegen.Spec:
    return codegen.load_spec(_write(tmp_path, text), HELPERS, KERNELS)


def generate(tmp_path: Path, text: str) -> dict[str, str]:
    return codegen.generate(_write(tmp_path, text), HELPERS, KERNELS)


def entry(spec: codegen.Spec, full_name: str):
    return next(e for e in spec.entries if e.schema.full_name == full_name)


def _class(source: str, name: str) -> ast.ClassDef:
    tree = ast.parse(source)
    found = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name]
    assert found, f"no class {name} in generated source"
    return found[0]


def _function(source: str, name: str) -> ast.FunctionDef:
    tree = ast.parse(source)
    found = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
    assert found, f"no function {name} in generated source"
    return found[0]


def class_attr(source: str, cls: str, attr: str):
    """A class-level constant of a generated node (`__slots__`, `saved_slots`, ...), or None."""
    for statement in _class(source, cls).body:
        if isinstance(statement, ast.Assign) and any(getattr(t, "id", "") == attr for t in statement.targets):
            return ast.literal_eval(statement.value)
    return None


def method(source: str, cls: str, name: str) -> ast.FunctionDef:
    found = [n for n in _class(source, cls).body if isinstance(n, ast.FunctionDef) and n.name == name]
    assert found, f"no method {cls}.{name}"
    return found[0]


def returned(source: str, cls: str, name: str = "apply") -> list[ast.expr]:
    """The expressions of the tuple an `apply` method returns, one per tensor input: its final
    top-level `return` (in `apply`, after the branch that hands a cupy gradient to a fused CUDA
    kernel, that is the array form every other gradient runs)."""
    body = method(source, cls, name).body
    assert isinstance(body[-1], ast.Return), f"{cls}.{name} does not end with a return"
    value = body[-1].value
    assert isinstance(value, ast.Tuple)
    return value.elts


def returned_source(source: str, cls: str, name: str = "apply") -> list[str]:
    return [ast.unparse(e) for e in returned(source, cls, name)]


def strip_need(expr: ast.expr) -> ast.expr:
    """`X if need_self else None` -> X."""
    if isinstance(expr, ast.IfExp) and isinstance(expr.orelse, ast.Constant) and expr.orelse.value is None \
            and isinstance(expr.test, ast.Name) and expr.test.id.startswith("need"):
        return expr.body
    return expr


UNARY = """
- name: cos(Tensor self) -> Tensor
  forward: xp.cos(self)
  self: grad * -sin(self)

- name: sin(Tensor self) -> Tensor
  forward: xp.sin(self)
  self: grad * cos(self)
"""


# ---- schema parsing ------------------------------------------------------------------------

def test_schema_name_and_overload():
    schema = parse_schema("add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor")
    assert (schema.base, schema.overload, schema.full_name) == ("add", "Tensor", "add.Tensor")
    plain = parse_schema("exp(Tensor self) -> Tensor")
    assert (plain.base, plain.overload, plain.full_name) == ("exp", "", "exp")
    assert parse_schema("_to_copy(Tensor self) -> Tensor").base == "_to_copy"
    assert parse_schema("sum.dim_IntList(Tensor self, int[1]? dim) -> Tensor").overload == "dim_IntList"


@pytest.mark.parametrize("text, base_type, optional, size", [
    ("Tensor", "Tensor", False, None),
    ("Tensor?", "Tensor", True, None),
    ("Tensor[]", "Tensor[]", False, None),
    ("Scalar", "Scalar", False, None),
    ("Scalar?", "Scalar", True, None),
    ("int", "int", False, None),
    ("int?", "int", True, None),
    ("int[]", "int[]", False, None),
    ("int[2]", "int[]", False, 2),
    ("int[1]?", "int[]", True, 1),
    ("float", "float", False, None),
    ("float?", "float", True, None),
    ("bool", "bool", False, None),
    ("str", "str", False, None),
    ("ScalarType?", "ScalarType", True, None),
    ("Device?", "Device", True, None),
])
def test_schema_argument_types(text, base_type, optional, size):
    (argument,) = parse_schema(f"f({text} x) -> Tensor").arguments
    assert (argument.name, argument.type, argument.optional, argument.size) == ("x", base_type, optional, size)
    assert not argument.has_default and not argument.keyword_only


def test_schema_tensor_arguments_are_the_graph_inputs():
    """Tensor, Tensor? and Tensor[] arguments are graph inputs (`Argument.is_input`), in schema
    order; a list of optional index tensors (`Tensor?[]`) and non-tensor arguments are not."""
    schema = parse_schema("f(Tensor self, Tensor? weight, Tensor[] others, Tensor?[] indices, Scalar s, int n) "
                          "-> Tensor")
    assert [a.name for a in schema.tensor_arguments] == ["self", "weight", "others"]
    assert [a.name for a in schema.arguments if a.is_input] == ["self", "weight", "others"]
    assert schema.argument("others").is_tensor_list and not schema.argument("others").is_tensor
    assert schema.argument("weight").is_tensor and schema.argument("weight").optional
    assert not schema.argument("indices").is_input and not schema.argument("indices").optional
    assert not schema.argument("s").is_input and not schema.argument("n").is_input
    assert schema.argument("missing") is None


@pytest.mark.parametrize("declaration, value", [
    ("Scalar alpha=1", 1),
    ("float eps=1e-05", 1e-05),
    ("int dim=-1", -1),
    ("bool keepdim=False", False),
    ("bool flag=True", True),
    ("Tensor? weight=None", None),
    ("ScalarType? dtype=None", None),
    ("int[] dims=[]", ()),
    ("int[1] dim=[0]", (0,)),
    ("str mode='mean'", "mean"),
    ("int reduction=Mean", REDUCTIONS["Mean"]),
    ("int reduction=Sum", REDUCTIONS["Sum"]),
])
def test_schema_defaults(declaration, value):
    (argument,) = parse_schema(f"f({declaration}) -> Tensor").arguments
    assert argument.has_default
    assert argument.default == value and type(argument.default) is type(value)


def test_schema_optional_int_defaults_to_none():
    schema = parse_schema("slice.Tensor(Tensor self, int dim=0, int? start=None, int? end=None) -> Tensor")
    assert schema.argument("start").default is None
    assert schema.argument("end").default is None


def test_schema_list_default_with_several_elements():
    schema = parse_schema("conv(Tensor self, int[2] stride=[1, 1], int[2] padding=0) -> Tensor")
    assert schema.argument("stride").default == (1, 1)
    assert schema.argument("padding").default == 0


def test_schema_keyword_only():
    schema = parse_schema("sum(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor")
    assert [(a.name, a.keyword_only) for a in schema.arguments] == [
        ("self", False), ("dim", False), ("keepdim", False), ("dtype", True)]


def test_schema_star_twice_is_an_error():
    with pytest.raises(SchemaError, match="'\\*' appears twice"):
        parse_schema("f(Tensor self, *, int a, *, int b) -> Tensor")


def test_schema_single_return_is_named_result():
    assert parse_schema("exp(Tensor self) -> Tensor").returns == ("result",)
    assert parse_schema("exp(Tensor self) -> Tensor out").returns == ("out",)


def test_schema_named_tuple_returns():
    schema = parse_schema("max.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)")
    assert schema.returns == ("values", "indices")


def test_schema_no_arguments():
    assert parse_schema("f() -> Tensor").arguments == ()


def test_schema_keeps_its_text():
    text = "mul.Tensor(Tensor self, Tensor other) -> Tensor"
    assert parse_schema(text).text == text


# ---- saved values ------------------------------------------------------------------------

def test_tensor_saved_only_where_its_bare_name_is_used(tmp_path):
    source = generate(tmp_path, """
        - name: mul.Tensor(Tensor self, Tensor other) -> Tensor
          forward: self * other
          self: grad * other
          other: grad
    """)["nodes.py"]
    assert class_attr(source, "MulBackward0", "saved_slots") == ("other_",)
    assert class_attr(source, "MulBackward0", "saved_names") == ("other",)
    assert class_attr(source, "MulBackward0", "__slots__") == ("other_",)


def test_metadata_only_saves_no_tensor(tmp_path):
    text = """
        - name: sum(Tensor self, *, ScalarType? dtype=None) -> Tensor
          kernel: sum_all
          self: sum_backward(grad, self.shape, None, False)
    """
    usage = entry(load(tmp_path, text), "sum").derivatives[0].usage
    assert usage.tensors == set() and usage.metadata == {("self", "shape")}
    files = generate(tmp_path, text)
    source = files["nodes.py"]
    assert class_attr(source, "SumBackward0", "saved_slots") is None
    assert class_attr(source, "SumBackward0", "__slots__") == ("self_shape",)
    assert class_attr(source, "SumBackward0", "value_slots") == ("self_shape",)
    assert "check_saved" not in ast.unparse(method(source, "SumBackward0", "apply"))
    wrapper = ast.unparse(_function(files["functions.py"], "sum"))
    assert "node.self_shape = self_.shape" in wrapper
    assert "node.self_ = " not in wrapper


def test_all_metadata_attributes(tmp_path):
    files = generate(tmp_path, """
        - name: f(Tensor self) -> Tensor
          kernel: to_copy
          self: to_copy_backward(grad, self.dtype, self.device) * self.ndim
    """)
    usage_slots = class_attr(files["nodes.py"], "FBackward0", "value_slots")
    assert usage_slots == ("self_device", "self_dtype", "self_ndim")
    wrapper = ast.unparse(_function(files["functions.py"], "f"))
    assert "node.self_device = device_of(self_)" in wrapper
    assert "node.self_dtype = self_.dtype" in wrapper


def test_result_saved_as_output_not_the_input(tmp_path):
    text = """
        - name: exp(Tensor self) -> Tensor
          forward: xp.exp(self)
          self: grad * result
    """
    usage = entry(load(tmp_path, text), "exp").derivatives[0].usage
    assert usage.outputs == {"result"} and usage.tensors == set()
    files = generate(tmp_path, text)
    assert class_attr(files["nodes.py"], "ExpBackward0", "saved_slots") == ("result_",)
    assert class_attr(files["nodes.py"], "ExpBackward0", "output_slots") == ("result_",)
    wrapper = ast.unparse(_function(files["functions.py"], "exp"))
    assert "node.result_ = SavedOutput(result)" in wrapper
    assert "node.self_ =" not in wrapper


def test_scalar_argument_saved_as_value(tmp_path):
    text = """
        - name: pow.Tensor_Scalar(Tensor self, Scalar exponent) -> Tensor
          forward: self ** exponent
          self: pow_backward(grad, self, exponent)
    """
    usage = entry(load(tmp_path, text), "pow.Tensor_Scalar").derivatives[0].usage
    assert usage.values == {"exponent"} and usage.tensors == {"self"}
    source = generate(tmp_path, text)["nodes.py"]
    assert class_attr(source, "PowBackward0", "value_slots") == ("exponent",)
    assert returned_source(source, "PowBackward0") == ["H.pow_backward(A, grad, self_, self.exponent)"]


def test_unused_arguments_are_not_saved(tmp_path):
    source = generate(tmp_path, """
        - name: add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor
          forward: self + alpha * other
          self: grad
          other: grad
    """)["nodes.py"]
    assert class_attr(source, "AddBackward0", "__slots__") == ()


def test_grad_input_mask_marks_usage(tmp_path):
    spec = load(tmp_path, """
        - name: matmul(Tensor self, Tensor other) -> Tensor
          kernel: matmul
          self, other: matmul_backward(grad, self, other, grad_input_mask)
    """)
    derivative = entry(spec, "matmul").derivatives[0]
    assert derivative.inputs == ("self", "other") and derivative.usage.mask
    assert derivative.usage.tensors == {"self", "other"}


def test_grads_index_recorded(tmp_path):
    spec = load(tmp_path, """
        - name: max.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)
          kernel: matmul
          self: grads[0] * indices
          output_differentiability: [True, False]
    """)
    usage = entry(spec, "max.dim").derivatives[0].usage
    assert usage.grads == {0} and usage.outputs == {"indices"}


# ---- node naming -------------------------------------------------------------------------

@pytest.mark.parametrize("schema, node", [
    ("mul.Tensor(Tensor self, Tensor other) -> Tensor", "MulBackward0"),
    ("where.self(Tensor condition, Tensor self, Tensor other) -> Tensor", "WhereBackward0"),
    ("_to_copy(Tensor self) -> Tensor", "ToCopyBackward0"),
    ("binary_cross_entropy_with_logits(Tensor self, Tensor target) -> Tensor",
     "BinaryCrossEntropyWithLogitsBackward0"),
    ("atan2(Tensor self, Tensor other) -> Tensor", "Atan2Backward0"),
    ("nll_loss_forward(Tensor self, Tensor target) -> (Tensor output, Tensor total_weight)", "NllLossBackward0"),
    ("nll_loss2d_forward(Tensor self, Tensor target) -> (Tensor output, Tensor total_weight)",
     "NllLoss2DBackward0"),
])
def test_node_name_is_pytorch_camel_case(tmp_path, schema, node):
    outputs = [False] * (2 if "(Tensor output" in schema else 1)  # (a name, not derivatives, is the subject)
    spec = load(tmp_path, f"- name: {schema}\n  kernel: matmul\n  output_differentiability: {outputs}\n")
    assert spec.entries[0].node_name == node


def test_node_name_capitalizes_after_digits_like_pytorch(tmp_path):
    spec = load(tmp_path, """
        - name: log1p(Tensor self) -> Tensor
          kernel: matmul
          output_differentiability: [False]
        - name: max_pool2d_with_indices(Tensor self) -> Tensor
          kernel: matmul
          output_differentiability: [False]
    """)
    assert [e.node_name for e in spec.entries] == ["Log1PBackward0", "MaxPool2DWithIndicesBackward0"]


def test_node_names_are_unique_when_a_forward_suffix_is_dropped(tmp_path):
    text = """
        - name: foo(Tensor self) -> Tensor
          forward: xp.exp(self)
          self: grad * result
        - name: foo_forward(Tensor self) -> Tensor
          forward: xp.sin(self)
          self: grad * self
    """
    with pytest.raises(codegen.SpecError, match="node name FooBackward0 is also derived for foo"):
        load(tmp_path, text)


def test_node_index_is_position_among_overloads(tmp_path):
    spec = load(tmp_path, """
        - name: pow.Tensor_Scalar(Tensor self, Scalar exponent) -> Tensor
          forward: self ** exponent
          output_differentiability: [False]
        - name: exp(Tensor self) -> Tensor
          forward: xp.exp(self)
          output_differentiability: [False]
        - name: pow.Tensor_Tensor(Tensor self, Tensor exponent) -> Tensor
          forward: self ** exponent
          output_differentiability: [False]
        - name: pow.Scalar(Scalar self, Tensor exponent) -> Tensor
          forward: self ** exponent
          output_differentiability: [False]
    """)
    assert [(e.schema.full_name, e.node_name) for e in spec.entries] == [
        ("pow.Tensor_Scalar", "PowBackward0"), ("exp", "ExpBackward0"),
        ("pow.Tensor_Tensor", "PowBackward1"), ("pow.Scalar", "PowBackward2")]
    assert [e.function_name for e in spec.entries] == [
        "pow_Tensor_Scalar", "exp", "pow_Tensor_Tensor", "pow_Scalar"]


def test_node_names_stable_when_another_base_is_added(tmp_path):
    before = load(tmp_path, UNARY)
    after = load(tmp_path, textwrap.dedent("""
        - name: neg(Tensor self) -> Tensor
          forward: -self
          self: -grad
    """) + UNARY + textwrap.dedent("""
        - name: sin.out(Tensor self) -> Tensor
          forward: xp.sin(self)
          self: grad * cos(self)
    """))
    names_before = {e.schema.full_name: e.node_name for e in before.entries}
    names_after = {e.schema.full_name: e.node_name for e in after.entries}
    assert all(names_after[k] == v for k, v in names_before.items())
    assert names_after["sin.out"] == "SinBackward1"


def test_overloaded_base_gets_a_dispatcher(tmp_path):
    files = generate(tmp_path, """
        - name: pow.Tensor_Scalar(Tensor self, Scalar exponent) -> Tensor
          forward: self ** exponent
          self: pow_backward(grad, self, exponent)
        - name: pow.Tensor_Tensor(Tensor self, Tensor exponent) -> Tensor
          forward: self ** exponent
          self: pow_backward_self(grad, self, exponent)
          exponent: pow_backward_exponent(grad, self, exponent, result)
    """)
    for name in ("functions.py", "array_ops.py"):
        dispatcher = ast.unparse(_function(files[name], "pow"))
        assert "dispatch('pow', _POW_OVERLOADS" in dispatcher
        _function(files[name], "pow_Tensor_Scalar")
        _function(files[name], "pow_Tensor_Tensor")
    nodes = files["nodes.py"]
    _class(nodes, "PowBackward0")
    _class(nodes, "PowBackward1")


def test_non_differentiable_output_gets_no_node(tmp_path):
    files = generate(tmp_path, """
        - name: eq.Tensor(Tensor self, Tensor other) -> Tensor
          forward: self == other
          output_differentiability: [False]
        - name: exp(Tensor self) -> Tensor
          forward: xp.exp(self)
          self: grad * result
    """)
    classes = [n.name for n in ast.parse(files["nodes.py"]).body if isinstance(n, ast.ClassDef)]
    assert classes == ["ExpBackward0"]
    wrapper = ast.unparse(_function(files["functions.py"], "eq"))
    assert "grad_fn" not in wrapper and "STATE" not in wrapper


# ---- array form: inlining ----------------------------------------------------------------

def test_one_overload_forward_is_inlined_in_array_form(tmp_path):
    source = generate(tmp_path, UNARY)["nodes.py"]
    assert returned_source(source, "SinBackward0") == ["grad * xp.cos(self_)"]
    assert returned_source(source, "CosBackward0") == ["grad * -xp.sin(self_)"]
    apply = ast.unparse(method(source, "SinBackward0", "apply"))
    assert "xp = array_module(grad)" in apply


def test_inlining_binds_arguments_in_order(tmp_path):
    source = generate(tmp_path, """
        - name: where.self(Tensor condition, Tensor self, Tensor other) -> Tensor
          forward: xp.where(condition, self, other)
          condition: non_differentiable
          self: where(condition, grad, 0)
          other: where(condition, 0, grad)
    """)["nodes.py"]
    exprs = [ast.unparse(strip_need(e)) for e in returned(source, "WhereBackward0")]
    assert exprs == ["None", "xp.where(condition, grad, 0)", "xp.where(condition, 0, grad)"]


def test_overloaded_op_is_not_inlined(tmp_path):
    source = generate(tmp_path, """
        - name: pow.Tensor_Scalar(Tensor self, Scalar exponent) -> Tensor
          forward: self ** exponent
          output_differentiability: [False]
        - name: pow.Tensor_Tensor(Tensor self, Tensor exponent) -> Tensor
          forward: self ** exponent
          output_differentiability: [False]
        - name: exp(Tensor self) -> Tensor
          forward: xp.exp(self)
          self: grad * pow(self, 2)
    """)["nodes.py"]
    assert returned_source(source, "ExpBackward0") == ["grad * A.pow(self_, 2)"]


def test_kernel_op_is_not_inlined(tmp_path):
    source = generate(tmp_path, """
        - name: sigmoid(Tensor self) -> Tensor
          kernel: sigmoid
          self: grad * result * (1 - result)
        - name: f(Tensor self) -> Tensor
          forward: xp.exp(self)
          self: grad * sigmoid(self)
    """)["nodes.py"]
    assert returned_source(source, "FBackward0") == ["grad * A.sigmoid(self_)"]
    assert "array_module" not in ast.unparse(method(source, "FBackward0", "apply"))


def test_argument_used_twice_is_inlined_only_when_cheap(tmp_path):
    source = generate(tmp_path, """
        - name: square(Tensor self) -> Tensor
          forward: self * self
          self: 2 * grad * self
        - name: f(Tensor self) -> Tensor
          forward: xp.exp(self)
          self: square(grad) + square(grad + self)
    """)["nodes.py"]
    assert returned_source(source, "FBackward0") == ["grad * grad + A.square(grad + self_)"]


def test_inlined_forward_has_its_constant_condition_folded(tmp_path):
    """Inlining binds defaults, which often makes the forward's condition constant: `1 == 1`
    is decided at codegen time. A condition on a saved value stays."""
    source = generate(tmp_path, """
        - name: add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor
          forward: self + other if alpha == 1 else self + alpha * other
          self: grad
          other: maybe_multiply(grad, alpha)
        - name: f(Tensor self, Tensor other, Scalar beta) -> Tensor
          forward: self * other
          self: add(grad, other)
          other: add(grad, self, alpha=beta)
    """)["nodes.py"]
    assert [ast.unparse(strip_need(e)) for e in returned(source, "FBackward0")] == [
        "grad + other", "grad + self_ if self.beta == 1 else grad + self.beta * self_"]
    assert [ast.unparse(strip_need(e)) for e in returned(source, "FBackward0", "apply_differentiable")] == [
        "T.add(grad, other)", "T.add(grad, self_, alpha=self.beta)"]


def test_inlined_expression_keeps_precedence(tmp_path):
    source = generate(tmp_path, """
        - name: add(Tensor self, Tensor other) -> Tensor
          forward: self + other
          output_differentiability: [False]
        - name: f(Tensor self) -> Tensor
          forward: xp.exp(self)
          self: grad * add(self, 1)
    """)["nodes.py"]
    assert returned_source(source, "FBackward0") == ["grad * (self_ + 1)"]


def test_helpers_take_the_namespace_first(tmp_path):
    source = generate(tmp_path, """
        - name: expand(Tensor self, int[] size, *, bool implicit=False) -> Tensor
          kernel: expand
          self: sum_to(grad, self.shape)
    """)["nodes.py"]
    assert returned_source(source, "ExpandBackward0", "apply") == ["H.sum_to(A, grad, self.self_shape)"]
    assert returned_source(source, "ExpandBackward0", "apply_differentiable") == [
        "H.sum_to(T, grad, self.self_shape)"]


def test_method_call_becomes_a_namespace_call(tmp_path):
    source = generate(tmp_path, """
        - name: expand(Tensor self, int[] size, *, bool implicit=False) -> Tensor
          kernel: expand
          self: sum_to(grad, self.shape)
        - name: sum(Tensor self, *, ScalarType? dtype=None) -> Tensor
          kernel: sum_all
          self: grad.expand(self.shape)
    """)["nodes.py"]
    assert returned_source(source, "SumBackward0", "apply") == ["A.expand(grad, self.self_shape)"]
    assert returned_source(source, "SumBackward0", "apply_differentiable") == [
        "T.expand(grad, self.self_shape)"]


def test_every_saved_tensor_is_unpacked_with_data_of_in_array_form(tmp_path):
    """Any saved input may be a wrapped number, the first one too (`torch.mul(2, x)`): the array
    form unpacks each with data_of(); the differentiable form takes them as they are."""
    source = generate(tmp_path, """
        - name: mul.Tensor(Tensor self, Tensor other) -> Tensor
          forward: self * other
          self: grad * other
          other: grad * self
    """)["nodes.py"]
    apply = ast.unparse(method(source, "MulBackward0", "apply"))
    assert "self_ = data_of(self.self_)" in apply
    assert "other = data_of(self.other_)" in apply
    assert "._data" not in apply
    differentiable = ast.unparse(method(source, "MulBackward0", "apply_differentiable"))
    assert "self_ = self.self_\n" in differentiable and "other = self.other_\n" in differentiable
    assert returned_source(source, "MulBackward0") == ["grad * other if need_self else None",
                                                       "grad * self_ if need_other else None"]


def test_returning_a_saved_tensor_copies_it_in_array_form(tmp_path):
    source = generate(tmp_path, """
        - name: f(Tensor self, Tensor other) -> Tensor
          forward: self * other
          self: other
          other: non_differentiable
    """)["nodes.py"]
    assert ast.unparse(strip_need(returned(source, "FBackward0")[0])) == "other.copy()"
    assert ast.unparse(strip_need(returned(source, "FBackward0", "apply_differentiable")[0])) == "other"


def test_conditional_formula_keeps_its_need_condition(tmp_path):
    source = generate(tmp_path, """
        - name: add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor
          forward: self + other if alpha == 1 else self + alpha * other
          self: grad
          other: grad if alpha == 1 else grad * alpha
    """)["nodes.py"]
    other = returned(source, "AddBackward0")[1]
    assert isinstance(other, ast.IfExp) and ast.unparse(other.test) == "need_other"
    assert ast.unparse(other.body) == "grad if self.alpha == 1 else grad * self.alpha"


# ---- differentiable form -----------------------------------------------------------------

def test_differentiable_form_calls_tensor_ops(tmp_path):
    source = generate(tmp_path, UNARY)["nodes.py"]
    assert returned_source(source, "SinBackward0", "apply_differentiable") == ["grad * T.cos(self_)"]
    assert returned_source(source, "CosBackward0", "apply_differentiable") == ["grad * -T.sin(self_)"]


def test_differentiable_form_never_touches_arrays(tmp_path):
    source = codegen.generate(ROOT / "derivatives.yaml", HELPERS, KERNELS)["nodes.py"]
    tree = ast.parse(source)
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    assert classes
    for cls in classes:
        body = ast.unparse(method(source, cls.name, "apply_differentiable"))
        assert "xp." not in body and "A." not in body and "._data" not in body and "data_of(" not in body, cls.name


def test_differentiable_form_unpacks_saved_outputs(tmp_path):
    source = generate(tmp_path, """
        - name: exp(Tensor self) -> Tensor
          forward: xp.exp(self)
          self: grad * result
    """)["nodes.py"]
    assert "result = self.saved_output(self.result_)" in ast.unparse(
        method(source, "ExpBackward0", "apply_differentiable"))
    assert "result = self.result_._data" in ast.unparse(method(source, "ExpBackward0", "apply"))


def test_shared_key_passes_the_mask_and_unpacks_a_tuple(tmp_path):
    source = generate(tmp_path, """
        - name: matmul(Tensor self, Tensor other) -> Tensor
          kernel: matmul
          self, other: matmul_backward(grad, self, other, grad_input_mask)
    """)["nodes.py"]
    for name, namespace in (("apply", "A"), ("apply_differentiable", "T")):
        body = ast.unparse(method(source, "MatmulBackward0", name))
        assert (f"grad_self, grad_other = H.matmul_backward({namespace}, grad, self_, other, "
                "(need_self, need_other))") in body
        assert returned_source(source, "MatmulBackward0", name) == ["grad_self", "grad_other"]


def test_non_differentiable_input_gets_no_edge_and_no_gradient(tmp_path):
    files = generate(tmp_path, """
        - name: where.self(Tensor condition, Tensor self, Tensor other) -> Tensor
          forward: xp.where(condition, self, other)
          condition: non_differentiable
          self: where(condition, grad, 0)
          other: where(condition, 0, grad)
    """)
    wrapper = ast.unparse(_function(files["functions.py"], "where"))
    assert "node.next_functions = (NO_EDGE, edge(self), edge(other))" in wrapper
    assert "requires_grad(condition)" not in wrapper
    assert ast.unparse(returned(files["nodes.py"], "WhereBackward0")[0]) == "None"


def test_a_tensor_list_must_be_the_only_tensor_input(tmp_path):
    """Its gradients are one per listed tensor, so no other input can be told apart by position."""
    with pytest.raises(codegen.SpecError, match=r"a Tensor\[\] input \(tensors\) must be the op's only tensor input"):
        generate(tmp_path, """
            - name: foo(Tensor[] tensors, Tensor weight) -> Tensor
              kernel: cat
              tensors: cat_backward(grad, tensors.shape, 0)
              weight: grad
        """)


def test_not_implemented_input_raises_at_backward(tmp_path):
    source = generate(tmp_path, """
        - name: f(Tensor self, Tensor other) -> Tensor
          forward: self * other
          self: grad * other
          other: not_implemented
    """)["nodes.py"]
    assert ast.unparse(strip_need(returned(source, "FBackward0")[1])) == "self.not_implemented('other')"


# ---- forward wrappers --------------------------------------------------------------------

def test_wrapper_signature_has_defaults_and_keyword_only(tmp_path):
    files = generate(tmp_path, """
        - name: sum.dim_IntList(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor
          kernel: sum_dims
          self: sum_backward(grad, self.shape, dim, keepdim)
    """)
    function = _function(files["functions.py"], "sum")
    args = function.args
    assert [a.arg for a in args.args] == ["self", "dim", "keepdim"]
    assert [ast.unparse(d) for d in args.defaults] == ["False"]
    assert [a.arg for a in args.kwonlyargs] == ["dtype"]


def test_named_tuple_op_saves_the_named_output(tmp_path):
    files = generate(tmp_path, """
        - name: max.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)
          kernel: matmul
          self: grads[0] * indices
          output_differentiability: [True, False]
    """)
    wrapper = ast.unparse(_function(files["functions.py"], "max"))
    assert "node.indices_ = SavedOutput(indices)" in wrapper
    assert "values.grad_fn = node" in wrapper
    assert "indices.grad_fn" not in wrapper, "a non-differentiable output must stay off the graph"
    assert "grads[0] * indices" in ast.unparse(method(files["nodes.py"], "MaxBackward0", "apply"))


def test_package_init_imports_its_submodules(tmp_path):
    init = ast.parse(generate(tmp_path, UNARY)["__init__.py"])
    imported = {alias.name for node in init.body if isinstance(node, ast.ImportFrom) and node.level == 1
                and node.module is None for alias in node.names}
    exported = next(ast.literal_eval(n.value) for n in init.body
                    if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "__all__")
    assert sorted(exported) == ["array_ops", "bindings", "functions", "nodes"]
    assert imported == set(exported)


def test_generated_modules_import_only_what_they_use():
    """Unused imports are dropped from the generated modules (the templates import everything
    an op might need) and long import lines are wrapped."""
    files = codegen.generate(ROOT / "derivatives.yaml", HELPERS, KERNELS)
    for name in ("nodes.py", "functions.py", "array_ops.py"):
        tree = ast.parse(files[name])
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        imported = [alias.asname or alias.name for node in tree.body if isinstance(node, ast.ImportFrom)
                    for alias in node.names]
        assert imported and not [n for n in imported if n not in used], name
        for node in tree.body:
            if isinstance(node, ast.ImportFrom):
                lines = files[name].splitlines()[node.lineno - 1:node.end_lineno]
                assert all(len(line) <= 110 for line in lines), lines


def test_spec_without_differentiable_entries_generates_valid_python(tmp_path):
    files = generate(tmp_path, """
        - name: eq.Tensor(Tensor self, Tensor other) -> Tensor
          forward: self == other
          output_differentiability: [False]
    """)
    assert "from .nodes import" not in files["functions.py"]
    for name in ("__init__.py", "nodes.py", "functions.py", "array_ops.py"):
        compile(files[name], name, "exec")


def test_generated_sources_compile(tmp_path):
    """Every generated Python module compiles (generated/ also holds the CUDA sources backward.cu,
    backward.cuh and rows.cu, which are not Python)."""
    files = generate(tmp_path, UNARY)
    python = sorted(name for name in files if name.endswith(".py"))
    assert python == ["__init__.py", "array_ops.py", "bindings.py", "functions.py", "nodes.py", "rows.py"]
    assert {"backward.cu", "backward.cuh", "rows.cu"} <= set(files)
    for name in python:
        compile(files[name], name, "exec")
