"""Golden files: the generator's output for tests/golden/spec.yaml is pinned byte for byte.

A failure here means codegen's output changed. If the change is intended, run `make golden`
and review the diff of tests/golden/expected/ like code.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path

from gradspec import codegen

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
SPEC = GOLDEN / "spec.yaml"
EXPECTED = GOLDEN / "expected"
HELPERS = ROOT / "runtime" / "formulas.py"
KERNELS = ROOT / "runtime" / "kernels"
HINT = "the generator's output changed: if intended, run `make golden` and review the diff"


def _golden_names() -> list[str]:
    """The files expected/ holds: the generated Python modules and CUDA sources, and the manifest."""
    return sorted(p.name for p in EXPECTED.iterdir() if p.name != "__pycache__")


def _written(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in out.iterdir()}


def _generate() -> dict[str, str]:
    return codegen.generate(SPEC, HELPERS, KERNELS)


def _diff(expected: str, actual: str, name: str) -> str:
    lines = difflib.unified_diff(expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                                 fromfile=f"tests/golden/expected/{name}", tofile=f"generated {name}")
    return "".join(lines)


def _run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The compiler as `make golden` runs it (gradspec.generated's kind of package)."""
    return subprocess.run([sys.executable, "-m", "codegen", *args], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=120)


def test_golden_files_match():
    files = codegen.output.with_manifest(_generate())
    present = _golden_names()
    assert present == sorted(files), f"golden file set differs: {present} vs {sorted(files)}; {HINT}"
    problems = []
    for name, text in sorted(files.items()):
        expected = (EXPECTED / name).read_text()
        if expected != text:
            problems.append(_diff(expected, text, name))
    assert not problems, f"{HINT}\n\n" + "\n".join(problems)


def test_golden_cli_writes_the_same_bytes(tmp_path):
    out = tmp_path / "out"
    proc = _run_cli("--standalone", "--spec", str(SPEC), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    for path in (EXPECTED / name for name in _golden_names()):
        written = (out / path.name).read_bytes()
        assert written == path.read_bytes(), f"{path.name}: {HINT}\n" + _diff(
            path.read_text(), written.decode(), path.name)
    assert sorted(p.name for p in out.iterdir()) == sorted(_golden_names())


def test_golden_check_mode_passes():
    proc = _run_cli("--standalone", "--spec", str(SPEC), "--out", str(EXPECTED), "--check")
    assert proc.returncode == 0, f"{proc.stderr}\n{HINT}"


def test_golden_output_is_valid_python():
    """Every generated Python module compiles; backward.cu, backward.cuh and rows.cu are CUDA sources."""
    files = _generate()
    python = [name for name in files if name.endswith(".py")]
    assert sorted(python) == ["__init__.py", "array_ops.py", "bindings.py", "functions.py", "nodes.py", "rows.py"]
    assert sorted(set(files) - set(python)) == ["backward.cu", "backward.cuh", "rows.cu"]
    for name in python:
        compile(files[name], f"golden/{name}", "exec")


def test_generation_is_deterministic_in_process():
    first, second = _generate(), _generate()
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], f"{name} differs between two runs:\n" + _diff(
            first[name], second[name], name)


def test_generation_is_deterministic_across_hash_seeds(tmp_path):
    """Set iteration order changes with PYTHONHASHSEED: the output must not."""
    outputs = []
    for seed in ("0", "1", "12345"):
        out = tmp_path / f"seed{seed}"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        proc = _run_cli("--standalone", "--spec", str(SPEC), "--out", str(out), env=env)
        assert proc.returncode == 0, proc.stderr
        outputs.append(_written(out))
    assert outputs[0] and outputs[0] == outputs[1] == outputs[2]


def test_real_spec_is_deterministic_across_hash_seeds(tmp_path):
    outputs = []
    for seed in ("0", "7"):
        out = tmp_path / f"seed{seed}"
        proc = _run_cli("--standalone", "--spec", str(ROOT / "derivatives.yaml"), "--out", str(out),
                        env=dict(os.environ, PYTHONHASHSEED=seed))
        assert proc.returncode == 0, proc.stderr
        outputs.append(_written(out))
    assert outputs[0] and outputs[0] == outputs[1]


def test_generated_is_in_step_with_derivatives_yaml():
    proc = _run_cli("--gradspec", "--check")
    assert proc.returncode == 0, (
        f"generated/ is out of date with derivatives.yaml: run `make codegen`\n{proc.stdout}{proc.stderr}")


def test_check_mode_detects_a_stale_file(tmp_path):
    """An edited file, and a file an earlier run wrote that the spec no longer generates."""
    out = tmp_path / "out"
    assert _run_cli("--standalone", "--spec", str(SPEC), "--out", str(out)).returncode == 0
    (out / "nodes.py").write_text((out / "nodes.py").read_text() + "# edited by hand\n")
    (out / "extra.py").write_text("")
    manifest = out / codegen.MANIFEST
    manifest.write_text(manifest.read_text() + "extra.py\n")
    proc = _run_cli("--standalone", "--spec", str(SPEC), "--out", str(out), "--check")
    assert proc.returncode == 1
    assert "nodes.py" in proc.stderr and "extra.py" in proc.stderr and "make codegen" in proc.stderr


def test_golden_spec_covers_the_features():
    """Guard the fixture itself: each feature it exists to pin is still present."""
    spec = codegen.load_spec(SPEC, HELPERS, KERNELS)
    by_name = {e.schema.full_name: e for e in spec.entries}
    nodes = {e.schema.full_name: e.node_name for e in spec.entries}
    assert nodes["pow.Tensor_Scalar"] == "PowBackward0" and nodes["pow.Tensor_Tensor"] == "PowBackward1"
    assert by_name["pow.Tensor_Scalar"].derivatives[0].usage.values == {"exponent"}
    assert by_name["exp"].derivatives[0].usage.outputs == {"result"}
    assert by_name["sum"].kernel == "sum_all"
    assert by_name["sum"].derivatives[0].usage.metadata == {("self", "shape")}
    assert by_name["sum"].derivatives[0].usage.tensors == set()
    assert by_name["matmul"].derivatives[0].inputs == ("self", "other")
    assert by_name["matmul"].derivatives[0].usage.mask
    assert by_name["where.self"].non_differentiable == {"condition"}
    assert by_name["eq.Tensor"].output_differentiability == (False,)
    assert nodes["log1p"] == "Log1PBackward0"
    assert nodes["max_pool2d_with_indices"] == "MaxPool2DWithIndicesBackward0"
    assert by_name["expand"].schema.view_of == "self"
    assert [(a.name, a.is_tensor_list) for a in by_name["cat"].schema.tensor_arguments] == [("tensors", True)]
    assert by_name["cat"].derivatives[0].usage.metadata == {("tensors", "shape")}
    pool = by_name["max_pool2d_with_indices"]
    assert pool.schema.argument("kernel_size").size == 2 and pool.output_differentiability == (True, False)
    assert pool.derivatives[0].usage.outputs == {"indices"}
    assert by_name["add.Tensor"].forward is not None and len(spec.overloads("add")) == 1
    text = (EXPECTED / "functions.py").read_text()
    assert "def pow(*args, **kwargs):" in text and "_POW_OVERLOADS" in text
    assert "result = view_of(self, K.expand(" in text
    assert 'int_list(kernel_size, "max_pool2d_with_indices", "kernel_size", 2)' in text
    nodes_text = (EXPECTED / "nodes.py").read_text()
    assert "class EqBackward" not in nodes_text
    assert "num_outputs = 2" in nodes_text
    assert "return (grad / (self_ + 1),)" in nodes_text, "add's inlined forward, its `1 == 1` folded"
