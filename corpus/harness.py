"""Run the corpus under torch and under gradspec and compare what each script prints.

    python -m corpus [NAME ...] [-j N] [--record] [--against recorded|torch] [--verbose]

Each script is a recipe in corpus/recipes (corpus/upstream.py): a pinned upstream file and the
edits made to it. It runs twice in its own process (corpus/run.py), in a fresh temporary folder
holding the edited text and the data files its recipe names. Its standard output under gradspec
is compared (corpus/compare.py) with torch's: the live torch run where torch is installed, else
the output recorded from torch in corpus/expected/ (`--record` rewrites those recordings).
The summary gives the pass count and, for each other script, its blocker: the error that
stopped it under gradspec, or the first line where the two outputs part.

A recipe may hold `corpus:` lines, each `key=value`:
    args=...      command-line arguments (the script's own options, to keep it small)
    data=a b:c    files or folders of corpus/data copied into its working folder (`b:c` copies b to c)
    ignore=REGEX  text masked in both outputs before comparing (a timing)
    rtol=1e-2     relative tolerance for its numbers (default 1e-3)
    atol=1e-4     absolute tolerance for its numbers (default 1e-6)
    timeout=300   seconds per run (default 240)
    requires=a b  other modules the script imports (micrograd): where one is missing the
                  script is not run and counts as blocked by it (`pip install -e '.[corpus]'`)
    slow=true     left out of the test suite's subset
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import upstream
from .compare import first_mismatch, normalise

HERE = Path(__file__).resolve().parent
RECIPES = HERE / "recipes"
DATA = HERE / "data"
EXPECTED = HERE / "expected"
RUNNER = HERE / "run.py"


@dataclass
class Script:
    recipe: upstream.Recipe
    args: list[str] = field(default_factory=list)
    data: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    rtol: float = 1e-3
    atol: float = 1e-6
    timeout: float = 240
    requires: list[str] = field(default_factory=list)
    slow: bool = False

    @property
    def name(self) -> str:
        return self.recipe.name

    @classmethod
    def read(cls, path: Path) -> "Script":
        script = cls(upstream.Recipe.read(path))
        for line in script.recipe.options:
            key, _, value = line.strip().partition("=")
            if key == "args":
                script.args = shlex.split(value)
            elif key == "data":
                script.data = value.split()
            elif key == "requires":
                script.requires = value.split()
            elif key == "ignore":
                script.ignore.append(value)
            elif key in ("rtol", "atol", "timeout"):
                setattr(script, key, float(value))
            elif key == "slow":
                script.slow = value.strip() == "true"
            else:
                raise ValueError(f"{path.name}: unknown `corpus:` key {key!r}")
        return script


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def error(self) -> str:
        """The last line of the traceback: the exception that stopped the script."""
        if self.returncode == -9 or self.returncode == 124:
            return "timed out"
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else f"exit status {self.returncode}"


def scripts(names: list[str] | None = None) -> list[Script]:
    found = [Script.read(path) for path in sorted(RECIPES.glob("*.txt"))]
    if names:
        found = [s for s in found if any(n in s.name for n in names)]
    return found


def run(script: Script, backend: str) -> Run:
    env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", PYTHONWARNINGS="ignore", PYTHONDONTWRITEBYTECODE="1")
    # Both runs see the machine's real devices: the test suite's emulated GPU (tests/conftest.py)
    # would send gradspec down a script's `if cuda is available` branch, and torch not.
    env.pop("GRADSPEC_EMULATE_CUDA", None)
    with tempfile.TemporaryDirectory(prefix=f"corpus-{script.name}-") as folder:
        for name in script.data:
            source, _, destination = name.partition(":")
            target = Path(folder) / (destination or source)
            target.parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if (DATA / source).is_dir() else shutil.copy)(DATA / source, target)
        for name, text in script.recipe.files().items():
            (Path(folder) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(folder) / name).write_text(text)
        path = Path(folder) / f"{script.name}.py"
        env["CORPUS_FIRST"] = os.pathsep.join(str(Path(folder) / os.path.relpath(
            first, Path(script.recipe.path).parent)) for first in script.recipe.first)
        start = time.perf_counter()
        try:
            done = subprocess.run([sys.executable, str(RUNNER), backend, str(path), *script.args],
                                  cwd=folder, env=env, capture_output=True, text=True, timeout=script.timeout)
            code, out, err = done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired as expired:
            code, out, err = 124, _text(expired.stdout), _text(expired.stderr)
        out = out.replace(folder, "<cwd>")
    return Run(code, normalise(out, script.ignore), err, time.perf_counter() - start)


def _text(data) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


def torch_available() -> bool:
    return subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0


@dataclass
class Outcome:
    script: Script
    passed: bool
    blocker: str
    seconds: float


def missing_modules(script: Script) -> list[str]:
    return [name for name in script.requires if importlib.util.find_spec(name) is None]


def unrunnable(script: Script) -> str:
    """Why the script cannot run here (a module or its upstream text missing), or ''."""
    missing = missing_modules(script)
    if missing:
        return f"not run: needs {', '.join(missing)} (pip install -e '.[corpus]')"
    if not all(pinned.cached.exists() for pinned in script.recipe.pinned):
        return "not run: upstream text not cached (python -m corpus --fetch)"
    return ""


def check(script: Script, against: str) -> Outcome:
    reason = unrunnable(script)
    if reason:
        return Outcome(script, False, reason, 0.0)
    if against == "torch":
        reference = run(script, "torch")
        if reference.returncode != 0:
            return Outcome(script, False, f"fails under torch itself: {reference.error}", reference.seconds)
        expected = reference.stdout
    else:
        recording = EXPECTED / f"{script.name}.out"
        if not recording.exists():
            return Outcome(script, False, "no recorded torch output (run `make corpus-record` with torch)", 0.0)
        expected = recording.read_text()
    ours = run(script, "gradspec")
    if ours.returncode != 0:
        return Outcome(script, False, ours.error, ours.seconds)
    mismatch = first_mismatch(expected, ours.stdout, script.rtol, script.atol)
    return Outcome(script, mismatch is None, "" if mismatch is None else f"output differs, {mismatch}",
                   ours.seconds)


def record(script: Script) -> str:
    reason = unrunnable(script)
    if reason:
        return f"{script.name}: {reason}"
    reference = run(script, "torch")
    if reference.returncode != 0:
        return f"{script.name}: fails under torch: {reference.error}"
    (EXPECTED / f"{script.name}.out").write_text(reference.stdout)
    return f"{script.name}: recorded ({reference.seconds:.1f}s)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m corpus", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="run only the scripts whose names contain one of these")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--record", action="store_true", help="rewrite corpus/expected from torch's runs")
    parser.add_argument("--fetch", action="store_true",
                        help="cache the scripts' upstream texts (from $GRADSPEC_CORPUS_MIRRORS or GitHub)")
    parser.add_argument("--against", choices=("torch", "recorded"),
                        help="compare with a live torch run (the default where torch is installed) "
                             "or with the recorded outputs")
    options = parser.parse_args(argv)
    chosen = scripts(options.names)
    if options.fetch:
        mirrors = os.environ.get("GRADSPEC_CORPUS_MIRRORS")
        for script in chosen:
            for pinned in script.recipe.pinned:
                print(f"{script.name} {pinned.path}: {upstream.fetch(pinned, Path(mirrors) if mirrors else None)}")
        return 0
    with ThreadPoolExecutor(options.jobs) as pool:
        if options.record:
            for line in pool.map(record, chosen):
                print(line, flush=True)
            return 0
        against = options.against or ("torch" if torch_available() else "recorded")
        print(f"{len(chosen)} scripts, gradspec against {'a live torch run' if against == 'torch' else 'recorded torch output'}")
        outcomes = []
        for outcome in pool.map(lambda s: check(s, against), chosen):
            outcomes.append(outcome)
            mark = "ok  " if outcome.passed else "FAIL"
            print(f"{mark} {outcome.script.name:<40} {outcome.seconds:6.1f}s  {outcome.blocker}", flush=True)
    passed = sum(o.passed for o in outcomes)
    print(f"\ncorpus: {passed}/{len(outcomes)} scripts print what torch prints "
          f"({100 * passed / max(len(outcomes), 1):.0f}%)")
    blocked = [o for o in outcomes if not o.passed]
    if blocked:
        print("remaining blockers:")
        for o in blocked:
            print(f"  {o.script.name}: {o.blocker}")
    return 0 if not blocked else 1
