"""Run one corpus script as `__main__`, with `torch` being PyTorch or gradspec.

    python corpus/run.py torch|gradspec SCRIPT [ARGS...]

The harness (corpus/harness.py) calls this in a fresh process per script and run, with the
script's folder of data as the working directory. Under `gradspec`, every `torch` and
`torch.X` import resolves to `gradspec` and `gradspec.X` (the script's text is not touched),
so a module gradspec lacks fails the way a missing torch module would; the Python processes the
script starts (multiprocessing's spawn) get the same mapping (corpus/child/sitecustomize.py). `corpus/shims` is put
first on the path for both runs: it holds the stand-in torchvision (see its docstring).

Files named in $CORPUS_FIRST (a recipe's `first:` data makers) run before it, in this process.
Both runs start from the same seeds (torch, Python's random, numpy), since most scripts never
seed and their numbers would otherwise differ from one torch run to the next.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import random
import runpy
import sys
from pathlib import Path

SHIMS = Path(__file__).resolve().parent / "shims"
CHILD = Path(__file__).resolve().parent / "child"  # start-up of the processes a script starts
SEED = 0


class TorchIsGradspec(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """`import torch.nn.functional` gives `gradspec.nn.functional`, the very same module object."""

    def find_spec(self, name, path=None, target=None):
        if name != "torch" and not name.startswith("torch."):
            return None
        target_name = "gradspec" + name[len("torch"):]
        if importlib.util.find_spec(target_name) is None:
            return None  # so the script sees torch's own "No module named 'torch.x'"
        return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec):
        return importlib.import_module("gradspec" + spec.name[len("torch"):])

    def exec_module(self, module) -> None:
        """The module ran when gradspec imported it."""


def main(argv: list[str]) -> None:
    backend, script, *args = argv
    if backend == "gradspec":
        sys.meta_path.insert(0, TorchIsGradspec())
        # and in the Python processes the script starts (corpus/child/sitecustomize.py)
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CHILD), os.environ.get("PYTHONPATH")]))
    elif backend != "torch":
        raise SystemExit(f"run.py: backend must be torch or gradspec, not {backend!r}")
    sys.path.insert(0, str(SHIMS))
    sys.path.insert(0, str(Path(script).resolve().parent))
    import numpy
    import torch

    torch.manual_seed(SEED)
    random.seed(SEED)
    numpy.random.seed(SEED)
    for first in filter(None, os.environ.get("CORPUS_FIRST", "").split(os.pathsep)):
        runpy.run_path(first, run_name="__main__")  # a recipe's data maker (`first:`)
    sys.argv = [script, *args]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
