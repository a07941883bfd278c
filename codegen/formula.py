"""The formula language: checking names and emitting the array and differentiable forms.

A formula is a Python expression parsed with `ast`. `analyze` resolves every name against
the entry's schema and the known ops and helpers, and records what backward must save.
`Emitter` rewrites the same tree into source for one of the two Python forms:

* array form: tensors are arrays; ops with a one-overload `forward:` formula are inlined
  (so `cos(self)` becomes `xp.cos(self_)`), other ops call the generated array namespace `A`;
* differentiable form: tensors are Tensors and every op calls the Tensor namespace `T`,
  so the backward itself is recorded when `create_graph=True`.

Helpers (runtime/formulas.py) take the namespace first: `H.sum_to(A, grad, ...)`.
"""

from __future__ import annotations

import ast
import functools
import math
from dataclasses import dataclass
from typing import Mapping

from .schema import Schema

META_ATTRS = {"shape", "ndim", "dtype", "device", "strides"}  # strides: in bytes, as numpy's and cupy's
BINARY_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.MatMult)
UNARY_OPS = (ast.USub, ast.UAdd, ast.Not)
# Array-module functions a `forward:` formula may call, present with the same meaning in numpy and
# cupy, with how many positional arguments each takes and which keywords: no more, since numpy
# ufuncs take an output array as their next positional argument or `out=` (a forward formula that
# wrote into its input would change the caller's tensor behind autograd's back).
_UNARY = ("abs", "arccos", "arcsin", "arctan", "cos", "cosh", "exp", "expm1", "isfinite", "isnan", "log", "log10",
          "log1p", "log2", "logical_not", "negative", "sign", "sin", "sinh", "sqrt", "square", "tan", "tanh")
_BINARY = ("logical_and", "logical_or", "logical_xor", "maximum", "minimum")
XP_FUNCTIONS = {**{name: (1, ()) for name in _UNARY}, **{name: (2, ()) for name in _BINARY},
                "where": (3, ()), "array": (1, ("copy",))}
# Attributes a forward formula may read from its arrays: those numpy and cupy arrays both have.
ARRAY_ATTRS = {"shape", "ndim", "dtype", "size"}
# Bounds on one formula: the spec's own are at most 143 characters and 7 levels deep.
MAX_FORMULA_CHARS = 2000
MAX_FORMULA_DEPTH = 32
MAX_INT_LITERAL = (1 << 63) - 1  # numbers must also be C++ literals in the fused kernels


class FormulaError(Exception):
    def __init__(self, message: str, node: ast.AST, col: int | None = None):
        super().__init__(message)
        self.node = node
        self.col = getattr(node, "col_offset", 0) if col is None else col


@dataclass(frozen=True)
class Signature:
    """How a helper of runtime/formulas.py may be called, from its `def` (read as text): the
    parameters after its first, `ops`, which codegen passes."""

    name: str
    positional: tuple[str, ...]  # those that may be given by position, in order
    required: frozenset[str]
    keywords: frozenset[str]  # every name a keyword may give
    varargs: bool
    varkw: bool

    @classmethod
    def of(cls, function: ast.FunctionDef) -> "Signature":
        args = function.args
        every = [a.arg for a in (*args.posonlyargs, *args.args)]
        first_default = len(every) - len(args.defaults)
        required = set(every[1:first_default]) | {a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None}
        keywords = {a.arg for a in args.args if a.arg != every[0]} | {a.arg for a in args.kwonlyargs}
        return cls(function.name, tuple(every[1:]), frozenset(required), frozenset(keywords), args.vararg is not None,
                   args.kwarg is not None)

    def mismatch(self, positional: int, keywords: list[str | None]) -> str | None:
        """Why a call with `positional` arguments and these keywords does not fit, or None."""
        if positional > len(self.positional) and not self.varargs:
            return f"takes at most {len(self.positional)} arguments after ops, got {positional}"
        given = set(self.positional[:positional])
        for keyword in keywords:
            if keyword is None or (keyword not in self.keywords and not self.varkw):
                return f"has no parameter {keyword!r}" if keyword else "takes no **keywords"
            if keyword in given:
                return f"gets {keyword!r} twice"
            given.add(keyword)
        missing = sorted(self.required - given)
        return f"misses {', '.join(map(repr, missing))}" if missing else None


@dataclass(frozen=True)
class Context:
    ops: frozenset[str]  # the ops formulas may call, by base name: the spec's, and gradspec's for an extension
    helpers: Mapping[str, Signature]  # the helper module's functions that take `ops` first
    kernels: frozenset[str]
    # The overloads of the spec's own ops, whose calls are checked against them (gradspec's ops, which
    # an extension may call, are known by name only: the runtime checks those calls).
    signatures: Mapping[str, tuple[Schema, ...]]


@dataclass(frozen=True)
class Usage:
    """What a backward formula reads, hence what the node must save."""

    grads: frozenset[int] = frozenset()
    tensors: frozenset[str] = frozenset()  # inputs used by bare name
    metadata: frozenset[tuple[str, str]] = frozenset()  # (input, attr)
    values: frozenset[str] = frozenset()  # non-tensor arguments
    outputs: frozenset[str] = frozenset()
    mask: bool = False

    def __or__(self, other: "Usage") -> "Usage":
        """What two formulas of one node read together."""
        return Usage(self.grads | other.grads, self.tensors | other.tensors, self.metadata | other.metadata,
                     self.values | other.values, self.outputs | other.outputs, self.mask or other.mask)


def located(where, error: FormulaError):
    """Turn a FormulaError into a SpecError at the offending node."""
    return where.error(str(error), error.col, getattr(error.node, "lineno", 1) - 1)


def check_size(tree: ast.expr) -> None:
    """Refuse a formula nested deeper than MAX_FORMULA_DEPTH (before anything walks it recursively)
    and numbers that are not finite or do not fit in 64 bits (they must be literals in C++ too)."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_FORMULA_DEPTH:
            raise FormulaError(f"the formula nests more than {MAX_FORMULA_DEPTH} levels deep here: split it with a "
                               "helper in runtime/formulas.py", node)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            if type(node.value) is float and not math.isfinite(node.value):
                raise FormulaError("the float literal overflows to infinity", node)
            if type(node.value) is int and abs(node.value) > MAX_INT_LITERAL:
                raise FormulaError(f"the integer literal does not fit in 64 bits (at most {MAX_INT_LITERAL})", node)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def check_forward(tree: ast.expr, schema: Schema, where) -> None:
    names = {a.name for a in schema.arguments}
    try:
        for node in ast.walk(tree):
            _check_syntax(node)
            if isinstance(node, ast.Call):
                _check_xp_call(node)
            elif isinstance(node, ast.Attribute) and not (isinstance(node.value, ast.Name) and node.value.id == "xp"):
                if node.attr not in ARRAY_ATTRS:
                    raise FormulaError(f"unknown attribute .{node.attr} in a forward formula (arrays have: "
                                       f"{', '.join(sorted(ARRAY_ATTRS))})", node, _attr_col(node))
            elif isinstance(node, ast.Name) and node.id not in names | {"xp"}:
                raise FormulaError(f"name {node.id!r} is not in scope in a forward formula "
                                   f"(arguments: {', '.join(sorted(names))})", node)
    except FormulaError as exc:
        raise located(where, exc) from None


def _check_xp_call(node: ast.Call) -> None:
    func = node.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "xp"):
        raise FormulaError("a forward formula may only call xp.<function>; use 'kernel:' for anything else", node)
    if func.attr not in XP_FUNCTIONS:
        raise FormulaError(f"xp.{func.attr} is not an allowed array function "
                           f"(allowed: {', '.join(sorted(XP_FUNCTIONS))})", func)
    arity, keywords = XP_FUNCTIONS[func.attr]
    for keyword in node.keywords:
        if keyword.arg not in keywords:
            where = "writes into an array, its input's memory" if keyword.arg in ("out", "where") else \
                f"takes {'only ' + ', '.join(keywords) if keywords else 'no keywords'}"
            raise FormulaError(f"xp.{func.attr}(..., {keyword.arg or '**'}=...) is refused: it {where}", keyword)
    if len(node.args) != arity:
        extra = " (numpy's next positional argument is `out`: the array written into)" if len(node.args) > arity else ""
        raise FormulaError(f"xp.{func.attr} takes {arity} positional argument(s) here, not {len(node.args)}{extra}",
                           node.args[arity] if len(node.args) > arity else node)


def analyze(tree: ast.expr, schema: Schema, context: Context, where, shared: bool) -> Usage:
    try:
        return _Analyzer(schema, context, shared).run(tree)
    except FormulaError as exc:
        raise located(where, exc) from None


def _check_syntax(node: ast.AST) -> None:
    allowed = (ast.Name, ast.Constant, ast.Attribute, ast.Call, ast.keyword, ast.Load, ast.Subscript,
               ast.Tuple, ast.List, ast.IfExp, ast.Compare, ast.BoolOp, ast.cmpop, ast.boolop,
               ast.BinOp, ast.UnaryOp, ast.Slice, *BINARY_OPS, *UNARY_OPS)
    if not isinstance(node, allowed):
        raise FormulaError(f"{type(node).__name__} is not allowed in a formula", node)
    if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, bool, type(None))):
        raise FormulaError(f"constant {node.value!r} is not allowed: numbers, True, False, None only", node)


class _Analyzer:
    def __init__(self, schema: Schema, context: Context, shared: bool):
        self.schema, self.context, self.shared = schema, context, shared
        self.found = dict(grads=set(), tensors=set(), metadata=set(), values=set(), outputs=set())
        self.mask = False

    def run(self, tree: ast.expr) -> Usage:
        self.visit(tree, parent=None)
        return Usage(**{key: frozenset(found) for key, found in self.found.items()}, mask=self.mask)

    def visit(self, node: ast.AST, parent: ast.AST | None) -> None:
        _check_syntax(node)
        if isinstance(node, ast.Name):
            self.name(node, parent)
        elif isinstance(node, ast.Attribute):
            self.attribute(node, parent)
        elif isinstance(node, ast.Subscript):
            self.subscript(node)
        elif isinstance(node, ast.Call):
            self.call(node)
        else:
            for child in ast.iter_child_nodes(node):
                self.visit(child, node)

    def name(self, node: ast.Name, parent: ast.AST | None) -> None:
        ident, schema, found = node.id, self.schema, self.found
        argument = schema.argument(ident)
        if ident == "grad":
            if isinstance(parent, ast.Subscript) and parent.value is node:
                raise FormulaError("'grad' is a tensor, not a list: use grads[i] for the i-th output's gradient", node)
            if len(schema.returns) > 1:
                raise FormulaError("'grad' is ambiguous for an op with several outputs: use grads[i]", node)
            found["grads"].add(0)
        elif ident == "grads":
            raise FormulaError("'grads' must be indexed with a constant: grads[i]", node)
        elif ident in schema.returns:
            found["outputs"].add(ident)
        elif ident == "grad_input_mask":
            if not self.shared:
                raise FormulaError("grad_input_mask is only in scope in a key naming several inputs", node)
            self.mask = True
        elif argument is None:
            scope = ["grad", *schema.returns, *(a.name for a in schema.arguments)]
            raise FormulaError(f"name {ident!r} is not in scope (in scope: {', '.join(scope)}, "
                               "ops and helpers as calls)", node)
        elif not argument.is_input:
            found["values"].add(ident)
        elif not (isinstance(parent, ast.Attribute) and parent.attr in META_ATTRS):
            found["tensors"].add(ident)

    def attribute(self, node: ast.Attribute, parent: ast.AST | None) -> None:
        if isinstance(parent, ast.Call) and parent.func is node:
            self.visit(node.value, node)  # method-call receiver: checked by call()
            return
        if node.attr not in META_ATTRS:
            raise FormulaError(f"unknown attribute .{node.attr} (metadata: {', '.join(sorted(META_ATTRS))}; "
                               "ops are called as x.op(...))", node, _attr_col(node))
        target = node.value
        argument = self.schema.argument(target.id) if isinstance(target, ast.Name) else None
        if argument is None or not argument.is_input:
            raise FormulaError(f".{node.attr} is metadata of a tensor input", node)
        self.found["metadata"].add((target.id, node.attr))
        self.visit(target, node)

    def subscript(self, node: ast.Subscript) -> None:
        index = node.slice
        if isinstance(node.value, ast.Name) and node.value.id == "grads":
            if not (isinstance(index, ast.Constant) and type(index.value) is int):
                raise FormulaError("grads must be indexed with a constant integer", node)
            if not 0 <= index.value < len(self.schema.returns):
                raise FormulaError(f"grads[{index.value}] is out of range: {self.schema.full_name} has "
                                   f"{len(self.schema.returns)} output(s)", node)
            self.found["grads"].add(index.value)
            return
        self.visit(node.value, node)
        self.visit(index, node)

    def call(self, node: ast.Call) -> None:
        func, context = node.func, self.context
        if isinstance(func, ast.Name):
            name, receiver = func.id, []
            if name not in context.ops and name not in context.helpers:
                raise FormulaError(f"unknown function or helper {name!r}: not an op of the spec nor a "
                                   "function of the helpers module (runtime/formulas.py) taking `ops` first", func)
        elif isinstance(func, ast.Attribute):
            name, receiver = func.attr, [func.value]  # x.op(...) is op(x, ...)
            if name not in context.ops:
                raise FormulaError(f"unknown method .{name}(): methods must be ops of the spec", func, _attr_col(func))
            self.visit(func, node)
        else:
            raise FormulaError("only ops and helpers can be called", func)
        if name in context.signatures:
            overloads = context.signatures[name]
            if all(bind_arguments(schema, [*receiver, *node.args], node.keywords) is None for schema in overloads):
                given = f"{len(receiver) + len(node.args)} positional argument(s)" + \
                    (f" and the keyword(s) {', '.join(str(k.arg) for k in node.keywords)}" if node.keywords else "")
                raise FormulaError(f"no overload of {name} takes {given}: "
                                   f"{'; '.join(str(s.text).split(' -> ')[0] for s in overloads)}", node)
        elif name not in context.ops:
            problem = context.helpers[name].mismatch(len(node.args), [k.arg for k in node.keywords])
            if problem:
                signature = context.helpers[name]
                raise FormulaError(f"helper {name}() {problem}: it is {name}(ops, {', '.join(signature.positional)}) in "
                                   "runtime/formulas.py", node)
        for child in [*node.args, *(k.value for k in node.keywords)]:
            self.visit(child, node)


def _attr_col(node: ast.Attribute) -> int:
    """The column of the attribute's name in `x.name` (ast gives the receiver's)."""
    return node.end_col_offset - len(node.attr)


def local_name(name: str) -> str:
    """The Python local for an argument inside a node method (`self` is the node there)."""
    return "self_" if name == "self" else name


def saved_slot(name: str) -> str:
    """The node slot holding a saved tensor input or output (PyTorch's `other_`)."""
    return name + "_"


class Emitter:
    """Rewrite a formula tree into one of the two Python forms (`array` or `tensor`), as a new
    tree built in one walk (the spec's tree is never changed)."""

    def __init__(self, schema: Schema, context: Context, form: str, inline: dict[str, tuple[Schema, ast.expr]],
                 mask: str = ""):
        self.schema, self.context, self.form = schema, context, form
        self.inline = inline if form == "array" else {}
        self.namespace = "A" if form == "array" else "T"
        self.mask = mask
        self.uses_xp = False

    def emit(self, tree: ast.expr) -> str:
        return ast.unparse(self.transform(tree))

    def transform(self, tree: ast.expr) -> ast.expr:
        """The formula in this form, as a new tree."""
        return self.visit(tree)

    def visit(self, node: ast.AST) -> ast.AST:
        method = getattr(self, "visit_" + type(node).__name__, None)
        return method(node) if method is not None else self._rebuild(node)

    def _rebuild(self, node: ast.AST) -> ast.AST:
        """A new node of the same type over the visited children (positions are not kept: the
        tree is only unparsed)."""
        new = node.__class__()
        for name, value in ast.iter_fields(node):
            if isinstance(value, ast.AST):
                value = self.visit(value)
            elif isinstance(value, list):
                value = [self.visit(v) if isinstance(v, ast.AST) else v for v in value]
            setattr(new, name, value)
        return new

    def visit_Name(self, node: ast.Name) -> ast.AST:
        ident = node.id
        argument = self.schema.argument(ident)
        if ident == "grad":
            return _expr("grads[0]") if len(self.schema.returns) > 1 else _expr("grad")
        if ident == "grad_input_mask":
            return _expr(self.mask)
        if argument is not None and not argument.is_input:
            return _expr(f"self.{ident}")
        return ast.Name(local_name(ident), ast.Load())

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if node.attr in META_ATTRS and isinstance(node.value, ast.Name):
            return _expr(f"self.{node.value.id}_{node.attr}")
        return self._rebuild(node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        func = node.func
        args = [self.visit(a) for a in node.args]
        keywords = [ast.keyword(k.arg, self.visit(k.value)) for k in node.keywords]
        if isinstance(func, ast.Attribute):  # x.op(...) is op(x, ...)
            name, args = func.attr, [self.visit(func.value), *args]
        else:
            name = func.id
        if name in self.context.helpers and name not in self.context.ops:
            return ast.Call(_expr(f"H.{name}"), [ast.Name(self.namespace, ast.Load()), *args], keywords)
        if name in self.inline:
            inlined = self._inline(name, args, keywords)
            if inlined is not None:
                return inlined
        return ast.Call(_expr(f"{self.namespace}.{name}"), args, keywords)

    def _inline(self, name: str, args: list[ast.expr], keywords: list[ast.keyword]) -> ast.expr | None:
        schema, forward = self.inline[name]
        bound = bind_arguments(schema, args, keywords)
        if bound is None:
            return None
        counts = {n.id: 0 for n in ast.walk(forward) if isinstance(n, ast.Name)}
        for n in ast.walk(forward):
            if isinstance(n, ast.Name):
                counts[n.id] += 1
        # Inlining copies an argument once per use: only do it where that costs nothing.
        if any(counts.get(p, 0) > 1 and not isinstance(v, (ast.Name, ast.Constant, ast.Attribute))
               for p, v in bound.items()):
            return None
        self.uses_xp |= "xp" in counts
        return _FoldConstants().visit(substitute(forward, bound))


def bind_arguments(schema: Schema, args: list[ast.expr], keywords: list[ast.keyword]) -> dict | None:
    """Bind call arguments to the schema's parameters, filling defaults; None if they don't fit."""
    positional = [a for a in schema.arguments if not a.keyword_only]
    if len(args) > len(positional):
        return None
    bound = {a.name: value for a, value in zip(positional, args)}
    for keyword in keywords:
        if keyword.arg in bound or schema.argument(keyword.arg) is None:
            return None
        bound[keyword.arg] = keyword.value
    for argument in schema.arguments:
        if argument.name not in bound:
            if not argument.has_default:
                return None
            bound[argument.name] = ast.Constant(argument.default)
    return bound


class _Substitute(ast.NodeTransformer):
    def __init__(self, bound: dict[str, ast.expr]):
        self.bound = bound

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return copy_tree(self.bound[node.id]) if node.id in self.bound else node


class _FoldConstants(ast.NodeTransformer):
    """Decide `a if 1 == 1 else b` at codegen time: inlined defaults often make the test constant."""

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        parts = [node.left, *node.comparators]
        if len(node.ops) == 1 and all(isinstance(p, ast.Constant) for p in parts):
            left, right = (p.value for p in parts)
            if isinstance(node.ops[0], ast.Eq):
                return ast.Constant(left == right)
            if isinstance(node.ops[0], ast.NotEq):
                return ast.Constant(left != right)
        return node

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.test, ast.Constant):
            return node.body if node.test.value else node.orelse
        return node


@functools.lru_cache(maxsize=None)
def _expr(text: str) -> ast.expr:
    """A small expression's tree, parsed once per text: emitted trees share it, and are only unparsed."""
    return ast.parse(text, mode="eval").body


def copy_tree(node):
    """A deep copy of a syntax tree: copy.deepcopy's result, without its generic machinery."""
    if isinstance(node, ast.AST):
        new = node.__class__()
        for name, value in ast.iter_fields(node):
            setattr(new, name, copy_tree(value))
        for name in node._attributes:
            if hasattr(node, name):
                setattr(new, name, getattr(node, name))
        return new
    if isinstance(node, list):
        return [copy_tree(item) for item in node]
    return node


def substitute(tree: ast.expr, mapping: dict[str, ast.expr]) -> ast.expr:
    """A copy of `tree` with names replaced by the given expressions."""
    return _Substitute(mapping).visit(copy_tree(tree))
