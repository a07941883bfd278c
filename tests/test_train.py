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
from gradspec.utils.data import DataLoader
from gradspec.vision import datasets
from gradspec.vision.transforms import ToTensor
from conftest import DEVICES

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("device", DEVICES)
def test_seed_003_quickstart_runs_on_the_digits(device):
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
        np.testing.assert_array_equal(model2(x).cpu().numpy(), model(x).cpu().numpy())


@pytest.mark.parametrize("device", DEVICES)
def test_main_job_reaches_97_percent_on_the_digits(capsys, device):
    result = job.run(job.parse_args(["--no-progress", "--device", device]))
    out = capsys.readouterr().out
    assert result["accuracy"] >= 0.97, out
    assert f"Using {device} device" in out and result["model"].linear_relu_stack[0].weight.device.type == device
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
    with pytest.raises(job.JobError, match="--resume: .* is truncated"):
        _run(["--no-progress", "--epochs", "2", "--resume", str(path)])
    path.write_bytes(raw)
    with pytest.raises(job.JobError, match="--batch-size 64"):
        _run(["--no-progress", "--epochs", "2", "--batch-size", "32", "--resume", str(path)])
    torch.save({"not": "a training checkpoint"}, tmp_path / "other")
    with pytest.raises(job.JobError, match="not a checkpoint written by"):
        _run(["--no-progress", "--resume", str(tmp_path / "other")])


@pytest.mark.parametrize("device", DEVICES)
def test_cnn_trains(device):
    result, out = _run(["--no-progress", "--model", "cnn", "--epochs", "2", "--device", device])
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


# ---- bad input ends in one line on stderr, before training starts ---------------------------------

def _fails(argv, capsys, match, code=2):
    """Run the job's main on argv; it must fail with `code` and exactly one line on stderr matching
    `match`, without having trained."""
    try:
        returned = job.main(["--no-progress", *argv])
    except SystemExit as exit_:  # argparse's errors
        returned = exit_.code
    out, err = capsys.readouterr()
    assert returned == code, (out, err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("gradspec-train: "), err
    import re

    assert re.search(match, err), err
    assert "Epoch 1" not in out
    return err


def _mnist(tmp_path, **kwargs):
    from tests.test_data import _fake_mnist

    _fake_mnist(tmp_path, compress=kwargs.pop("compress", False), **kwargs)
    return ["--data", str(tmp_path), "--epochs", "1"]


@pytest.mark.parametrize("argv, match", [
    (["--lr", "nan"], "--lr: expected a finite number > 0, got nan"),
    (["--lr", "-1"], "--lr: expected a finite number > 0, got -1"),
    (["--lr", "inf"], "--lr: expected a finite number > 0, got inf"),
    (["--lr", "0"], "--lr: expected a finite number > 0"),
    (["--momentum", "nan"], "--momentum: expected a finite number >= 0"),
    (["--epochs", "-1"], "--epochs: expected an integer >= 0"),
    (["--batch-size", "0"], "--batch-size: expected an integer > 0"),
    (["--threads", "0"], "--threads: expected an integer >= 1"),
    (["--seed", str(2 ** 64)], "--seed: expected an integer in"),
    (["--dataset", "mnist"], "needs --data DIR"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--device", "tpu"], "--device tpu: Expected one of cpu, cuda"),
    (["--device", "meta"], "--device meta: the meta device holds shapes, not data"),
])
def test_bad_settings_fail_in_one_line(argv, match, capsys):
    _fails(argv, capsys, match)


def test_cuda_without_cupy_fails_in_one_line_with_the_hint(capsys, no_cupy):
    _fails(["--device", "cuda"], capsys, r"--device cuda: CUDA was requested but cupy .*pip install gradspec\[cuda")


def test_bad_save_paths_are_refused_before_training(tmp_path, capsys):
    _fails(["--save", str(tmp_path / "missing" / "c.ckpt")], capsys,
           f"--save {tmp_path}/missing/c.ckpt: the folder {tmp_path}/missing does not exist")
    _fails(["--save", str(tmp_path)], capsys, f"--save {tmp_path}: that is a folder")
    assert os.listdir(tmp_path) == []


def test_bad_resume_files_fail_in_one_line(tmp_path, capsys):
    good = tmp_path / "good.ckpt"
    _run(["--no-progress", "--epochs", "1", "--save", str(good)])
    raw = good.read_bytes()
    (tmp_path / "cut.ckpt").write_bytes(raw[:-100])
    _fails(["--resume", str(tmp_path / "cut.ckpt")], capsys, "--resume: .*cut.ckpt' is truncated")
    _fails(["--resume", str(tmp_path / "none.ckpt")], capsys, "--resume .*none.ckpt: No such file")
    _fails(["--resume", str(tmp_path)], capsys, f"--resume {tmp_path}: Is a directory")
    state = torch.load(good)
    del state["config"]
    torch.save(state, tmp_path / "noconfig.ckpt")
    _fails(["--resume", str(tmp_path / "noconfig.ckpt")], capsys, "without its config")
    state = torch.load(good)
    state["model"] = {"flatten.weight": torch.ones(2)}
    torch.save(state, tmp_path / "othermodel.ckpt")
    _fails(["--resume", str(tmp_path / "othermodel.ckpt"), "--epochs", "2"], capsys,
           "othermodel.ckpt: its model state does not fit")


def test_damaged_idx_files_fail_in_one_line(tmp_path, capsys):
    import gzip

    argv = _mnist(tmp_path, compress=True)
    images = tmp_path / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(images.read_bytes())
    images.write_bytes(gzip.compress(raw)[:-30])
    _fails(argv, capsys, "train-images-idx3-ubyte.gz: damaged gzip data")
    images.write_bytes(gzip.compress(raw[:-5]))
    _fails(argv, capsys, r"train-images-idx3-ubyte.gz: the IDX header announces \(12, 28, 28\) .* holds only 9403")
    images.write_bytes(gzip.compress(b"\x00\x00\x07\x03" + raw[4:]))
    _fails(argv, capsys, "train-images-idx3-ubyte.gz is not an IDX file")
    images.write_bytes(b"not gzip, not IDX")
    _fails(argv, capsys, "is not an IDX file")


def test_a_gzip_bomb_is_refused_after_reading_what_the_header_announced(tmp_path, capsys):
    """4 GB of zeros behind a header that announces one image, in a 4 MB file of gzip members."""
    import gzip

    argv = _mnist(tmp_path)
    header = bytes([0, 0, 8, 3]) + (1).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    zeros = gzip.compress(bytes(1 << 20), compresslevel=9)
    bomb = tmp_path / "train-images-idx3-ubyte"
    bomb.write_bytes(gzip.compress(header + bytes(784)) + zeros * 4096)
    _fails(argv, capsys, "announces .1, 28, 28. .784 bytes of values., but the file holds more")
    huge = bytes([0, 0, 8, 3]) + (60000).to_bytes(4, "big") + (10 ** 5).to_bytes(4, "big") * 2
    bomb.write_bytes(gzip.compress(huge) + zeros)
    _fails(argv, capsys, r"announces \(60000, 100000, 100000\) values of uint8, 600000000000000 bytes, more than")


def test_bad_data_is_refused_before_training(tmp_path, capsys):
    from tests.test_data import _write_idx

    argv = _mnist(tmp_path)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([1, 2, 10, 3, 4], np.uint8), compress=False)
    _fails(argv, capsys, r"the test set .*: label 10 of sample 2 is out of range .*0..9")
    _mnist(tmp_path, n_test=0)
    _fails(argv, capsys, r"the test set \(.*t10k-images-idx3-ubyte\) is empty")
    _write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((12, 28, 20), np.uint8), compress=False)
    _fails(argv, capsys, "28x20 images; this job's models take square images")
    _write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((12, 28, 28), np.int32), compress=False)
    _fails(argv, capsys, r"images of type int32 \(IDX type 0x0c\)")
    _write_idx(tmp_path / "train-images-idx3-ubyte", np.full((12, 28, 28), np.nan, np.float32), compress=False)
    _fails(argv, capsys, "non-finite pixel values")
    _write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((11, 28, 28), np.uint8), compress=False)
    _fails(argv, capsys, "12 labels|11 images .* need 11 labels")


def test_float_idx_images_are_trained_on_as_floats(tmp_path, capsys):
    """float32 IDX images keep their values (they used to be cast to uint8: every pixel 0)."""
    from tests.test_data import _write_idx

    argv = _mnist(tmp_path)
    pixels = np.random.default_rng(1).random((12, 28, 28), dtype=np.float32)
    _write_idx(tmp_path / "train-images-idx3-ubyte", pixels, compress=False)
    data = datasets.FashionMNIST(tmp_path, train=True, transform=ToTensor())
    assert data.data.dtype == np.float32
    np.testing.assert_array_equal(data[3][0].numpy()[0], pixels[3])
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", pixels[:5], compress=False)
    assert job.main(["--no-progress", *argv]) == 0


def test_debug_shows_the_traceback_and_internal_errors_say_so(tmp_path, capsys, monkeypatch):
    with pytest.raises(job.JobError, match="does not exist"):
        job.main(["--no-progress", "--debug", "--save", str(tmp_path / "missing" / "c")])

    def broken(*args, **kwargs):
        raise TypeError("a bug")

    monkeypatch.setattr(job, "build_model", broken)
    _fails(["--epochs", "1"], capsys, "internal error: TypeError: a bug .rerun with --debug", code=1)


def test_output_piped_into_a_reader_that_stops_early(tmp_path):
    """`gradspec-train | head -1`: no traceback, exit status 1 (Python's documented convention)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gradspec.train", "--no-progress", "--epochs", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    assert proc.stdout.readline().startswith(b"Using cpu device")
    proc.stdout.close()  # the reader goes away while the job still has lines to print
    err = proc.stderr.read().decode()
    assert proc.wait() == 1 and err == "", err
