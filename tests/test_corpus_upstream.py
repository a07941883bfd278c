"""corpus/upstream.py: a recipe pins an upstream file by commit and hash and edits it by line
numbers; notebooks run as scripts that print what each cell displays. Needs no torch."""

import hashlib
import json

import pytest

from corpus import harness
from corpus.upstream import Recipe, notebook_script

COMMIT = "0" * 40


def _recipe(tmp_path, monkeypatch, text: bytes, body: str, path="dir/script.py") -> Recipe:
    cache = tmp_path / "cache"
    monkeypatch.setenv("GRADSPEC_CORPUS_UPSTREAM", str(cache))
    target = cache / "owner/name" / COMMIT / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(text)
    recipe = tmp_path / "example.txt"
    recipe.write_text(f"source: owner/name {path} @ {COMMIT}\n"
                      f"sha256: {hashlib.sha256(text).hexdigest()}\nlicence: MIT\n" + body)
    return Recipe.read(recipe)


def test_edits_replace_delete_and_insert_by_upstream_line_numbers(tmp_path, monkeypatch):
    recipe = _recipe(tmp_path, monkeypatch, b"a = 1\nb = 2\nc = 3\nd = 4\n",
                     "corpus: args=--fast\nwhy: b smaller\n@@ 2-2\nb = 0\n@@ 3-3\n@@ 4+\nprint(a, b, d)\n")
    assert recipe.options == ["args=--fast"]
    lines = recipe.script().splitlines()
    assert lines[:3] == ["# Source: https://github.com/owner/name/blob/" + COMMIT + "/dir/script.py",
                         "# Licence: MIT", "# Edit: b smaller"]
    assert lines[3:] == ["a = 1", "b = 0", "d = 4", "print(a, b, d)"]


def test_a_changed_upstream_text_is_refused(tmp_path, monkeypatch):
    recipe = _recipe(tmp_path, monkeypatch, b"x = 1\n", "")
    recipe.cached.write_text("x = 2\n")
    with pytest.raises(ValueError, match="sha256"):
        recipe.script()


def test_an_edit_outside_the_file_is_refused(tmp_path, monkeypatch):
    recipe = _recipe(tmp_path, monkeypatch, b"x = 1\n", "@@ 3-4\ny = 2\n")
    with pytest.raises(ValueError, match="outside the 1 upstream lines"):
        recipe.script()


def test_a_recipe_without_a_pinned_source_is_refused(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("source: owner/name x.py @ main\nsha256: 00\nlicence: MIT\n")
    with pytest.raises(ValueError, match="40-hex commit"):
        Recipe.read(path)


def test_notebook_cells_print_what_jupyter_displays():
    cells = [{"cell_type": "code", "source": ["%matplotlib inline\n", "x = 2\n", "x, x + 1"]},
             {"cell_type": "markdown", "source": ["# text"]},
             {"cell_type": "code", "source": ["print(x)"]},
             {"cell_type": "code", "source": ["x;"]}]
    script = notebook_script(json.dumps({"cells": cells}))
    printed = []
    exec(compile(script, "notebook", "exec"), {"print": printed.append})
    assert printed == ["(2, 3)", 2]  # a tuple's repr; print's None is not shown; `;` hides a value


def test_an_uncached_script_is_reported_not_run(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADSPEC_CORPUS_UPSTREAM", str(tmp_path))
    script = harness.scripts(["makemore_part1_bigrams"])[0]
    assert "upstream text not cached" in harness.check(script, "recorded").blocker


def test_also_files_sit_beside_the_script_or_at_the_repository_root(tmp_path, monkeypatch):
    other = {"dir/model.py": b"SIZE = 3\n", "pkg/util.py": b"NAME = 'x'\n"}
    lines = ""
    for path, text in other.items():
        target = tmp_path / "cache/owner/name" / COMMIT / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text)
        lines += f"also: {path} {hashlib.sha256(text).hexdigest()}\n"
    recipe = _recipe(tmp_path, monkeypatch, b"import model\n", lines + "first: dir/model.py\n")
    files = recipe.files()
    assert files["model.py"] == "SIZE = 3\n" and files["pkg/util.py"] == "NAME = 'x'\n"
    assert recipe.first == ["dir/model.py"] and len(recipe.pinned) == 3
