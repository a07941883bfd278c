"""The measurement behind mm_mat1_backward's choice (runtime/formulas.py, docs/decisions.md).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python -m bench.bench_layout

For grad (M x K) @ mat2^T with mat2 (N x K) row-major, it times numpy's product as written and
the same product computed transposed and copied back to row-major, (mat2 @ grad^T)^T, and marks
the one the rule picks.
Run it on another machine or BLAS to see whether the rule still holds there.
"""

from __future__ import annotations

import itertools

import numpy as np

from gradspec import formulas
from bench.bench_core import best_of

SIZES = (16, 64, 256, 512, 1024)


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'M':>5} {'N':>5} {'K':>5} {'as written':>11} {'transposed':>11} {'ratio':>6}  rule")
    for rows, columns, inner in itertools.product(SIZES, SIZES, (16, 128, 512)):
        grad = rng.standard_normal((rows, inner)).astype(np.float32)
        mat2 = rng.standard_normal((columns, inner)).astype(np.float32)
        written, transposed = best_of([lambda: grad @ mat2.T, lambda: np.ascontiguousarray((mat2 @ grad.T).T)], 5, 10)
        picks = "transposed" if formulas.transposed_product_pays(grad, mat2) else "as written"
        print(f"{rows:5d} {columns:5d} {inner:5d} {written * 1e6:9.1f}us {transposed * 1e6:9.1f}us "
              f"{written / transposed:6.2f}  {picks}", flush=True)


if __name__ == "__main__":
    main()
