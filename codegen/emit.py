"""Render the frozen model (codegen/model.py) into the source of generated/ through the templates."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import jinja2

from . import cuda
from .model import Spec

TEMPLATES = Path(__file__).parent / "templates"
OUTPUTS = ("__init__.py", "nodes.py", "functions.py", "array_ops.py", "bindings.py")


def render(spec: Spec, spec_label: str) -> dict[str, str]:
    """File name -> source text, deterministic for a given spec."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters.update(strings=_string_tuple, tuple=_tuple, names=_wrapped_names)
    data = dict(spec=spec_label, nodes=spec.nodes, ops=spec.ops, array_ops=spec.array_ops,
                dispatchers=spec.dispatchers, bases=spec.bases, inplace=spec.inplace, bindings=spec.bindings)
    files = {name: _tidy_imports(env.get_template(name + ".j2").render(**data)) for name in OUTPUTS}
    files.update(cuda.render(env, spec_label, spec.kernels))
    return files


# Where a generated module's imports end: its first top-level function, class or plain assignment.
_BODY = re.compile(r"^(?:def |class |[A-Za-z_]\w* = )", re.MULTILINE)
# What is not code in generated source: docstrings and comments (one-line strings stay: `__all__`).
_NOT_CODE = re.compile(r'"""[\s\S]*?"""|#[^\n]*')
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _tidy_imports(source: str) -> str:
    """Drop imported names the module does not use and wrap long import lines: the templates
    import everything an op might need, each generated module keeps what its ops do need.

    A name is used if it appears as a word in the module's code after the imports, docstrings
    and comments left out: a regular expression over the text, so that this stays linear and
    fast for large specs (building the syntax tree of a large generated module, or compiling
    it, costs far more than generating it). Only the imports themselves go through `ast`."""
    split = _BODY.search(source)
    head = source[:split.start()] if split else source
    tree = ast.parse(head)
    imports = [s for s in tree.body if isinstance(s, ast.ImportFrom)]
    code = "\n".join([*(ast.unparse(s) for s in tree.body if not isinstance(s, ast.ImportFrom)),
                      source[split.start():] if split else ""])
    used = set(_IDENTIFIER.findall(_NOT_CODE.sub(" ", code)))
    lines = source.split("\n")
    for statement in reversed(imports):
        kept = [a for a in statement.names if (a.asname or a.name) in used]
        names = [f"{a.name} as {a.asname}" if a.asname else a.name for a in kept]
        text = f"from {'.' * statement.level}{statement.module or ''} import {', '.join(names)}"
        if len(text) > 110:
            text = "\n".join([f"from {'.' * statement.level}{statement.module or ''} import ("]
                             + [f"    {n}," for n in names] + [")"])
        lines[statement.lineno - 1:statement.end_lineno] = [text] if kept else []
    return "\n".join(lines)


def _wrapped_names(names) -> str:
    """A tuple of name strings, wrapped at 110 columns with a hanging indent."""
    if not names:
        return "()"
    lines, line = [], "("
    for name in names:
        item = f'"{name}",'
        if len(line) + len(item) + 1 > 110:
            lines.append(line.rstrip())
            line = "    "
        line += item if line in ("(", "    ") else f" {item}"
    last = line if len(names) == 1 else line.removesuffix(",")
    return "\n".join(lines + [last + ")"])


def _string_tuple(items) -> str:
    return _tuple([f'"{item}"' for item in items])


def _tuple(sources) -> str:
    """A tuple display of the given sources, as a formatter would write it."""
    sources = list(sources)
    if not sources:
        return "()"
    return f"({sources[0]},)" if len(sources) == 1 else f"({', '.join(sources)})"
