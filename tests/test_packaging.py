"""The distribution installs one import package, gradspec, mapped from the repository's folders."""

import tomllib

from conftest import ROOT

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
