"""Generated code never executes spec text: each injection below is planted in a spec, codegen
compiles it into a package extending gradspec (as a user's spec is compiled), and then the
generated Python must compile and import without running anything planted (the marker file
stays absent), and the generated CUDA must still compile (g++ always; nvcc where installed).

Each case's ops exp, cos and sin are renamed with a prefix of the case's own (c0_sin, ...), so
that every case's package can be imported into one process beside gradspec."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gradspec import codegen

ROOT = Path(__file__).resolve().parent.parent
CXX = shutil.which("g++") or shutil.which("c++")
NVCC = shutil.which("nvcc")

BASE = """\
- name: exp(Tensor self) -> Tensor
  forward: xp.exp(self)
  self: grad * result
- name: cos(Tensor self) -> Tensor
  forward: xp.cos(self)
  self: -grad * sin(self)
"""
RUN = '__import__("os").system("touch pwned")'  # run in tmp_path: the marker is tmp_path/pwned
RUN_SINGLE = "__import__('os').system('touch pwned')"


def _sin(formula: str) -> str:
    """The sin entry with `formula` (YAML text) as its derivative."""
    return f"- name: sin(Tensor self) -> Tensor\n  forward: xp.sin(self)\n  self: {formula}\n"


INJECTIONS = {
    # closing a triple-quoted docstring from a formula's trailing comment (the example)
    "docstring from a comment": _sin("'grad * cos(self)  # \"\"\" + str(" + RUN + ") + \"\"\"'"),
    "docstring with single quotes": _sin('"grad * cos(self)  # \'\'\' + str(' + RUN_SINGLE + ') + \'\'\'"'),
    # a schema default carrying a docstring end
    "docstring from a schema default": (
        "- name: sin(Tensor self, str note='\"\"\" + str(" + RUN + ") + \"\"\"') -> Tensor\n"
        "  forward: xp.sin(self)\n  self: grad * cos(self)\n"),
    # backslashes: `\U` is a bad escape inside a normal docstring; a `\` ending a `//` comment
    # continues the comment onto the next line of C++
    # (quoted: in a plain YAML scalar ` #` would start a YAML comment, and the formula end before it)
    "backslash in a comment": _sin(r"'grad * cos(self)  # C:\Users\me'"),
    "backslash ending a comment": _sin("'grad * cos(self)  # ends with \\'"),
    # characters that end a line in Python or C++ source
    # (inside parentheses, so that the formula stays one valid expression over several lines)
    "carriage return in a comment": _sin('"(grad * cos(self)  # x\\r+ 0 * self)"'),
    "form feed and line separators in a comment": _sin('"grad * cos(self)  # x\\f\\u2028y\\u0085z"'),
    # a formula over several lines: the second line must not leave the `//` comment in backward.cuh
    "multi-line formula": "- name: sin(Tensor self) -> Tensor\n  forward: xp.sin(self)\n  self: |\n"
                          "    (grad *  # a comment */ /* and more\n    cos(self))\n",
}


NVCC_CASES = ("backslash ending a comment", "multi-line formula", "carriage return in a comment")
HOSTILE_NAME = f'x""" + str({RUN}) + """ \\ *.yaml'  # the spec's file name, pasted into headers and docstrings


_OPS = re.compile(r"(?<![.\w])(exp|cos|sin)\(")  # the spec's ops, not xp's functions


def _generate(folder: Path, text: str, spec_name: str = "derivatives.yaml") -> Path:
    """Codegen of `text`, its ops renamed with the folder's name as a prefix, written as genpkg/."""
    folder.mkdir()
    spec = folder / spec_name
    spec.write_text(_OPS.sub(rf"{folder.name}_\1(", text))
    package = folder / "genpkg"
    files = codegen.generate_extension(spec, package)
    package.mkdir()
    for name, source in files.items():
        (package / name).write_text(source)
    return package


@pytest.fixture(scope="module")
def packages(tmp_path_factory) -> dict[str, Path]:
    """Each case generated once: case -> its package folder."""
    root = tmp_path_factory.mktemp("injections")
    out = {case: _generate(root / f"c{i}", BASE + text) for i, (case, text) in enumerate(sorted(INJECTIONS.items()))}
    out["hostile file name"] = _generate(root / "named", BASE + _sin("grad * cos(self)"), spec_name=HOSTILE_NAME)
    return out


CASES = [*sorted(INJECTIONS), "hostile file name"]


@pytest.mark.parametrize("case", CASES)
def test_generated_python_compiles(case, packages):
    for path in packages[case].glob("*.py"):
        compile(path.read_text(), str(path), "exec")  # a SyntaxError fails the test


@pytest.mark.skipif(CXX is None, reason="no C++ compiler")
@pytest.mark.parametrize("case", CASES)
def test_generated_cuda_still_compiles(case, packages):
    command = [CXX, "-std=c++14", "-fsyntax-only", "-Wall", "-Werror", "-x", "c++", "backward.cu"]
    if NVCC and case in NVCC_CASES:  # nvcc as well where the planted text sits in a `//` comment
        command = [NVCC, "-std=c++14", "--Werror", "all-warnings", "-c", "backward.cu", "-o", "kernels.o"]
    proc = subprocess.run(command, cwd=packages[case], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_importing_and_running_the_generated_ops_runs_no_spec_text(packages, tmp_path):
    """Every generated package imported and its op run and differentiated in one process, whose
    working folder the planted `touch pwned` would write into."""
    script = ("import importlib, sys, gradspec\n"
              "for folder in sys.argv[1:]:\n"
              "    sys.path.insert(0, folder)\n"
              "    package = importlib.import_module('genpkg')\n"
              "    x = gradspec.ones(3, requires_grad=True)\n"
              "    getattr(package, folder.rsplit('/', 1)[-1] + '_sin')(x).sum().backward()\n"
              "    assert x.grad is not None\n"
              "    sys.path.remove(folder)\n"
              "    for name in [m for m in sys.modules if m == 'genpkg' or m.startswith('genpkg.')]:\n"
              "        del sys.modules[name]\n")
    folders = [str(p.parent) for p in packages.values()]
    proc = subprocess.run([sys.executable, "-c", script, *folders], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "pwned").exists(), "spec text ran"


def test_docstrings_keep_the_spec_text_exactly(packages):
    """Escaped, not dropped: the node's docstring is the formula as written, backslashes included."""
    import ast

    tree = ast.parse((packages["backslash in a comment"] / "nodes.py").read_text())
    docs = [ast.get_docstring(n, clean=False) or "" for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    assert any(re.search(r"grad \* c\d+_cos\(self\)  # C:\\Users\\me", doc) for doc in docs), docs
    named = ast.parse((packages["hostile file name"] / "nodes.py").read_text())
    assert HOSTILE_NAME in ast.get_docstring(named, clean=False)
