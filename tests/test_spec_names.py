"""codegen/reserved.py lists the names generated code uses itself, which a spec may not give its
ops, arguments and outputs. These tests keep the lists complete: every name the templates import,
and every name the real spec's generated code binds or reads that the spec did not give it, must
be listed, for the op functions (functions.py, array_ops.py) and the node classes (nodes.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from gradspec.codegen import formula, load_spec, reserved

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "codegen" / "templates"
GROUPS = {"ops": (("functions.py", "array_ops.py"), reserved.IN_OPS), "nodes": (("nodes.py",), reserved.IN_NODES)}
_IMPORT = re.compile(r"^from \S+ import (\([^)]*\)|[^\n*#]+)", re.MULTILINE)  # (not `import *`: gradspec's ops)


def _spec_names(spec) -> set[str]:
    """Every name generated code derives from the spec: ops, functions, nodes, arguments and what
    the templates make of them."""
    names = set()
    for entry in spec.entries:
        base = entry.schema.base
        names |= {base, f"{base}_", f"_{base.upper()}_OVERLOADS", entry.function_name, entry.node_name}
        for argument in entry.schema.arguments:
            name = argument.name
            names |= {name, f"{name}_", f"grad_{name}", f"need_{name}"}
            names |= {f"{name}_{attr}" for attr in formula.META_ATTRS}
        names |= {n for output in entry.schema.returns for n in (output, f"{output}_")}
    return names


def _used(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_name_the_generated_code_uses_is_reserved(group):
    spec = load_spec(ROOT / "derivatives.yaml", ROOT / "runtime" / "formulas.py", ROOT / "runtime" / "kernels")
    files, listed = GROUPS[group]
    used = set().union(*(_used((ROOT / "generated" / name).read_text()) for name in files))
    unlisted = used - _spec_names(spec) - listed - reserved.NODE_CLASS_ATTRIBUTES - {"__all__", "__slots__"}
    assert not unlisted, f"add to codegen/reserved.py: {sorted(unlisted)}"


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_name_the_templates_import_is_reserved(group):
    files, listed = GROUPS[group]
    imported = set()
    for name in files:
        for names in _IMPORT.findall((TEMPLATES / f"{name}.j2").read_text()):
            if "{" in names:  # the node classes, named from the spec
                continue
            for alias in names.strip("()").split(","):
                if alias.strip():
                    imported.add(alias.split(" as ")[-1].strip())
    assert imported and imported <= listed, f"add to codegen/reserved.py: {sorted(imported - listed)}"


@pytest.mark.parametrize("name, kind", [("edge", "op"), ("dispatch", "op"), ("tuple", "op"), ("node", "argument"),
                                        ("requires_grad", "argument"), ("xp", "tensor input"),
                                        ("launch", "tensor input"), ("grad", "output"), ("class", "argument"), ("__init__", "op"),
                                        ("self_", "argument")])
def test_reserved_names_are_refused(name, kind):
    assert reserved.problem(name, kind)


@pytest.mark.parametrize("name, kind", [("C", "argument"), ("C", "tensor input"), ("launch", "argument"),
                                        ("input", "tensor input"), ("max", "op"), ("result", "output"), ("mul_", "op")])
def test_names_the_generated_code_does_not_shadow_are_allowed(name, kind):
    """Builtins the generated code never calls, and names used only where this kind is not."""
    assert reserved.problem(name, kind) is None


def test_a_saved_argument_may_not_shadow_a_node_attribute(tmp_path):
    from gradspec import codegen

    path = tmp_path / "derivatives.yaml"
    path.write_text("- name: f(Tensor self, int name=1) -> Tensor\n  forward: self * name\n  self: grad * name\n")
    with pytest.raises(codegen.SpecError, match="derivatives.yaml:1:28: argument 'name' is an attribute of the "
                                                "backward node"):
        codegen.generate(path)
