"""Codegen time against the size of the spec: it must grow linearly with the number of entries.

    make bench-codegen

derivatives.yaml's entries are copied K times under new base names (exp -> exp_c1, ...; formulas
still call the original ops), and the whole compiler runs on each spec: load_spec (YAML, formula
analysis, plans, kernel plans) and render (templates). Each line gives the CPU time, and per entry.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

from gradspec import codegen

ROOT = Path(__file__).resolve().parent.parent
COMPOSITES = "# ---- composites"


def copied_spec(copies: int) -> str:
    """The spec's ops `copies` times (the first as they are), then its composites once."""
    text = (ROOT / "derivatives.yaml").read_text()
    ops, composites = text[:text.index(COMPOSITES)], text[text.index(COMPOSITES):]
    entries = [e for e in re.split(r"\n(?=- name:)", ops) if e.startswith("- name:")]
    parts = list(entries)
    for copy in range(1, copies):
        for entry in entries:
            renamed = re.sub(r"- name: ([a-z_0-9]+)", rf"- name: \1_c{copy}", entry, count=1)
            # the copies bind no name twice: no in-place variants, functions only
            parts.append(renamed.replace("inplace: true", "inplace: false").replace("variants: none",
                                                                                    "variants: function"))
    return "\n".join(parts) + "\n" + composites


def main(copies: list[int]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for k in copies:
            path = Path(folder) / f"spec{k}.yaml"
            path.write_text(copied_spec(k))
            start = time.process_time()
            files = codegen.generate(path)
            seconds = time.process_time() - start
            entries = len(re.findall(r"^- name:", path.read_text(), re.MULTILINE))
            lines = sum(text.count("\n") for text in files.values())
            print(f"{entries:6d} entries  {seconds:6.2f} s CPU  {seconds / entries * 1e3:5.2f} ms per entry  "
                  f"({lines} lines generated)", flush=True)


if __name__ == "__main__":
    main([int(k) for k in sys.argv[1:]] or [1, 4, 16, 60])
