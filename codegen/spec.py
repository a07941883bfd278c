"""Load a spec file into the compiler's frozen model (codegen/model.py), reporting errors as
FILE:LINE:COL.

One pass over the YAML reads each entry's keys into a private draft; then the node names are
derived, every formula is analyzed against the whole spec's ops, and each draft is frozen into
its Entry; the bindings, node and op plans and kernel plans follow (codegen/plan.py). Every step
is linear in the number of entries.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import yaml

from . import formula, plan, reserved, source
from .model import (Bindings, Composite, Derivative, Entry, RowsDecl, RowStatement, Spec, SpecError, SpecText, Where,
                    frozen_mapping)
from .schema import Schema, SchemaError, parse_schema

ENTRY_KEYS = {"name", "forward", "kernel", "output_differentiability", "test", "dtype", "inplace", "variants", "rows"}
ROWS_KEYS = {"along", "do", "when", "over", "per_row", "per_index", "check"}
COMPOSITE_KEYS = {"composite", "variants"}
VARIANTS = ("function", "method")  # where a name is bound: gradspec.NAME, Tensor.NAME
PROMOTIONS = {"common", "float"}
MARKERS = {"non_differentiable", "not_implemented"}
DOMAINS = {"real", "positive", "nonzero", "unit", "probability", "bool"}
TEST_KEYS = {"domain", "cases", "order"}
MAX_SCHEMA_CHARS = 1000  # the spec's longest schema is about 300 characters


@dataclass
class _DraftDerivative:
    inputs: tuple[str, ...]
    text: str
    tree: ast.expr
    where: Where


@dataclass
class _Draft:
    """One entry while its YAML keys are read; frozen into a model Entry once they all are."""

    schema: Schema
    where: Where
    forward: ast.expr | None = None
    forward_text: str = ""
    forward_where: Where | None = None
    kernel: str = ""
    kernel_where: Where | None = None
    derivatives: list[_DraftDerivative] = field(default_factory=list)
    non_differentiable: set[str] = field(default_factory=set)
    not_implemented: set[str] = field(default_factory=set)
    output_differentiability: tuple[bool, ...] = ()
    test: dict = field(default_factory=dict)
    promotion: str = ""
    inplace: bool = False
    variants: tuple[str, ...] | None = None
    variants_where: Where | None = None
    rows: RowsDecl | None = None

    def formula_for(self, name: str) -> _DraftDerivative | None:
        return next((d for d in self.derivatives if name in d.inputs), None)


def load_spec(path: Path, helpers_path: Path | None, kernels_path: Path | None, composites_path: Path | None = None,
              display_path: str | None = None, base_ops: frozenset[str] = frozenset()) -> Spec:
    """The checked, frozen model. The helpers, kernels and composites modules are read as text
    (None: the spec has none); composites default to those beside the helpers. `base_ops` are
    the ops of the package a spec extends (gradspec's): its formulas may call them, and its own
    ops may not take their names."""
    shown = display_path or path.name
    if composites_path is None and helpers_path is not None:
        composites_path = helpers_path.parent / "composites"
    root = source.read_nodes(path, shown)
    if root is not None and not isinstance(root, yaml.SequenceNode):
        raise _at(shown, root, "the spec must be a list of entries")
    drafts, composites = [], []
    node_attributes = reserved.node_attributes()
    for node in root.value if root is not None else ():
        if isinstance(node, yaml.MappingNode) and any(key.value == "composite" for key, _ in node.value):
            composites.append(_load_composite(shown, node))
        else:
            drafts.append(_load_entry(shown, node, node_attributes))
    if not drafts and not composites:
        raise SpecError(shown, 1, 1, "the spec has no entries: codegen would write generated/ without a single op")
    _check_unique(drafts)
    grouped: dict[str, list[_Draft]] = {}
    for draft in drafts:
        grouped.setdefault(draft.schema.base, []).append(draft)
    for base, overloads in grouped.items():
        if base in base_ops:
            raise overloads[0].where.error(f"op {base!r} is already an op of the package this spec extends "
                                           "(gradspec): name this spec's op otherwise")
    names = _node_names(drafts, grouped)
    context = formula.Context(ops=frozenset(grouped) | base_ops, helpers=_helpers(helpers_path),
                              kernels=_top_level_names(kernels_path),
                              signatures=frozen_mapping({base: tuple(d.schema for d in overloads)
                                                         for base, overloads in grouped.items()}))
    entries = tuple(_freeze(draft, *names[draft.schema.full_name], context) for draft in drafts)
    by_base: dict[str, list[Entry]] = {}
    for entry in entries:
        by_base.setdefault(entry.schema.base, []).append(entry)
    by_base = frozen_mapping({base: tuple(overloads) for base, overloads in by_base.items()})
    bindings = _bindings(by_base, composites, _top_level_names(composites_path))
    return plan.build(shown, entries, tuple(composites), context, by_base, bindings)


def _value(path: str, node: yaml.Node, label: str):
    """The plain Python value of a YAML node (lists, mappings, numbers, strings), as safe_load reads
    it (source.py allows YAML's core tags only, and bounds the nesting)."""
    try:
        return _CONSTRUCTOR.construct_document(node)
    except yaml.YAMLError as error:  # an unhashable key
        mark = getattr(error, "problem_mark", None) or node.start_mark
        raise SpecError(path, mark.line + 1, mark.column + 1, f"YAML error: {getattr(error, 'problem', error)}",
                        label) from None


_CONSTRUCTOR = yaml.SafeLoader("")  # construct_document starts afresh each call: one serves every node


def _at(path: str, node: yaml.Node, message: str, entry: str = "") -> SpecError:
    return SpecError(path, node.start_mark.line + 1, node.start_mark.column + 1, message, entry)


def _where(path: str, node: yaml.Node, entry: str) -> Where:
    # Plain and quoted scalars: formula column 0 is the scalar's first character (after a quote).
    quote = 1 if getattr(node, "style", None) in ("'", '"') else 0
    return Where(path, node.start_mark.line + 1, node.start_mark.column + 1 + quote, entry)


def _load_entry(path: str, node: yaml.Node, node_attributes: frozenset[str]) -> _Draft:
    if not isinstance(node, yaml.MappingNode):
        raise _at(path, node, "each entry must be a mapping with a 'name:' key")
    items = {}
    for key_node, value_node in node.value:
        key = _key(path, key_node)
        if key in items:
            raise _at(path, key_node, f"key {key!r} appears twice in one entry")
        items[key] = (key_node, value_node)
    if "name" not in items:
        raise _at(path, node, "entry has no 'name:' key")
    name_node = items.pop("name")[1]
    if not isinstance(name_node, yaml.ScalarNode) or len(name_node.value) > MAX_SCHEMA_CHARS:
        raise _at(path, name_node, f"'name:' takes a schema, a string of at most {MAX_SCHEMA_CHARS} characters")
    try:
        schema = parse_schema(SpecText(name_node.value))
    except SchemaError as exc:
        where = _where(path, name_node, "")
        raise where.error(f"bad schema: {exc}", exc.column) from None
    label = schema.full_name
    entry = _Draft(schema, _where(path, name_node, label))
    _check_names(entry, node_attributes)
    entry.output_differentiability = (True,) * len(schema.returns)
    for key, (key_node, value_node) in items.items():
        _load_key(entry, path, key, key_node, value_node)
    if entry.forward is None and not entry.kernel:
        raise _at(path, name_node, "entry needs exactly one of a 'forward:' formula and a 'kernel:' name", label)
    if entry.forward is not None and entry.kernel:
        second = max((items[k][0] for k in ("forward", "kernel")), key=lambda n: n.start_mark.index)
        raise _at(path, second, "entry needs exactly one of a 'forward:' formula and a 'kernel:' name", label)
    return entry


def _check_names(entry: _Draft, node_attributes: frozenset[str]) -> None:
    """The op's, arguments' and outputs' names against those the generated code uses (reserved.py)
    and against each other."""
    schema, where = entry.schema, entry.where
    found = reserved.problem(schema.base, "op")
    if found:
        raise where.error(found)
    inputs = [a.name for a in schema.tensor_arguments]
    derived = {f"{prefix}{name}": name for name in inputs for prefix in ("grad_", "need_")}
    derived.update({f"{name}_{attr}": name for name in inputs for attr in formula.META_ATTRS})
    for argument in schema.arguments:
        found = reserved.problem(argument.name, "tensor input" if argument.is_input else "argument")
        if found is None and not argument.is_input and argument.name in node_attributes:
            found = (f"argument {argument.name!r} is an attribute of the backward node (runtime/node.py), where "
                     "the argument is saved")
        if found is None and argument.name in derived:
            found = (f"argument {argument.name!r} is the name generated code derives from the input "
                     f"{derived[argument.name]!r}")
        if found:
            raise where.error(found, argument.column)
    arguments = {a.name for a in schema.arguments}
    for output, column in zip(schema.returns, schema.output_columns):
        found = None if output == "result" else reserved.problem(output, "output")
        if found is None and output in arguments:
            found = f"output {output!r} has the name of an argument: name it differently"
        if found is None and output in derived:
            found = f"output {output!r} is the name generated code derives from the input {derived[output]!r}"
        if found:
            raise where.error(found, column)


def _load_key(entry: _Draft, path: str, key: str, key_node: yaml.Node, value_node: yaml.Node) -> None:
    label = entry.schema.full_name
    if key in ("forward", "kernel") or key not in ENTRY_KEYS:
        if not isinstance(value_node, yaml.ScalarNode):
            raise _at(path, value_node, f"'{key}:' takes a formula (a string), not a {value_node.id}", label)
    if key == "forward":
        entry.forward_text = SpecText(value_node.value)
        entry.forward_where = _where(path, value_node, label)
        entry.forward = _parse(entry.forward_text, entry.forward_where)
    elif key == "kernel":
        entry.kernel = str(value_node.value)
        entry.kernel_where = _where(path, value_node, label)
    elif key == "output_differentiability":
        flags = _value(path, value_node, label)
        if not (isinstance(flags, list) and all(isinstance(f, bool) for f in flags)):
            raise _at(path, value_node, "output_differentiability must be a list of booleans", label)
        if len(flags) != len(entry.schema.returns):
            raise _at(path, value_node, f"output_differentiability has {len(flags)} flags "
                      f"for {len(entry.schema.returns)} outputs", label)
        entry.output_differentiability = tuple(flags)
    elif key == "test":
        entry.test = _value(path, value_node, label) or {}
        _check_test(entry, path, value_node)
    elif key == "inplace":
        if value_node.value not in ("true", "false"):
            raise _at(path, value_node, "inplace: must be true or false", label)
        entry.inplace = value_node.value == "true"
    elif key == "dtype":
        if value_node.value not in PROMOTIONS:
            raise _at(path, value_node, f"dtype: must be one of {sorted(PROMOTIONS)}", label)
        entry.promotion = value_node.value
    elif key == "variants":
        entry.variants = _variants(path, value_node, label)
        entry.variants_where = _where(path, key_node, label)
    elif key == "rows":
        entry.rows = _load_rows(entry, path, key_node, value_node)
    elif key == "result":
        raise _at(path, key_node, "forward-mode formulas ('result:') are not supported yet", label)
    elif key in ENTRY_KEYS:
        raise _at(path, key_node, f"unexpected value for {key!r}", label)
    else:
        _load_derivative(entry, path, key, key_node, value_node)


def _load_rows(entry: _Draft, path: str, key_node: yaml.Node, node: yaml.Node) -> RowsDecl:
    """`rows:`, the op's row kernel on cuda (codegen/rows.py checks what the formulas say)."""
    label = entry.schema.full_name
    if not isinstance(node, yaml.MappingNode):
        raise _at(path, node, f"rows: is a mapping with the keys {', '.join(sorted(ROWS_KEYS))}", label)
    items = _items(path, node)
    unknown = sorted(set(items) - ROWS_KEYS)
    if unknown:
        raise _at(path, items[unknown[0]][0], f"unknown key {unknown[0]!r} in rows: (known: {sorted(ROWS_KEYS)})",
                  label)
    for required in ("along", "do"):
        if required not in items:
            raise _at(path, key_node, f"rows: needs '{required}:'", label)

    def expression(key: str) -> tuple[ast.expr, Where] | tuple[None, None]:
        if key not in items:
            return None, None
        value = items[key][1]
        if not isinstance(value, yaml.ScalarNode):
            raise _at(path, value, f"rows: {key}: takes a formula (a string)", label)
        where = _where(path, value, label)
        return _parse(SpecText(value.value), where), where

    def names(key: str) -> tuple[str, ...]:
        if key not in items:
            return ()
        value = items[key][1]
        if not isinstance(value, yaml.SequenceNode) or not all(
                isinstance(n, yaml.ScalarNode) and n.value.isidentifier() for n in value.value):
            raise _at(path, value, f"rows: {key}: is a list of names", label)
        return tuple(n.value for n in value.value)

    along, along_where = expression("along")
    when, when_where = expression("when")
    scalars = {}
    for key in ("over", "check"):
        value = items.get(key, (None, None))[1]
        if value is not None and not (isinstance(value, yaml.ScalarNode) and value.value.isidentifier()):
            raise _at(path, value, f"rows: {key}: takes a name", label)
        scalars[key] = None if value is None else str(value.value)
    do = items["do"][1]
    if not isinstance(do, yaml.SequenceNode) or not do.value:
        raise _at(path, do, "rows: do: is a list of statements `name = expression`", label)
    statements = []
    for item in do.value:
        text = SpecText(item.value) if isinstance(item, yaml.ScalarNode) else ""
        where = _where(path, item, label)
        target, _, expr = text.partition("=")
        target = target.strip()
        if not target.isidentifier() or not expr.strip() or expr.startswith("="):
            raise _at(path, item, f"a statement of rows: do: is `name = expression`, not {text!r}", label)
        offset = len(text) - len(expr.lstrip())
        statements.append(RowStatement(target, _parse(SpecText(expr), Where(where.path, where.line, where.col + offset,
                                                                             label)), SpecText(text), where))
    return RowsDecl(along, along_where, when, when_where, scalars["over"], names("per_row"), names("per_index"),
                    scalars["check"], tuple(statements), _where(path, key_node, label))


def _load_derivative(entry: _Draft, path: str, key: str, key_node: yaml.Node, value_node: yaml.Node) -> None:
    label = entry.schema.full_name
    names = tuple(n.strip() for n in key.split(","))
    if len(set(names)) != len(names):
        raise _at(path, key_node, f"key {key!r} names an input twice", label)
    for name in names:
        argument = entry.schema.argument(name)
        if argument is None or not argument.is_input:
            tensors = ", ".join(a.name for a in entry.schema.tensor_arguments) or "none"
            raise _at(path, key_node, f"formula key {name!r} is not a tensor input of "
                      f"{entry.schema.full_name} (tensor inputs: {tensors})", label)
        if name in entry.non_differentiable | entry.not_implemented or entry.formula_for(name):
            raise _at(path, key_node, f"input {name!r} has more than one derivative key "
                      "(a formula, non_differentiable or not_implemented)", label)
    text = SpecText(value_node.value)
    if text in MARKERS:
        if len(names) > 1:
            raise _at(path, key_node, f"{text} takes one input per key", label)
        (entry.non_differentiable if text == "non_differentiable" else entry.not_implemented).add(names[0])
        return
    where = _where(path, value_node, label)
    entry.derivatives.append(_DraftDerivative(names, text, _parse(text, where), where))


def _variants(path: str, node: yaml.Node, label: str) -> tuple[str, ...]:
    """`function, method` (PyTorch's spelling), `function`, `method`, or `none`."""
    words = tuple(w.strip() for w in str(node.value).split(",")) if isinstance(node, yaml.ScalarNode) else ()
    if words == ("none",):
        return ()
    if not words or any(w not in VARIANTS for w in words) or len(set(words)) != len(words):
        raise _at(path, node, f"variants: must be 'function, method', 'function', 'method' or 'none', "
                  f"not {getattr(node, 'value', node)!r}", label)
    return tuple(v for v in VARIANTS if v in words)


def _load_composite(path: str, node: yaml.MappingNode) -> Composite:
    items = _items(path, node)
    name_node = items["composite"][1]
    name = str(name_node.value)
    for key, (key_node, _) in items.items():
        if key not in COMPOSITE_KEYS:
            raise _at(path, key_node, f"unknown key {key!r} in a composite (known: {sorted(COMPOSITE_KEYS)})", name)
    if not isinstance(name_node, yaml.ScalarNode) or not name.isidentifier() or name.startswith("__"):
        raise _at(path, name_node, f"composite: takes a Python name (not a dunder), not {name!r}")
    variants = _variants(path, items["variants"][1], name) if "variants" in items else VARIANTS
    return Composite(name, variants, _where(path, name_node, name))


def _parse(text: str, where: Where) -> ast.expr:
    if len(text) > formula.MAX_FORMULA_CHARS:
        raise where.error(f"the formula is {len(text)} characters long, more than {formula.MAX_FORMULA_CHARS}: "
                          "split it with a helper in runtime/formulas.py")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise where.error(f"syntax error in formula: {exc.msg}", (exc.offset or 1) - 1) from None
    except (RecursionError, MemoryError):  # CPython's parser on deeply nested operators
        raise where.error("the formula nests too deeply for Python's parser") from None
    try:
        formula.check_size(tree)
    except formula.FormulaError as exc:
        raise formula.located(where, exc) from None
    return tree


def _key(path: str, node: yaml.Node) -> str:
    """A mapping key's text: keys are plain names (`self`, `self, other`), never lists or mappings."""
    if not isinstance(node, yaml.ScalarNode):
        raise _at(path, node, f"a key must be a name (or names separated by commas), not a YAML {node.id}: "
                  "write `self, other:` for a key naming several inputs")
    return node.value


def _items(path: str, node: yaml.Node) -> dict:
    """A YAML mapping's entries: key -> (key node, value node), for locating errors inside it."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {_key(path, key): (key, value) for key, value in node.value}


def _check_test(entry: _Draft, path: str, node: yaml.Node) -> None:
    test, label = entry.test, entry.schema.full_name

    def fail(at: yaml.Node, message: str):
        raise _at(path, at, message, label)

    if not isinstance(test, dict):
        fail(node, "test: must be a mapping of hints (domain, cases, order)")
    hints = _items(path, node)  # (the keys as written: YAML may read `1:` as the number 1)
    for key, (key_node, _) in hints.items():
        if key not in TEST_KEYS:
            fail(key_node, f"unknown test hint(s) {[key]}; known: {sorted(TEST_KEYS)}")
    tensors = {a.name for a in entry.schema.tensor_arguments}
    if "domain" in test:
        domains = test["domain"] or {}
        if not isinstance(domains, dict):
            fail(hints["domain"][1], "test domain must map input names to domains")
        for name, (_, domain_node) in _items(path, hints["domain"][1]).items():
            domain = domain_node.value if isinstance(domain_node, yaml.ScalarNode) else None
            if name not in tensors or domain not in DOMAINS:
                fail(domain_node, f"test domain {name}: {domain} needs a tensor input and one of {sorted(DOMAINS)}")
    if "cases" in test:
        cases = test["cases"] or []
        if not isinstance(cases, list) or not all(isinstance(c, dict) for c in cases):
            fail(hints["cases"][1], "test cases must be a list of mappings {shapes: ..., args: ...}")
        for case, case_node in zip(cases, hints["cases"][1].value):
            parts = _items(path, case_node)
            if set(case) - {"shapes", "args", "numeric"} or not all(isinstance(case.get(k) or {}, dict)
                                                                    for k in ("shapes", "args")):
                fail(case_node, "each test case has only 'shapes:' and 'args:' mappings and a 'numeric:' flag")
            for part in ("shapes", "args"):
                for name, (key_node, _) in _items(path, parts[part][1]).items() if part in parts else ():
                    if entry.schema.argument(name) is None:
                        fail(key_node, f"test case names unknown argument(s) {[name]}")
    if test.get("order", 2) not in (1, 2):
        fail(hints["order"][1], "test order must be 1 or 2")


def _check_unique(drafts: list[_Draft]) -> None:
    seen: dict[str, _Draft] = {}
    for draft in drafts:
        name = draft.schema.full_name
        if name in seen:
            first = seen[name].where
            raise draft.where.error(f"duplicate schema {name!r}; first defined at line {first.line}")
        seen[name] = draft


def _node_names(drafts: list[_Draft], grouped: dict[str, list[_Draft]]) -> dict[str, tuple[str, str]]:
    """Schema -> (node name, function name). PyTorch's node names: TitleCase(base) + Backward +
    index among the base's overloads, with a `_forward` suffix dropped (nll_loss_forward ->
    NllLossBackward0) and digits followed by a capital as str.title() does (max_pool2d ->
    MaxPool2DBackward0). The function is the base, or base_overload if the base is overloaded."""
    names = {}
    for base, overloads in grouped.items():
        camel = "".join(part.title() for part in base.removesuffix("_forward").split("_"))
        for index, draft in enumerate(overloads):
            function = f"{base}_{draft.schema.overload or 'default'}" if len(overloads) > 1 else base
            names[draft.schema.full_name] = (f"{camel}Backward{index}", function)
    named: dict[str, _Draft] = {}
    for draft in drafts:
        node_name = names[draft.schema.full_name][0]
        first = named.setdefault(node_name, draft)
        if first is not draft:
            raise draft.where.error(f"node name {node_name} is also derived for {first.schema.full_name} "
                                    f"(line {first.where.line}): rename one of the two")
    return names


def _helpers(path: Path | None) -> Mapping[str, formula.Signature]:
    """The helpers formulas may call: the helper module's public functions whose first parameter
    is `ops` (the namespace codegen passes), with their signatures, and the names assigned one of
    them (`clip = clamp`); read as text. None, or a path that does not exist: none."""
    if path is None or not path.exists():
        return frozen_mapping({})
    helpers = {}
    for statement in ast.parse(path.read_text()).body:
        if isinstance(statement, ast.FunctionDef) and not statement.name.startswith("_"):
            parameters = [*statement.args.posonlyargs, *statement.args.args]
            if parameters and parameters[0].arg == "ops":
                helpers[statement.name] = formula.Signature.of(statement)
        elif isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Name) \
                and statement.value.id in helpers:
            helpers.update({t.id: helpers[statement.value.id] for t in statement.targets if isinstance(t, ast.Name)})
    return frozen_mapping(helpers)


def _top_level_names(path: Path | None) -> frozenset[str]:
    """The public names a module (or every module of a package folder) defines at top level:
    its functions, and the names its assignments bind (`clip = clamp`), read as text: codegen
    never imports the runtime. None, or a path that does not exist: no names."""
    if path is None or not path.exists():
        return frozenset()
    files = sorted(path.glob("*.py")) if path.is_dir() else [path]
    names = set()
    for file in files:
        for statement in ast.parse(file.read_text()).body:
            if isinstance(statement, ast.FunctionDef):
                names.add(statement.name)
            elif isinstance(statement, ast.Assign):
                targets = [t for target in statement.targets
                           for t in (target.elts if isinstance(target, ast.Tuple) else [target])]
                names.update(t.id for t in targets if isinstance(t, ast.Name))
    return frozenset(n for n in names if not n.startswith("_"))


def _bindings(by_base, composites: list[Composite], composite_names: frozenset[str]) -> Bindings:
    """Each (name, variant) bound once: an op's variants are declared on its first overload
    (default: function and method when its first argument is `Tensor self` and its name has no
    leading `_`, else function) and hold for every overload, so adding one never takes a method
    away; an in-place variant
    `NAME_` is both a function and a method; composites bind their own names."""
    claimed: dict[tuple[str, str], str] = {}
    bound = {variant: [] for variant in VARIANTS}
    composite_bound = {variant: [] for variant in VARIANTS}

    def claim(name: str, variants, by: str, where: Where, into: dict) -> None:
        for variant in variants:
            first = claimed.setdefault((name, variant), by)
            if first != by:
                raise where.error(f"{name} is declared a {variant} twice: by {first} and by {by}; give one of "
                                  f"them other `variants:` (`none` keeps an op only for composites and formulas)")
            into[variant].append(name)

    for base, overloads in by_base.items():
        first = overloads[0]
        for later in overloads[1:]:
            if later.variants is not None:
                raise later.variants_where.error(f"variants: belongs to the op {base}, all its overloads: give it "
                                                 f"on its first entry ({first.schema.full_name}, line "
                                                 f"{first.where.line}) only")
        variants = first.variants
        if variants is None:
            leading = first.schema.arguments[:1]
            public_self = leading and leading[0].name == "self" and leading[0].is_tensor and not base.startswith("_")
            variants = VARIANTS if public_self else ("function",)
        where = first.variants_where or first.where
        claim(base, variants, f"op {base} (line {first.where.line})", where, bound)
        inplace = next((e for e in overloads if e.inplace), None)
        if inplace is not None:
            claim(f"{base}_", VARIANTS, f"op {base}'s inplace: (line {inplace.where.line})", inplace.where, bound)
    for composite in composites:
        if composite.name not in composite_names:
            raise composite.where.error(f"composite {composite.name!r}: no such function or name in the "
                                        "composites module")
        claim(composite.name, composite.variants, f"composite {composite.name} (line {composite.where.line})",
              composite.where, composite_bound)
    return Bindings(tuple(bound["function"]), tuple(bound["method"]), tuple(composite_bound["function"]),
                    tuple(composite_bound["method"]))


def _freeze(draft: _Draft, node_name: str, function_name: str, context: formula.Context) -> Entry:
    """The checked Entry of a draft: its formulas analyzed against the whole spec's ops."""
    schema = draft.schema
    lists = [a.name for a in schema.tensor_arguments if a.is_tensor_list]
    if lists and len(schema.tensor_arguments) > 1:
        raise draft.where.error(f"a Tensor[] input ({lists[0]}) must be the op's only tensor input: its gradients "
                                "are one per listed tensor")
    if draft.kernel and draft.kernel not in context.kernels:
        raise draft.kernel_where.error(f"unknown kernel {draft.kernel!r}: no such function in the kernels module "
                                       "(runtime/kernels/ for gradspec's own spec)")
    if draft.forward is not None:
        formula.check_forward(draft.forward, schema, draft.forward_where)
    derivatives = tuple(
        Derivative(d.inputs, d.text, d.tree, d.where,
                   formula.analyze(d.tree, schema, context, d.where, shared=len(d.inputs) > 1))
        for d in draft.derivatives)
    if derivatives and not any(draft.output_differentiability):
        raise draft.where.error("formulas given for an op whose outputs are all non-differentiable")
    if any(draft.output_differentiability):
        for argument in schema.tensor_arguments:
            if draft.formula_for(argument.name) is None and \
                    argument.name not in draft.non_differentiable | draft.not_implemented:
                raise draft.where.error(f"tensor input {argument.name!r} has no derivative key: give it a formula, "
                                        "`non_differentiable` or `not_implemented` (or mark the outputs "
                                        "`output_differentiability: [False]`)", argument.column)
    usage = formula.Usage()
    for derivative in derivatives:
        usage |= derivative.usage
    return Entry(schema, draft.where, node_name, function_name, draft.forward, draft.forward_text,
                 draft.forward_where, draft.kernel, draft.kernel_where, derivatives,
                 frozenset(draft.non_differentiable), frozenset(draft.not_implemented),
                 draft.output_differentiability, frozen_mapping(draft.test), draft.promotion, draft.inplace,
                 draft.variants, draft.variants_where, usage, draft.rows)
