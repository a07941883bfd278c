"""Operator-library benchmarks against PyTorch (CPU), in one run:

    make bench-ops   (one thread; OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset for this command)

1. conv2d forward + backward, N=8, C=64->64, 32x32, 3x3, padding 1 (input, weight and bias grads).
2. One training step of ResNet-18 (torchvision's layers, batch norm in training mode) at 64x64,
   batch 8: forward, cross-entropy, backward, SGD update.
"""

from __future__ import annotations

import numpy as np

import gradspec
import gradspec.nn.functional as GF
from bench.bench_core import best_of, report

try:
    import torch
    import torch.nn.functional as TF

    torch.set_num_threads(1)
except ImportError:
    torch = TF = None


def conv_step(lib, F):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((8, 64, 32, 32), dtype=np.float32), requires_grad=True)
    w = lib.tensor(rng.standard_normal((64, 64, 3, 3), dtype=np.float32) * 0.05, requires_grad=True)
    b = lib.tensor(rng.standard_normal(64, dtype=np.float32), requires_grad=True)

    def step():
        for t in (x, w, b):
            t.grad = None
        F.conv2d(x, w, b, padding=1).sum().backward()

    return step


def resnet_step(lib, F):
    from tests.test_ops import _resnet18_forward, _resnet18_weights

    rng = np.random.default_rng(0)
    params = {n: lib.tensor(a.astype(np.float32), requires_grad=True) for n, a in _resnet18_weights(rng).items()}
    running = {n.rsplit(".", 1)[0]: (lib.zeros(a.shape[0]), lib.ones(a.shape[0]))
               for n, a in params.items() if n.endswith(".bias") and not n.startswith("fc")}
    x = lib.tensor(rng.standard_normal((8, 3, 64, 64), dtype=np.float32))
    y = lib.tensor(rng.integers(0, 10, 8))

    def step():
        for p in params.values():
            p.grad = None
        F.cross_entropy(_resnet18_forward(F, params, x, running), y).backward()
        with lib.no_grad():
            for p in params.values():
                p -= 0.01 * p.grad

    return step


def main() -> None:
    print(f"torch {torch.__version__}" if torch else "torch not installed: gradspec's times only")
    for name, build, repeat, number in (("conv2d 8x64x32x32 3x3 fwd+bwd", conv_step, 5, 3),
                                        ("ResNet-18 step 8x3x64x64", resnet_step, 3, 1)):
        contenders = [build(gradspec, GF)] + ([build(torch, TF)] if torch else [])
        times = best_of(contenders, repeat, number)
        report(name, "ms", 1e3, times[0], None, times[1] if torch else None)


if __name__ == "__main__":
    main()
