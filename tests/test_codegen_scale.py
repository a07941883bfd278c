"""Codegen time grows linearly with the spec's size. `make bench-codegen` measures it up to 8,000+
entries (derivatives.yaml copied 60 times); here, as a guard against a gross regression, the
spec copied 8 times (about 1,200 entries) is generated and its CPU time compared with one copy's
(linear is about 8 times; the bound is generous so that a busy machine cannot fail it)."""

from __future__ import annotations

import time

from bench.bench_codegen import copied_spec
from gradspec import codegen


def _generate(tmp_path, copies: int, runs: int) -> tuple[float, int]:
    """The least CPU time of `runs` codegens of the spec copied `copies` times, and its node count."""
    path = tmp_path / f"spec{copies}.yaml"
    path.write_text(copied_spec(copies))
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        files = codegen.generate(path)
        best = min(best, time.process_time() - start)
    return best, files["nodes.py"].count("(Node):")


def test_codegen_of_eight_copies_of_the_spec_costs_about_eight_times_one(tmp_path):
    one, nodes = _generate(tmp_path, 1, runs=3)  # the small run is the noisy one: its best of three
    eight, eight_nodes = _generate(tmp_path, 8, runs=1)
    assert eight_nodes == 8 * nodes
    assert eight < 30 * one, (one, eight)
