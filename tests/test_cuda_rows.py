"""Row kernels (codegen/rows.py -> generated/rows.cu -> gradspec.backends.row_kernels): a reduction along
one dim and its elementwise epilogue in one launch, for log_softmax, nll_loss and the nodes
whose formulas are keepdim sums (LogSoftmaxBackward0, SoftmaxBackward0).

On cuda they must give what the array kernels give on the CPU (within float32 rounding: the sums
run in another order) for every dim, row length (longer rows than threads per block), more rows
than blocks (grid-stride rows, totals combined over blocks), weights, ignored targets and
reductions; every kernel compiles for the GPU; a bad `rows:` program is a located spec error.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

import gradspec
from conftest import CUDA_MISSING, ROOT
from cuda_support import ARCHES, NO_NVCC, NVCC, _build, nvcc_command
from gradspec import codegen
from gradspec.backends import fused, row_kernels
from gradspec.codegen import rows as codegen_rows
from gradspec.codegen.model import SpecError

needs_cuda = pytest.mark.skipif(CUDA_MISSING is not None, reason=f"no cuda device: {CUDA_MISSING}")
SPEC = codegen.load_spec(ROOT / "derivatives.yaml", ROOT / "runtime" / "formulas.py", ROOT / "runtime" / "kernels")
TOLERANCE = dict(rtol=1e-5, atol=1e-6)


def _emulated() -> bool:
    return gradspec.backends.backend_of(gradspec.zeros(1, device="cuda")._data).name == "emulated"


def _launched(run) -> list[str]:
    """The row kernels `run()` launched on the emulated device (everything launched, elsewhere)."""
    if not _emulated():
        run()
        return []
    from gradspec import emulated_cuda

    before = emulated_cuda.snapshot()
    run()
    return sorted(k for k in emulated_cuda.since(before)["kernels"] if "_rows<" in k)


def _both(make, fn):
    """fn's output and its inputs' gradients on the CPU and on cuda, from the same arrays."""
    results = {}
    for device in ("cpu", "cuda"):
        inputs = [gradspec.tensor(a, device=device, requires_grad=a.dtype.kind == "f") for a in make()]
        out = fn(*inputs)
        out.backward(gradspec.tensor(np.linspace(-1, 2, out.numel(), dtype=np.float32).reshape(out.shape),
                                     device=device))
        results[device] = [out.detach().cpu().numpy()] + [t.grad.cpu().numpy() for t in inputs if t.requires_grad]
    return results["cpu"], results["cuda"]


def _close(cpu, cuda):
    for a, b in zip(cpu, cuda):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(b, a, **TOLERANCE)


@needs_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("shape, dim", [((3, 5, 7), 0), ((3, 5, 7), 1), ((3, 5, 7), -1), ((2, 300), 1), ((6,), 0),
                                        ((5000, 3), 1)])
def test_log_softmax_and_its_backward_are_row_kernels(shape, dim):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32) * 3
    compared = []
    names = _launched(lambda: compared.append(_both(lambda: [x], lambda t: gradspec.log_softmax(t, dim))))
    _close(*compared[0])
    assert not _emulated() or names == ["gs::LogSoftmaxBackward0_rows<float, float, float>",
                                        "gs::_log_softmax_rows<float, float>"]


@needs_cuda
@pytest.mark.cuda
def test_softmax_backward_is_a_row_kernel_and_rows_keep_nan_and_inf():
    x = np.array([[1.0, np.nan, 0.5], [-np.inf, 0.0, 2.0], [3.0, 3.0, 3.0]], np.float32)
    cpu, cuda = _both(lambda: [x], lambda t: gradspec.softmax(t, 1) * 2)
    _close(cpu, cuda)
    cpu, cuda = _both(lambda: [x], lambda t: gradspec.log_softmax(t, 1))
    _close(cpu, cuda)
    names = _launched(lambda: _both(lambda: [x], lambda t: gradspec.softmax(t, 0)))
    assert not _emulated() or names == ["gs::SoftmaxBackward0_rows<float, float, float>"]


@needs_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(7, 4), (3, 4, 5), (4,), (4100, 3)])
@pytest.mark.filterwarnings("ignore:invalid value encountered")  # the CPU's mean over no weight: 0 / 0
def test_nll_loss_matches_the_cpu(reduction, weighted, shape):
    rng = np.random.default_rng(1)
    scores = rng.standard_normal(shape).astype(np.float32)
    classes = shape[1] if len(shape) > 1 else shape[0]
    target = rng.integers(0, classes, shape[:1] + shape[2:] if len(shape) > 1 else ())
    target.reshape(-1)[:2] = 1  # some ignored
    weight = rng.uniform(0.5, 2, classes).astype(np.float32) if weighted else None
    results = {}
    for device in ("cpu", "cuda"):
        x = gradspec.tensor(scores, device=device, requires_grad=True)
        w = None if weight is None else gradspec.tensor(weight, device=device)
        loss = gradspec.nn.functional.nll_loss(x, gradspec.tensor(target, device=device), weight=w,
                                               ignore_index=1, reduction=reduction)
        loss.backward(gradspec.ones_like(loss) * 1.5)
        results[device] = [loss.detach().cpu().numpy(), x.grad.cpu().numpy()]
    _close(results["cpu"], results["cuda"])


@needs_cuda
@pytest.mark.cuda
def test_a_mean_cross_entropy_step_is_three_row_kernels():
    x = gradspec.randn(64, 10, device="cuda", requires_grad=True)
    y = gradspec.randint(0, 10, (64,), device="cuda")
    names = _launched(lambda: gradspec.nn.functional.cross_entropy(x, y).backward())
    if not _emulated():
        pytest.skip("counted on the emulated device")
    assert names == ["gs::LogSoftmaxBackward0_rows<float, float, float>", "gs::_log_softmax_rows<float, float>",
                     "gs::nll_loss_backward_rows<float, float, float, long long, float, float>",
                     "gs::nll_loss_forward_rows<float, float, long long, float>"]


# ---- the kernels compile for the GPU ------------------------------------------------------------

def _instances(plans) -> str:
    """Every row kernel instantiated for float and double (operands of the same type, and integer
    per-row operands such as targets), by taking their addresses."""
    lines = ["extern const void* const gs_row_instances[] = {"]
    for plan in plans:
        for t in ("float", "double"):
            for other in (t, "long long"):
                types = [t, t] + [other if o.kind == "row" else t for o in plan.operands[1:]]
                lines.append(f"    (const void*)&gs::{plan.kernel}<{', '.join(types)}>,")
    return "\n".join(lines + ["};", ""])


@pytest.mark.skipif(NVCC is None, reason=NO_NVCC)
def test_every_row_kernel_compiles_for_sm80_and_sm90():
    generated = ROOT / "generated"
    source = fused.paste_header((generated / "rows.cu").read_text(), (generated / "backward.cuh").read_text())
    for arch in ARCHES:
        binary = _build({"instances.cu": source + _instances(SPEC.rows.plans)}, nvcc_command(arch),
                        f"kernels_{arch}.cubin").read_bytes()
        missing = [p.kernel for p in SPEC.rows.plans if p.kernel.encode() not in binary]
        assert not missing, f"{arch} cubin lacks {missing}"


def test_the_spec_declares_and_derives_the_row_kernels():
    assert sorted(SPEC.rows.forward) == ["_log_softmax", "nll_loss_backward", "nll_loss_forward"]
    assert sorted(SPEC.rows.backward) == ["LogSoftmaxBackward0", "SoftmaxBackward0"]


# ---- a bad `rows:` program is a located spec error ------------------------------------------------

ENTRY = """\
- name: _log_softmax(Tensor self, int dim, bool half_to_float=False) -> Tensor
  kernel: log_softmax
  self: grad - exp(result) * sum(grad, [dim], True)
  rows:
    along: dim
{rows}
"""


@pytest.mark.parametrize("rows, message", [
    ("    do: [top = amax(self)]", "does not assign the output(s) ['result']"),
    ("    do: [result = self - amax(self)]\n    how: 1", "unknown key 'how' in rows:"),
    ("    do: [result = self - amax(self)]\n    per_row: [bogus]", "per_row: 'bogus' is not a tensor argument"),
    ("    do: [result = self - sum(2)]", "nothing to reduce"),
    ("    do: [result = self - amax(self) + sum(sum(self))]", "mixes a total"),
    ("    do: [result + self]", "is `name = expression`"),
])
def test_a_bad_rows_program_is_a_spec_error(tmp_path, rows, message):
    spec = ROOT / "derivatives.yaml"
    text = spec.read_text()
    start = text.index("- name: _log_softmax(")
    end = text.index("\n- ", start) + 1
    path = tmp_path / "derivatives.yaml"
    path.write_text(text[:start] + textwrap.dedent(ENTRY).format(rows=rows) + text[end:])
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")) as error:
        codegen.load_spec(path, ROOT / "runtime" / "formulas.py", ROOT / "runtime" / "kernels")
    assert "derivatives.yaml:" in str(error.value) and "_log_softmax" in str(error.value)


def test_rows_kinds_are_what_the_runtime_reads():
    assert {codegen_rows.ELEMENT, codegen_rows.ROW, codegen_rows.TOTAL} == {
        row_kernels.ELEMENT, row_kernels.ROW, row_kernels.TOTAL}
