"""Programs from a seed: a few leaves, then statements drawn from the catalogue by weight,
often ending in a backward pass or autograd.grad."""

from __future__ import annotations

import random

from . import ops_autograd, ops_index, ops_pointwise, ops_reduce, ops_views
from .builder import Builder, Stop
from .program import Program

CATALOGUE = ops_pointwise.OPS + ops_reduce.OPS + ops_index.OPS + ops_views.OPS + ops_autograd.OPS
_WEIGHTS = [weight for weight, _ in CATALOGUE]
_WRITERS = [writer for _, writer in CATALOGUE]


def generate(seed: int, index: int, torch) -> Program:
    """Program `index` of the run seeded `seed`: the same text on every machine with this torch."""
    rng = random.Random(f"{seed}:{index}")
    b = Builder(rng, torch)
    length = rng.randint(2, 9)
    try:
        for _ in range(rng.randint(1, 2)):
            b.literal()
        attempts = 0
        while len(b.lines) < length and attempts < 4 * length:
            attempts += 1
            line = rng.choices(_WRITERS, _WEIGHTS)[0](b)
            if line:
                b.emit(line)
        if rng.random() < 0.6:
            for _ in range(3):
                line = rng.choice((ops_autograd.backward, ops_autograd.grad))(b)
                if line and b.emit(line):
                    break
    except Stop:
        pass
    return Program(tuple(b.lines), origin=f"seed {seed}, program {index}")
