"""Per-step time of the main job's training loop, gradspec against PyTorch on the CPU.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 -m bench.bench_train [--model mlp|cnn|both]

(the env -u drops the BLAS overrides that force a slow kernel on some of this project's machines,
as `make bench` does; the script itself sets one thread for numpy's BLAS and for torch)

Both sides run the same code (gradspec.train's models, loss, SGD with momentum) on the same
batches of the embedded digits, one thread each, in one process, alternating rounds so that
machine noise hits both alike; the report gives the median per-step time of each and the ratio.
Two measures: the bare step (forward, loss, backward, optimizer step, zero_grad on a batch
already in memory) and the loop as the job runs it (DataLoader with shuffling included).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import gradspec  # noqa: E402
from gradspec import train as job  # noqa: E402
from gradspec.vision import datasets, transforms  # noqa: E402


def _torch_models(torch):
    nn = torch.nn

    class NeuralNetwork(nn.Module):
        def __init__(self, in_features, num_classes=10):
            super().__init__()
            self.flatten = nn.Flatten()
            self.linear_relu_stack = nn.Sequential(nn.Linear(in_features, 512), nn.ReLU(), nn.Linear(512, 512),
                                                   nn.ReLU(), nn.Linear(512, num_classes))

        def forward(self, x):
            return self.linear_relu_stack(self.flatten(x))

    class ConvNet(nn.Module):
        def __init__(self, image_size, num_classes=10):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                          nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
            side = image_size // 4
            self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(64 * side * side, 128), nn.ReLU(),
                                            nn.Linear(128, num_classes))

        def forward(self, x):
            return self.classifier(self.features(x))

    return {"mlp": lambda: NeuralNetwork(64), "cnn": lambda: ConvNet(8)}


def _digits_arrays():
    mean, std = job.NORMALIZATION["digits"]
    data = datasets.Digits(train=True, transform=transforms.Compose([transforms.ToTensor(),
                                                                      transforms.Normalize(mean, std)]))
    x, y = data.__getitems__(list(range(len(data)))).columns
    return data, x.numpy(), y.numpy()


class Side:
    """One framework's loop: `steps(n)` bare steps, `epoch()` one DataLoader epoch; both return seconds/step."""

    def __init__(self, lib, make_model, data, x, y, batch_size, use_loader_dataset):
        self.lib = lib
        lib.manual_seed(0)
        self.model = make_model()
        self.loss_fn = lib.nn.CrossEntropyLoss()
        self.optimizer = lib.optim.SGD(self.model.parameters(), lr=0.05, momentum=0.9)
        n = (len(x) // batch_size) * batch_size
        self.batches = [(lib.from_numpy(x[i:i + batch_size].copy()), lib.from_numpy(y[i:i + batch_size].copy()))
                        for i in range(0, n, batch_size)]
        self.loader = lib.utils.data.DataLoader(use_loader_dataset, batch_size=batch_size, shuffle=True)

    def _step(self, X, y):
        pred = self.model(X)
        loss = self.loss_fn(pred, y)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()
        return loss

    def steps(self, n):
        batches = self.batches
        start = time.perf_counter()
        for i in range(n):
            X, y = batches[i % len(batches)]
            self._step(X, y)
        return (time.perf_counter() - start) / n

    def epoch(self):
        start = time.perf_counter()
        count = 0
        for X, y in self.loader:
            self._step(X, y)
            count += 1
        return (time.perf_counter() - start) / count


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["mlp", "cnn", "both"], default="both")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=50, help="bare steps per round")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: nothing to compare with (pip install torch)", file=sys.stderr)
        return 1
    torch.set_num_threads(1)
    data, x, y = _digits_arrays()
    torch_dataset = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    torch_models = _torch_models(torch)
    ours = {"mlp": lambda: job.NeuralNetwork(64), "cnn": lambda: job.ConvNet(8)}
    kinds = ["mlp", "cnn"] if args.model == "both" else [args.model]
    print(f"gradspec {gradspec.__version__} vs torch {torch.__version__}, one thread, batch {args.batch_size}, "
          f"digits ({len(x)} training images, 8x8)")
    print(f"{'model':<5} {'measure':<22} {'gradspec ms':>12} {'torch ms':>10} {'ratio':>7}")
    for kind in kinds:
        a = Side(gradspec, ours[kind], data, x, y, args.batch_size, data)
        b = Side(torch, torch_models[kind], data, x, y, args.batch_size, torch_dataset)
        a.steps(5), b.steps(5)  # warm up
        bare = {"a": [], "b": []}
        loop = {"a": [], "b": []}
        for _ in range(args.rounds):
            bare["a"].append(a.steps(args.steps))
            bare["b"].append(b.steps(args.steps))
            loop["a"].append(a.epoch())
            loop["b"].append(b.epoch())
        for name, samples in (("step (batch in memory)", bare), ("epoch loop (DataLoader)", loop)):
            ours_ms = 1000 * statistics.median(samples["a"])
            theirs_ms = 1000 * statistics.median(samples["b"])
            print(f"{kind:<5} {name:<22} {ours_ms:>12.3f} {theirs_ms:>10.3f} {ours_ms / theirs_ms:>7.2f}")
    print("ratio = gradspec time / torch time (below 1: gradspec is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
