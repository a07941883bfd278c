"""The state of a program being written: its lines, and torch's values of its names.

Each statement is executed under torch as soon as it is written, so the next one is chosen
from real shapes, dtypes and autograd state (no shape inference of our own). A statement
torch refuses is kept now and then, as the program's last (error cases are tests too), and
otherwise dropped.
"""

from __future__ import annotations

import random
import warnings

import numpy as np

from . import literals
from .execute import namespace


class Stop(Exception):
    """The program ends here (a kept failing statement, or nothing left to do)."""


class Builder:
    def __init__(self, rng: random.Random, torch, keep_errors: float = 0.15):
        self.rng = rng
        self.torch = torch
        self.scope = namespace(torch)
        self.lines: list[str] = []
        self.pool: list[str] = []  # expressions naming tensors: `v3`, `v5[0]`
        self.count = 0
        self.keep_errors = keep_errors

    # ---- names and values -------------------------------------------------------------------

    def fresh(self, prefix: str = "v") -> str:
        name = f"{prefix}{self.count}"
        self.count += 1
        return name

    def value(self, expr: str):
        return eval(expr, self.scope)  # noqa: S307 - our own expression over our own names

    def tensors(self, where=None) -> list[str]:
        found = []
        for expr in self.pool:
            t = self.value(expr)
            try:
                if where is None or where(t):
                    found.append(expr)
            except Exception:  # noqa: BLE001 - a predicate reading freed state
                continue
        return found

    def pick(self, where=None, new: float = 0.3, shape=None, dtype=None, requires_grad=None) -> str:
        """An existing tensor satisfying `where`, or (with probability `new`, or if none does) a new
        literal of the given (or random) shape, dtype and requires_grad."""
        candidates = self.tensors(where)
        if candidates and self.rng.random() >= new:
            return self.rng.choice(candidates)
        return self.literal(shape, dtype, requires_grad)

    def literal(self, shape=None, dtype=None, requires_grad=None, data=None) -> str:
        rng = self.rng
        shape = literals.shape(rng) if shape is None else tuple(shape)
        dtype = literals.dtype(rng) if dtype is None else dtype
        if requires_grad is None:
            requires_grad = dtype in literals.FLOATS and rng.random() < 0.7
        name = self.fresh()
        self.emit(f"{name} = {literals.tensor(rng, shape, dtype, requires_grad, data)}", required=True)
        return name

    def scalar(self, kind: str | None = None) -> str:
        return literals.scalar(self.rng, kind)

    def dim(self, expr: str, extra: int = 0) -> int:
        """A dim of the tensor (either sign), now and then one out of range."""
        ndim = self.value(expr).dim() + extra
        bound = max(ndim, 1)
        if self.rng.random() < 0.04:
            return self.rng.choice((bound, -bound - 1))
        return self.rng.randrange(-bound, bound)

    # ---- statements -------------------------------------------------------------------------

    def emit(self, line: str, required: bool = False) -> bool:
        """Run a statement under torch; keep it if it ran. If it raised: raise Stop after keeping it
        (now and then), or drop it. `required` statements (literals) must run."""
        before = set(self.scope)
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                exec(compile(line, "<statement>", "exec"), self.scope)  # noqa: S102
        except Exception as error:  # noqa: BLE001
            for name in set(self.scope) - before:
                del self.scope[name]
            if required:
                raise AssertionError(f"the generator wrote a failing literal: {line}: {error}") from error
            if self.rng.random() < self.keep_errors:
                self.lines.append(line)
                raise Stop from None
            return False
        self.lines.append(line)
        for name in sorted(set(self.scope) - before, key=line.find):
            self._register(name, self.scope[name])
        return True

    def _register(self, expr: str, value) -> None:
        if isinstance(value, self.torch.Tensor):
            self.pool.append(expr)
        elif isinstance(value, (tuple, list)) and len(value) <= 6:
            for i, item in enumerate(value):
                if isinstance(item, self.torch.Tensor):
                    self.pool.append(f"{expr}[{i}]")
