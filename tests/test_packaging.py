"""The distribution installs one import package, gradspec, mapped from the repository's folders."""

import subprocess

import pytest

from conftest import ROOT

# Python 3.10 (which pyproject allows) has no tomllib: these checks of pyproject run on 3.11+
tomllib = pytest.importorskip("tomllib")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def test_package_dir_maps_the_three_folders_into_gradspec():
    assert SETUPTOOLS["package-dir"] == {"gradspec": "runtime", "gradspec.generated": "generated",
                                         "gradspec.codegen": "codegen"}


def test_every_package_folder_is_listed():
    """A new subpackage folder that pyproject's list forgets would be missing from the wheel."""
    found = set()
    for prefix, folder in SETUPTOOLS["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((prefix, *relative)))
    assert set(SETUPTOOLS["packages"]) == found


def test_the_version_is_stated_once():
    """pyproject reads the version from gradspec.__version__; the installed metadata agrees."""
    import importlib.metadata

    import gradspec

    assert "version" not in PYPROJECT["project"] and "version" in PYPROJECT["project"]["dynamic"]
    assert SETUPTOOLS["dynamic"]["version"] == {"attr": "gradspec.__version__"}
    installed = importlib.metadata.version("gradspec")
    assert installed == gradspec.__version__, f"installed as {installed}: reinstall (pip install -e '.[dev]')"


def test_the_sdist_holds_what_git_tracks():
    """MANIFEST.in names every top-level path git tracks (but .gitignore): the sdist's own tests
    run from the unpacked sdist (.ci/dist_check.py does, on the oldest numpy)."""
    proc = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0 or not proc.stdout:
        pytest.skip("not a git checkout (an unpacked sdist)")
    tracked = {line.split("/")[0] for line in proc.stdout.splitlines()} - {".gitignore"}
    named = set()
    for line in (ROOT / "MANIFEST.in").read_text().splitlines():
        words = line.split()
        if words and words[0] in ("include", "graft"):
            named.update(words[1:])
    assert tracked <= named, f"MANIFEST.in leaves out {sorted(tracked - named)}"
