"""gradspec on cuda: time per step against torch on the same GPU, and the device work per step.

    python -m bench.bench_cuda                 # on a GPU (cupy + torch with CUDA): about 3 minutes
    python -m bench.bench_cuda --tf32          # the same with TF32 on in both
    GRADSPEC_EMULATE_CUDA=1 python -m bench.bench_cuda --counts    # no GPU needed: about 1 minute

On a GPU, for each workload of issue 11 (the MLP step at batch 64 and 4096, a wide MLP, ResNet-18
at two sizes, an elementwise chain at three sizes), gradspec and torch run the same step on the
same device, alternating rounds; the report gives the median time per step of each and the ratio
gradspec / torch. TF32 is off in both (torch's flags and gradspec's, same names) unless --tf32.
Then torch's profiler (which sees every kernel in the process, cupy's included) counts the kernels
one MLP batch-64 step launches under each.

Without a GPU (--counts, on the emulated device), what one training step asks of the device,
counted by gradspec.emulated_cuda: kernel launches (elementwise, reductions, copies, memsets,
fused kernels), allocations, device-to-host and host-to-device copies, for the MLP batch-64
SGD-momentum step and the ResNet-18 step (batch 32, 64x64), after two warm-up steps (which
allocate the momentum buffers and compile the kernels).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

MLP = (784, 512, 512, 10)
WIDE = (784, 4096, 4096, 10)


# ---- the workloads, written once for either library ------------------------------------------------

def _mlp(lib, widths):
    nn = lib.nn
    layers = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(widths) - 2 else [])
    return nn.Sequential(*layers)


def _training_step(lib, model, x, y):
    """forward, cross-entropy, backward, SGD with momentum, zero_grad: the main job's step."""
    loss_fn = lib.nn.CrossEntropyLoss()
    optimizer = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    return step


def mlp_step(lib, device: str, widths=MLP, batch: int = 64):
    rng = np.random.default_rng(0)
    lib.manual_seed(0)
    model = _mlp(lib, widths).to(device)
    x = lib.tensor(rng.standard_normal((batch, widths[0]), dtype=np.float32), device=device)
    y = lib.tensor(rng.integers(0, widths[-1], batch), device=device)
    return _training_step(lib, model, x, y)


def _resnet18(lib):
    """ResNet-18 as torchvision builds it: gradspec's own, or written over torch.nn (torchvision
    need not be installed on the GPU machine)."""
    if lib.__name__ == "gradspec":
        from gradspec.models import resnet18

        return resnet18()
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self, inplanes, planes, stride):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False), nn.BatchNorm2d(planes),
                                      nn.ReLU(inplace=True), nn.Conv2d(planes, planes, 3, 1, 1, bias=False),
                                      nn.BatchNorm2d(planes))
            self.down = None if stride == 1 and inplanes == planes else nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

        def forward(self, x):
            return (self.body(x) + (x if self.down is None else self.down(x))).relu()

    widths, layers = [64, 64, 128, 256, 512], []
    for i in range(1, 5):
        layers += [Block(widths[i - 1], widths[i], 1 if i == 1 else 2), Block(widths[i], widths[i], 1)]
    return nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                         nn.MaxPool2d(3, 2, 1), *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000))


def resnet_step(lib, device: str, batch: int = 32, size: int = 64):
    rng = np.random.default_rng(0)
    lib.manual_seed(0)
    model = _resnet18(lib).to(device)
    x = lib.tensor(rng.standard_normal((batch, 3, size, size), dtype=np.float32), device=device)
    y = lib.tensor(rng.integers(0, 1000, batch), device=device)
    return _training_step(lib, model, x, y)


def chain_step(lib, device: str, n: int):
    """((a*b+c).sin().exp()*a).sum(), forward and backward: elementwise work only."""
    rng = np.random.default_rng(0)
    a, b, c = (lib.tensor(rng.standard_normal(n, dtype=np.float32) * 0.5, device=device, requires_grad=True)
               for _ in range(3))

    def step():
        ((a * b + c).sin().exp() * a).sum().backward()
        a.grad = b.grad = c.grad = None

    return step


WORKLOADS = [
    ("MLP 784-512-512-10, batch 64", lambda lib, d: mlp_step(lib, d, MLP, 64)),
    ("MLP 784-512-512-10, batch 4096", lambda lib, d: mlp_step(lib, d, MLP, 4096)),
    ("MLP 784-4096-4096-10, batch 4096", lambda lib, d: mlp_step(lib, d, WIDE, 4096)),
    ("ResNet-18, batch 32, 64x64", lambda lib, d: resnet_step(lib, d, 32, 64)),
    ("ResNet-18, batch 128, 224x224", lambda lib, d: resnet_step(lib, d, 128, 224)),
    ("elementwise chain, n = 16", lambda lib, d: chain_step(lib, d, 16)),
    ("elementwise chain, n = 1M", lambda lib, d: chain_step(lib, d, 1 << 20)),
    ("elementwise chain, n = 64M", lambda lib, d: chain_step(lib, d, 1 << 26)),
]


# ---- on a GPU: time per step ---------------------------------------------------------------------

def _per_step(step, sync, budget: float = 0.25) -> float:
    """Seconds per step: steps run in batches of about `budget` seconds, timed after a sync."""
    sync()
    start, count = time.perf_counter(), 0
    while True:
        step()
        count += 1
        if count >= 3 and time.perf_counter() - start > budget / 4:
            break
    sync()
    per = (time.perf_counter() - start) / count
    repeats = max(1, int(budget / max(per, 1e-7)))
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    sync()
    return (time.perf_counter() - start) / repeats


def set_tf32(gradspec, torch, on: bool) -> None:
    for lib in (gradspec, torch):
        lib.backends.cuda.matmul.allow_tf32 = on
        lib.backends.cudnn.allow_tf32 = on


def timings(tf32: bool, rounds: int = 5) -> list[tuple[str, float, float]]:
    import torch

    import gradspec

    set_tf32(gradspec, torch, tf32)
    rows = []
    for name, build in WORKLOADS:
        ours, theirs = build(gradspec, "cuda"), build(torch, "cuda")
        for step in (ours, theirs):  # warm up: compile kernels, allocate optimizer state
            step()
            step()
        a, b = [], []
        for _ in range(rounds):
            a.append(_per_step(ours, gradspec.cuda.synchronize))
            b.append(_per_step(theirs, torch.cuda.synchronize))
        rows.append((name, statistics.median(a), statistics.median(b)))
        print(f"{name:36s} {rows[-1][1] * 1e3:10.3f} ms {rows[-1][2] * 1e3:10.3f} ms {rows[-1][1] / rows[-1][2]:7.2f}x",
              flush=True)
        del ours, theirs
    return rows


def profiled_kernels(lib, step) -> int:
    """Kernels one step launches on the GPU, as torch's profiler sees them (cupy's included)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    step()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        step()
        torch.cuda.synchronize()
    return sum(1 for e in prof.events() if str(getattr(e, "device_type", "")).endswith("CUDA"))


# ---- without a GPU: what a step asks of the (emulated) device -----------------------------------

def counts(step, warmup: int = 2) -> dict:
    from gradspec import cuda, emulated_cuda

    for _ in range(warmup):
        step()
    before, fused = emulated_cuda.snapshot(), cuda.stats["launches"]
    step()
    counted = emulated_cuda.since(before)
    counted["fused"] = cuda.stats["launches"] - fused
    return counted


def print_counts(name: str, counted: dict, top: int = 12) -> None:
    print(f"{name}: {counted['launches']} kernel launches ({counted['fused']} fused), {counted['allocations']} "
          f"allocations, {counted['device_to_host']} device-to-host and {counted['host_to_device']} host-to-device "
          f"copies")
    for kernel, number in counted["kernels"].most_common(top):
        print(f"    {number:4d}  {kernel}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counts", action="store_true", help="count the device work per step (emulated device)")
    parser.add_argument("--tf32", action="store_true", help="TF32 matmuls and convolutions in both")
    args = parser.parse_args(argv)
    import gradspec

    if not gradspec.cuda.is_available():
        print("no cuda device: run on a GPU, or set GRADSPEC_EMULATE_CUDA=1 with --counts", file=sys.stderr)
        return 2
    emulated = gradspec.backends.backend_of(gradspec.zeros(1, device="cuda")._data).name == "emulated"
    if args.counts or emulated:
        if not emulated:
            print("--counts counts on the emulated device: set GRADSPEC_EMULATE_CUDA=1 on a machine without a GPU",
                  file=sys.stderr)
            return 2
        print("Device work per training step, counted on the emulated device (no GPU):")
        print_counts("MLP 784-512-512-10, batch 64, SGD momentum", counts(mlp_step(gradspec, "cuda")))
        print_counts("ResNet-18, batch 32, 64x64, SGD momentum", counts(resnet_step(gradspec, "cuda", 32, 64)))
        return 0
    import torch

    print(f"gradspec / torch {torch.__version__} on {torch.cuda.get_device_name()}, TF32 {'on' if args.tf32 else 'off'}"
          " in both; median time per step:")
    print(f"{'work':36s} {'gradspec':>13s} {'torch':>13s} {'ratio':>8s}")
    timings(args.tf32)
    for lib in (gradspec, torch):
        print(f"kernels per MLP batch-64 step under {lib.__name__} (torch's profiler): "
              f"{profiled_kernels(lib, mlp_step(lib, 'cuda'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
