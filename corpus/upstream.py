"""Upstream scripts: where each corpus script's text comes from, and the recorded edits to it.

The corpus runs other people's code as they published it. Their text is not kept in this
repository: each script is a recipe in corpus/recipes/NAME.txt that pins a file of a public
repository (owner/name, path, commit, the SHA-256 of its text) and lists the edits made to it.
The text itself is read from a local cache of upstream files (`python -m corpus --fetch` fills
it) and checked against the pinned hash before the edits apply.

A recipe:

    source: pytorch/examples mnist/main.py @ 77f55b91...   (owner/name path @ commit)
    sha256: 3b0c...                                           (of the upstream file's text)
    licence: BSD-3-Clause, Copyright (c) PyTorch contributors; corpus/LICENSES/...
    form: notebook                                            (optional: a Jupyter notebook)
    corpus: args=--epochs 1                                   (harness options, see harness.py)
    why: 14 epochs -> 1 (runs in seconds)                     (one line per edit, in words)
    also: mnist/model.py 5d1e...                              (another file of the same commit that
                                                               it imports, by path and SHA-256, put
                                                               beside it as in the repository)
    first: time_sequence_prediction/generate_sine_wave.py     (an `also` file run before it, in
                                                               the same process: its data maker)
    @@ 12-14                                                  (upstream lines 12 to 14 become
    replacement text                                           the lines up to the next @@;
    @@ 20-21                                                   none: the lines are deleted)
    @@ 30+                                                    (inserted after line 30)

Line numbers count the upstream text's lines from 1; in a notebook, the lines of its script form
(`notebook_script`). Edits are applied from the bottom up, so each one's numbers are upstream's.

The cache: $GRADSPEC_CORPUS_UPSTREAM, else ~/.cache/gradspec-corpus; a file lives at
`<cache>/<owner>/<name>/<commit>/<path>`. `--fetch` copies missing files from local git mirrors
($GRADSPEC_CORPUS_MIRRORS: a folder of `<owner>+<name>/repo` bare repositories) or downloads
them from raw.githubusercontent.com at the pinned commit.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HEADER = re.compile(r"^(source|sha256|licence|form|corpus|why|also|first):\s?(.*)$")
EDIT = re.compile(r"^@@ (\d+)(?:-(\d+)|(\+))$")
SOURCE = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+) (?P<path>\S+) @ (?P<commit>[0-9a-f]{40})$")


def cache_root() -> Path:
    return Path(os.environ.get("GRADSPEC_CORPUS_UPSTREAM") or Path.home() / ".cache" / "gradspec-corpus")


@dataclass
class Edit:
    first: int
    last: int  # first - 1 for an insertion after line `first`
    lines: list[str]


@dataclass
class Recipe:
    name: str
    repo: str
    path: str
    commit: str
    sha256: str
    licence: str
    notebook: bool = False
    options: list[str] = field(default_factory=list)  # the `corpus:` lines, for the harness
    why: list[str] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    also: list["Recipe"] = field(default_factory=list)  # unedited files it needs, pinned alike
    first: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> "Recipe":
        fields: dict[str, list[str]] = {}
        edits: list[Edit] = []
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = EDIT.match(line)
            if match:
                first = int(match[1])
                last = first if match[3] else int(match[2])
                edits.append(Edit(first + 1, first, []) if match[3] else Edit(first, last, []))
            elif edits:
                edits[-1].lines.append(line)
            else:
                header = HEADER.match(line)
                if not header:
                    raise ValueError(f"{path.name}:{number}: expected `key: value` or `@@ N-M`, got {line!r}")
                fields.setdefault(header[1], []).append(header[2])
        missing = [key for key in ("source", "sha256", "licence") if key not in fields]
        if missing:
            raise ValueError(f"{path.name}: recipe lacks {', '.join(missing)}")
        source = SOURCE.match(fields["source"][0])
        if not source:
            raise ValueError(f"{path.name}: source must be `owner/name path @ <40-hex commit>`, "
                             f"got {fields['source'][0]!r}")
        also = []
        for line in fields.get("also", []):
            also_path, _, digest = line.partition(" ")
            also.append(cls(Path(also_path).stem, source["repo"], also_path, source["commit"], digest,
                            fields["licence"][0]))
        return cls(path.stem, source["repo"], source["path"], source["commit"], fields["sha256"][0],
                   fields["licence"][0], fields.get("form", [""])[0] == "notebook", fields.get("corpus", []),
                   fields.get("why", []), edits, also, fields.get("first", []))

    def files(self) -> dict[str, str]:
        """The run folder's text files: the edited script and its `also` files, by their paths
        relative to the script's folder in the repository, or to the repository's root where they
        lie outside that folder (a package the script imports: minGPT's mingpt/)."""
        home = Path(self.path).parent
        files = {f"{self.name}.py": self.script()}
        for other in self.also:
            relative = os.path.relpath(other.path, home)
            files[other.path if relative.startswith("..") else relative] = other.upstream()
        return files

    @property
    def pinned(self) -> list["Recipe"]:
        """Every upstream file it runs: itself and its `also` files."""
        return [self, *self.also]

    @property
    def cached(self) -> Path:
        return cache_root() / self.repo / self.commit / self.path

    @property
    def url(self) -> str:
        return f"https://github.com/{self.repo}/blob/{self.commit}/{self.path}"

    def upstream(self) -> str:
        """The upstream file's text, from the cache, checked against the pinned hash."""
        if not self.cached.exists():
            raise FileNotFoundError(f"{self.name}: upstream text not cached at {self.cached} "
                                    f"(run `python -m corpus --fetch`)")
        data = self.cached.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != self.sha256:
            raise ValueError(f"{self.name}: {self.cached} has sha256 {digest}, the recipe pins {self.sha256}")
        return data.decode()

    def script(self) -> str:
        """The script the corpus runs: a header naming source, licence and edits, then the edited text."""
        text = self.upstream()
        lines = (notebook_script(text) if self.notebook else text).splitlines()
        for edit in sorted(self.edits, key=lambda e: e.first, reverse=True):
            if not 1 <= edit.first <= len(lines) + 1 or edit.last > len(lines):
                raise ValueError(f"{self.name}: edit @@ {edit.first}-{edit.last} is outside the "
                                 f"{len(lines)} upstream lines")
            lines[edit.first - 1:edit.last] = edit.lines
        header = [f"# Source: {self.url}", f"# Licence: {self.licence}"]
        header += [f"# Edit: {why}" for why in self.why] or ["# Edits: none"]
        return "\n".join(header + lines) + "\n"


def notebook_script(text: str) -> str:
    """A notebook's code cells as one script that prints what each cell displays.

    Each cell is preceded by a `# %% [N]` line; IPython magics (`%matplotlib inline`) become
    comments; a cell whose last statement is an expression prints its repr when it is not None,
    as Jupyter shows it.
    """
    cells = [cell for cell in json.loads(text)["cells"] if cell["cell_type"] == "code"]
    out = ["def __display__(value):", "    if value is not None:", "        print(repr(value))", ""]
    for number, cell in enumerate(cells, 1):
        source = "".join(cell["source"])
        source = re.sub(r"^(\s*)([%!])", r"\1# \2", source, flags=re.M)
        out.append(f"# %% [{number}]")
        out.extend(_displayed(source).splitlines())
    return "\n".join(out) + "\n"


def _displayed(source: str) -> str:
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return source
    if not body or not isinstance(body[-1], ast.Expr) or source.rstrip().endswith(";"):
        return source
    last = body[-1]
    lines = source.splitlines()
    head, tail = lines[:last.lineno - 1], lines[last.end_lineno:]
    expression = ast.get_source_segment(source, last.value, padded=False)
    return "\n".join(head + [f"__display__(({expression}))"] + tail)


def fetch(recipe: Recipe, mirrors: Path | None) -> str:
    """Put the recipe's upstream file in the cache; say where it came from."""
    if recipe.cached.exists():
        return "cached"
    data = None
    if mirrors is not None:
        git_dir = mirrors / recipe.repo.replace("/", "+") / "repo"
        if git_dir.exists():
            done = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{recipe.commit}:{recipe.path}"],
                                  capture_output=True)
            data = done.stdout if done.returncode == 0 else None
    origin = "mirror"
    if data is None:
        origin = f"https://raw.githubusercontent.com/{recipe.repo}/{recipe.commit}/{recipe.path}"
        with urllib.request.urlopen(origin, timeout=30) as response:
            data = response.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != recipe.sha256:
        raise ValueError(f"{recipe.name}: {origin} gave sha256 {digest}, the recipe pins {recipe.sha256}")
    recipe.cached.parent.mkdir(parents=True, exist_ok=True)
    recipe.cached.write_bytes(data)
    return origin
