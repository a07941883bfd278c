"""`make fuzz`: a long differential run; every new disagreement, shrunk, becomes a regression script.

    python -m difftest --programs 50000 --seed 1 --jobs 2 --write fuzz_regressions
(run from tests/, as the Makefile does). Prints a summary grouped by kind of disagreement.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import multiprocessing
import re
import sys
import time
from pathlib import Path

from .compare import compare, message_differs
from .execute import run
from .generate import generate
from .shrink import shrink

_libraries = {}


def _load() -> tuple:
    if not _libraries:
        import gradspec
        import torch

        torch.set_num_threads(1)
        _libraries.update(gradspec=gradspec, torch=torch)
    return _libraries["gradspec"], _libraries["torch"]


def check(task: tuple) -> tuple:
    """(index, program, found, messages_differ, shrunk) for program `index` of `seed`."""
    seed, index, do_shrink = task
    gradspec, torch = _load()
    program = generate(seed, index, torch)
    ours, theirs = run(program, gradspec), run(program, torch)
    found = compare(ours, theirs, program)
    shrunk = None
    if found and do_shrink:
        kind = signature(found[0])

        def same_disagreement(candidate) -> bool:
            reference = run(candidate, torch)
            if reference.failure is not None and reference.failure.kind == "NameError":
                return False  # a statement the program still needs was dropped
            differences = compare(run(candidate, gradspec), reference, candidate)
            return bool(differences) and signature(differences[0]) == kind

        shrunk = shrink(program, same_disagreement)
        found = compare(run(shrunk, gradspec), run(shrunk, torch), shrunk)
    return index, program, found, message_differs(ours, theirs), shrunk


def signature(line: str) -> str:
    """A disagreement with names, numbers and values blurred: programs of one cause group together."""
    line = re.sub(r"values differ: .*", "values differ", line)
    line = re.sub(r"\((?:[^()]|\([^()]*\))*\)", "(..)", line)
    line = re.sub(r"\b[vgh]\d+\b", "v", line)
    line = re.sub(r"\d+", "#", line)
    return line[:200]


def write_regression(directory: Path, program, found: list[str], origin: str) -> Path | None:
    text = program.source()
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]
    path = directory / f"found_{digest}.py"
    if path.exists():
        return None
    comment = f"found by `make fuzz` ({origin}); it disagreed:\n" + "\n".join(found[:5])
    path.write_text(program.script(comment))
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m difftest", description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=int, default=0, help="index of the first program")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--write", type=Path, help="directory for new regression scripts (one per kind)")
    parser.add_argument("--show", type=int, default=3, help="examples printed per kind")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    kinds: dict = collections.defaultdict(list)
    failed = messages = 0
    tasks = [(args.seed, i, True) for i in range(args.start, args.start + args.programs)]
    with multiprocessing.Pool(args.jobs) as pool:
        for done, (index, program, found, message, shrunk) in enumerate(pool.imap_unordered(check, tasks, 16), 1):
            messages += message
            if found:
                failed += 1
                kinds[signature(found[0])].append((index, shrunk or program, found))
            if done % 1000 == 0:
                print(f"{done} programs, {failed} disagreeing, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    elapsed = time.perf_counter() - started
    print(f"{args.programs} programs (seed {args.seed}), {failed} disagreements in {len(kinds)} kinds, "
          f"{messages} with the same error class but another message; {elapsed:.0f} s on {args.jobs} jobs")
    for kind, cases in sorted(kinds.items(), key=lambda item: -len(item[1])):
        print(f"\n[{len(cases)}] {kind}")
        for index, program, found in sorted(cases)[:args.show]:
            print(f"  program {index}:\n" + "".join(f"    {line}\n" for line in program.lines)
                  + "".join(f"    ! {line}\n" for line in found[:3]))
        if args.write:
            args.write.mkdir(parents=True, exist_ok=True)
            index, program, found = min(cases, key=lambda case: len(case[1].source()))
            path = write_regression(args.write, program, found, f"seed {args.seed}, program {index}")
            if path:
                print(f"  -> {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
