import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The cuda half of the device-parametrized tests runs on the emulated device where cupy sees no
# GPU (gradspec.emulated_cuda; a real GPU is used where there is one). Set before gradspec is
# imported; GRADSPEC_EMULATE_CUDA=0 opts out (the cuda tests then skip without a GPU).
os.environ.setdefault("GRADSPEC_EMULATE_CUDA", "1")


def _cuda_missing() -> str | None:
    from gradspec import backends

    try:
        backends.cupy()
    except RuntimeError as error:
        return str(error)
    return None


CUDA_MISSING = _cuda_missing()


def _full_precision() -> None:
    """Convolutions on cuda compare with the CPU at float32's precision: TF32 off (torch's default
    for them is on, as is gradspec's; tests/test_cuda_device.py checks the switch itself)."""
    import gradspec

    gradspec.backends.cudnn.allow_tf32 = False


_full_precision()
# Every device-generic test takes `device` from here: "cuda" runs wherever a cuda device (or the
# emulated one) is available, and is marked so that `pytest -m cuda` runs the cuda part alone.
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(
    CUDA_MISSING is not None, reason=f"no cuda device: {CUDA_MISSING}")])]


def pytest_configure(config):
    """Refuse to test another checkout's code: an editable install of a second work tree (or a stale
    one) would otherwise shadow this one's runtime/ silently."""
    import gradspec

    package = Path(gradspec.__file__).resolve().parent
    if package.name == "runtime" and package.parent != ROOT:
        raise pytest.UsageError(f"gradspec is imported from {package}, not from this checkout ({ROOT}): "
                                f"install this one with `pip install -e '.[dev]'` (in its own venv)")


@pytest.fixture
def no_cupy(monkeypatch):
    """As on a machine without cupy and without GRADSPEC_EMULATE_CUDA, whatever this one has."""
    import sys

    from gradspec import backends

    monkeypatch.setattr(backends, "_cupy", None)
    monkeypatch.setattr(backends, "_cuda_table", None)
    monkeypatch.setattr(backends, "cuda_loaded", False)
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` raises ImportError
    monkeypatch.delenv("GRADSPEC_EMULATE_CUDA", raising=False)


@pytest.fixture
def torch():
    """PyTorch for comparisons: the test is skipped, not failed, where it is not installed."""
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    """A failing test must not leave grad mode off for the tests after it."""
    yield
    import gradspec

    gradspec.set_grad_enabled(True)
