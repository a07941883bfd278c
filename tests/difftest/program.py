"""A program: one-line statements over `torch` and `F`, printable as a standalone script."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PRELUDE = ("import torch", "import torch.nn.functional as F")
SEPARATOR = "# ---"  # between the programs of one regression script: each runs on its own


@dataclass(frozen=True)
class Program:
    lines: tuple[str, ...]
    origin: str = field(default="", compare=False)  # "seed 3, program 17": where it came from

    def source(self) -> str:
        return "\n".join(self.lines) + "\n"

    def script(self, comment: str = "") -> str:
        """The program as a script that runs under torch as it is (and under gradspec with the
        import changed): what tests/fuzz_regressions/ holds."""
        header = [f"# {line}".rstrip() for line in comment.splitlines()] if comment else []
        return "\n".join(header + list(PRELUDE) + list(self.lines)) + "\n"

    @classmethod
    def from_script(cls, text: str, origin: str = "") -> "Program":
        lines = []
        for line in text.splitlines():
            stripped = line.strip()
            if not stripped or stripped.startswith("#") or stripped in PRELUDE:
                continue
            lines.append(line.rstrip())
        return cls(tuple(lines), origin)

    @classmethod
    def load(cls, path: Path) -> list["Program"]:
        """The programs of a regression script (several where `# ---` lines separate them)."""
        parts = Path(path).read_text().split("\n" + SEPARATOR)
        return [cls.from_script(part, origin=f"{Path(path).name}#{i}") for i, part in enumerate(parts)]
