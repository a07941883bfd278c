"""python -m codegen [--spec derivatives.yaml] [--out generated] [--check]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import ROOT, SpecError, differences, generate, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("--spec", type=Path, default=ROOT / "derivatives.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "generated")
    parser.add_argument("--check", action="store_true", help="fail if --out differs from what the spec generates")
    args = parser.parse_args(argv)
    try:
        files = generate(args.spec)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.check:
        stale = differences(files, args.out)
        if stale:
            print(f"{args.out} is out of date with {args.spec.name} ({', '.join(stale)}): run `make codegen`",
                  file=sys.stderr)
            return 1
        print(f"{args.out}: up to date with {args.spec.name}")
        return 0
    write(files, args.out)
    print(f"wrote {len(files)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
