"""Row kernels: a reduction along one dim and an elementwise epilogue, in one CUDA launch.

A *row* is the set of elements of a tensor that differ only in their index along one dim (the
`along` dim): log_softmax normalizes each row, nll_loss picks one element of each. A row kernel
runs one block of threads per row (rows.cu): each reduction over the row is one pass in which
every thread combines a strided share of the elements, then a tree over shared memory
(gs::block_reduce); the elements are then written from the row's reduced values. Values of whole
rows may be reduced again over all rows (a *total*, such as nll_loss's mean): each block combines
its rows, and the last block to finish combines the blocks' partial results, in one launch.

Row kernels come from two places in the spec:

* `rows:` on an entry, the op's forward on cuda, a program of statements `name = expression`
  (derivatives.yaml's header gives the keys). In an expression, `sum(E)`, `amax(E)` and `amin(E)`
  reduce E one level: an element expression over its row, a row expression over all rows;
  `position` is an element's index along the row. Tensors are per element (the default: they
  broadcast to the shape of `over`), per row (`per_row:`, broadcast to the shape without the
  `along` dim) or per position (`per_index:`); an absent optional tensor reads as 0 and
  `x is None` tests it. Assigning an output writes it, per element, per row or as a total,
  whichever its expression is.
* the backward formulas of a node that are elementwise but for keepdim sums along one int
  argument, `sum(E, [dim], True)`: LogSoftmaxBackward0's `grad - exp(result) * sum(grad, [dim],
  True)` is one pass for the sum and one writing the gradient. These need no declaration.

Everything elementwise is translated by codegen/cuda.py's translator, so the rules of
docs/cuda.md ("Which formulas are elementwise") hold inside row kernels too.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from . import formula
from .cuda import _C, NotElementwise, _Translator
from .model import Entry, RowsDecl, SpecError, Where

UNIFORM, TOTAL, ROW, ELEMENT = "uniform", "total", "row", "element"
REDUCTIONS = {"sum": "Sum", "amax": "Max", "amin": "Min"}
BLOCK = 256  # the most threads per row block (rows.cu's shared memory holds one value per thread)


@dataclass(frozen=True)
class RowOperand:
    name: str  # the spec's name: an input, `grad`, or an output (`result`)
    local: str  # the Python local holding its array
    param: str  # its C++ value inside the kernel
    kind: str  # ELEMENT, ROW or "index"


@dataclass(frozen=True)
class Reduction:
    name: str  # its value is v_<name>
    combine: str  # gs::Sum, gs::Max, gs::Min
    code: str  # the C++ expression reduced
    uses: frozenset[str]  # the operands (params) it reads per element
    after: frozenset[str]  # row values it needs first


@dataclass(frozen=True)
class RowValue:
    """A value computed once per row (or, for totals, once in the end) by every thread."""

    name: str
    code: str
    after: frozenset[str]


@dataclass(frozen=True)
class Output:
    name: str  # the output (or, for a node, the input whose gradient it is)
    code: str
    uses: frozenset[str]


@dataclass(frozen=True)
class RowPlan:
    """One row kernel: what it reads, the order of its passes, and what it writes."""

    name: str  # the kernel is gs::<name>_rows
    entry: Entry
    node: bool  # a backward node's kernel (else the op's forward)
    along: str  # Python: the dim, over the op's arguments (or the node's saved values)
    when: str  # Python: the condition for the kernel ("" for always)
    check: str  # the kernel-module function that checks the arguments first ("" for none)
    operands: tuple[RowOperand, ...]  # the `over` tensor first
    values: tuple[str, ...]  # non-tensor arguments the kernel takes
    steps: tuple[tuple[Reduction, ...] | RowValue, ...]  # per row, in order: passes and row values
    element_outputs: tuple[Output, ...]
    row_outputs: tuple[Output, ...]  # their values are the row values of the same name
    totals: tuple[Reduction, ...]  # row expressions reduced over all rows
    total_values: tuple[RowValue, ...]
    total_outputs: tuple[Output, ...]
    outputs: tuple[tuple[str, str], ...]  # (name, kind) of every output, in the kernel's order

    @property
    def kernel(self) -> str:
        return f"{self.name}_rows"

    @property
    def constant(self) -> str:
        """The Python name of its declaration in rows.py."""
        return f"{self.name.strip('_').upper()}_ROWS"

    @property
    def passes(self) -> tuple[tuple[Reduction, ...], ...]:
        return tuple(s for s in self.steps if isinstance(s, tuple))

    @property
    def reduces(self) -> bool:
        return bool(self.passes or self.totals)


@dataclass(frozen=True)
class RowsAnalysis:
    forward: Mapping[str, RowPlan]  # function name -> the op's row kernel
    backward: Mapping[str, RowPlan]  # node name -> the node's row kernel

    @property
    def plans(self) -> list[RowPlan]:
        return [*self.forward.values(), *self.backward.values()]


def analyze(entries, context: formula.Context, by_base, fallbacks: Mapping[str, str]) -> RowsAnalysis:
    """The row kernels of the entries' `rows:` programs, and of the nodes without an elementwise
    kernel (`fallbacks`) whose formulas are row reductions."""
    forward, backward = {}, {}
    for entry in entries:
        if entry.rows is not None:
            forward[entry.function_name] = _program(entry, entry.rows, context, by_base)
        if entry.differentiable and entry.node_name in fallbacks:
            try:
                backward[entry.node_name] = _node(entry, context, by_base)
            except NotElementwise:
                pass
    return RowsAnalysis(MappingProxyType(forward), MappingProxyType(backward))


# ---- translation ------------------------------------------------------------------------------

class _RowTranslator(_Translator):
    """Formula -> C++ per element, as codegen/cuda.py's, knowing what varies per row and per
    element, and hoisting each reduction into a value of its own (`v_r<k>`)."""

    def __init__(self, entry: Entry, context, by_base, kinds: dict[str, str], locals_: dict, along: str | None):
        super().__init__(entry, context, by_base)
        self.kinds = kinds  # tensor name -> ELEMENT, ROW or "index"
        self.named = locals_  # assigned name -> (_C, levels, uses, after) of its value
        self.along = along  # the backward form: the int argument of `sum(E, [along], True)`
        self.reductions: list[tuple[Reduction, str]] = []  # with the level of the value
        self.levels: set[str] = set()
        self.uses: set[str] = set()
        self.after: set[str] = set()

    def expression(self, tree: ast.expr) -> tuple[_C, str, frozenset[str], frozenset[str]]:
        """(value, level, operands read per element, row values needed)."""
        self.levels, self.uses, self.after = set(), set(), set()
        value = self.visit(tree)
        return value, _level(self.levels, tree), frozenset(self.uses), frozenset(self.after)

    def visit_Name(self, node: ast.Name) -> _C:
        ident = node.id
        if ident in self.named:
            value, levels, uses, after = self.named[ident]
            self.levels |= levels
            self.uses |= uses
            self.after |= after
            return value
        backward = self.along is not None
        if ident == "position" and not backward:
            self.levels.add(ELEMENT)
            return _C("T(j)", "T", False)
        if backward and (ident == "grad" or ident in self.schema.returns):
            value = super().visit_Name(node)
        elif ident in self.kinds:  # optional tensors too: an absent one reads as 0
            self.tensors.add(ident)
            value = _C(f"x_{ident}", "T", False)
        else:
            return super().visit_Name(node)
        kind = self.kinds.get(ident, ELEMENT)
        self.levels.add(ROW if kind == ROW else ELEMENT)
        if kind != ROW:
            self.uses.add(value.code)
        return value

    def visit_Compare(self, node: ast.Compare) -> _C:
        if len(node.ops) == 1 and isinstance(node.ops[0], (ast.Is, ast.IsNot)):
            left, right = node.left, node.comparators[0]
            argument = self.schema.argument(left.id) if isinstance(left, ast.Name) else None
            if argument is None or not argument.optional or not argument.is_tensor or \
                    not (isinstance(right, ast.Constant) and right.value is None):
                raise NotElementwise(f"'is' tests only an optional tensor against None in '{ast.unparse(node)}'")
            symbol = "==" if isinstance(node.ops[0], ast.Is) else "!="
            self.tensors.add(left.id)
            return _C(f"(p_x_{left.id} {symbol} nullptr)", "bool", True)
        return super().visit_Compare(node)

    def visit_Call(self, node: ast.Call) -> _C:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        if self.along is None and name in REDUCTIONS:
            if len(node.args) != 1 or node.keywords:
                raise NotElementwise(f"{name}() in rows: takes one expression, reduced along the row")
            return self._reduce(REDUCTIONS[name], node.args[0])
        if self.along is not None and name == "sum" and self._keepdim_sum(node):
            return self._reduce("Sum", node.args[0])
        return super().visit_Call(node)

    def _keepdim_sum(self, node: ast.Call) -> bool:
        """`sum(E, [along], True)`: a sum along the kernel's dim that keeps it."""
        args = node.args
        return (len(args) == 3 and not node.keywords and isinstance(args[1], ast.List) and len(args[1].elts) == 1
                and isinstance(args[1].elts[0], ast.Name) and args[1].elts[0].id == self.along
                and isinstance(args[2], ast.Constant) and args[2].value is True)

    def _reduce(self, combine: str, tree: ast.expr) -> _C:
        outer = self.levels, self.uses, self.after
        value, level, uses, after = self.expression(tree)
        self.levels, self.uses, self.after = outer
        if level == ELEMENT:
            reduced = ROW
        elif level == ROW:
            reduced = TOTAL
        else:
            raise NotElementwise(f"'{ast.unparse(tree)}' is not per element nor per row: nothing to reduce")
        name = f"r{len(self.reductions)}"
        self.reductions.append((Reduction(name, f"gs::{combine}", self.as_t(value), uses, after), reduced))
        self.levels.add(reduced)
        if reduced == ROW:
            self.after.add(name)
        return _C(f"v_{name}", "T", False)


def _level(levels: set[str], tree: ast.expr) -> str:
    if TOTAL in levels and (ROW in levels or ELEMENT in levels):
        raise NotElementwise(f"'{ast.unparse(tree)}' mixes a total (known once every row is done) with values "
                             "of one row")
    for level in (ELEMENT, ROW, TOTAL):
        if level in levels:
            return level
    return UNIFORM


# ---- a `rows:` program ------------------------------------------------------------------------

def _program(entry: Entry, rows: RowsDecl, context, by_base) -> RowPlan:
    schema = entry.schema

    def fail(where: Where, message: str):
        raise SpecError(where.path, where.line, where.col, f"rows: {message}", where.entry)

    tensors = [a.name for a in schema.tensor_arguments]
    over = rows.over or (tensors[0] if tensors else None)
    if over not in tensors or schema.argument(over).optional:
        fail(rows.where, f"over: must name a (non-optional) tensor argument, not {over!r}")
    kinds = {name: ELEMENT for name in tensors}
    for key, names, kind in (("per_row", rows.per_row, ROW), ("per_index", rows.per_index, "index")):
        for name in names:
            if name not in tensors or name == over:
                fail(rows.where, f"{key}: {name!r} is not a tensor argument other than {over!r}")
            kinds[name] = kind
    if any(a.is_tensor_list for a in schema.tensor_arguments):
        fail(rows.where, "an op with a Tensor[] argument has no row kernel")
    if len(schema.returns) != len(set(schema.returns)):
        fail(rows.where, "outputs need distinct names")
    if schema.argument("out") is not None:  # the local of its function in rows.py
        fail(rows.where, "an op with an argument named 'out' has no row kernel")
    along = _python(rows.along, rows.along_where, schema, "along")
    when = _python(rows.when, rows.when_where, schema, "when") if rows.when is not None else ""
    if rows.check is not None and rows.check not in context.kernels:
        fail(rows.where, f"check: {rows.check!r} is not a function of the kernels module")
    named: dict = {}
    translator = _RowTranslator(entry, context, by_base, kinds, named, None)
    builder = _Builder()
    for statement in rows.statements:
        target = statement.target
        if target in named or (schema.argument(target) is not None) or target == "position":
            fail(statement.where, f"{target!r} is already a name (an argument, `position`, or assigned before)")
        try:
            value, level, uses, after = translator.expression(statement.tree)
        except NotElementwise as error:
            fail(statement.where, f"not a row kernel: {error}")
        builder.add_reductions(translator)
        if target in schema.returns:
            if level == UNIFORM:
                fail(statement.where, f"output {target!r} does not depend on a tensor")
            builder.output(target, level, translator.as_t(value), uses, after)
            if level != ELEMENT:
                value = _C(f"v_{target}", "T", False)
                after = frozenset({target}) if level == ROW else frozenset()
        elif level in (ROW, TOTAL):
            builder.value(target, level, translator.as_t(value), after)
            value = _C(f"v_{target}", "T", False)
            after = frozenset({target}) if level == ROW else frozenset()
        else:  # an element or uniform local: inlined where used
            value = _C(f"({value.code})", value.kind, value.uniform)
        named[target] = (value, {level}, uses, after)
    missing = [o for o in schema.returns if o not in named]
    if missing:
        fail(rows.where, f"the program does not assign the output(s) {missing}")
    operands = [RowOperand(over, over, f"x_{over}", ELEMENT)] + [
        RowOperand(name, name, f"x_{name}", kinds[name]) for name in tensors
        if name != over and name in translator.tensors]
    values = tuple(a.name for a in schema.arguments if a.name in translator.values)
    return builder.plan(entry.function_name, entry, False, along, when, rows.check or "", operands, values,
                        [(o, builder.kind_of(o)) for o in schema.returns])


def _python(tree: ast.expr, where: Where, schema, key: str) -> str:
    """`along:` or `when:` as Python over the op's arguments: names of arguments, numbers,
    arithmetic, comparisons, conditionals and tensors' `.ndim`/`.shape`."""
    for node in ast.walk(tree):
        problem = None
        if isinstance(node, ast.Name) and schema.argument(node.id) is None:
            problem = f"{node.id!r} is not an argument"
        elif isinstance(node, ast.Attribute) and node.attr not in ("ndim", "shape"):
            problem = f"attribute {node.attr!r} (only .ndim and .shape)"
        elif isinstance(node, (ast.Call, ast.Lambda, ast.NamedExpr, ast.Starred, ast.Await, ast.Yield)):
            problem = f"{type(node).__name__}"
        if problem:
            raise SpecError(where.path, where.line, where.col, f"rows: {key}: {problem}", where.entry)
    return ast.unparse(tree)


# ---- a node's formulas with keepdim sums ------------------------------------------------------

def _node(entry: Entry, context, by_base) -> RowPlan:
    """The row kernel of a node whose formulas are elementwise but for `sum(E, [dim], True)`
    over one int argument `dim`; NotElementwise if they are not."""
    schema = entry.schema
    if len(schema.returns) != 1 or entry.not_implemented:
        raise NotElementwise("several outputs, or a not_implemented input")
    dims = {call.args[1].elts[0].id for d in entry.derivatives for call in ast.walk(d.tree)
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "sum"
            and len(call.args) == 3 and isinstance(call.args[1], ast.List) and len(call.args[1].elts) == 1
            and isinstance(call.args[1].elts[0], ast.Name)}
    if len(dims) != 1:
        raise NotElementwise("no keepdim sum along one argument")
    along = dims.pop()
    argument = schema.argument(along)
    if argument is None or argument.type != "int" or argument.optional:
        raise NotElementwise(f"'{along}' is not an int argument")
    kinds = {a.name: ELEMENT for a in schema.tensor_arguments}
    translator = _RowTranslator(entry, context, by_base, kinds, {}, along)
    builder = _Builder()
    for derivative in entry.derivatives:
        if len(derivative.inputs) > 1:
            raise NotElementwise("a shared key")
        value, level, uses, after = translator.expression(derivative.tree)
        if level != ELEMENT:
            raise NotElementwise(f"'{derivative.text}' is not per element")
        builder.add_reductions(translator)
        builder.output(derivative.inputs[0], ELEMENT, translator.as_t(value), uses, after)
    if not builder.passes_pending:
        raise NotElementwise("no reduction")
    operands = [RowOperand("grad", "grad", "grad", ELEMENT)]
    operands += [RowOperand(a.name, formula.local_name(a.name), f"x_{a.name}", ELEMENT)
                 for a in schema.tensor_arguments if a.name in translator.tensors]
    operands += [RowOperand(o, formula.local_name(o), f"y_{o}", ELEMENT) for o in schema.returns
                 if o in translator.outputs]
    values = tuple(a.name for a in schema.arguments if a.name in translator.values)
    order = [a.name for a in schema.tensor_arguments]
    outputs = sorted(((d.inputs[0], ELEMENT) for d in entry.derivatives), key=lambda o: order.index(o[0]))
    return builder.plan(entry.node_name, entry, True, along, "", "", operands, values, outputs)


# ---- ordering the passes ----------------------------------------------------------------------

class _Builder:
    """Collects reductions, row values and outputs, then orders them into passes: every reduction
    whose inputs are known joins the next pass, so independent reductions share one."""

    def __init__(self):
        self.row_reductions: list[Reduction] = []
        self.row_values: list[RowValue] = []
        self.totals: list[Reduction] = []
        self.total_values: list[RowValue] = []
        self.outputs: dict[str, tuple[str, Output]] = {}
        self.taken = 0  # reductions of the translator already collected

    @property
    def passes_pending(self) -> bool:
        return bool(self.row_reductions)

    def add_reductions(self, translator: _RowTranslator) -> None:
        for reduction, level in translator.reductions[self.taken:]:
            (self.row_reductions if level == ROW else self.totals).append(reduction)
        self.taken = len(translator.reductions)

    def output(self, name: str, level: str, code: str, uses, after) -> None:
        self.outputs[name] = (level, Output(name, code, frozenset(uses)))
        if level in (ROW, TOTAL):
            self.value(name, level, code, after)

    def value(self, name: str, level: str, code: str, after) -> None:
        (self.row_values if level == ROW else self.total_values).append(RowValue(name, code, frozenset(after)))

    def kind_of(self, name: str) -> str:
        return self.outputs[name][0]

    def plan(self, name, entry, node, along, when, check, operands, values, outputs) -> RowPlan:
        steps, known = [], set()
        reductions, row_values = list(self.row_reductions), list(self.row_values)
        while reductions or row_values:
            ready = [v for v in row_values if v.after <= known]
            for value in ready:
                steps.append(value)
                known.add(value.name)
                row_values.remove(value)
            batch = tuple(r for r in reductions if r.after <= known)
            if batch:
                steps.append(batch)
                known |= {r.name for r in batch}
                reductions = [r for r in reductions if r not in batch]
            elif not ready:
                raise NotElementwise("row values depend on each other in a cycle")
        by_kind = {ELEMENT: [], ROW: [], TOTAL: []}
        for level, output in self.outputs.values():
            by_kind[level].append(output)
        return RowPlan(name, entry, node, along, when, check, tuple(operands), values, tuple(steps),
                       tuple(by_kind[ELEMENT]), tuple(by_kind[ROW]), tuple(self.totals), tuple(self.total_values),
                       tuple(by_kind[TOTAL]), tuple(outputs))


# ---- emission ---------------------------------------------------------------------------------

def node_parameters(plan: RowPlan) -> list[str]:
    """The parameters of a node's row function in rows.py: its operands, its dim, its values."""
    return [o.local for o in plan.operands] + list(dict.fromkeys((plan.along, *plan.values)))


def node_arguments(plan: RowPlan) -> list[str]:
    """What the node's apply_fused passes them: the locals of its prelude, its saved values."""
    return [o.local for o in plan.operands] + [f"self.{v}" for v in dict.fromkeys((plan.along, *plan.values))]


def type_parameters(plan: RowPlan) -> list[str]:
    return ["T", *(f"A_{o.param}" for o in plan.operands)]


def kernel_parameters(plan: RowPlan) -> list[str]:
    """rows, length and inner (the geometry: element (o, j, k) of the `over` tensor viewed as
    [outer, length, inner] is at o * length * inner + j * inner + k; row r is (r / inner, r % inner)),
    a descriptor per operand (see gs::load), the values, the outputs, and for totals the blocks'
    partial results and the counter of finished blocks."""
    params = ["const gs::index_t rows", "const gs::index_t length", "const gs::index_t inner"]
    for o in plan.operands:
        params += [f"const A_{o.param}* __restrict__ p_{o.param}", f"const T v_{o.param}",
                   f"const gs::index_t in_{o.param}", f"const gs::index_t sz_{o.param}"]
    params += [f"const T s_{v}" for v in plan.values]
    params += [f"T* __restrict__ out_{name}" for name, _ in plan.outputs]
    if plan.totals:
        params += ["T* partials", "unsigned* counter"]
    return params


def kernel_body(plan: RowPlan) -> list[str]:
    """The kernel's statements, indented for the template."""
    lines: list[str] = []
    if plan.reduces:
        lines.append(f"__shared__ T scratch[{BLOCK}];")
    for t in plan.totals:
        lines.append(f"T a_{t.name} = {t.combine}().template identity<T>();")
    lines.append("for (index_t row = blockIdx.x; row < rows; row += gridDim.x) {")
    body = ["const index_t base = (row / inner) * length * inner + row % inner;"]
    for o in plan.operands:
        if o.kind == ROW:
            body.append(f"const T {o.param} = {_load(o, 'row')};")
    for step in plan.steps:
        if isinstance(step, RowValue):
            body.append(f"const T v_{step.name} = {step.code};")
            continue
        for r in step:
            body.append(f"T a_{r.name} = {r.combine}().template identity<T>();")
        statements = [f"a_{r.name} = {r.combine}()(a_{r.name}, {r.code});" for r in step]
        body += _element_loop(plan, set().union(*(r.uses for r in step)), statements)
        for r in step:
            body.append(f"const T v_{r.name} = gs::block_reduce(a_{r.name}, scratch, {r.combine}());")
    if plan.element_outputs:
        statements = [f"if (out_{o.name} != nullptr) out_{o.name}[i] = {o.code};" for o in plan.element_outputs]
        body += _element_loop(plan, set().union(*(o.uses for o in plan.element_outputs)), statements, index=True)
    if plan.row_outputs or plan.totals:
        body.append("if (threadIdx.x == 0) {")
        body += [f"    if (out_{o.name} != nullptr) out_{o.name}[row] = v_{o.name};" for o in plan.row_outputs]
        body += [f"    a_{t.name} = {t.combine}()(a_{t.name}, {t.code});" for t in plan.totals]
        body.append("}")
    lines += ["    " + line for line in body] + ["}"]
    if plan.totals:
        lines += _totals(plan)
    return lines


def _element_loop(plan: RowPlan, uses: set[str], statements: list[str], index: bool = False) -> list[str]:
    loads = [o for o in plan.operands if o.param in uses and o.kind != ROW]
    lines = ["for (index_t j = threadIdx.x; j < length; j += blockDim.x) {"]
    if index or any(o.kind == ELEMENT for o in loads):
        lines.append("    const index_t i = base + j * inner;")
    lines += [f"    const T {o.param} = {_load(o, 'i' if o.kind == ELEMENT else 'j')};" for o in loads]
    lines += ["    " + s for s in statements] + ["}"]
    return lines


def _load(operand: RowOperand, at: str) -> str:
    p = operand.param
    return f"load<T>(p_{p}, v_{p}, in_{p}, sz_{p}, {at})"


def _totals(plan: RowPlan) -> list[str]:
    """Each block's thread 0 stores its partial results; the last block to finish (counted on
    `counter`, which it resets for the next launch) combines them in block order and writes the
    total outputs."""
    lines = ["__shared__ bool last;", "if (threadIdx.x == 0) {"]
    lines += [f"    partials[{k} * gridDim.x + blockIdx.x] = a_{t.name};" for k, t in enumerate(plan.totals)]
    lines += ["    __threadfence();", "    last = atomicAdd(counter, 1u) == gridDim.x - 1;", "}", "__syncthreads();",
              "if (last) {", "    const volatile T* const done = partials;"]
    for k, t in enumerate(plan.totals):
        lines += [f"    T b_{t.name} = {t.combine}().template identity<T>();",
                  "    for (unsigned b = threadIdx.x; b < gridDim.x; b += blockDim.x)",
                  f"        b_{t.name} = {t.combine}()(b_{t.name}, done[{k} * gridDim.x + b]);",
                  f"    const T v_{t.name} = gs::block_reduce(b_{t.name}, scratch, {t.combine}());"]
    lines += [f"    const T v_{v.name} = {v.code};" for v in plan.total_values]
    lines.append("    if (threadIdx.x == 0) {")
    lines += [f"        if (out_{o.name} != nullptr) out_{o.name}[0] = v_{o.name};" for o in plan.total_outputs]
    lines += ["        *counter = 0;", "    }", "}"]
    return lines


def render(env, spec_label: str, analysis: RowsAnalysis, layout) -> dict[str, str]:
    """rows.cu (the kernels) and rows.py (their declarations, and each op's choice between its
    row kernel and its array kernel)."""
    data = dict(spec=spec_label, layout=layout, forward=list(analysis.forward.values()),
                backward=list(analysis.backward.values()), block=BLOCK, kernel_parameters=kernel_parameters,
                type_parameters=type_parameters, kernel_body=kernel_body, node_parameters=node_parameters)
    return {name: env.get_template(name + ".j2").render(**data) for name in ("rows.cu", "rows.py")}
