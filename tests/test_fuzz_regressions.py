"""Every script in tests/fuzz_regressions/ runs alike under gradspec and torch.

Each script is a program the differential tester (tests/difftest/) once found disagreeing, shrunk,
or one written for a root cause it found; it runs under torch as it is (`# ---` lines separate
programs that each run on their own). Its comment says what differed. `make fuzz` adds new ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from difftest import Program, disagreements

SCRIPTS = sorted((Path(__file__).parent / "fuzz_regressions").glob("*.py"))


@pytest.mark.parametrize("path", SCRIPTS, ids=[path.stem for path in SCRIPTS])
def test_regression_script_agrees_with_torch(path, torch):
    import gradspec

    found = {program.origin: disagreements(program, gradspec, torch) for program in Program.load(path)}
    assert {origin: lines for origin, lines in found.items() if lines} == {}
