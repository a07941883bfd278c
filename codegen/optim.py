"""optimizers.yaml -> one multi-tensor CUDA kernel per update rule, and the rules' declarations.

Each rule (its keys are documented in optimizers.yaml's header) becomes

* `gs::<name>_step<T>` in optimizers.cu: a grid-stride loop over the elements of every parameter
  of one launch, found through a list passed by value (`<name>_list`: the tensors' data pointers
  by role and their element offsets); each element runs the rule's statements, translated by the
  same translator as the fused backward kernels (codegen/cuda.py), and writes the tensors the
  rule assigns;
* an entry of RULES in optimizers.py: its tensors (in the list's order), the ones it writes, its
  scalars and flags (in the kernel's parameter order), which gradspec.optim.fused launches.

Scalars are passed as double and an expression of scalars and numbers only is computed in double
(as numpy computes Python numbers), then rounded to T where it meets an element: the fused step
agrees with the per-parameter numpy/cupy one bit for bit.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import cuda
from .cuda import NotElementwise, _C, _Translator
from .model import SpecError

FILE = "optimizers.yaml"
OUTPUTS = ("optimizers.cu", "optimizers.py")
LIST = 64  # tensors per launch: the list (pointers by role, offsets) stays under 4 KB of kernel parameters
_KEYS = {"name", "tensors", "scalars", "flags", "update"}


@dataclass(frozen=True)
class Statement:
    target: str
    code: str  # C++ expression
    kind: str  # "T" (per element) or "U" (double, per launch)
    text: str


@dataclass(frozen=True)
class Rule:
    name: str
    tensors: tuple[str, ...]
    scalars: tuple[str, ...]
    flags: tuple[str, ...]
    statements: tuple[Statement, ...]

    @property
    def written(self) -> tuple[str, ...]:
        return tuple(t for t in self.tensors if any(s.target == t for s in self.statements))

    @property
    def locals(self) -> dict[str, str]:
        """Local name -> its C++ type: T if any assignment is per element, else double."""
        kinds: dict[str, str] = {}
        for s in self.statements:
            if s.target not in self.tensors:
                kinds[s.target] = "T" if s.kind == "T" or kinds.get(s.target) == "T" else "double"
        return kinds


class _Update(_Translator):
    """One statement's expression -> C++ over one element (see the module's docstring)."""

    def __init__(self, tensors, scalars, flags, assigned: dict):
        self.tensor_names, self.scalars, self.flags, self.assigned = set(tensors), set(scalars), set(flags), assigned
        self.depth = 0

    @staticmethod
    def as_t(value: _C) -> str:
        return value.code if value.kind == "T" else f"T({value.code})"

    def visit_Constant(self, node: ast.Constant) -> _C:
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return _C(repr(float(node.value)), "U", True)
        return super().visit_Constant(node)

    def visit_Name(self, node: ast.Name) -> _C:
        name = node.id
        if name in self.assigned:  # a local (or a tensor already updated): its current value
            kind = self.assigned[name]
            return _C(f"v_{name}" if name not in self.tensor_names else f"x_{name}", kind, kind == "U")
        if name in self.tensor_names:
            return _C(f"x_{name}", "T", False)
        if name in self.scalars:
            return _C(f"s_{name}", "U", True)
        if name in self.flags:
            return _C(f"f_{name}", "bool", True)
        raise NotElementwise(f"name '{name}' is not a tensor, scalar or flag of the rule, nor assigned before")

    def visit_BinOp(self, node: ast.BinOp) -> _C:
        left, right = self.visit(node.left), self.visit(node.right)
        if left.kind == right.kind == "U":
            if isinstance(node.op, ast.Pow):
                return _C(f"gs::pow({left.code}, {right.code})", "U", True)
            op = cuda._BINARY.get(type(node.op))
            if op is None:
                raise NotElementwise(f"operator {type(node.op).__name__}")
            return _C(f"({left.code} {op} {right.code})", "U", True)
        return super().visit_BinOp(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> _C:
        operand = self.visit(node.operand)
        if operand.kind == "U" and isinstance(node.op, (ast.USub, ast.UAdd)):
            return _C(f"(-{operand.code})" if isinstance(node.op, ast.USub) else operand.code, "U", True)
        return super().visit_UnaryOp(node)

    def visit_Compare(self, node: ast.Compare) -> _C:
        values = [self.visit(node.left)] + [self.visit(c) for c in node.comparators]
        if all(v.kind == "U" for v in values):
            parts = []
            for op, left, right in zip(node.ops, values, values[1:]):
                symbol = cuda._COMPARE.get(type(op))
                if symbol is None:
                    raise NotElementwise(f"comparison {type(op).__name__}")
                parts.append(f"({left.code} {symbol} {right.code})")
            return _C(parts[0] if len(parts) == 1 else f"({' && '.join(parts)})", "bool", True)
        return super().visit_Compare(node)

    def _select(self, condition: str, yes: _C, no: _C, condition_uniform: bool) -> _C:
        if yes.kind == no.kind == "U" and condition_uniform:
            return _C(f"({condition} ? {yes.code} : {no.code})", "U", True)
        return super()._select(condition, yes, no, condition_uniform)

    def visit_Call(self, node: ast.Call) -> _C:
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "xp":
            values = [self.visit(a) for a in node.args]
            if func.attr in cuda.XP_UNARY and len(values) == 1 and values[0].kind == "U" and not node.keywords:
                return _C(f"{cuda.XP_UNARY[func.attr]}({values[0].code})", "U", True)
            return self._xp(func.attr, node)
        raise NotElementwise(f"call of '{ast.unparse(func)}': update rules call xp.<function> only")


def _error(file: str, node, message: str, rule: str = "") -> SpecError:
    """A SpecError located at a YAML node: `file:line:col: message (in rule)`."""
    return SpecError(file, node.start_mark.line + 1, node.start_mark.column + 1, message, rule)


def load(path: Path) -> tuple[Rule, ...]:
    """The rules of an optimizers file; SpecError (`file:line:col: message`) for anything malformed."""
    text = path.read_text()
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise SpecError(path.name, mark.line + 1 if mark else 1, mark.column + 1 if mark else 1,
                        f"not YAML ({getattr(error, 'problem', error)})") from None
    if root is None:
        return ()
    if not isinstance(root, yaml.SequenceNode):
        raise _error(path.name, root, "expected a list of update rules")
    rules, names = [], set()
    for node in root.value:
        if not isinstance(node, yaml.MappingNode):
            raise _error(path.name, node, f"an update rule is a mapping with the keys {', '.join(sorted(_KEYS))}")
        fields = {key.value: value for key, value in node.value}
        unknown, missing = set(fields) - _KEYS, {"name", "tensors", "update"} - set(fields)
        if unknown or missing:
            raise _error(path.name, node, f"unknown keys {sorted(unknown)}" if unknown else f"missing {sorted(missing)}")
        rule = _rule(path.name, fields, names)
        names.add(rule.name)
        rules.append(rule)
    return tuple(rules)


def _names(file: str, fields: dict, key: str) -> tuple[str, ...]:
    node = fields.get(key)
    if node is None:
        return ()
    if not isinstance(node, yaml.SequenceNode) or not all(isinstance(n, yaml.ScalarNode) and n.value.isidentifier()
                                                          for n in node.value):
        raise _error(file, node, f"{key} is a list of names")
    return tuple(n.value for n in node.value)


def _rule(file: str, fields: dict, taken: set) -> Rule:
    name_node = fields["name"]
    name = name_node.value if isinstance(name_node, yaml.ScalarNode) else ""
    if not name.isidentifier() or name in taken:
        raise _error(file, name_node, f"the rule name {name!r} is {'taken' if name in taken else 'not an identifier'}")
    tensors, scalars, flags = (_names(file, fields, k) for k in ("tensors", "scalars", "flags"))
    everything = tensors + scalars + flags
    if len(set(everything)) != len(everything) or not tensors:
        raise _error(file, name_node, "tensors, scalars and flags need distinct names, and at least one tensor", name)
    update = fields["update"]
    if not isinstance(update, yaml.SequenceNode) or not update.value:
        raise _error(file, update, "update is a list of statements", name)
    assigned: dict[str, str] = {}
    statements = []
    for node in update.value:
        text = node.value if isinstance(node, yaml.ScalarNode) else ""
        try:
            tree = ast.parse(text, mode="exec").body
        except SyntaxError as error:
            raise _error(file, node, f"{error.msg} in '{text}'", name) from None
        if len(tree) != 1 or not isinstance(tree[0], ast.Assign) or len(tree[0].targets) != 1 or \
                not isinstance(tree[0].targets[0], ast.Name):
            raise _error(file, node, f"a statement is `name = expression`, got '{text}'", name)
        target = tree[0].targets[0].id
        if target in scalars or target in flags:
            raise _error(file, node, f"{target} is a per-launch {'scalar' if target in scalars else 'flag'}: only "
                                     "tensors and locals are assigned", name)
        try:
            value = _Update(tensors, scalars, flags, assigned).visit(tree[0].value)
        except NotElementwise as error:
            raise _error(file, node, f"not elementwise: {error}", name) from None
        kind = "T" if value.kind == "T" or target in tensors else value.kind
        if kind == "bool":
            raise _error(file, node, f"{target} would be a condition: assign numbers, test flags", name)
        assigned[target] = "T" if kind == "T" or assigned.get(target) == "T" else "U"
        statements.append(Statement(target, value.code if value.kind != "bool" else value.code, kind, text))
    if not any(s.target in tensors for s in statements):
        raise _error(file, update, "the update writes no tensor", name)
    return Rule(name, tensors, scalars, flags, tuple(statements))


def render(env, path: Path) -> dict[str, str]:
    """optimizers.cu and optimizers.py for the rules in `path`."""
    rules = load(path)
    data = dict(spec=path.name, rules=rules, list_size=LIST)
    return {name: env.get_template(name + ".j2").render(**data) for name in OUTPUTS}
