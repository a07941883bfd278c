"""CUDA code generation: which formulas are elementwise, what is emitted, and that every
generated kernel compiles for real GPU architectures (nvcc -cubin, sm_80 and sm_90).

nvcc is on the development and CI machines: the compile test runs there, and is skipped, with
the reason, only where nvcc is absent. The compile is cached by content (tests/cuda_support.py).
"""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import pytest

from gradspec import codegen
from gradspec.codegen import cuda
from cuda_support import ARCHES, NO_NVCC, NVCC, CompileError, ROOT, cubins, generated_files

HELPERS, KERNELS = ROOT / "runtime" / "formulas.py", ROOT / "runtime" / "kernels"
SPEC = codegen.load_spec(ROOT / "derivatives.yaml", HELPERS, KERNELS)
ANALYSIS = SPEC.kernels
needs_nvcc = pytest.mark.skipif(NVCC is None, reason=NO_NVCC)

MANGLED = {"float": "f", "double": "d", "bool": "b"}


def _mangled(plan, types) -> bytes:
    """The Itanium-mangled prefix of one kernel instantiation: gs::<kernel><types...>."""
    return f"_ZN2gs{len(plan.kernel)}{plan.kernel}I{''.join(MANGLED[t] for t in types)}E".encode()


# ---- every generated kernel compiles for the GPU ---------------------------------------------------

@needs_nvcc
def test_every_kernel_compiles_for_sm80_and_sm90():
    plans = [*ANALYSIS.kernels, *ANALYSIS.forwards]  # backward and forward kernels
    binaries = cubins(generated_files(), plans)
    assert sorted(binaries) == sorted(ARCHES)
    for arch, binary in binaries.items():
        missing = [cuda.instance_name(p, cuda.instantiation_types(p, t)) for p in plans for t in ("float", "double")
                   if _mangled(p, cuda.instantiation_types(p, t)) not in binary]
        assert not missing, f"{arch} cubin lacks {missing}"


@needs_nvcc
def test_a_kernel_that_does_not_compile_fails_the_check():
    files = generated_files()
    broken = dict(files, **{"backward.cuh": files["backward.cuh"].replace("return x * alpha;", "return x * alpha")})
    plan = next(p for p in ANALYSIS.kernels if "maybe_multiply" in " ".join(g.expr for g in p.computed))
    with pytest.raises(CompileError, match="error"):
        cubins(broken, [plan], arches=("sm_80",))


def _find_nvrtc() -> str | None:
    """libnvrtc, where present: $GRADSPEC_NVRTC, the system's, or the nvidia-cuda-nvrtc wheels'."""
    import ctypes.util
    import glob
    import os
    import site

    candidates = [os.environ.get("GRADSPEC_NVRTC"), ctypes.util.find_library("nvrtc")]
    for folder in site.getsitepackages() + [site.getusersitepackages()] + sys.path:
        candidates += sorted(glob.glob(os.path.join(folder, "nvidia", "cu*", "lib", "libnvrtc.so*")))
        candidates += sorted(glob.glob(os.path.join(folder, "nvidia", "cuda_nvrtc", "lib", "libnvrtc.so*")))
    return next((c for c in candidates if c and "builtins" not in c and "alt" not in c), None)


def test_nvrtc_compiles_the_runtime_source_as_cupy_does():
    """What cupy does at run time, without a GPU: nvrtc with one name expression per kernel.
    Needs libnvrtc (`pip install nvidia-cuda-nvrtc-cu12`, or GRADSPEC_NVRTC=/path/libnvrtc.so)."""
    import ctypes

    from gradspec.backends import fused as runtime_cuda

    path = _find_nvrtc()
    if path is None:
        pytest.skip("libnvrtc not found (pip install nvidia-cuda-nvrtc-cu12, or set GRADSPEC_NVRTC): "
                    "cupy's compile path is then checked only by the GPU tests")
    nvrtc = ctypes.CDLL(path)
    source = runtime_cuda.kernel_source(ROOT / "generated")
    program = ctypes.c_void_p()
    assert nvrtc.nvrtcCreateProgram(ctypes.byref(program), source.encode(), b"backward.cu", 0, None, None) == 0
    names = [runtime_cuda.kernel_name(p.node, cuda.instantiation_types(p, t))
             for p in (*ANALYSIS.kernels, *ANALYSIS.forwards) for t in ("float", "double")]
    for name in names:
        assert nvrtc.nvrtcAddNameExpression(program, name.encode()) == 0
    options = (ctypes.c_char_p * 2)(b"--std=c++14", b"-arch=compute_80")
    status = nvrtc.nvrtcCompileProgram(program, 2, options)
    size = ctypes.c_size_t()
    nvrtc.nvrtcGetProgramLogSize(program, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    nvrtc.nvrtcGetProgramLog(program, log)
    assert status == 0, log.value.decode()
    assert not log.value.strip(), log.value.decode()  # no warnings either
    for name in names:
        lowered = ctypes.c_char_p()
        assert nvrtc.nvrtcGetLoweredName(program, name.encode(), ctypes.byref(lowered)) == 0
        assert lowered.value.startswith(b"_ZN2gs"), name
    nvrtc.nvrtcDestroyProgram(ctypes.byref(program))


def test_the_runtime_source_is_self_contained():
    """cupy compiles backward.cu with the header pasted in and no include path."""
    from gradspec.backends import fused as runtime_cuda

    source = runtime_cuda.kernel_source(ROOT / "generated")
    includes = [line for line in source.splitlines() if line.startswith("#include")]
    assert includes == ["#include <math.h>"]  # only in the host compiler's half of the prelude
    host_half = source.split("#else", 1)[1].split("#endif", 1)[0]
    assert "#include <math.h>" in host_half


# ---- what is generated --------------------------------------------------------------------------

def test_every_differentiable_entry_is_classified():
    nodes = {e.node_name for e in SPEC.entries if e.differentiable}
    assert set(ANALYSIS.plans) | set(ANALYSIS.fallbacks) == nodes
    assert not set(ANALYSIS.plans) & set(ANALYSIS.fallbacks)
    assert all(reason for reason in ANALYSIS.fallbacks.values())


def test_generated_sources_list_kernels_and_fallbacks():
    files = generated_files()
    kernels, header = files["backward.cu"], files["backward.cuh"]
    for plan in (*ANALYSIS.kernels, *ANALYSIS.forwards):
        assert f"__global__ void {plan.kernel}(" in kernels
        for gradient in plan.computed:
            assert f"struct {plan.functor(gradient)} {{" in header
            assert f"//   {gradient.input}: {gradient.text}" in header
    for node, reason in ANALYSIS.fallbacks.items():
        assert f"//   {node}: {reason}" in kernels
    assert kernels.count("__global__ void ") == len(ANALYSIS.kernels) + len(ANALYSIS.forwards)


def test_compound_elementwise_forwards_get_one_kernel_and_single_operations_none():
    """The ops whose `forward:` formula is elementwise and takes several array operations (several
    launches as written) get a fused forward kernel; one operation (exp, where, a comparison), a
    mask result, or anything not elementwise keeps its formula."""
    assert sorted(p.entry.function_name for p in ANALYSIS.forwards) == [
        "elu_backward", "hardswish_backward", "hardtanh_backward", "leaky_relu_backward", "lerp_Scalar", "lerp_Tensor",
        "rsqrt", "sigmoid_backward", "softplus_backward"]
    rsqrt = next(p for p in ANALYSIS.forwards if p.entry.function_name == "rsqrt")
    assert rsqrt.kernel == "rsqrt_forward_kernel" and rsqrt.computed[0].expr == "(T(1.0) / gs::sqrt(x_self))"
    lerp = next(p for p in ANALYSIS.forwards if p.entry.function_name == "lerp_Scalar")
    assert [o.param for o in lerp.operands] == ["x_self", "x_end"] and lerp.values == ("weight",)


def _apply(source, node: str, name: str = "apply") -> ast.FunctionDef | None:
    tree = ast.parse(source) if isinstance(source, str) else source
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == node)
    return next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == name), None)


def test_elementwise_nodes_declare_their_kernel_and_apply_holds_formulas_only():
    """A node's `apply` has no backend branch; an elementwise node's `apply_fused` launches its
    kernel once through the launcher a backend hands it (gradspec.backends.Backend.backward)."""
    nodes = ast.parse((ROOT / "generated" / "nodes.py").read_text())
    kernels = {p.node for p in ANALYSIS.kernels}
    for entry in SPEC.entries:
        if not entry.differentiable:
            continue
        text = ast.unparse(_apply(nodes, entry.node_name))
        assert "launch" not in text and "ndarray" not in text and not text.count("if type(")
        fused = _apply(nodes, entry.node_name, "apply_fused")
        if entry.node_name in kernels:
            fused_text = ast.unparse(fused)
            assert f"fused = launch('{entry.node_name}', grad," in fused_text
            assert fused_text.count("launch(") == 1  # one launch computes every needed gradient
        elif entry.node_name in SPEC.rows.backward:  # a row kernel (codegen/rows.py)
            assert ast.unparse(fused).endswith(f"return R.{entry.node_name}(grad, result, self.dim)")
        else:
            assert fused is None


# ---- elementwise detection ----------------------------------------------------------------------

def _analyze(tmp_path: Path, text: str) -> cuda.Analysis:
    path = tmp_path / "derivatives.yaml"
    path.write_text(textwrap.dedent(text))
    return codegen.load_spec(path, HELPERS, KERNELS).kernels


def _generate(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "derivatives.yaml"
    path.write_text(textwrap.dedent(text))
    return codegen.generate(path, HELPERS, KERNELS)


BASE = """
- name: mul.Tensor(Tensor self, Tensor other) -> Tensor
  forward: self * other
  self: grad * other
  other: grad * self
- name: cos(Tensor self) -> Tensor
  forward: xp.cos(self)
  self: grad * -sin(self)
- name: sin(Tensor self) -> Tensor
  forward: xp.sin(self)
  self: grad * cos(self)
- name: where.self(Tensor condition, Tensor self, Tensor other) -> Tensor
  forward: xp.where(condition, self, other)
  condition: non_differentiable
  self: where(condition, grad, 0)
  other: where(condition, 0, grad)
- name: sum(Tensor self, *, ScalarType? dtype=None) -> Tensor
  kernel: sum_all
  self: grad.expand(self.shape)
- name: expand(Tensor self, int[] size, *, bool implicit=False) -> Tensor
  kernel: expand
  self: sum_to(grad, self.shape)
"""


def test_ops_with_an_elementwise_forward_are_inlined(tmp_path):
    analysis = _analyze(tmp_path, BASE)
    assert analysis.plans["SinBackward0"].computed[0].expr == "(grad * gs::cos(x_self))"
    assert analysis.plans["CosBackward0"].computed[0].expr == "(grad * (-gs::sin(x_self)))"
    where = analysis.plans["WhereBackward0"]
    assert [g.expr for g in where.computed] == ["((x_condition != T(0)) ? grad : T(0.0))",
                                                "((x_condition != T(0)) ? T(0.0) : grad)"]
    assert [o.name for o in where.operands] == ["grad", "condition"]


def test_metadata_and_array_kernels_are_not_elementwise(tmp_path):
    analysis = _analyze(tmp_path, BASE)
    assert "SumBackward0" in analysis.fallbacks and "ExpandBackward0" in analysis.fallbacks
    assert "sum_to" in analysis.fallbacks["ExpandBackward0"]


@pytest.mark.parametrize("formula,reason", [
    ("grad * self.shape[0]", "Subscript"),
    ("grad if self else 0", "'if' on a tensor"),
    ("grad * sum(self)", "array kernel 'sum_all'"),
    ("grad @ other", "operator MatMult"),
    ("sum_to(grad, self.shape)", "sum_to"),
    ("grad * other if alpha == 1 else grad", None),
    ("maybe_multiply(grad, alpha) * (self > 0)", None),
    ("grad * (self > other) * (alpha >= 0 and alpha < 2)", None),
])
def test_formula_classification(tmp_path, formula, reason):
    spec = BASE + f"""
- name: f(Tensor self, Tensor other, Scalar alpha=1) -> Tensor
  kernel: sum_all
  self: {formula}
  other: non_differentiable
"""
    analysis = _analyze(tmp_path, spec)
    if reason is None:
        assert "FBackward0" in analysis.plans, analysis.fallbacks.get("FBackward0")
    else:
        assert reason in analysis.fallbacks["FBackward0"]


def test_shared_keys_and_several_outputs_run_the_array_form(tmp_path):
    analysis = _analyze(tmp_path, BASE + """
- name: matmul(Tensor self, Tensor other) -> Tensor
  kernel: matmul
  self, other: matmul_backward(grad, self, other, grad_input_mask)
""")
    assert "shared key" in analysis.fallbacks["MatmulBackward0"]


def test_a_gradient_that_is_grad_itself_needs_no_kernel(tmp_path):
    files = _generate(tmp_path, BASE + """
- name: add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor
  forward: self + other if alpha == 1 else self + alpha * other
  self: grad
  other: maybe_multiply(grad, alpha)
- name: clone(Tensor self) -> Tensor
  forward: xp.array(self, copy=True)
  self: grad
""")
    fused = ast.unparse(_apply(files["nodes.py"], "AddBackward0", "apply_fused"))
    assert "fused = launch('AddBackward0', grad, (), (self.alpha,), (need_other,))" in fused
    assert "return (grad if need_self else None, fused[0])" in fused
    assert _apply(files["nodes.py"], "CloneBackward0", "apply_fused") is None
    assert "CloneBackward0" in files["backward.cu"].split("#include")[0]  # listed: no kernel needed
    assert "AddBackward0_kernel" in files["backward.cu"] and "CloneBackward0_kernel" not in files["backward.cu"]


def test_kernel_counts(capsys):
    """The numbers the CUDA note reports (printed with -s)."""
    differentiable = [e for e in SPEC.entries if e.differentiable]
    kernels, identities = ANALYSIS.kernels, [p for p in ANALYSIS.plans.values() if not p.computed]
    with capsys.disabled():
        print(f"\n{len(differentiable)} backward nodes: {len(kernels)} fused kernels (1 launch each), "
              f"{len(identities)} with gradient `grad` itself (no launch), {len(ANALYSIS.fallbacks)} array form")
    assert len(kernels) + len(identities) + len(ANALYSIS.fallbacks) == len(differentiable)
