"""The distributions as users get them (`make dist-check`; .ci/run runs it).

1. An sdist and a wheel, built from this checkout (PEP 517, in a venv of their own).
2. The wheel, in a clean venv: site-packages gets gradspec and its dist-info, and its two
   requirements (numpy, tqdm), nothing else; gradspec.__version__ is the distribution's.
   From a folder that holds a user's own generated/ and codegen/ packages:
   `import gradspec.generated` works, `python -m gradspec.codegen` with no arguments is a usage
   error (not a crash), and `python -m gradspec.train` reaches at least 97% accuracy.
3. With --sdist-tests: the sdist unpacked, installed with [dev] in a venv with the oldest numpy
   pyproject allows (and torch, for the comparisons): its own test suite passes there. This is
   CI's second numpy.

    python .ci/dist_check.py [--sdist-tests]
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TORCH = "torch==2.13.0"  # a local wheel on the project's machines (.ci/run installs the same)


def check(condition, message: str) -> None:
    if not condition:
        sys.exit(f"dist check failed: {message}")


def run(*command, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, command))}\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return proc


def environment(folder: Path, *requirements: str) -> Path:
    """A fresh venv (no system site-packages) with these requirements; its python."""
    venv.create(folder, with_pip=True)
    python = folder / "bin" / "python"
    if requirements:
        run(python, "-m", "pip", "install", "-q", *requirements)
    return python


def build(work: Path) -> tuple[Path, Path]:
    """(sdist, wheel), through setuptools' PEP 517 hooks, as pip and `build` call them."""
    python = environment(work / "builder", re.search(r'requires = \["([^"]+)"\]',
                                                     (ROOT / "pyproject.toml").read_text()).group(1))
    out = work / "dist"
    for hook in ("build_sdist", "build_wheel"):  # one process each: a second hook in one process builds nothing
        run(python, "-c", f"import sys; from setuptools import build_meta; build_meta.{hook}(sys.argv[1])", out, cwd=ROOT)
    (sdist,), (wheel,) = out.glob("*.tar.gz"), out.glob("*.whl")
    return sdist, wheel


def check_wheel(wheel: Path, work: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = sorted({n.split("/")[0] for n in names})
    version = wheel.name.split("-")[1]
    check(top == ["gradspec", f"gradspec-{version}.dist-info"], f"the wheel installs {top}")
    check(not [n for n in names if n.endswith(".pyc") or "__pycache__" in n], "compiled files in the wheel")
    python = environment(work / "user", str(wheel))
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    ours = sorted(p.name for p in site.iterdir() if "gradspec" in p.name)
    check(ours == ["gradspec", f"gradspec-{version}.dist-info"], f"site-packages holds {ours}")
    for stray in ("runtime", "codegen", "generated"):
        check(not (site / stray).exists(), f"{stray} installed into site-packages")
    installed = run(python, "-m", "pip", "list", "--format=freeze").stdout
    names = sorted(line.split("==")[0].lower() for line in installed.splitlines())
    check(set(names) - {"pip", "setuptools"} == {"gradspec", "numpy", "tqdm"}, f"installed: {names}")
    print(f"wheel: {wheel.name} installs only gradspec and its dist-info; requirements {names}")
    decoy = work / "decoy"
    for package in ("generated", "codegen"):  # a user's own packages of these names
        (decoy / package).mkdir(parents=True)
        (decoy / package / "__init__.py").write_text("raise ImportError('the user\\'s own package was imported')\n")
    proc = run(python, "-c", "import gradspec, gradspec.generated; print(gradspec.__version__)", cwd=decoy)
    check(proc.stdout.strip() == version, f"gradspec.__version__ {proc.stdout.strip()} != {version}")
    proc = run(python, "-m", "gradspec.codegen", cwd=decoy, check=False)
    check(proc.returncode == 2 and "Traceback" not in proc.stderr and "--out" in proc.stderr, proc.stderr)
    proc = run(python, "-m", "gradspec.codegen", "--spec", "my.yaml", "--out", "mypkg", cwd=decoy, check=False)
    check(proc.returncode == 1 and "pip install 'gradspec[codegen]'" in proc.stderr, proc.stderr)  # no extra
    proc = run(python, "-m", "gradspec.train", cwd=decoy)
    accuracies = [float(a) for a in re.findall(r"Accuracy: ([0-9.]+)%", proc.stdout)]
    check(accuracies and accuracies[-1] >= 97.0, proc.stdout[-2000:])
    print(f"wheel: python -m gradspec.train from a folder with its own generated/ and codegen/: "
          f"{accuracies[-1]:.1f}% accuracy; python -m gradspec.codegen: a usage error without arguments, the "
          "codegen extra named without it")


def sdist_tests(sdist: Path, work: Path) -> int:
    """The sdist's own test suite, installed with [dev] and the oldest numpy pyproject allows."""
    oldest = re.search(r'"numpy>=([0-9.]+)', (ROOT / "pyproject.toml").read_text()).group(1)
    with tarfile.open(sdist) as archive:
        archive.extractall(work / "unpacked", filter="data")
    (source,) = (work / "unpacked").iterdir()
    python = environment(work / "oldest")
    run(python, "-m", "pip", "install", "-q", f"{source}[dev]", f"numpy=={oldest}.*")
    if run(python, "-m", "pip", "install", "-q", TORCH, f"numpy=={oldest}.*", check=False).returncode:
        print(f"sdist: {TORCH} not installed: its comparison tests will be skipped")
    numpy = run(python, "-c", "import numpy; print(numpy.__version__)").stdout.strip()
    print(f"sdist: {sdist.name} unpacked and installed with [dev]; numpy {numpy}: its tests", flush=True)
    return subprocess.run([python, "-m", "pytest", "-q"], cwd=source).returncode


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="gradspec-dist-") as folder:
        work = Path(folder)
        sdist, wheel = build(work)
        check_wheel(wheel, work)
        return sdist_tests(sdist, work) if "--sdist-tests" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
