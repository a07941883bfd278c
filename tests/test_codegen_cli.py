"""The compiler as a tool for users' own specs: `python -m gradspec.codegen --spec my.yaml --out mypkg/`.

An out-of-tree package is compiled from a small spec in a temporary folder, next to its own
kernels, helpers and composites, and trains with its ops; codegen never deletes or overwrites
a file it did not write; --help explains every flag; no arguments is a usage error.
Each package runs in a fresh interpreter: importing one binds methods onto gradspec.Tensor.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gradspec import codegen
from conftest import ROOT

SPEC = """\
- name: softsign(Tensor self) -> Tensor
  dtype: float
  forward: self / (1 + xp.abs(self))
  self: softsign_backward(grad, self)

- name: scaled_square(Tensor self, float scale=1.0) -> Tensor
  forward: scale * self * self
  self: 2 * scale * grad * self

- name: shifted_softplus(Tensor self) -> Tensor
  kernel: shifted_softplus
  self: grad * sigmoid(self)
  variants: function

- composite: soft_clip
"""
CUBE = """\
- name: cube(Tensor self) -> Tensor
  forward: self * self * self
  self: 3 * grad * self * self
"""
KERNELS = """\
import numpy as np


def shifted_softplus(self):
    return np.logaddexp(0, self) - np.log(2)
"""
FORMULAS = """\
def softsign_backward(ops, grad, self):
    denominator = 1 + ops.abs(self)  # gradspec's abs: array or Tensor, as `ops` is
    return grad / (denominator * denominator)
"""
COMPOSITES = """\
from . import functions as F


def soft_clip(input, limit=1.0):
    return F.softsign(input / limit) * limit
"""
# Trains a two-layer network whose hidden activation is the package's op, with gradspec's nn.
TRAIN = """\
import numpy as np
import gradspec as torch
import mypkg
from gradspec.autograd import gradcheck, gradgradcheck

x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
assert gradcheck(mypkg.softsign, (x,)) and gradgradcheck(mypkg.softsign, (x,))
assert gradcheck(lambda t: t.scaled_square(2.5), (x,)) and gradcheck(mypkg.shifted_softplus, (x,))
assert gradcheck(lambda t: t.soft_clip(2.0), (x,))
assert x.softsign().grad_fn.name() == "SoftsignBackward0" and not hasattr(x, "shifted_softplus")

torch.manual_seed(0)
inputs = torch.randn(128, 4)
targets = (inputs[:, :1] * 2 - inputs[:, 1:2]).tanh()
first, second = torch.nn.Linear(4, 16), torch.nn.Linear(16, 1)
optimizer = torch.optim.Adam([*first.parameters(), *second.parameters()], lr=0.02)
losses = []
for step in range(150):
    optimizer.zero_grad()
    loss = torch.nn.functional.mse_loss(second(first(inputs).softsign()), targets)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f}")
assert losses[-1] < 0.1 * losses[0], losses[::10]
"""
# The package's fused kernel runs from its own backward.cu, on the emulated device.
CUDA = """\
import gradspec as torch
import mypkg
from gradspec import cuda
from gradspec.backends import fused

x = torch.randn(64, device="cuda", requires_grad=True)
before = cuda.stats["launches"]
x.scaled_square(3.0).sum().backward()
assert cuda.stats["launches"] == before + 2, cuda.stats  # its fused forward and its fused backward
assert fused._kernel_folders["ScaledSquareBackward0"].name == "mypkg"
assert fused._kernel_folders["scaled_square_forward"].name == "mypkg"
assert (x.grad.cpu() - 6 * x.detach().cpu()).abs().max().item() < 1e-5
print("fused kernel from", fused._kernel_folders["ScaledSquareBackward0"])
"""


def _codegen(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradspec.codegen", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)


def _package(tmp_path: Path) -> Path:
    """mypkg/ with its own kernels, helpers and composites, compiled from spec.yaml."""
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "kernels.py").write_text(KERNELS)
    (package / "formulas.py").write_text(FORMULAS)
    (package / "composites.py").write_text(COMPOSITES)
    (tmp_path / "spec.yaml").write_text(SPEC)
    proc = _codegen("--spec", "spec.yaml", "--out", "mypkg", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return package


def _run(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(cwd), **env})


def _installed(tmp_path: Path) -> Path:
    """gradspec laid out as a wheel installs it, under tmp_path/site (no derivatives.yaml)."""
    installed = tmp_path / "site" / "gradspec"
    for folder, target in (("runtime", installed), ("generated", installed / "generated"),
                           ("codegen", installed / "codegen")):
        shutil.copytree(ROOT / folder, target, ignore=shutil.ignore_patterns("__pycache__"))
    return installed


def test_an_out_of_tree_package_trains_with_its_ops(tmp_path):
    package = _package(tmp_path)
    assert {"kernels.py", "formulas.py", "composites.py", codegen.MANIFEST} <= {p.name for p in package.iterdir()}
    proc = _run(TRAIN, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_its_fused_kernels_are_found_in_the_package(tmp_path):
    pytest.importorskip("cupy")
    if shutil.which("g++") is None:
        pytest.skip("the emulated cuda device compiles kernels with g++")
    package = _package(tmp_path)
    assert "ScaledSquareBackward0_kernel" in (package / "backward.cu").read_text()
    proc = _run(CUDA, tmp_path, GRADSPEC_EMULATE_CUDA="1")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_recompiling_keeps_the_users_files_and_removes_only_its_own(tmp_path):
    package = _package(tmp_path)
    (package / "notes.py").write_text("mine\n")
    manifest = package / codegen.MANIFEST
    manifest.write_text(manifest.read_text() + "old_ops.py\n")  # what an earlier spec generated
    (package / "old_ops.py").write_text("")
    proc = _codegen("--spec", "spec.yaml", "--out", "mypkg", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (package / "old_ops.py").exists() and (package / "notes.py").read_text() == "mine\n"
    assert (package / "kernels.py").read_text() == KERNELS
    assert "old_ops.py" not in manifest.read_text()


@pytest.mark.parametrize("case", ["foreign folder", "unlisted file", "tampered manifest"])
def test_refuses_to_delete_or_overwrite_what_it_did_not_write(tmp_path, case):
    """Nothing is written, deleted or replaced, and the message says why."""
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "spec.yaml").write_text(CUBE)
    if case == "foreign folder":
        (out / "report.py").write_text("a user's module\n")
        expected = "is not empty and has no MANIFEST.codegen"
    elif case == "unlisted file":
        (out / codegen.MANIFEST).write_text("nodes.py\n")
        (out / "functions.py").write_text("a user's module\n")
        expected = "holds functions.py, which gradspec.codegen did not write"
    else:
        (out / codegen.MANIFEST).write_text("../report.py\n")
        (tmp_path / "report.py").write_text("a user's module\n")
        expected = "not names of generated files"
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    proc = _codegen("--spec", "spec.yaml", "--out", "out", cwd=tmp_path)
    assert proc.returncode == 1 and expected in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_writes_into_gradspec_only_when_asked(tmp_path):
    (tmp_path / "spec.yaml").write_text(CUBE)
    for out in (codegen.GRADSPEC_GENERATED, codegen.RUNTIME / "nn"):
        proc = _codegen("--spec", str(tmp_path / "spec.yaml"), "--out", str(out))
        assert proc.returncode == 2 and "inside gradspec itself" in proc.stderr and "--gradspec" in proc.stderr
    proc = _codegen("--spec", str(tmp_path / "spec.yaml"))
    assert proc.returncode == 2 and "give --out DIR" in proc.stderr
    # gradspec.generated untouched (the spec named: an installed gradspec has none of its own)
    assert _codegen("--gradspec", "--check", "--spec", str(ROOT / "derivatives.yaml")).returncode == 0


def test_help_explains_every_flag():
    proc = _codegen("--help")
    assert proc.returncode == 0
    for flag in ("--spec", "--out", "--gradspec", "--standalone", "--check", "--help"):
        described = re.search(rf"^  (?:-\w, )?{flag}(?: [A-Z]+)?  +(\S.{{20,}})$", proc.stdout, re.MULTILINE)
        assert described, f"{flag} is not explained:\n{proc.stdout}"
    assert "MANIFEST.codegen" in proc.stdout and "kernels.py" in proc.stdout and "Exit status" in proc.stdout


def test_no_arguments_after_an_install_is_a_usage_error(tmp_path):
    """The installed layout (gradspec/, gradspec/generated/, gradspec/codegen/, no derivatives.yaml):
    with no arguments, or --gradspec alone, codegen says what it needs; it never defaults into the
    install folder."""
    installed = _installed(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    proc = subprocess.run([sys.executable, "-c", "import gradspec.codegen as c; print(c.HERE, c.OWN_SPEC)"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.stdout.split() == [str(installed / "codegen"), "None"], proc.stdout + proc.stderr
    for args, message in (((), "give --out DIR"), (("--gradspec",), "installed without its derivatives.yaml")):
        proc = _codegen(*args, cwd=tmp_path, env=env)
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_compiles_even_when_gradspec_generated_is_broken(tmp_path):
    """gradspec/__init__ keeps the error of a broken gradspec.generated for its first use, so that
    the compiler (which needs none of the runtime) runs and can regenerate it."""
    installed = _installed(tmp_path)
    (installed / "generated" / "functions.py").write_text("raise ImportError('broken on purpose')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    proc = subprocess.run([sys.executable, "-c", "import gradspec; gradspec.ones(1)"], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1 and "broken on purpose" in proc.stderr and "python -m gradspec.codegen" in proc.stderr
    proc = _codegen("--gradspec", "--spec", str(ROOT / "derivatives.yaml"), cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-c", "import gradspec; print(gradspec.ones(2).sum().item())"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.stdout.strip() == "2.0", proc.stderr
