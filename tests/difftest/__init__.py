"""The differential tester: random programs over the public API, run under gradspec and torch.

A program is a list of one-line Python statements over the names `torch` and `F`
(torch.nn.functional), so it prints as a standalone script that runs under either library
(tests/fuzz_regressions/ holds such scripts). `generate` writes programs from a seed, `run`
executes one under a library and records what it observed, `compare` lists the disagreements,
`shrink` reduces a disagreeing program, and `python -m difftest` (`make fuzz`) runs a budget.
"""

from .compare import compare, disagreements
from .execute import Outcome, run
from .generate import generate
from .program import Program
from .shrink import shrink

__all__ = ["Outcome", "Program", "compare", "disagreements", "generate", "run", "shrink"]
