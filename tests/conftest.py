import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a clean clone without installing


@pytest.fixture
def torch():
    """PyTorch for comparisons: the test is skipped, not failed, where it is not installed."""
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    """A failing test must not leave grad mode off for the tests after it."""
    yield
    import runtime

    runtime.set_grad_enabled(True)
