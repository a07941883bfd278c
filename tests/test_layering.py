"""Imports run one way: the package's modules in layers, no cycle, nothing importing upwards.

Layers, lowest first (docs/decisions.md, "Layers"):

0. ground floor: dtypes, shapes (wrap_dim, int_list), backends (devices), emulated_cuda (the
   numpy stand-in for cupy that backends loads on request), hooks (hook tables and handles),
   anomaly (anomaly mode's state), grad_mode, random, return_types, dispatch, _tensor_str,
   namespaces (the Tensor ops the core calls, installed from above);
1. core: tensor, node, engine, inplace, factories, formulas, cuda, kernels/, autograd/, legacy
   (typed tensor classes), arguments (out=, numpy's keyword names), accelerator (default device);
2. gradspec.abi: the one module generated code imports;
3. gradspec.generated: written by codegen;
4. API: gradspec.api (binds what derivatives.yaml declares) and composites/;
5. library: nn/, optim/, utils/, vision/, models/, onnx, serialization (and atomic_write, its files, and
   torch_format and safe_pickle, torch's files);
6. the package and its programs: gradspec/__init__ (collects names), train, demo, examples/.

gradspec.codegen stands apart: it imports nothing of the rest, and nothing imports it.

Rules, each a test below: every module has a layer; no import cycle; a module imports only its
own layer and those below; generated code imports only gradspec.abi (and itself).

What counts as an import (read with `ast`, never by importing): every `import` and `from ...
import` statement, at top level or inside a function (lazy imports count). `from a import b`
imports the module a.b when that is a module, else a. Importing a.b.c also runs the __init__ of
a.b, so it counts as importing each package on the way, except the importer's own packages
(already running) and gradspec itself (the root: every module "imports" it, and what its
__init__ collects is layer 6).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

FOLDERS = {"gradspec": ROOT / "runtime", "gradspec.generated": ROOT / "generated", "gradspec.codegen": ROOT / "codegen"}
ROOT_PACKAGE = "gradspec"

GROUND = ("dtypes", "shapes", "backends", "hooks", "anomaly", "grad_mode", "random", "return_types", "dispatch",
          "_tensor_str", "namespaces", "emulated_cuda", "shared_memory")
LAYERS = (  # (name, module prefixes): a module belongs to the first layer with a prefix of it
    ("ground floor", GROUND),
    ("core", ("tensor", "node", "engine", "inplace", "factories", "formulas", "cuda", "kernels", "autograd",
              "legacy", "arguments", "accelerator")),
    ("abi", ("abi",)),
    ("generated", ("generated",)),
    ("api", ("api", "composites")),
    ("library", ("nn", "optim", "utils", "vision", "models", "serialization", "atomic_write", "torch_format",
                 "safe_pickle", "onnx", "multiprocessing")),
    ("package", ("", "train", "demo", "examples")),
)
APART = "gradspec.codegen"


def _modules() -> dict[str, tuple[Path, bool]]:
    """Module name -> (file, is a package __init__)."""
    modules = {}
    for package, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            name = ".".join([package, *parts])
            if package == ROOT_PACKAGE and any(name == p or name.startswith(p + ".") for p in FOLDERS if p != package):
                continue  # a folder of runtime/ shadowed by another mapping (none today)
            modules[name] = (path, is_package)
    return modules


MODULES = _modules()


def _targets(importer: str, is_package: bool, node: ast.AST) -> list[str]:
    """The gradspec modules one import statement names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.split(".")[0] == ROOT_PACKAGE]
    if node.level:
        base = importer.split(".")
        if not is_package:
            base.pop()
        base = base[:len(base) - node.level + 1]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    if module.split(".")[0] != ROOT_PACKAGE:
        return []
    return [f"{module}.{alias.name}" if f"{module}.{alias.name}" in MODULES else module for alias in node.names]


def _known(name: str) -> str:
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts))]


def _graph() -> dict[str, set[str]]:
    graph = {}
    for name, (path, is_package) in MODULES.items():
        own = set(_ancestors(name)) | ({name} if is_package else set())
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _targets(name, is_package, node):
                    target = _known(target)
                    edges.add(target)
                    edges.update(a for a in _ancestors(target) if a not in own)
        edges.discard(name)
        graph[name] = edges
    return graph


GRAPH = _graph()


def _layer(name: str) -> int | None:
    if name == APART or name.startswith(APART + "."):
        return None
    relative = name[len(ROOT_PACKAGE) + 1:] if name != ROOT_PACKAGE else ""
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if relative == prefix or (prefix and relative.startswith(prefix + ".")):
                return index
    raise KeyError(name)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's, without recursion)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = counter[0]
                    counter[0] += 1
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_every_module_has_a_layer():
    unplaced = []
    for name in MODULES:
        try:
            _layer(name)
        except KeyError:
            unplaced.append(name)
    assert not unplaced, f"modules in no layer (add them to LAYERS here and to docs/decisions.md): {unplaced}"


def test_no_import_cycles():
    cycles = _cycles(GRAPH)
    assert not cycles, "import cycles (lazy imports included):\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_imports_point_down():
    upward = []
    for name, targets in GRAPH.items():
        here = _layer(name)
        for target in targets:
            there = _layer(target)
            if (here is None) != (there is None):
                upward.append(f"{name} -> {target} (gradspec.codegen stands apart)")
            elif here is not None and there > here:
                upward.append(f"{name} ({LAYERS[here][0]}) -> {target} ({LAYERS[there][0]})")
    assert not upward, "imports from a higher layer:\n" + "\n".join(sorted(upward))


def test_generated_code_imports_only_the_abi():
    generated = [n for n in GRAPH if _layer(n) == 3]
    assert generated
    wrong = [f"{n} -> {t}" for n in generated for t in GRAPH[n] if _layer(t) != 3 and t != "gradspec.abi"]
    assert not wrong, "generated code reaches the runtime only through gradspec.abi:\n" + "\n".join(wrong)


def test_the_walker_sees_lazy_imports_and_packages_on_the_way():
    """Guard the test itself: a lazy import inside a function counts, and so does the package
    whose __init__ an import runs."""
    assert "gradspec.generated.functions" in GRAPH["gradspec.composites.shapes"]
    assert "gradspec.autograd" in GRAPH["gradspec.utils.checkpoint"]  # `from .. import autograd` in a method
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", ["gradspec.generated", "gradspec.tensor", "gradspec.engine", "gradspec.abi",
                                    "gradspec.nn", "gradspec.codegen"])
def test_each_module_imports_alone(module):
    """In a fresh interpreter, each entry point imports without a circular-import error."""
    proc = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


if __name__ == "__main__":  # python tests/test_layering.py: the layers, their modules, and any cycle
    by_layer: dict = {}
    for _module in sorted(MODULES):
        _index = _layer(_module)
        by_layer.setdefault("codegen (apart)" if _index is None else f"{_index} {LAYERS[_index][0]}", []).append(
            _module.removeprefix(ROOT_PACKAGE + ".") if _module != ROOT_PACKAGE else "__init__")
    for _name, _members in sorted(by_layer.items()):
        print(f"{_name:18s} {len(_members):3d}  {' '.join(_members)}")
    print(f"{len(MODULES)} modules; import cycles: {_cycles(GRAPH) or 'none'}")
