"""Compare two printed outputs number by number.

The text between numbers must be equal; each number must match within a tolerance that
respects how it was printed: a float printed with d decimals may differ by one unit in its
last place (0.0051 against 0.0052: two close values can round apart) plus `atol` plus `rtol`
of its size; an integer must be equal. Memory addresses (`object at 0x7f...`) are masked first, and so is
anything a script's `# corpus: ignore=REGEX` names (timings).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|\b(?:nan|inf)\b")
ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


def normalise(text: str, ignore: list[str] = ()) -> str:
    text = ADDRESS.sub("0x?", text)
    for pattern in ignore:
        text = re.sub(pattern, "<ignored>", text)
    return text


def _unit_in_last_place(token: str) -> float:
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (-decimals + (int(exponent) if exponent else 0))


def _is_integer(token: str) -> bool:
    return "." not in token and "e" not in token.lower() and token.lstrip("+-").isdigit()


def numbers_match(expected: str, actual: str, rtol: float, atol: float) -> bool:
    if _is_integer(expected) and _is_integer(actual):
        return int(expected) == int(actual)
    a, b = float(expected), float(actual)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    slack = max(_unit_in_last_place(expected), _unit_in_last_place(actual))
    return abs(a - b) <= slack * 1.0001 + atol + rtol * max(abs(a), abs(b))


@dataclass
class Mismatch:
    line: int
    expected: str
    actual: str

    def __str__(self) -> str:
        return f"line {self.line}: torch printed {self.expected.strip()!r}, gradspec {self.actual.strip()!r}"


def _line_matches(expected: str, actual: str, rtol: float, atol: float) -> bool:
    expected_tokens, actual_tokens = NUMBER.findall(expected), NUMBER.findall(actual)
    if NUMBER.split(expected) != NUMBER.split(actual) or len(expected_tokens) != len(actual_tokens):
        return False
    return all(numbers_match(e, a, rtol, atol) for e, a in zip(expected_tokens, actual_tokens))


def first_mismatch(expected: str, actual: str, rtol: float = 1e-3, atol: float = 1e-6) -> Mismatch | None:
    """None when the outputs agree; else the first line where they part."""
    expected_lines, actual_lines = expected.splitlines(), actual.splitlines()
    for number, (e, a) in enumerate(zip(expected_lines, actual_lines), 1):
        if not _line_matches(e, a, rtol, atol):
            return Mismatch(number, e, a)
    if len(expected_lines) != len(actual_lines):
        n = min(len(expected_lines), len(actual_lines))
        return Mismatch(n + 1, _line_or_end(expected_lines, n), _line_or_end(actual_lines, n))
    return None


def _line_or_end(lines: list[str], n: int) -> str:
    return lines[n] if n < len(lines) else "<end of output>"
