"""CUDA emission: which backward formulas are elementwise, and their fused kernels.

For every node whose formulas are all *elementwise* (the exact rule is `plan` below and
docs/cuda.md), codegen emits into generated/:

* `backward.cuh`: the device prelude (math over float and double, the helpers and kernels of
  the spec that have a device version) and one `__host__ __device__` functor per input
  gradient: the formula as one C++ expression over the values of one element;
* `backward.cu`: one `__global__` kernel template per node that loads each operand once per
  element and writes every needed input gradient in the same pass.

Likewise, for each op whose `forward:` formula is elementwise and takes several array operations
(`forward_plan`), a functor and a kernel `<op>_forward_kernel` computing its output in one pass;
the op's forward calls it through `gradspec.backends.fused_forward` where the arrays' backend runs
gradspec's kernels.

The node's `apply` gets a cuda branch (`fused_call`, laid out by the nodes template) that calls
`runtime.cuda.fused_backward`: one launch computes all needed gradients. Everything else
(and every node on numpy arrays) runs the array form. The same functors and kernels compile
for the host (see the `#else` half of the prelude) so that the tests check them against the
numpy form without a GPU; `host_harness` and `instantiations` give those tests their C++.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from . import formula
from .model import Entry, FusedCall, SpecText

CUDA_OUTPUTS = ("backward.cuh", "backward.cu")

# Non-tensor arguments a kernel takes as a per-call constant (converted to the kernel's T).
VALUE_TYPES = {"Scalar", "float", "int", "bool"}

# xp.<function> of a `forward:` formula that acts element by element, with its device version.
XP_UNARY = {name: f"gs::{name}" for name in (
    "abs", "cos", "cosh", "exp", "expm1", "log", "log1p", "sin", "sinh", "sqrt", "square", "tan", "tanh")}
XP_UNARY["negative"] = "-"
XP_BINARY = {"maximum": "gs::maximum", "minimum": "gs::minimum"}
XP_LOGICAL = {"logical_and": "&&", "logical_or": "||"}

# Helpers of runtime/formulas.py with a device version in the prelude (same name in `gs::`),
# by arity. Their arguments may be tensors or Python values: per element both are numbers.
DEVICE_HELPERS = {"maybe_multiply": 2, "pow_backward": 3, "pow_backward_self": 3, "pow_backward_exponent": 4,
                  "elu_backward": 5}

# Array kernels of runtime/kernels/ with a device version in the prelude (`gs::<name>`).
DEVICE_KERNELS = {"sigmoid", "sign", "tanh_backward", "threshold_backward"}

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_COMPARE = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_MAX_INLINE_DEPTH = 8
# Expressions that are one array operation each when not uniform (calls are counted where they
# are translated: an inlined op's are its formula's own).
_OPERATIONS = (ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp)


class NotElementwise(Exception):
    """Why a formula has no fused kernel: the node runs its array form on every device."""


@dataclass(frozen=True)
class Operand:
    """A tensor the kernel reads per element: `grad`, a tensor input or a saved output."""

    name: str  # the spec's name: "grad", an input, or an output ("result")
    local: str  # the Python local holding its array (or wrapped number) in `apply`
    param: str  # the C++ identifier of its value inside functors and kernels
    domain: str = "real"  # the entry's test domain (the host harness instantiates bool ones as bool)


@dataclass(frozen=True)
class Gradient:
    input: str  # the tensor input it is the gradient of
    text: str  # the formula as written in the spec
    expr: str | None  # the C++ expression; None for `grad` itself, which needs no kernel


@dataclass(frozen=True)
class KernelPlan:
    """Everything about one node's fused kernel."""

    entry: Entry
    operands: tuple[Operand, ...]  # grad first, then inputs in schema order, then outputs
    values: tuple[str, ...]  # non-tensor arguments, in schema order
    gradients: tuple[Gradient, ...]  # one per differentiable input, in schema order
    inputs: tuple[str, ...]  # every tensor input, in schema order

    @property
    def node(self) -> str:
        return self.entry.node_name

    @property
    def computed(self) -> tuple[Gradient, ...]:
        """The gradients the kernel writes (one output each), in order."""
        return tuple(g for g in self.gradients if g.expr is not None)

    @property
    def kernel(self) -> str:
        return f"{self.node}_kernel"

    def functor(self, gradient: Gradient) -> str:
        return f"{self.node}_{gradient.input}"


class ForwardPlan(KernelPlan):
    """The fused forward kernel of an op whose `forward:` formula is elementwise and takes several
    array operations: laid out as a node's kernel with no `grad` operand and one output, `result`."""

    @property
    def node(self) -> str:
        return f"{self.entry.function_name}_forward"


@dataclass(frozen=True)
class Analysis:
    plans: Mapping[str, KernelPlan]  # node name -> plan, elementwise nodes only
    fallbacks: Mapping[str, str]  # node name -> why it runs its array form on cuda
    forwards: tuple[ForwardPlan, ...] = ()  # the ops whose forward is one fused kernel

    @property
    def kernels(self) -> list[KernelPlan]:
        """Plans that need a kernel (some gradient other than `grad` itself)."""
        return [p for p in self.plans.values() if p.computed]


# ---- elementwise detection --------------------------------------------------------------------

def analyze(entries, context: formula.Context, by_base: Mapping[str, tuple[Entry, ...]]) -> Analysis:
    """The kernel plan of every elementwise node of the entries, and why the others have none."""
    plans, fallbacks = {}, {}
    for entry in entries:
        if not entry.differentiable:
            continue
        try:
            plans[entry.node_name] = plan(entry, context, by_base)
        except NotElementwise as reason:
            fallbacks[entry.node_name] = SpecText(reason)  # it may quote a formula
    forwards = []
    for entry in entries:
        try:
            forwards.append(forward_plan(entry, context, by_base))
        except NotElementwise:
            pass  # its forward runs as written, on every device
    return Analysis(MappingProxyType(plans), MappingProxyType(fallbacks), tuple(forwards))


def forward_plan(entry: Entry, context: formula.Context, by_base: Mapping[str, tuple[Entry, ...]]) -> ForwardPlan:
    """The fused forward kernel of an entry, or NotElementwise: its `forward:` formula must be
    elementwise by the rules of `plan` (without `grad` and the output, which a forward has not
    yet), give a number (not a mask), and take at least two array operations (one is already a
    single launch as written)."""
    if entry.forward is None or len(entry.schema.returns) != 1:
        raise NotElementwise("no forward formula")
    if any(a.is_tensor_list for a in entry.schema.arguments):
        raise NotElementwise("a Tensor[] argument")
    translator = _Translator(entry, context, by_base, forward=True)
    value = translator.visit(entry.forward)
    if value.uniform or value.kind != "T":
        raise NotElementwise("not a number per element")
    if translator.operations < 2:
        raise NotElementwise("one array operation")
    domains = entry.test.get("domain") or {}
    operands = tuple(Operand(a.name, formula.local_name(a.name), f"x_{a.name}", domains.get(a.name, "real"))
                     for a in entry.schema.tensor_arguments if a.name in translator.tensors)
    values = tuple(a.name for a in entry.schema.arguments if a.name in translator.values)
    result = Gradient("result", entry.forward_text, translator.as_t(value))
    return ForwardPlan(entry, operands, values, (result,), ("result",))


def plan(entry: Entry, context: formula.Context, by_base: Mapping[str, tuple[Entry, ...]]) -> KernelPlan:
    """The fused kernel of an entry's node, or NotElementwise saying why it has none.

    An entry is elementwise when it has one output, no `not_implemented` input and no shared
    key, and every formula is elementwise: built only from `grad`, tensor inputs (by bare
    name), the output, non-tensor arguments of type Scalar/float/int/bool (per-call
    constants), numbers and True/False, the operators + - * / ** and unary - + not,
    comparisons, `and`/`or`/`a if c else b` on per-call constants, and calls of
    (1) spec ops with a single overload whose `forward:` is itself elementwise (inlined, so
        `cos(self)` is `xp.cos(self)`), the `xp.` functions allowed being XP_UNARY,
        XP_BINARY, XP_LOGICAL, `where`, `logical_not` and `array` (a copy);
    (2) spec ops with a single overload whose `kernel:` is in DEVICE_KERNELS, their non-tensor
        arguments per-call constants;
    (3) helpers in DEVICE_HELPERS.
    """
    schema = entry.schema
    if len(schema.returns) != 1:
        raise NotElementwise("several outputs")
    if entry.not_implemented:
        raise NotElementwise("a not_implemented input")
    if any(a.is_tensor_list for a in schema.arguments):
        raise NotElementwise("a Tensor[] argument")
    domains = entry.test.get("domain") or {}
    translator = _Translator(entry, context, by_base)
    gradients = []
    for derivative in entry.derivatives:
        if len(derivative.inputs) > 1:
            raise NotElementwise(f"shared key '{', '.join(derivative.inputs)}'")
        tree = derivative.tree
        if isinstance(tree, ast.Name) and tree.id == "grad":
            gradients.append(Gradient(derivative.inputs[0], derivative.text, None))
            continue
        value = translator.visit(tree)
        if value.uniform:
            raise NotElementwise(f"'{derivative.text}' does not depend on a tensor")
        gradients.append(Gradient(derivative.inputs[0], derivative.text, translator.as_t(value)))
    order = [a.name for a in schema.tensor_arguments]
    gradients.sort(key=lambda g: order.index(g.input))
    operands = [Operand("grad", "grad", "grad")]
    for argument in schema.tensor_arguments:
        if argument.name in translator.tensors:
            operands.append(Operand(argument.name, formula.local_name(argument.name), f"x_{argument.name}",
                                    domains.get(argument.name, "real")))
    for output in schema.returns:
        if output in translator.outputs:
            operands.append(Operand(output, formula.local_name(output), f"y_{output}"))
    values = tuple(a.name for a in schema.arguments if a.name in translator.values)
    return KernelPlan(entry, tuple(operands), values, tuple(gradients), tuple(order))


@dataclass(frozen=True)
class _C:
    """A translated sub-expression: C++ source, its kind ("T" number or "bool"), and whether
    it is the same for every element (built from per-call constants only)."""

    code: str
    kind: str
    uniform: bool


class _Translator:
    """Formula AST -> C++ expression over one element's values (`T` is the kernel's float type)."""

    operations = 0  # array operations the formula takes as written (launches on cupy), once counted

    def __init__(self, entry: Entry, context: formula.Context, by_base: Mapping[str, tuple[Entry, ...]],
                 forward: bool = False):
        self.entry, self.schema, self.context, self.by_base = entry, entry.schema, context, by_base
        self.forward = forward  # a forward formula: no `grad`, no output yet
        self.tensors: set[str] = set()
        self.outputs: set[str] = set()
        self.values: set[str] = set()
        self.depth = 0

    # kinds
    @staticmethod
    def as_t(value: _C) -> str:
        return value.code if value.kind == "T" else f"T({value.code})"

    @staticmethod
    def as_bool(value: _C) -> str:
        return value.code if value.kind == "bool" else f"({value.code} != T(0))"

    def visit(self, node: ast.AST) -> _C:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise NotElementwise(f"{type(node).__name__} in '{ast.unparse(node)}'")
        value = method(node)
        if not value.uniform and isinstance(node, _OPERATIONS):
            self.operations += 1
        return value

    def visit_Constant(self, node: ast.Constant) -> _C:
        value = node.value
        if isinstance(value, bool):
            return _C("true" if value else "false", "bool", True)
        if isinstance(value, (int, float)) and math.isfinite(float(value)):
            return _C(f"T({float(value)!r})", "T", True)
        raise NotElementwise(f"constant {value!r}")

    def visit_Name(self, node: ast.Name) -> _C:
        ident, schema = node.id, self.schema
        if ident == "grad" and not self.forward:
            return _C("grad", "T", False)
        if ident in schema.returns and not self.forward:
            self.outputs.add(ident)
            return _C(f"y_{ident}", "T", False)
        argument = schema.argument(ident)
        if argument is None:
            raise NotElementwise(f"name '{ident}'")
        if argument.is_tensor:
            if argument.optional:
                raise NotElementwise(f"optional tensor '{ident}'")
            self.tensors.add(ident)
            return _C(f"x_{ident}", "T", False)
        if argument.type in VALUE_TYPES and not argument.optional:
            self.values.add(ident)
            return _C(f"s_{ident}", "T", True)
        raise NotElementwise(f"argument '{ident}' of type {argument.type}")

    def visit_BinOp(self, node: ast.BinOp) -> _C:
        left, right = self.visit(node.left), self.visit(node.right)
        uniform = left.uniform and right.uniform
        if isinstance(node.op, ast.Pow):
            return _C(f"gs::pow({self.as_t(left)}, {self.as_t(right)})", "T", uniform)
        op = _BINARY.get(type(node.op))
        if op is None:
            raise NotElementwise(f"operator {type(node.op).__name__}")
        return _C(f"({self.as_t(left)} {op} {self.as_t(right)})", "T", uniform)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> _C:
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return _C(f"(-{self.as_t(operand)})", "T", operand.uniform)
        if isinstance(node.op, ast.UAdd):
            return _C(self.as_t(operand), "T", operand.uniform)
        if isinstance(node.op, ast.Not) and operand.uniform:
            return _C(f"(!{self.as_bool(operand)})", "bool", True)
        raise NotElementwise(f"unary {type(node.op).__name__} in '{ast.unparse(node)}'")

    def visit_Compare(self, node: ast.Compare) -> _C:
        parts, uniform = [], True
        left = self.visit(node.left)
        for op, right_node in zip(node.ops, node.comparators):
            right = self.visit(right_node)
            symbol = _COMPARE.get(type(op))
            if symbol is None:
                raise NotElementwise(f"comparison {type(op).__name__}")
            if left.kind == right.kind == "bool" and symbol in ("==", "!="):
                parts.append(f"({left.code} {symbol} {right.code})")
            else:
                parts.append(f"({self.as_t(left)} {symbol} {self.as_t(right)})")
            uniform = uniform and left.uniform and right.uniform
            left = right
        code = parts[0] if len(parts) == 1 else f"({' && '.join(parts)})"
        return _C(code, "bool", uniform)

    def visit_BoolOp(self, node: ast.BoolOp) -> _C:
        values = [self.visit(v) for v in node.values]
        if not all(v.uniform and v.kind == "bool" for v in values):
            raise NotElementwise(f"'and'/'or' on tensors or numbers in '{ast.unparse(node)}'")
        symbol = " && " if isinstance(node.op, ast.And) else " || "
        return _C(f"({symbol.join(v.code for v in values)})", "bool", True)

    def visit_IfExp(self, node: ast.IfExp) -> _C:
        test = self.visit(node.test)
        if not test.uniform:
            raise NotElementwise(f"'if' on a tensor in '{ast.unparse(node)}'")
        before = self.operations
        yes = self.visit(node.body)
        taken = self.operations - before  # one branch runs: it takes the operations of the longer one
        no = self.visit(node.orelse)
        self.operations = before + max(taken, self.operations - before - taken)
        return self._select(self.as_bool(test), yes, no, True)

    def _select(self, condition: str, yes: _C, no: _C, condition_uniform: bool) -> _C:
        uniform = condition_uniform and yes.uniform and no.uniform
        if yes.kind == no.kind == "bool":
            return _C(f"({condition} ? {yes.code} : {no.code})", "bool", uniform)
        return _C(f"({condition} ? {self.as_t(yes)} : {self.as_t(no)})", "T", uniform)

    def visit_Call(self, node: ast.Call) -> _C:
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "xp":
            return self._xp(func.attr, node)
        if isinstance(func, ast.Attribute):
            name, args = func.attr, [func.value, *node.args]
        elif isinstance(func, ast.Name):
            name, args = func.id, list(node.args)
        else:
            raise NotElementwise(f"call of '{ast.unparse(func)}'")
        context = self.context
        if name in context.helpers and name not in context.ops:
            return self._helper(name, args, node.keywords)
        if name not in context.ops:
            raise NotElementwise(f"unknown function '{name}'")
        return self._op(name, args, node.keywords)

    def _helper(self, name: str, args: list[ast.expr], keywords: list[ast.keyword]) -> _C:
        if DEVICE_HELPERS.get(name) != len(args) or keywords:
            raise NotElementwise(f"helper {name}() has no device version")
        values = [self.visit(a) for a in args]
        code = f"gs::{name}({', '.join(self.as_t(v) for v in values)})"
        return self._call(_C(code, "T", all(v.uniform for v in values)))

    def _call(self, value: _C) -> _C:
        """A call of an array function: one operation on arrays (at least) unless uniform."""
        if not value.uniform:
            self.operations += 1
        return value

    def _op(self, name: str, args: list[ast.expr], keywords: list[ast.keyword]) -> _C:
        overloads = self.by_base.get(name, ())
        if len(overloads) != 1:
            raise NotElementwise(f"op '{name}' has {len(overloads)} overloads")
        callee = overloads[0]
        if len(callee.schema.returns) != 1:
            raise NotElementwise(f"op '{name}' has several outputs")
        bound = formula.bind_arguments(callee.schema, args, keywords)
        if bound is None:
            raise NotElementwise(f"call of '{name}' does not match its schema")
        if callee.forward is not None:
            if self.depth >= _MAX_INLINE_DEPTH:
                raise NotElementwise(f"ops nested more than {_MAX_INLINE_DEPTH} deep")
            self.depth += 1
            try:
                return self.visit(formula.substitute(callee.forward, bound))
            finally:
                self.depth -= 1
        if callee.kernel in DEVICE_KERNELS:
            arguments = callee.schema.arguments
            if any(not a.is_tensor and (a.type not in VALUE_TYPES or a.optional) for a in arguments):
                raise NotElementwise(f"kernel op '{name}' takes arguments that are not per-element values")
            values = [self.visit(bound[a.name]) for a in arguments]
            code = f"gs::{callee.kernel}({', '.join(self.as_t(v) for v in values)})"
            return self._call(_C(code, "T", all(v.uniform for v in values)))
        raise NotElementwise(f"op '{name}' runs the array kernel '{callee.kernel}'")

    def _xp(self, name: str, node: ast.Call) -> _C:
        args = node.args
        if name == "array":
            if len(args) == 1 and all(k.arg == "copy" for k in node.keywords):
                return self.visit(args[0])
            raise NotElementwise("xp.array with arguments")
        if node.keywords:
            raise NotElementwise(f"xp.{name} with keywords")
        values = [self.visit(a) for a in args]
        uniform = all(v.uniform for v in values)
        if name in XP_UNARY and len(values) == 1:
            return self._call(_C(f"{XP_UNARY[name]}({self.as_t(values[0])})", "T", uniform))
        if name in XP_BINARY and len(values) == 2:
            return self._call(_C(f"{XP_BINARY[name]}({self.as_t(values[0])}, {self.as_t(values[1])})", "T", uniform))
        if name in XP_LOGICAL and len(values) == 2:
            return self._call(_C(f"({self.as_bool(values[0])} {XP_LOGICAL[name]} {self.as_bool(values[1])})", "bool",
                                 uniform))
        if name == "logical_not" and len(values) == 1:
            return self._call(_C(f"(!{self.as_bool(values[0])})", "bool", uniform))
        if name == "where" and len(values) == 3:
            condition, yes, no = values
            return self._call(self._select(self.as_bool(condition), yes, no, condition.uniform))
        raise NotElementwise(f"xp.{name} has no device version")


# ---- emission ---------------------------------------------------------------------------------

def kernel_parameters(plan: KernelPlan, types: dict[str, str] | None = None) -> list[str]:
    """The kernel's parameters, one declaration each: n; for each operand a descriptor (pointer,
    value used where the pointer is null, inner and size of its broadcast, see gs::load); the
    values; one output per computed gradient. `types` maps T, G, A_... to concrete types."""
    types = types or {}
    t = types.get("T", "T")
    params = ["const gs::index_t n"]
    for operand in plan.operands:
        a, name = types.get(type_parameter(operand), type_parameter(operand)), operand.param
        params += [f"const {a}* __restrict__ p_{name}", f"const {t} v_{name}", f"const gs::index_t in_{name}",
                   f"const gs::index_t sz_{name}"]
    params.extend(f"const {t} s_{v}" for v in plan.values)
    params.extend(f"{t}* __restrict__ out_{g.input}" for g in plan.computed)
    return params


def kernel_arguments(plan: KernelPlan) -> list[str]:
    return [p.split()[-1] for p in kernel_parameters(plan)]


def template_parameters(plan: KernelPlan) -> list[str]:
    return ["T", *(type_parameter(o) for o in plan.operands)]


def type_parameter(operand: Operand) -> str:
    return "G" if operand.name == "grad" else f"A_{operand.param}"


def functor_parameters(plan: KernelPlan) -> str:
    return ", ".join([f"const T {o.param}" for o in plan.operands] + [f"const T s_{v}" for v in plan.values])


def functor_arguments(plan: KernelPlan) -> str:
    return ", ".join([o.param for o in plan.operands] + [f"s_{v}" for v in plan.values])


def render(env, spec_label: str, analysis: Analysis, layout) -> dict[str, str]:
    """backward.cuh and backward.cu, through codegen/templates/*.j2."""
    data = dict(spec=spec_label, layout=layout, plans=[p for p in analysis.plans.values() if p.computed],
                forwards=list(analysis.forwards),
                fallbacks=analysis.fallbacks, identities=[p for p in analysis.plans.values() if not p.computed],
                kernel_parameters=kernel_parameters, template_parameters=template_parameters,
                functor_parameters=functor_parameters, functor_arguments=functor_arguments)
    return {name: env.get_template(name + ".j2").render(**data) for name in CUDA_OUTPUTS}


def fused_call(plan: KernelPlan, several: bool) -> FusedCall:
    """What `apply` hands a cupy gradient to: the node's kernel, one launch for every needed
    gradient, and each input's gradient from the launch's outputs."""
    computed = plan.computed
    need = {name: (f"need_{name}" if several else "True") for name in plan.inputs}
    position = {g.input: i for i, g in enumerate(computed)}
    by_input = {g.input: g for g in plan.gradients}
    results = []
    for name in plan.inputs:
        gradient = by_input.get(name)
        if gradient is None:
            results.append("None")
        elif gradient.expr is None:
            results.append(f"grad if {need[name]} else None" if several else "grad")
        else:
            results.append(f"fused[{position[name]}]")
    return FusedCall(plan.node, tuple(o.local for o in plan.operands[1:]), tuple(f"self.{v}" for v in plan.values),
                     tuple(need[g.input] for g in computed), tuple(results),
                     results == [f"fused[{i}]" for i in range(len(computed))])


# ---- host-side verification sources (used by the tests, not written to generated/) ----------

# C++ types of kernel operands (runtime.cuda.C_TYPES) -> codes in host harness symbol names
TYPE_CODES = {"float": "f", "double": "d", "bool": "b", "signed char": "i1", "unsigned char": "u1", "short": "i2",
              "int": "i4", "long long": "i8"}


def instantiation_types(plan: KernelPlan, t: str) -> tuple[str, ...]:
    """(T, G, A...) as the tests instantiate a kernel: everything T, bool-domain operands bool."""
    return (t, *(("bool" if o.domain == "bool" else t) for o in plan.operands))


def instance_name(plan: KernelPlan, types: tuple[str, ...]) -> str:
    """The C++ name of one instantiation: also the name expression cupy compiles."""
    return f"gs::{plan.kernel}<{', '.join(types)}>"


def host_symbol(node: str, types: tuple[str, ...]) -> str:
    """The extern "C" entry point of one instantiation in the host harness."""
    return f"gs_host_{node}_{'_'.join(TYPE_CODES[t] for t in types)}"


def instantiations(plans: list[KernelPlan]) -> str:
    """C++ that instantiates every kernel for float and double (templates alone compile to
    nothing): appended to the kernels' source, for nvcc -cubin."""
    lines = ["", "// every kernel, for float and double: templates alone compile to nothing",
             "void* gs_kernel_instances[] = {"]
    for plan in plans:
        for t in ("float", "double"):
            lines.append(f"    (void*)&{instance_name(plan, instantiation_types(plan, t))},")
    lines.append("};")
    return "\n".join(lines) + "\n"


def host_harness(plans: list[KernelPlan]) -> str:
    """C++ that runs each kernel on the host: a loop over a stand-in grid sets blockIdx and
    threadIdx and calls the very `__global__` function (compiled by g++ as a plain function)."""
    out = ['#include "backward.cu"', "", "gs_dim3 threadIdx, blockIdx, blockDim, gridDim;", ""]
    for plan in plans:
        for t in ("float", "double"):
            types = instantiation_types(plan, t)
            params = kernel_parameters(plan, dict(zip(template_parameters(plan), types)))
            args = kernel_arguments(plan)
            out.append(f'extern "C" void {host_symbol(plan.node, types)}(unsigned grid, unsigned block, '
                       f"{', '.join(params)}) {{")
            out.append("    gridDim = gs_dim3{grid, 1, 1};")
            out.append("    blockDim = gs_dim3{block, 1, 1};")
            out.append("    for (unsigned b = 0; b < grid; ++b) {")
            out.append("        for (unsigned t = 0; t < block; ++t) {")
            out.append("            blockIdx = gs_dim3{b, 0, 0};")
            out.append("            threadIdx = gs_dim3{t, 0, 0};")
            out.append(f"            {instance_name(plan, types)}({', '.join(args)});")
            out.append("        }")
            out.append("    }")
            out.append("}")
            out.append("")
    return "\n".join(out)
