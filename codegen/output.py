"""Writing generated files safely: under a manifest, never over a file codegen did not write.

Every folder codegen writes gets MANIFEST, one file name per line: the files codegen wrote there.
Rules (each refusal is an OutputError naming the files, and nothing is written):

* codegen replaces and deletes only files its manifest lists; a file the manifest does not list
  that a new output would replace is refused (the user's, or another tool's);
* a folder without a manifest is written only if it is empty but for an extension's own source
  modules (kernels.py, kernels/, formulas.py, composites.py), the spec, and __pycache__: a non-empty
  folder that codegen did not make is refused;
* a manifest that lists anything but plain file names of generated kinds is refused (so a
  tampered manifest cannot make codegen delete a file elsewhere).
"""

from __future__ import annotations

import re
from pathlib import Path

MANIFEST = "MANIFEST.codegen"
HEADER = ("# Files written by gradspec.codegen (python -m gradspec.codegen --help): it replaces and deletes\n"
          "# these and no others. Do not edit: it is rewritten with them.\n")
_GENERATED_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\.(?:py|cu|cuh)")
# What an extension's folder may hold before codegen first writes into it: the package's own sources.
SOURCES = frozenset({"kernels.py", "kernels", "formulas.py", "composites.py", "__pycache__"})


class OutputError(Exception):
    """Codegen refuses to write (or to read a manifest): the message says why and what to do."""


def manifest_text(names) -> str:
    return HEADER + "".join(f"{name}\n" for name in sorted(names))


def with_manifest(files: dict[str, str]) -> dict[str, str]:
    """The files and the manifest listing them: what a folder holds after writing them."""
    return {**files, MANIFEST: manifest_text(files)}


def written(out: Path) -> list[str] | None:
    """The names the folder's manifest lists, or None where it has none."""
    path = out / MANIFEST
    if not path.is_file():
        return None
    names = [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    bad = [n for n in names if not _GENERATED_NAME.fullmatch(n)]
    if bad:
        raise OutputError(f"{path} lists {bad}, which are not names of generated files: it was not written by "
                          "gradspec.codegen, or was edited; codegen will not write into this folder")
    return names


def check_writable(files: dict[str, str], out: Path, spec: Path | None = None) -> list[str]:
    """The files to delete (listed in the manifest, no longer generated), after checking that
    writing `files` into `out` breaks none of the rules above."""
    if not out.exists():
        return []
    if not out.is_dir():
        raise OutputError(f"{out} is a file, not a folder")
    ours = written(out)
    if ours is None:
        allowed = SOURCES | ({spec.name} if spec is not None and spec.resolve().parent == out.resolve() else set())
        foreign = sorted(p.name for p in out.iterdir() if p.name not in allowed)
        if foreign:
            raise OutputError(f"{out} is not empty and has no {MANIFEST}, so gradspec.codegen did not make it: it "
                              f"holds {_listed(foreign)}. Write into an empty (or new) folder; an extension's own "
                              f"kernels.py, formulas.py and composites.py may be there already")
        ours = []
    clobbered = sorted(name for name in files if name not in ours and (out / name).exists())
    if clobbered:
        raise OutputError(f"{out} holds {_listed(clobbered)}, which gradspec.codegen did not write (not in its "
                          f"{MANIFEST}): it replaces only files it wrote; move or rename them")
    return sorted(name for name in ours if name not in files)


def write(files: dict[str, str], out: Path, spec: Path | None = None) -> None:
    """Write the files and their manifest into `out`, deleting files of the previous manifest
    that are no longer generated; refused (OutputError) as the module says."""
    stale = check_writable(files, out, spec)
    out.mkdir(parents=True, exist_ok=True)
    for name in stale:
        (out / name).unlink(missing_ok=True)
    for name, text in with_manifest(files).items():
        path = out / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


def differences(files: dict[str, str], out: Path) -> list[str]:
    """Names of files in `out` that differ from `files` (missing, changed, or written by an
    earlier run and no longer generated), the manifest included."""
    expected = with_manifest(files)
    ours = (written(out) or []) if out.is_dir() else []
    changed = [n for n, text in expected.items() if not (out / n).is_file() or (out / n).read_text() != text]
    return sorted(changed + [n for n in ours if n not in expected and (out / n).exists()])


def _listed(names: list[str]) -> str:
    return ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
