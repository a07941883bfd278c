"""Render the frozen model (codegen/model.py) into the source of generated/ through the templates."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2

from . import cuda, rows
from .model import Spec, SpecText

TEMPLATES = Path(__file__).parent / "templates"
OUTPUTS = ("__init__.py", "nodes.py", "functions.py", "array_ops.py", "bindings.py")


@dataclass(frozen=True)
class Layout:
    """What a generated package imports besides gradspec.abi: gradspec's own kind (gradspec.generated)
    or an extension, which also imports gradspec's ops and binds its API when imported."""

    extension: bool
    kernels: str  # where `kernels` (K) comes from: "gradspec.abi" (gradspec's) or "." (the package's own)
    helpers: str  # where `formulas` (H) comes from, likewise
    composites: bool  # an extension with its own composites module


def environment() -> jinja2.Environment:
    """The templates of codegen/templates/, with the filters they use."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
                             finalize=_refuse_bare_spec_text)
    env.filters.update(strings=_string_tuple, tuple=_tuple, names=_wrapped_names, doc=docstring_text,
                       comment=comment_text)
    return env


def render(spec: Spec, spec_label: str, layout: Layout) -> dict[str, str]:
    """File name -> source text, deterministic for a given spec."""
    env = environment()
    data = dict(spec=SpecText(spec_label), layout=layout, nodes=spec.nodes, ops=spec.ops, array_ops=spec.array_ops,
                dispatchers=spec.dispatchers, bases=spec.bases, inplace=spec.inplace, bindings=spec.bindings,
                kernel_nodes=[plan.node for plan in (*spec.kernels.kernels, *spec.kernels.forwards)], row_nodes=spec.rows.backward,
                node_arguments=rows.node_arguments)
    files = {name: _tidy_imports(env.get_template(name + ".j2").render(**data)) for name in OUTPUTS}
    files.update(cuda.render(env, spec_label, spec.kernels, layout))
    files.update(rows.render(env, spec_label, spec.rows, layout))
    files["rows.py"] = _tidy_imports(files["rows.py"])
    return files


# ---- spec text in generated files ------------------------------------------------------------
#
# Spec text (schemas, formulas, the spec's file name) reaches generated files only through these
# two filters, so that it can never become code: inside a docstring it cannot end the string
# early, inside a `#` or `//` comment it cannot end the line (a newline or carriage return) or
# continue the comment onto the next line (a C++ line ending in a backslash).

def _refuse_bare_spec_text(value):
    if type(value) is SpecText:
        raise TypeError(f"a template prints spec text without the doc or comment filter: {value[:60]!r}")
    return value


_DOC_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"'})


def docstring_text(text: str) -> str:
    """`text` for the inside of a triple-quoted docstring, whose value is then `text` itself:
    backslashes and quotes escaped, newlines kept, anything else unprintable as an escape."""
    escaped = text.translate(_DOC_ESCAPES)
    if escaped.replace("\n", "").isprintable():
        return escaped
    return "".join(c if c == "\n" or c.isprintable() else ascii(c)[1:-1] for c in escaped)  # \r, \x00, \u2028


def comment_text(text: str) -> str:
    """`text` for a one-line comment: as written when it is printable ASCII without backslashes,
    else as an escaped string literal (ascii()), which is one line and ends with a quote."""
    if text.isascii() and text.isprintable() and "\\" not in text:
        return str(text)
    return ascii(str(text))


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
        if statement.names[0].name == "*":
            continue  # an extension's whole view of gradspec's ops: its helpers may call any of them
        kept = [a for a in statement.names if (a.asname or a.name) in used]
        names = [f"{a.name} as {a.asname}" if a.asname else a.name for a in kept]
        text = f"from {'.' * statement.level}{statement.module or ''} import {', '.join(names)}"
        if len(text) > 110:
            text = "\n".join([f"from {'.' * statement.level}{statement.module or ''} import ("]
                             + [f"    {n}," for n in names] + [")"])
        lines[statement.lineno - 1:statement.end_lineno] = [text] if kept else []
    return "\n".join(lines)


def _wrapped_names(names, prefix: str = "") -> str:
    """`prefix` then a tuple of name strings, wrapped at 110 columns with a hanging indent."""
    if not names:
        return prefix + "()"
    lines, line = [], prefix + "("
    for name in names:
        item = f'"{name}",'
        if len(line) + len(item) + 1 > 110 and not line.endswith("("):
            lines.append(line.rstrip())
            line = "    "
        line += item if line.endswith(("(", "    ")) else f" {item}"
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
