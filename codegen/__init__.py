"""gradspec's code generator: derivatives.yaml -> generated/ (nodes, Tensor ops, array ops).

A text compiler: it reads the spec, and reads runtime/formulas.py, runtime/kernels/ and
runtime/composites/ as text to know which helper, kernel and composite names exist, but imports
neither runtime nor generated. spec.load_spec parses and analyzes the spec into a frozen model
(model.py, plans from plan.py and cuda.py); emit.render renders it through templates/.
"""

from __future__ import annotations

import gc
from pathlib import Path

from .emit import render
from .spec import Spec, SpecError, load_spec

ROOT = Path(__file__).resolve().parent.parent


def generate(spec_path: Path = ROOT / "derivatives.yaml", helpers: Path = ROOT / "runtime" / "formulas.py",
             kernels: Path = ROOT / "runtime" / "kernels",
             composites: Path = ROOT / "runtime" / "composites") -> dict[str, str]:
    """File name -> source for generated/.

    The collector is paused meanwhile: a large spec's model is a few hundred thousand live
    objects, none in a cycle, and the collector's passes over them would make the run grow
    faster than the spec (half the time at 8,000 entries)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return render(load_spec(spec_path, helpers, kernels, composites), spec_path.name)
    finally:
        if enabled:
            gc.enable()


# What generated/ holds: Python modules and the CUDA sources of the fused backward kernels.
GENERATED_PATTERNS = ("*.py", "*.cuh", "*.cu")


def generated_files(out: Path) -> list[Path]:
    """The generated files present in `out` (what write() may replace or delete)."""
    return sorted(p for pattern in GENERATED_PATTERNS for p in out.glob(pattern))


def write(files: dict[str, str], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for stale in generated_files(out):
        if stale.name not in files:
            stale.unlink()
    for name, text in files.items():
        path = out / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


def differences(files: dict[str, str], out: Path) -> list[str]:
    """Names of files in `out` that differ from `files` (missing, changed or extra)."""
    present = {p.name for p in generated_files(out)} if out.exists() else set()
    changed = [n for n, text in files.items() if n not in present or (out / n).read_text() != text]
    return sorted(changed + [n for n in present if n not in files])


__all__ = ["generate", "write", "differences", "generated_files", "GENERATED_PATTERNS", "load_spec", "render", "Spec",
           "SpecError"]
