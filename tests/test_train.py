"""The main job (gradspec.train) and seed 003's quickstart code, run with `import gradspec as torch`."""

import io
import os
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

import gradspec as torch  # the quickstart's own spelling
from gradspec import nn
from gradspec import train as job
from gradspec.serialization import CheckpointError
from gradspec.utils.data import DataLoader
from gradspec.vision import datasets
from gradspec.vision.transforms import ToTensor

ROOT = Path(__file__).resolve().parent.parent


def test_seed_003_quickstart_runs_on_the_digits():
    """Seed 003's code, with FashionMNIST swapped for the embedded digits (8x8 instead of 28x28)."""
    torch.manual_seed(0)
    training_data = datasets.Digits(root="data", train=True, download=True, transform=ToTensor())
    test_data = datasets.Digits(root="data", train=False, download=True, transform=ToTensor())
    batch_size = 64
    train_dataloader = DataLoader(training_data, batch_size=batch_size)
    test_dataloader = DataLoader(test_data, batch_size=batch_size)
    for X, y in test_dataloader:
        assert f"Shape of X [N, C, H, W]: {X.shape}" == "Shape of X [N, C, H, W]: torch.Size([64, 1, 8, 8])"
        assert f"Shape of y: {y.shape} {y.dtype}" == "Shape of y: torch.Size([64]) torch.int64"
        break
    device = "cuda" if getattr(torch, "cuda", None) and torch.cuda.is_available() else "cpu"

    class NeuralNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.linear_relu_stack = nn.Sequential(
                nn.Linear(8 * 8, 512),
                nn.ReLU(),
                nn.Linear(512, 512),
                nn.ReLU(),
                nn.Linear(512, 10)
            )

        def forward(self, x):
            x = self.flatten(x)
            logits = self.linear_relu_stack(x)
            return logits

    model = NeuralNetwork().to(device)
    assert "(0): Linear(in_features=64, out_features=512, bias=True)" in str(model)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-1)

    def train(dataloader, model, loss_fn, optimizer):
        size = len(dataloader.dataset)
        model.train()
        lines = []
        for batch, (X, y) in enumerate(dataloader):
            X, y = X.to(device), y.to(device)
            pred = model(X)
            loss = loss_fn(pred, y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            if batch % 100 == 0:
                loss, current = loss.item(), (batch + 1) * len(X)
                lines.append(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")
        return lines

    def test(dataloader, model, loss_fn):
        size = len(dataloader.dataset)
        num_batches = len(dataloader)
        model.eval()
        test_loss, correct = 0, 0
        with torch.no_grad():
            for X, y in dataloader:
                X, y = X.to(device), y.to(device)
                pred = model(X)
                test_loss += loss_fn(pred, y).item()
                correct += (pred.argmax(1) == y).type(torch.float).sum().item()
        test_loss /= num_batches
        correct /= size
        return f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n", correct

    for t in range(3):
        lines = train(train_dataloader, model, loss_fn, optimizer)
        report, accuracy = test(test_dataloader, model, loss_fn)
    assert lines[0].startswith("loss: ") and lines[0].endswith("[   64/ 1437]")
    assert report.startswith("Test Error: \n Accuracy: ") and accuracy > 0.75

    classes = training_data.classes
    model.eval()
    x, y = test_data[0][0], test_data[0][1]
    with torch.no_grad():
        x = x.to(device)
        pred = model(x)
        predicted, actual = classes[pred[0].argmax(0)], classes[y]
    assert actual == classes[int(test_data.targets[0])] and predicted in classes

    # Saving and loading models, as the quickstart does
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    model2 = NeuralNetwork().to(device)
    model2.load_state_dict(torch.load(buffer))
    with torch.no_grad():
        np.testing.assert_array_equal(model2(x).numpy(), model(x).numpy())


def test_main_job_reaches_97_percent_on_the_digits(capsys):
    result = job.run(job.parse_args(["--no-progress"]))
    out = capsys.readouterr().out
    assert result["accuracy"] >= 0.97, out
    assert out.count("Test Error: \n Accuracy: ") == 10 and "Done!" in out
    assert job.NeuralNetwork.__name__ in out and "(0): Linear(in_features=64, out_features=512, bias=True)" in out


def test_main_job_model_prints_like_seed_003():
    from tests.test_nn import SEED_003_REPR

    assert repr(job.NeuralNetwork()) == SEED_003_REPR


def _run(argv, stop_after=None):
    with redirect_stdout(io.StringIO()) as out:
        result = job.run(job.parse_args(argv), stop_after=stop_after)
    return result, out.getvalue()


def _params(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_resume_gives_the_uninterrupted_run(tmp_path):
    argv = ["--no-progress", "--epochs", "4", "--seed", "3"]
    straight, _ = _run(argv + ["--save", str(tmp_path / "a.ckpt")])
    _run(argv + ["--save", str(tmp_path / "b.ckpt")], stop_after=2)
    resumed, out = _run(argv + ["--resume", str(tmp_path / "b.ckpt")])
    assert "Resumed from" in out and "after epoch 2" in out and out.count("Test Error") == 2
    a, b = _params(straight["model"]), _params(resumed["model"])
    assert list(a) == list(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert straight["accuracy"] == resumed["accuracy"]


def test_resume_refuses_a_truncated_or_mismatched_checkpoint(tmp_path):
    path = tmp_path / "c.ckpt"
    _run(["--no-progress", "--epochs", "1", "--save", str(path)])
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        _run(["--no-progress", "--epochs", "2", "--resume", str(path)])
    path.write_bytes(raw)
    with pytest.raises(SystemExit, match="--batch-size 64"):
        _run(["--no-progress", "--epochs", "2", "--batch-size", "32", "--resume", str(path)])
    torch.save({"not": "a training checkpoint"}, tmp_path / "other")
    with pytest.raises(SystemExit, match="not a checkpoint written by"):
        _run(["--no-progress", "--resume", str(tmp_path / "other")])


def test_cnn_trains():
    result, out = _run(["--no-progress", "--model", "cnn", "--epochs", "2"])
    assert "ConvNet(" in out and result["accuracy"] > 0.8


def test_fashion_mnist_from_a_directory(tmp_path):
    from tests.test_data import _fake_mnist

    _fake_mnist(tmp_path / "FashionMNIST" / "raw", compress=True, n_train=40, n_test=10)
    result, out = _run(["--no-progress", "--data", str(tmp_path), "--epochs", "1", "--batch-size", "16"])
    assert "fashion-mnist data (40 train / 10 test)" in out
    assert "(0): Linear(in_features=784, out_features=512, bias=True)" in out
    assert 0.0 <= result["accuracy"] <= 1.0


def test_command_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    help_text = subprocess.run([sys.executable, "-m", "gradspec.train", "--help"], capture_output=True, text=True,
                               env=env, cwd=tmp_path, check=True).stdout
    for flag in ("--epochs", "--batch-size", "--lr", "--device", "--seed", "--save", "--resume", "--model", "--data"):
        assert flag in help_text
    missing = subprocess.run([sys.executable, "-m", "gradspec.train", "--data", str(tmp_path / "none")],
                             capture_output=True, text=True, env=env, cwd=tmp_path)
    assert missing.returncode == 2 and "train-images-idx3-ubyte" in missing.stderr
    done = subprocess.run([sys.executable, "-m", "gradspec.train", "--epochs", "1", "--save", "m.ckpt"],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Test Error: \n Accuracy:" in done.stdout and (tmp_path / "m.ckpt").exists()
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return
    assert "epoch 1/1" in done.stderr  # the tqdm bar


def test_console_script_is_declared():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'gradspec-train = "gradspec.train:main"' in text
