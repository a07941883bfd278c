"""Core benchmarks: gradspec against hand-written numpy and PyTorch (CPU), in one run.

    make bench      (one thread; OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset for this command)

1. `(a*b+c).sum()` forward + backward on 16 float32 values: per-op overhead.
2. A 100,000-node chain `y = y * c`, forward + backward, per node: graph building and the engine.
3. One SGD step of the 784-512-512-10 ReLU MLP at batch 64 (forward, MSE loss, backward, update),
   timed two ways. "SGD step": runs of 20 consecutive steps, as a training loop makes them.
   "first step": one step right after the other contenders' turns, with the caches holding their
   data and code: it shows what a step costs cold (gradspec's step runs about 85 Python
   functions, the numpy one 4, and each costs more when it is not in cache).
Each line reports gradspec's time and its ratio to numpy and to torch (when installed).
"""

from __future__ import annotations

import gc
import time

import numpy as np

import gradspec

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # the comparison column is left out
    torch = None


def best_of(fns: list, repeat: int, number: int) -> list[float]:
    """Seconds per call of each function: the best of `repeat` rounds of `number` calls, the
    functions taking turns round by round so that drifts of the machine's speed hit all alike."""
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            best[i] = min(best[i], (time.perf_counter() - start) / number)
    return best


# ---- 1. (a*b+c).sum() on 16 floats -------------------------------------------------------

def small_expression(lib):
    rng = np.random.default_rng(0)
    a, b, c = (lib.tensor(rng.random(16, dtype=np.float32), requires_grad=True) for _ in range(3))

    def step():
        (a * b + c).sum().backward()

    return step


def small_expression_numpy():
    rng = np.random.default_rng(0)
    a, b, c = (rng.random(16, dtype=np.float32) for _ in range(3))
    grads = [np.zeros(16, np.float32) for _ in range(3)]

    def step():
        out = (a * b + c).sum()
        g = np.ones_like(a) * np.float32(1.0)
        grads[0] += g * b
        grads[1] += g * a
        grads[2] += g
        return out

    return step


# ---- 2. a 100,000-node chain -------------------------------------------------------------

CHAIN = 100_000


def chain(lib):
    x = lib.ones(1, requires_grad=True)

    def step():
        y = x
        for _ in range(CHAIN):
            y = y * 1.0000001
        y.sum().backward()

    return step


def chain_numpy():
    x = np.ones(1, np.float32)
    c = np.float32(1.0000001)

    def step():
        values = [x]
        for _ in range(CHAIN):
            values.append(values[-1] * c)
        grad = np.ones(1, np.float32)
        for _ in range(CHAIN):
            grad = grad * c
        return grad

    return step


# ---- 3. one SGD step of the 784-512-512-10 MLP -------------------------------------------

SIZES = (784, 512, 512, 10)
BATCH = 64
LR = 0.01


def mlp_weights():
    rng = np.random.default_rng(0)
    layers = []
    for fan_in, fan_out in zip(SIZES, SIZES[1:]):
        bound = 1 / np.sqrt(fan_in)
        layers.append((rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32),
                       rng.uniform(-bound, bound, fan_out).astype(np.float32)))
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.standard_normal((BATCH, SIZES[-1])).astype(np.float32)
    return layers, x, y


def mlp(lib):
    layers, x, y = mlp_weights()
    params = [(lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True)) for w, b in layers]
    x, y = lib.tensor(x), lib.tensor(y)
    flat = [p for pair in params for p in pair]

    def step():
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            if i < len(params) - 1:
                h = h.relu()
        loss = ((h - y) ** 2).mean()
        for p in flat:
            p.grad = None
        loss.backward()
        with lib.no_grad():
            for p in flat:
                p -= LR * p.grad

    return step


def mlp_numpy():
    layers, x, y = mlp_weights()

    def step():
        activations, h = [x], x
        for i, (w, b) in enumerate(layers):
            h = h @ w + b
            if i < len(layers) - 1:
                h = np.maximum(h, 0)
            activations.append(h)
        diff = h - y
        loss = (diff ** 2).mean()
        grad = diff * np.float32(2 / diff.size)
        for i in reversed(range(len(layers))):
            w, b = layers[i]
            if i < len(layers) - 1:
                grad = grad * (activations[i + 1] > 0)
            grad_w = activations[i].T @ grad
            grad_b = grad.sum(0)
            if i > 0:
                grad = grad @ w.T
            w -= LR * grad_w
            b -= LR * grad_b
        return loss

    return step


def report(name: str, unit: str, scale: float, ours: float, numpy_time: float | None,
           torch_time: float | None) -> None:
    line = f"{name:<34} gradspec {ours * scale:9.2f} {unit}"
    if numpy_time is not None:
        line += f"   numpy {numpy_time * scale:9.2f} {unit} ({ours / numpy_time:5.2f}x)"
    if torch_time is not None:
        line += f"   torch {torch_time * scale:9.2f} {unit} ({ours / torch_time:5.2f}x)"
    print(line, flush=True)


def main() -> None:
    print(f"numpy {np.__version__}" + (f", torch {torch.__version__}" if torch else ", torch not installed")
          + "; ratios are gradspec's time over the other's (lower is better)")
    cases = [
        ("(a*b+c).sum() fwd+bwd, 16 floats", "us", 1e6, small_expression, small_expression_numpy, 20, 500),
        ("100k-node chain fwd+bwd, per node", "us", 1e6 / CHAIN, chain, chain_numpy, 5, 1),
        ("MLP 784-512-512-10 SGD step, b=64", "ms", 1e3, mlp, mlp_numpy, 12, 20),
        ("MLP 784-512-512-10 first step", "ms", 1e3, mlp, mlp_numpy, 60, 1),
    ]
    for name, unit, scale, build, build_numpy, repeat, number in cases:
        gc.collect()
        contenders = [build(gradspec), build_numpy()] + ([build(torch)] if torch else [])
        times = best_of(contenders, repeat, number)
        report(name, unit, scale, times[0], times[1], times[2] if torch else None)


if __name__ == "__main__":
    main()
