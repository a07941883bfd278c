"""The main job: train the PyTorch quickstart's NeuralNetwork (or a small CNN) end to end.

    python -m gradspec.train                      # the embedded UCI digits, seed 003's MLP, ~98% in seconds
    python -m gradspec.train --model cnn
    python -m gradspec.train --data DIR           # FashionMNIST IDX files in DIR (see gradspec.vision.datasets)
    python -m gradspec.train --epochs 4 --save ckpt.gsp && python -m gradspec.train --epochs 10 --resume ckpt.gsp

The code is the quickstart's (model, loss_fn, optimizer, train and test loops, model.eval(),
no_grad, argmax) with `import gradspec as torch`; it adds a progress bar per epoch (tqdm),
a cosine learning-rate schedule, and checkpoints that resume bit for bit: a checkpoint holds
the model, optimizer and scheduler state and the random generator's state, so a run resumed
from epoch k ends with the same parameters as one that never stopped.

Every input is checked before training starts (the numbers, the device, the --save folder, the
--resume file, the data: non-empty, square images, labels in range), and a bad one ends the
job with one line on stderr naming it and exit status 2 (1 for an internal error; `--debug`
shows the traceback instead). Output piped into a reader that stops early (`| head -1`) ends
the job quietly with status 1, as Python's documentation recommends.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time

import numpy as np

import gradspec as torch
from gradspec import nn
from gradspec.utils.data import DataLoader
from gradspec.serialization import CheckpointError
from gradspec.vision import datasets, transforms

CHECKPOINT_KIND = "gradspec-train-checkpoint"
NUM_CLASSES = 10
PROG = "gradspec-train"


class JobError(Exception):
    """A bad input to the job, reported as one line on stderr."""

# mean and std of the training pixels, per dataset (the digits' from its fixed training split)
NORMALIZATION = {
    "digits": ((0.3056,), (0.3761,)),
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "mnist": ((0.1307,), (0.3081,)),
}
DEFAULT_EPOCHS = {"digits": 10, "fashion-mnist": 5, "mnist": 5}


class NeuralNetwork(nn.Module):
    """Seed 003's model: Flatten, then Linear-ReLU-Linear-ReLU-Linear (in_features = pixels)."""

    def __init__(self, in_features: int = 28 * 28, num_classes: int = 10):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(in_features, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, num_classes),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


class ConvNet(nn.Module):
    """Two conv-ReLU-maxpool stages and a linear classifier, for 1-channel square images."""

    def __init__(self, image_size: int = 28, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        side = image_size // 4
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(64 * side * side, 128), nn.ReLU(),
                                        nn.Linear(128, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def build_model(kind: str, image_size: int, num_classes: int = 10) -> nn.Module:
    if kind == "mlp":
        return NeuralNetwork(image_size * image_size, num_classes)
    if kind == "cnn":
        return ConvNet(image_size, num_classes)
    raise ValueError(f"unknown model {kind!r} (expected 'mlp' or 'cnn')")


def load_data(name: str, root: str | None):
    """The training and test sets (checked: see check_data) and the side of their square images."""
    mean, std = NORMALIZATION[name]
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
    if name == "digits":
        training_data, test_data = (datasets.Digits(train=True, transform=transform),
                                    datasets.Digits(train=False, transform=transform))
    else:
        cls = datasets.FashionMNIST if name == "fashion-mnist" else datasets.MNIST
        training_data, test_data = cls(root, train=True, transform=transform), cls(root, train=False, transform=transform)
    return training_data, test_data, check_data(training_data, test_data)


def check_data(training_data, test_data) -> int:
    """The image side, once both sets are non-empty, hold square images of one size (finite, for
    float images) and labels in 0..NUM_CLASSES-1; else a JobError naming the set and the problem."""
    sides = set()
    for split, data in (("training", training_data), ("test", test_data)):
        where = f"the {split} set" + (f" ({data.files[0]})" if getattr(data, "files", None) else "")
        if len(data) == 0:
            raise JobError(f"{where} is empty")
        images, labels = data.data, data.targets.numpy()
        if images.shape[1] != images.shape[2]:
            raise JobError(f"{where} holds {images.shape[1]}x{images.shape[2]} images; this job's models take "
                           "square images")
        sides.add(images.shape[1])
        if images.dtype.kind == "f" and not np.isfinite(images).all():
            raise JobError(f"{where} holds non-finite pixel values (NaN or infinity)")
        wrong = np.flatnonzero((labels < 0) | (labels >= NUM_CLASSES))
        if wrong.size:
            raise JobError(f"{where}: label {labels[wrong[0]]} of sample {wrong[0]} is out of range (this job has "
                           f"{NUM_CLASSES} classes, 0..{NUM_CLASSES - 1}; {wrong.size} labels are out of range)")
    if len(sides) > 1:
        raise JobError(f"the training and test images differ in size ({' and '.join(map(str, sorted(sides)))} "
                       "pixels square)")
    return sides.pop()


def _progress(iterable, enabled: bool, **kwargs):
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is a dependency, but the job runs without it
        return iterable
    return tqdm(iterable, **kwargs)


def train(dataloader, model, loss_fn, optimizer, device, progress: bool = True, desc: str = "") -> float:
    """One epoch; returns the mean training loss."""
    model.train()
    total, batches = 0.0, 0
    bar = _progress(dataloader, progress, desc=desc, unit="batch", leave=True, dynamic_ncols=True)
    for X, y in bar:
        X, y = X.to(device), y.to(device)
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        value = loss.item()
        total += value
        batches += 1
        if progress and hasattr(bar, "set_postfix") and batches % 10 == 0:
            bar.set_postfix(loss=f"{value:>7f}", refresh=False)
    return total / max(batches, 1)


def _correct(pred, y) -> float:
    if hasattr(pred, "argmax"):
        return (pred.argmax(1) == y).type(torch.float).sum().item()
    import numpy as np  # until Tensor.argmax lands in the op library

    return float((np.argmax(pred.detach().cpu().numpy(), axis=1) == y.cpu().numpy()).sum())


def test(dataloader, model, loss_fn, device, quiet: bool = False) -> tuple[float, float]:
    """Accuracy (0..1) and mean loss over the test set, printed as the quickstart prints them."""
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0.0, 0.0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += _correct(pred, y)
    test_loss /= num_batches
    correct /= size
    if not quiet:
        print(f"Test Error: \n Accuracy: {(100 * correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return correct, test_loss


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """One line (argparse prints the whole usage first)."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _number(kind, accept, what: str):
    """An argparse type: a `kind` (int or float) for which `accept(value)` holds."""

    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text}")
        return value

    return convert


def parse_args(argv=None) -> argparse.Namespace:
    parser = _Parser(prog=PROG, description=__doc__.split("\n\n")[0],
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", metavar="DIR", help="train on FashionMNIST IDX files in DIR (default: the "
                        "embedded UCI digits)")
    parser.add_argument("--dataset", choices=["digits", "fashion-mnist", "mnist"],
                        help="which data set (default: digits, or fashion-mnist with --data)")
    parser.add_argument("--model", choices=["mlp", "cnn"], default="mlp",
                        help="mlp: the quickstart's NeuralNetwork (default); cnn: two conv layers")
    parser.add_argument("--epochs", type=_number(int, lambda n: n >= 0, "an integer >= 0"),
                        help="epochs to train (default: 10 on digits, 5 otherwise)")
    parser.add_argument("--batch-size", type=_number(int, lambda n: n > 0, "an integer > 0"), default=64)
    parser.add_argument("--lr", type=_number(float, lambda x: 0 < x < math.inf, "a finite number > 0"), default=0.05,
                        help="initial learning rate (SGD, momentum 0.9, cosine schedule)")
    parser.add_argument("--momentum", type=_number(float, lambda x: 0 <= x < math.inf, "a finite number >= 0"), default=0.9)
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda (needs cupy)")
    parser.add_argument("--seed", type=_number(int, lambda n: -(1 << 63) <= n < 1 << 64, "an integer in -2**63..2**64-1"), default=0)
    parser.add_argument("--save", metavar="PATH", help="write a checkpoint to PATH after every epoch")
    parser.add_argument("--resume", metavar="PATH", help="continue from a checkpoint written by --save")
    parser.add_argument("--threads", type=_number(int, lambda n: n >= 1, "an integer >= 1"), default=1,
                        help="BLAS threads (default 1: this job's matrices are small, and more threads than free "
                             "cores slow it down many times; needs threadpoolctl, else the BLAS default stays)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--debug", action="store_true", help="on an error, show the traceback instead of one line")
    args = parser.parse_args(argv)
    if args.dataset is None:
        args.dataset = "fashion-mnist" if args.data else "digits"
    if args.dataset != "digits" and not args.data:
        parser.error(f"--dataset {args.dataset} needs --data DIR (the directory holding its IDX files)")
    if args.epochs is None:
        args.epochs = DEFAULT_EPOCHS[args.dataset]
    return args


def check_device(name: str) -> None:
    """A JobError unless `name` is a device this machine has (cuda: cupy installed, a GPU seen) and
    can train on (not meta, whose tensors hold no data)."""
    try:
        if torch.empty(0).to(torch.device(name)).device.type == "meta":
            raise ValueError("the meta device holds shapes, not data: train on cpu or cuda")
    except (RuntimeError, ValueError) as error:
        raise JobError(f"--device {name}: {error}") from None


def check_writable(path: str) -> None:
    """A JobError unless a checkpoint can be written to `path` (checked by creating a temp file
    beside it, which disappears at once)."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise JobError(f"--save {path}: that is a folder; give the checkpoint's file name")
    if not os.path.isdir(folder):
        raise JobError(f"--save {path}: the folder {folder} does not exist")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise JobError(f"--save {path}: cannot write in {folder} ({error.strerror})") from None


def _checkpoint(model, optimizer, scheduler, epoch: int, args) -> dict:
    return {
        "kind": CHECKPOINT_KIND,
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng_state": torch.get_rng_state(),
        "config": {"dataset": args.dataset, "model": args.model, "batch_size": args.batch_size, "lr": args.lr,
                   "momentum": args.momentum, "seed": args.seed, "epochs": args.epochs},
    }


def read_resume(path: str, args) -> dict:
    """The checkpoint at `path`, checked to be one `--save` wrote with the same settings."""
    try:
        state = torch.load(path)
    except OSError as error:
        raise JobError(f"--resume {path}: {error.strerror or _one_line(error)}") from None
    except CheckpointError as error:
        raise JobError(f"--resume: {_one_line(error)}") from None
    if not isinstance(state, dict) or state.get("kind") != CHECKPOINT_KIND:
        raise JobError(f"{path}: not a checkpoint written by `gradspec.train --save`")
    config = state.get("config")
    parts = ("model", "optimizer", "scheduler")
    if (not isinstance(config, dict) or not all(key in config for key in ("dataset", "model", "batch_size"))
            or not all(isinstance(state.get(part), dict) for part in parts) or type(state.get("epoch")) is not int
            or state["epoch"] < 0 or "rng_state" not in state):
        raise JobError(f"{path}: a `gradspec.train --save` checkpoint without its config, epoch, model, optimizer, "
                       "scheduler or random state: it cannot be resumed")
    for key in ("dataset", "model", "batch_size"):
        if config[key] != getattr(args, key):
            raise JobError(f"{path} was trained with --{key.replace('_', '-')} {config[key]}, not "
                           f"{getattr(args, key)}: resume with the same settings")
    return state


def apply_resume(path: str, state: dict, model, optimizer, scheduler) -> int:
    """Load the checkpoint's states; the epoch it ended. A state that does not fit is a JobError."""
    for part, target in (("model", model), ("optimizer", optimizer), ("scheduler", scheduler)):
        try:
            target.load_state_dict(state[part])
        except Exception as error:  # noqa: BLE001 - whatever the file holds, say which part did not fit
            raise JobError(f"{path}: its {part} state does not fit ({_one_line(error)})") from None
    try:
        torch.set_rng_state(state["rng_state"])
    except Exception as error:  # noqa: BLE001
        raise JobError(f"{path}: its random generator state is damaged ({_one_line(error)})") from None
    return state["epoch"]


def run(args: argparse.Namespace, stop_after: int | None = None) -> dict:
    """Train as the command line says; returns the final test accuracy and loss and the timings.

    stop_after: end after that many epochs (counted from the start of training, checkpoint
    written as usual) as an interrupted run would; for tests of resuming."""
    device = args.device
    check_device(device)
    if args.save:
        check_writable(args.save)
    resume = read_resume(args.resume, args) if args.resume else None
    torch.manual_seed(args.seed)
    training_data, test_data, image_size = load_data(args.dataset, args.data)
    if args.model == "cnn" and image_size < 4:
        raise JobError(f"--model cnn needs images of at least 4x4 pixels, not {image_size}x{image_size}")
    train_dataloader = DataLoader(training_data, batch_size=args.batch_size, shuffle=True)
    test_dataloader = DataLoader(test_data, batch_size=args.batch_size)

    model = build_model(args.model, image_size).to(device)
    print(f"Using {device} device, {args.dataset} data ({len(training_data)} train / {len(test_data)} test)")
    print(model)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(args.epochs, 1))

    start_epoch = 0
    if resume is not None:
        start_epoch = apply_resume(args.resume, resume, model, optimizer, scheduler)
        print(f"Resumed from {args.resume} after epoch {start_epoch}")

    accuracy = test_loss = float("nan")
    steps, train_seconds = 0, 0.0
    started = time.perf_counter()
    for t in range(start_epoch, args.epochs):
        print(f"Epoch {t + 1}\n-------------------------------")
        tick = time.perf_counter()
        train(train_dataloader, model, loss_fn, optimizer, device, progress=not args.no_progress,
              desc=f"epoch {t + 1}/{args.epochs}")
        train_seconds += time.perf_counter() - tick
        steps += len(train_dataloader)
        scheduler.step()
        accuracy, test_loss = test(test_dataloader, model, loss_fn, device)
        if args.save:
            torch.save(_checkpoint(model, optimizer, scheduler, t + 1, args), args.save)
        if stop_after is not None and t + 1 >= stop_after:
            break
    if start_epoch >= args.epochs and args.epochs:
        accuracy, test_loss = test(test_dataloader, model, loss_fn, device)
    total = time.perf_counter() - started
    if steps:
        print(f"Done! {steps // len(train_dataloader)} epochs in {total:.1f} s "
              f"({1000 * train_seconds / steps:.2f} ms per training step, data loading included)")
    else:
        print("Done!")
    if args.save:
        print(f"Saved the checkpoint to {args.save}")
    return {"accuracy": accuracy, "loss": test_loss, "seconds": total, "steps": steps, "model": model}


def _limit_threads(threads: int):
    """threadpoolctl's limit on the BLAS pool, where threadpoolctl is installed (a context manager)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        with _limit_threads(args.threads):
            run(args)
        sys.stdout.flush()  # so that a closed pipe is noticed here, not at interpreter exit
    except BrokenPipeError:
        # The reader stopped early (`| head -1`). As Python's documentation recommends (the signal
        # module, "Note on SIGPIPE"): point stdout at devnull, so that the flush at exit cannot fail
        # again, and exit with status 1.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (JobError, CheckpointError, OSError, ValueError) as error:  # bad input: files, data, settings
        if args.debug:
            raise
        print(f"{PROG}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - a bug: still one line, the traceback with --debug
        if args.debug:
            raise
        print(f"{PROG}: internal error: {type(error).__name__}: {_one_line(error)} (rerun with --debug for the "
              "traceback)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
