"""gradspec's code generator: a spec file -> a package of generated code (nodes, Tensor ops, array ops).

A text compiler: it reads the spec, and reads the helper, kernel and composite modules as text to
know which names exist, but imports neither the runtime nor generated code. spec.load_spec parses
and analyzes the spec into a frozen model (model.py, plans from plan.py and cuda.py);
emit.render renders it through templates/; output.write writes it under a manifest.

Two kinds of package (`Layout`):

* gradspec's own kind (`generate`): gradspec.generated, compiled from derivatives.yaml over the
  runtime's formulas.py, kernels/ and composites/; also the golden files' fixture.
* an extension (`generate_extension`): a user's package compiled from the user's spec, next to
  its own kernels.py, formulas.py and composites.py (each optional). Its formulas may call
  gradspec's ops, its ops become gradspec-style functions of the package and Tensor methods
  where declared (bound when the package is imported), its fused CUDA kernels are registered
  from its own folder.
"""

from __future__ import annotations

import ast
import gc
from pathlib import Path

from .output import MANIFEST, OutputError, differences, write

try:
    from . import optim
    from .emit import Layout, environment, render
    from .spec import Spec, SpecError, load_spec
except ModuleNotFoundError as error:  # jinja2 or pyyaml: the `codegen` extra is not installed
    if error.name not in ("jinja2", "yaml"):
        raise
    EXTRA_MISSING = error.name
else:
    EXTRA_MISSING = None

# gradspec.codegen's folder is codegen/ in a source checkout and gradspec/codegen/ once installed:
# in both, gradspec's generated package is its sibling `generated/`.
HERE = Path(__file__).resolve().parent
GRADSPEC_GENERATED = HERE.parent / "generated"
_CHECKOUT = (HERE.parent / "runtime").is_dir() and (HERE.parent / "derivatives.yaml").is_file()
RUNTIME = HERE.parent / "runtime" if _CHECKOUT else HERE.parent  # gradspec's runtime: the package itself when installed
OWN_SPEC = HERE.parent / "derivatives.yaml" if _CHECKOUT else None  # only a source checkout (or sdist) has it


def generate(spec_path: Path, helpers: Path = RUNTIME / "formulas.py", kernels: Path = RUNTIME / "kernels",
              composites: Path = RUNTIME / "composites") -> dict[str, str]:
    """File name -> source of a package of gradspec's own kind (gradspec.generated); with the
    optimizers' update rules (optim.py) where an optimizers.yaml lies beside the spec."""
    own = Layout(extension=False, kernels="gradspec.abi", helpers="gradspec.abi", composites=False)
    files = _compile(spec_path, helpers, kernels, composites, frozenset(), own)
    rules = spec_path.parent / optim.FILE
    if rules.is_file():
        files.update(optim.render(environment(), rules))
    return files


def generate_extension(spec_path: Path, package: Path) -> dict[str, str]:
    """File name -> source of a package extending gradspec, to be written into `package`, where
    its own kernels.py (or kernels/), formulas.py and composites.py are read from; without them,
    gradspec's kernels and helpers serve."""
    kernels = next((p for p in (package / "kernels.py", package / "kernels") if p.exists()), None)
    helpers = package / "formulas.py" if (package / "formulas.py").exists() else None
    composites = package / "composites.py" if (package / "composites.py").exists() else None
    layout = Layout(extension=True, kernels="." if kernels else "gradspec.abi", helpers="." if helpers else "gradspec.abi",
                    composites=composites is not None)
    return _compile(spec_path, helpers or RUNTIME / "formulas.py", kernels or RUNTIME / "kernels", composites,
                    gradspec_ops(), layout)


def gradspec_ops() -> frozenset[str]:
    """The names of gradspec's ops, which an extension's formulas may call: read from gradspec's
    generated bindings.py as text."""
    path = GRADSPEC_GENERATED / "bindings.py"
    try:
        tree = ast.parse(path.read_text())
        return frozenset(next(ast.literal_eval(s.value) for s in tree.body if isinstance(s, ast.Assign)
                              and getattr(s.targets[0], "id", "") == "OPS"))
    except (OSError, SyntaxError, StopIteration, ValueError) as error:
        raise OutputError(f"gradspec's own ops could not be read from {path} ({error}): regenerate gradspec.generated "
                          "first (python -m gradspec.codegen --gradspec)") from None


def _compile(spec_path: Path, helpers: Path | None, kernels: Path | None, composites: Path | None,
             base_ops: frozenset[str], layout: Layout) -> dict[str, str]:
    """The collector is paused meanwhile: a large spec's model is a few hundred thousand live
    objects, none in a cycle, and the collector's passes over them would make the run grow
    faster than the spec (half the time at 8,000 entries)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        spec = load_spec(spec_path, helpers, kernels, composites, base_ops=base_ops)
        return render(spec, spec_path.name, layout)
    finally:
        if enabled:
            gc.enable()


__all__ = ["generate", "generate_extension", "gradspec_ops", "write", "differences", "load_spec", "render", "Layout",
           "Spec", "SpecError", "OutputError", "MANIFEST", "GRADSPEC_GENERATED", "RUNTIME", "OWN_SPEC",
           "EXTRA_MISSING"]
