"""Run at start-up by every Python process that a corpus script starts under gradspec (run.py puts
this folder on PYTHONPATH for them): `torch` is gradspec there too, as in the script's own process.
A multiprocessing child started by spawn imports the script's modules afresh (its `__main__` as
`__mp_main__`), and without this would import PyTorch where the script's parent has gradspec."""

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("corpus_run", Path(__file__).resolve().parent.parent / "run.py")
_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_run)
sys.meta_path.insert(0, _run.TorchIsGradspec())
