from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    """Refuse to test another checkout's code: an editable install of a second work tree (or a stale
    one) would otherwise shadow this one's runtime/ silently."""
    import gradspec

    package = Path(gradspec.__file__).resolve().parent
    if package.name == "runtime" and package.parent != ROOT:
        raise pytest.UsageError(f"gradspec is imported from {package}, not from this checkout ({ROOT}): "
                                f"install this one with `pip install -e '.[dev]'` (in its own venv)")


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
