"""Shrink a disagreeing program: drop statements, then simplify what is left, while it still disagrees."""

from __future__ import annotations

import re

from .program import Program

# simplifications tried on each line, in order: fewer flags, then plainer numbers
_REWRITES = (
    (re.compile(r", requires_grad=True"), ""),
    (re.compile(r", retain_graph=True"), ""),
    (re.compile(r"-?\d+\.\d+"), "1.0"),
)


def shrink(program: Program, still_fails, budget: int = 400) -> Program:
    """The smallest program found (by statements, then characters) for which `still_fails` holds."""
    calls = [0]

    def fails(candidate: Program) -> bool:
        if calls[0] >= budget:
            return False
        calls[0] += 1
        return still_fails(candidate)

    lines = list(program.lines)
    changed = True
    while changed:
        changed = False
        for i in reversed(range(len(lines))):
            candidate = lines[:i] + lines[i + 1:]
            if candidate and fails(Program(tuple(candidate))):
                lines, changed = candidate, True
    for i in range(len(lines)):
        for pattern, replacement in _REWRITES:
            for match in reversed(list(pattern.finditer(lines[i]))):
                line = lines[i][:match.start()] + replacement + lines[i][match.end():]
                if line != lines[i] and fails(Program(tuple(lines[:i] + [line] + lines[i + 1:]))):
                    lines[i] = line
    return Program(tuple(lines), program.origin)
