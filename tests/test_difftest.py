"""The differential tester's fixed-seed budget in the suite: programs 0..N-1 of one seed, each run
under gradspec and torch (tests/difftest/), agree. `make fuzz` runs the long budget; the suite
runs a slice small enough for CI's 2 minutes (split in chunks so that a failure names its range)."""

from __future__ import annotations

import pytest

from difftest import disagreements, generate

SEED = 12
PROGRAMS = 3000
CHUNK = 250


@pytest.mark.parametrize("start", range(0, PROGRAMS, CHUNK), ids=lambda start: f"programs{start}")
def test_programs_agree_with_torch(start, torch):
    import gradspec

    found = {}
    for index in range(start, start + CHUNK):
        program = generate(SEED, index, torch)
        lines = disagreements(program, gradspec, torch)
        if lines:
            found[program.origin] = (program.source(), lines)
    assert found == {}
