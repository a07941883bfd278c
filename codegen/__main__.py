"""python -m gradspec.codegen: compile a spec (derivatives.yaml's format) into a package of generated code."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import EXTRA_MISSING, GRADSPEC_GENERATED, HERE, MANIFEST, OWN_SPEC, RUNTIME, OutputError, differences, write

USAGE = """
  python -m gradspec.codegen --spec my.yaml --out mypkg/     a package that extends gradspec
  python -m gradspec.codegen --gradspec [--check]             gradspec's own ops (what `make codegen` runs)
"""

EPILOG = f"""\
A package that extends gradspec (--spec and --out) holds the spec's ops: `import mypkg` makes
them functions of mypkg, and Tensor methods where the spec declares them (`variants:`). Its
formulas may call gradspec's ops. Its array kernels (`kernel:`), formula helpers and composites
are the package's own kernels.py (or kernels/), formulas.py and composites.py: write them into
the folder before compiling (without them, gradspec's kernels and helpers serve). Its fused CUDA
kernels are compiled from the package's own backward.cu.

Safety: codegen lists what it writes in {MANIFEST} and replaces or deletes only those files.
It refuses a folder that is not empty and has no manifest (apart from the package's own
kernels.py, kernels/, formulas.py, composites.py and the spec), and it writes into gradspec
itself only with --gradspec. Nothing is written when the spec has an error. Exit status: 0, 1
for an error in the spec, a refused folder or (--check) a stale one, 2 for wrong arguments.

Importing gradspec.codegen runs gradspec/__init__ first; if gradspec's API cannot be assembled
there (a broken gradspec.generated), gradspec keeps the error for its first use, so this
compiler, which needs none of the runtime, still runs: --gradspec regenerates the package.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gradspec.codegen", usage=USAGE, epilog=EPILOG,
                                     description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", type=Path, metavar="SPEC",
                        help="the spec file (the format is documented in the header of gradspec's "
                             "derivatives.yaml); with --gradspec in a source checkout, its derivatives.yaml")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="the package folder to write: a package extending gradspec (created if missing)")
    parser.add_argument("--gradspec", action="store_true",
                        help="write gradspec's own generated package, gradspec.generated (generated/ in a source "
                             "checkout, or inside the installed gradspec): the only way codegen writes into gradspec")
    parser.add_argument("--standalone", action="store_true",
                        help="with --out: a package of gradspec.generated's own kind (over gradspec's kernels and "
                             "helpers, not extending gradspec's ops, binding nothing when imported), as the golden "
                             "files of the tests")
    parser.add_argument("--check", action="store_true",
                        help="write nothing: exit 1 if the folder differs from what the spec generates")
    args = parser.parse_args(argv)
    out, spec = _target(parser, args)
    if EXTRA_MISSING:
        print(f"error: the compiler needs jinja2 and pyyaml ({EXTRA_MISSING} is not installed): "
              "pip install 'gradspec[codegen]'", file=sys.stderr)
        return 1
    from . import SpecError, generate, generate_extension  # defined where the extra is installed

    try:
        if args.gradspec or args.standalone:
            files = generate(spec)
        else:
            files = generate_extension(spec, out)
        if args.check:
            stale = differences(files, out)
            if stale:
                print(f"{out} is out of date with {spec.name} ({', '.join(stale)}): regenerate it (`make codegen` "
                      "for gradspec's own)", file=sys.stderr)
                return 1
            print(f"{out}: up to date with {spec.name}")
            return 0
        write(files, out, spec)
    except (SpecError, OutputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(files)} files to {out}")
    return 0


def _target(parser: argparse.ArgumentParser, args) -> tuple[Path, Path]:
    """(the folder, the spec) the arguments name, or a usage error."""
    if args.gradspec:
        if args.out or args.standalone:
            parser.error("--gradspec writes gradspec's own package: give neither --out nor --standalone with it")
        spec = args.spec or OWN_SPEC
        if spec is None:
            parser.error("--spec is required: this gradspec is installed without its derivatives.yaml (a source "
                         "checkout or sdist has it)")
        return GRADSPEC_GENERATED, spec
    if args.out is None:
        parser.error("give --out DIR (with --spec) for a package that extends gradspec, or --gradspec for gradspec's "
                     "own generated package")
    if args.spec is None:
        parser.error("--spec is required with --out")
    inside = next((p for p in (GRADSPEC_GENERATED, HERE, RUNTIME) if _within(args.out, p)), None)
    if inside is not None:
        parser.error(f"{args.out} is inside gradspec itself ({inside}): codegen writes there only with --gradspec "
                     "(gradspec's own generated package)")
    return args.out, args.spec


def _within(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


if __name__ == "__main__":
    sys.exit(main())
