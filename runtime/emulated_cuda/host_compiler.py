"""Compiling C++ for the host, cached by content: the emulated device's kernels, and the tests'
builds of the same kernels (tests/cuda_support.py). No cupy needed here."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CACHE = Path(tempfile.gettempdir()) / "gradspec-cuda-cache"


class CompileException(Exception):
    """A failed compile (the emulated cupy.RawModule raises it as cupy raises its CompileException)."""


def compiler() -> str | None:
    return os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")


def host_command(cxx: str, options: tuple = ()) -> list[str]:
    """g++ for a shared library of the kernels: no FMA contraction, so that the host rounds like
    numpy, one operation at a time. `options`: cupy's (its --std= is kept)."""
    standard = next((o.replace("--std", "-std") for o in options if o.startswith(("--std=", "-std="))), "-std=c++14")
    return [cxx, standard, "-O1", "-ffp-contract=off", "-fno-fast-math", "-w", "-shared", "-fPIC", "-o", "lib.so",
            "source.cpp"]


def build(sources: dict[str, str], command: list[str], output: str) -> Path:
    """Run `command` in a folder holding `sources`, cached by both: returns the output's path."""
    digest = hashlib.sha256(repr((sorted(sources.items()), command)).encode()).hexdigest()[:24]
    folder = CACHE / digest
    if (folder / output).exists():
        return folder / output
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{digest}-", dir=CACHE))
    for name, text in sources.items():
        (work / name).write_text(text)
    proc = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        raise CompileException(f"`{' '.join(command)}` failed:\n{proc.stdout}{proc.stderr}")
    if proc.stderr.strip():
        (work / "stderr.txt").write_text(proc.stderr)
    try:
        os.replace(work, folder)
    except OSError:  # another process finished the same build first
        shutil.rmtree(work, ignore_errors=True)
    return folder / output
