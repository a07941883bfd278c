from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


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
