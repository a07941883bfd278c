"""The CUDA backward, checked on the host: no GPU, no cupy.

generated/backward.cu is compiled by g++ with the host half of its prelude (a kernel is a
plain function, run by a harness over a stand-in grid: tests/cuda_support.py). Then, for
every elementwise entry, with the inputs its `test:` hints give (as tests/test_spec_gradients.py
draws them) and with special values (0, -0, negatives, large), in float32 and float64:

* the node's `apply` is called twice: with a numpy gradient (the array form) and with a
  gradient through its `apply_fused`, where gradspec.backends.fused.prepare lays the operands out and
  the host-compiled kernel computes the gradients; both must agree, with one launch;
* the kernels' indexing is run under several grids (odd sizes, grids smaller and larger
  than n) into padded outputs: every element written, nothing past the end;
* a wrong formula planted in a copy of the spec, and an off-by-one planted in a kernel, make
  these checks fail.

The device model's CPU side (errors without cupy, `import gradspec` not importing cupy,
devices mixed in one op) is checked here too.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from gradspec import codegen
import gradspec
from gradspec.codegen import cuda as codegen_cuda
from gradspec.codegen import load_spec
from cuda_support import CXX, NO_CXX, ROOT, HostBackend, generated_files, host_library, run
from gradspec.generated import functions as F
from gradspec import backends
from gradspec.backends import fused as runtime_fused
from test_spec_gradients import _argument_value, _cases, _sample

HELPERS, KERNELS = ROOT / "runtime" / "formulas.py", ROOT / "runtime" / "kernels"
SPEC = load_spec(ROOT / "derivatives.yaml", HELPERS, KERNELS)
ANALYSIS = SPEC.kernels
PLANS = ANALYSIS.kernels
DTYPES = (np.float32, np.float64)
# rtol: the host's libm and numpy's own float32 loops differ by a few ulps in transcendentals;
# everything else is the same IEEE operations in the same order.
RTOL = {np.float32: 2e-5, np.float64: 1e-12}
SPECIALS = np.array([0.0, -0.0, -1.0, -2.5, 1e-3, 2.0, 30.0, 1e4, -1e4, 0.5])

needs_cxx = pytest.mark.skipif(CXX is None, reason=NO_CXX)


@pytest.fixture(scope="module")
def library():
    if CXX is None:
        pytest.skip(NO_CXX)
    return host_library(generated_files(), PLANS)


# ---- the check itself ---------------------------------------------------------------------------

def build(entry, case, dtype, special: bool, seed: int = 0, only_first: bool = False):
    """The entry's op called on fresh inputs (make_inputs)."""
    kwargs = make_inputs(entry, case, dtype, special, seed, only_first)
    with np.errstate(all="ignore"):
        return getattr(F, entry.function_name)(**kwargs)


def make_inputs(entry, case, dtype, special: bool, seed: int = 0, only_first: bool = False) -> dict:
    """The entry's arguments: tensors drawn from the `test:` hints in `dtype` (bool domains stay
    bool), or from SPECIALS; `only_first`: only the first differentiable input requires grad."""
    rng = np.random.default_rng(seed)
    domains = entry.test.get("domain") or {}
    kwargs, first = {}, True
    for argument in entry.schema.arguments:
        name = argument.name
        if argument.is_tensor and name in case["shapes"]:
            domain = domains.get(name, "real")
            array = _sample(domain, case["shapes"][name], rng)
            if domain != "bool":
                array = array.astype(dtype)
                if special:
                    array = rng.permutation(np.resize(SPECIALS, array.size)).reshape(array.shape).astype(dtype)
            differentiable = domain != "bool" and entry.formula_for(name) is not None
            kwargs[name] = gradspec.tensor(array, requires_grad=differentiable and (first or not only_first))
            first = first and not differentiable
        elif argument.is_tensor and argument.optional:
            continue
        elif name in case["args"]:
            kwargs[name] = _argument_value(argument, case["args"][name])
    return kwargs


def check(entry, case, dtype, backend: HostBackend, special: bool = False, only_first: bool = False) -> list[str]:
    """Differences between the array form and the cuda branch of one node (empty: they agree)."""
    with np.errstate(all="ignore"):
        result = build(entry, case, dtype, special, only_first=only_first)
        node = result.grad_fn
        assert node is not None and node.name() == entry.node_name
        grad = np.asarray(np.random.default_rng(1).standard_normal(result.shape), dtype=dtype)
        if special:
            grad.flat[:1] = 0
        expected = node.apply((grad,))
        backend.launched.clear()
        actual = backends.Backend("host", np, np.ndarray, kernels=backend).backward(node, (grad,))
    problems = []
    shapes = [np.shape(getattr(node, slot)._data) for slot in node.saved_slots if hasattr(getattr(node, slot), "_data")]
    launches = 1 if all(np.broadcast_shapes(s, grad.shape) == grad.shape for s in shapes) else 0
    plan = ANALYSIS.plans[entry.node_name]
    if not any(expected[plan.inputs.index(g.input)] is not None for g in plan.computed):
        launches = 0  # only `grad` itself is needed: nothing to compute
    if len(backend.launched) != launches:
        problems.append(f"{len(backend.launched)} kernel launches, expected {launches}")
    rtol = RTOL[dtype]
    for name, want, got in zip(plan.inputs, expected, actual):
        if (want is None) != (got is None):
            problems.append(f"gradient of {name}: array form gives {want!r}, cuda branch {got!r}")
            continue
        if want is None:
            continue
        want64 = np.broadcast_to(np.asarray(want, dtype=np.float64), np.shape(got))
        got64 = np.asarray(got, dtype=np.float64)
        close = np.isclose(got64, want64, rtol=rtol, atol=1e-30, equal_nan=True)
        if not close.all():
            at = np.argwhere(~close)[0]
            problems.append(f"gradient of {name} differs at {len(np.argwhere(~close))} of {close.size} elements, "
                            f"first at {tuple(at)}: cuda {got64[tuple(at)]!r} vs array form {want64[tuple(at)]!r}")
    return problems


CASES = [pytest.param(plan, case, dtype, id=f"{plan.node}-{i}-{np.dtype(dtype).name}")
         for plan in PLANS for i, case in enumerate(_cases(plan.entry)) for dtype in DTYPES]


@pytest.mark.parametrize("plan,case,dtype", CASES)
def test_kernel_matches_the_array_form(plan, case, dtype, library):
    backend = HostBackend(library)
    problems = []
    for special in (False, True):
        for only_first in (False, True):
            found = check(plan.entry, case, dtype, backend, special, only_first)
            problems += [f"{'special values' if special else 'domain values'}"
                         f"{', first input only' if only_first else ''}: {p}" for p in found]
    assert not problems, f"{plan.node} {case}:\n" + "\n".join(problems)


def test_every_kernel_is_checked():
    checked = {p.values[0].node for p in CASES}
    assert checked == {p.node for p in PLANS}
    assert PLANS, "no elementwise entry in the spec"


# ---- indexing: the stand-in grid -------------------------------------------------------------------

GRIDS = [(1, 1), (1, 32), (3, 64), (2, 256), (7, 33), (64, 128)]
LAYOUTS = [((5, 7), (5, 7)), ((5, 7), (7,)), ((5, 7), (5, 1)), ((3, 5, 7), (1, 5, 1)), ((3, 5, 7), (3, 1, 7)),
           ((1031,), ()), ((2, 1, 9), (2, 1, 9))]
SENTINEL = -12345.0


def _indexing_problems(library, plan, out_shape, operand_shape, dtype) -> list[str]:
    """Run `plan`'s kernel under every grid of GRIDS into padded outputs; compare to one thread."""
    rng = np.random.default_rng(3)
    operands = []
    for operand in plan.operands[1:]:
        shape = out_shape if operand.name in plan.entry.schema.returns else operand_shape
        array = rng.random(shape) > 0.5 if operand.domain == "bool" else rng.uniform(0.5, 2.0, shape).astype(dtype)
        operands.append(np.asarray(array))
    values = tuple(1.5 for _ in plan.values)
    grad = rng.standard_normal(out_shape).astype(dtype)
    needs = tuple(True for _ in plan.computed)
    call = runtime_fused.prepare(grad, tuple(operands), values, needs, HostBackend(library))
    assert call is not None
    n, pad = call.n, 17
    outputs_at = len(call.args) - len(needs)
    reference = [np.full(n + pad, SENTINEL, dtype) for _ in needs]
    run(library, plan.node, call.types, 1, 1, call.args[:outputs_at] + reference)
    problems = []
    for out in reference:
        if (out[n:] != SENTINEL).any() or (out[:n] == SENTINEL).any():
            problems.append("one thread: an element not written or written past the end")
    for blocks, block in GRIDS:
        outputs = [np.full(n + pad, SENTINEL, dtype) for _ in needs]
        run(library, plan.node, call.types, blocks, block, call.args[:outputs_at] + outputs)
        for out, ref in zip(outputs, reference):
            if (out[n:] != SENTINEL).any():
                problems.append(f"grid {blocks}x{block}, n={n}: wrote past the end")
            elif not np.array_equal(out[:n], ref[:n], equal_nan=True):
                problems.append(f"grid {blocks}x{block}, n={n}: differs from one thread")
    return problems


def _indexing_plans():
    by_operands = {}
    for plan in PLANS:  # one plan per operand signature is enough for the indexing
        key = tuple((o.name == "grad", o.domain, o.name in plan.entry.schema.returns) for o in plan.operands)
        by_operands.setdefault((key, len(plan.values), len(plan.computed)), plan)
    return list(by_operands.values())


@pytest.mark.parametrize("out_shape,operand_shape", LAYOUTS, ids=[f"{a}-{b}" for a, b in LAYOUTS])
def test_kernel_indexing_under_a_stand_in_grid(library, out_shape, operand_shape):
    problems = []
    for plan in _indexing_plans():
        for dtype in DTYPES:
            problems += [f"{plan.node} {np.dtype(dtype).name}: {p}"
                         for p in _indexing_problems(library, plan, out_shape, operand_shape, dtype)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("shape,out,expected", [
    ((5, 7), (5, 7), (1, 35)), ((7,), (5, 7), (1, 7)), ((5, 1), (5, 7), (7, 5)), ((), (5, 7), (1, 1)),
    ((1, 5, 1), (3, 5, 7), (7, 5)), ((3, 1, 7), (3, 5, 7), "copy"), ((4,), (5, 7), None), ((5, 7), (7,), None),
    ((1, 1), (5, 7), (1, 1)), ((5, 7, 1), (2, 5, 7, 1), (1, 35)),
])
def test_operand_layouts(shape, out, expected):
    assert runtime_fused._layout(shape, out, math.prod(out)) == expected


def test_prepare_passes_numbers_by_value_and_unneeded_outputs_as_null():
    grad = np.ones((2, 3), np.float32)
    call = runtime_fused.prepare(grad, (2, np.ones(3, np.float64)), (0.5,), (False, True), HostBackend(None))
    assert call.types == ("double", "float", "double", "double")  # a float64 operand widens T
    args = call.args
    assert args[0] == 6 and args[1] is grad and args[5] is runtime_fused.NULL and args[6] == 2.0
    assert args[-2] is runtime_fused.NULL and args[-1].shape == (2, 3) and args[-1].dtype == np.float64
    assert call.outputs[0] is None and call.outputs[1] is args[-1]
    assert runtime_fused.prepare(grad.astype(np.float16), (), (), (True,), HostBackend(None)) is None
    assert runtime_fused.prepare(grad, ("text",), (), (True,), HostBackend(None)) is None
    unsaved = runtime_fused.prepare(grad, (None,), (None,), (True,), HostBackend(None))  # read by no needed gradient
    assert unsaved.args[5:10] == [runtime_fused.NULL, 0, 1, 1, 0]


def test_non_contiguous_operands_are_copied_once():
    base = np.arange(12, dtype=np.float64).reshape(3, 4)
    before = runtime_fused.stats["copies"]
    call = runtime_fused.prepare(np.ones((4, 3)), (base.T,), (), (True,), HostBackend(None))
    assert runtime_fused.stats["copies"] == before + 1
    assert call.args[5].flags.c_contiguous and np.array_equal(call.args[5], base.T)


def test_expanded_views_are_read_in_place():
    grad = np.broadcast_to(np.float32(2.0), (5, 7))  # the gradient a sum's backward hands on
    bias = np.broadcast_to(np.arange(7, dtype=np.float32), (5, 7))
    column = np.broadcast_to(np.arange(5, dtype=np.float32).reshape(5, 1), (5, 7))
    before = runtime_fused.stats["copies"]
    call = runtime_fused.prepare(grad, (bias, column), (), (True,), HostBackend(None))
    assert runtime_fused.stats["copies"] == before
    assert [int(a) for a in call.args[3:5]] == [1, 1]  # grad: one element
    assert [int(a) for a in call.args[7:9]] == [1, 7]  # bias: 7 elements repeated
    assert [int(a) for a in call.args[11:13]] == [7, 5]  # column: 5 elements, each 7 times
    assert runtime_fused._compact_shape(np.ones((4, 3)).T) is None
    assert runtime_fused._compact_shape(np.ones((4, 6))[:, ::2]) is None


@needs_cxx
def test_expanded_gradients_launch_without_copies(library):
    backend = HostBackend(library)
    x = gradspec.randn(6, 5, requires_grad=True)
    y = x.tanh()
    node = y.grad_fn
    grad = np.broadcast_to(np.array(1.5, y.detach().numpy().dtype), (6, 5))
    assert grad.strides == (0, 0)
    before = runtime_fused.stats["copies"]
    (got,) = node.apply_fused((grad,), backend.launch)
    assert runtime_fused.stats["copies"] == before and len(backend.launched) == 1
    result = y.detach().numpy()
    np.testing.assert_allclose(got, 1.5 * (1 - result * result), rtol=1e-6, atol=1e-6)  # 1 - y*y cancels near |y| = 1: once rounded (fma) or twice


# ---- planted faults: the checks above have teeth -------------------------------------------------

def _planted_library(tmp_path, edit_spec=None, edit_source=None):
    text = (ROOT / "derivatives.yaml").read_text()
    path = tmp_path / "derivatives.yaml"
    path.write_text(edit_spec(text) if edit_spec else text)
    files = {n: s for n, s in codegen.generate(path, HELPERS, KERNELS).items() if n in codegen_cuda.CUDA_OUTPUTS}
    if edit_source:
        files = edit_source(files)
    planted_spec = load_spec(path, HELPERS, KERNELS)
    return files, planted_spec.kernels


def _victim():
    """An elementwise entry with a formula to break: mul.Tensor where the spec has it."""
    names = [p for p in PLANS if p.entry.schema.full_name == "mul.Tensor"] or PLANS
    return names[0]


@needs_cxx
def test_a_wrong_formula_planted_in_the_spec_is_caught(tmp_path):
    victim = _victim()
    gradient = victim.computed[0]
    derivative = victim.entry.formula_for(gradient.input)
    line = derivative.where.line - 1

    def plant(text):
        lines = text.split("\n")
        assert derivative.text in lines[line], "the victim formula is not where the spec says"
        lines[line] = lines[line].replace(derivative.text, f"2 * ({derivative.text})", 1)
        return "\n".join(lines)

    files, planted = _planted_library(tmp_path, edit_spec=plant)
    plan = planted.plans[victim.node]
    assert plan.functor(gradient) in files["backward.cuh"] and "T(2.0) *" in files["backward.cuh"]
    backend = HostBackend(host_library(files, [plan]))
    case = _cases(victim.entry)[0]
    for dtype in DTYPES:
        problems = check(victim.entry, case, dtype, backend)
        assert any(f"gradient of {gradient.input} differs" in p for p in problems), problems


@needs_cxx
def test_an_indexing_bug_planted_in_a_kernel_is_caught(tmp_path):
    def off_by_one(files):
        source = files["backward.cu"]
        assert "i < n; i += stride" in source
        return dict(files, **{"backward.cu": source.replace("i < n; i += stride", "i <= n; i += stride")})

    files, planted = _planted_library(tmp_path, edit_source=off_by_one)
    plan = planted.plans[_victim().node]
    library = host_library(files, [plan])
    problems = _indexing_problems(library, plan, (5, 7), (7,), np.float64)
    assert any("past the end" in p for p in problems), problems


@needs_cxx
def test_a_broadcast_bug_planted_in_the_prelude_is_caught(tmp_path):
    def no_modulo(files):
        header = files["backward.cuh"]
        assert "return (i / inner) % size;" in header
        return dict(files, **{"backward.cuh": header.replace("return (i / inner) % size;", "return i / inner;")})

    files, planted = _planted_library(tmp_path, edit_source=no_modulo)
    victim = _victim()
    backend = HostBackend(host_library(files, [planted.plans[victim.node]]))
    broadcast = {"shapes": {"self": [5, 7], "other": [7]}, "args": {}}  # (the planted bug reads past `other`)
    if victim.entry.schema.full_name != "mul.Tensor":
        pytest.skip("mul.Tensor is not in the spec")
    assert check(victim.entry, broadcast, np.float64, backend)
    assert not check(victim.entry, {"shapes": {"self": [5, 7], "other": [5, 7]}, "args": {}}, np.float64, backend)


# ---- the device model without cupy -----------------------------------------------------------------

def test_import_runtime_never_imports_cupy():
    code = "import sys, gradspec; gradspec.randn(3, requires_grad=True).exp().sum().backward(); print('cupy' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_cuda_without_cupy_says_what_is_missing(no_cupy):
    assert gradspec.cuda.is_available() is False
    assert gradspec.cuda.device_count() == 0
    for request in (lambda: gradspec.zeros(2, device="cuda"), lambda: gradspec.ones(3).cuda(),
                    lambda: gradspec.ones(3).to("cuda:1"), lambda: gradspec.tensor([1.0], device="cuda:0")):
        with pytest.raises(RuntimeError, match=r"cupy is not installed.*pip install gradspec\[cuda12\]"):
            request()


def test_cuda_without_a_gpu_says_what_is_missing(no_cupy, monkeypatch):
    class Runtime:
        @staticmethod
        def getDeviceCount():
            raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    fake = type(sys)("cupy")
    fake.cuda = type(sys)("cupy.cuda")
    fake.cuda.runtime = Runtime
    monkeypatch.setitem(sys.modules, "cupy", fake)
    assert gradspec.cuda.is_available() is False
    with pytest.raises(RuntimeError, match=r"no NVIDIA GPU is visible to cupy.*no CUDA-capable device.*"
                                           r"pip install gradspec\[cuda12\]"):
        gradspec.zeros(2, device="cuda")


def test_cpu_backward_never_reaches_the_cuda_launcher(monkeypatch):
    def fail(*args):
        raise AssertionError("a numpy gradient reached gradspec.backends.fused.prepare")

    monkeypatch.setattr(runtime_fused, "prepare", fail)
    x = gradspec.randn(3, 4, requires_grad=True)
    (x * x).sin().exp().sum().backward()
    assert x.grad.shape == (3, 4)


class _FakeDeviceArray(np.ndarray):
    """Stands in for a cupy array: device_of() reports it on cuda:<_gpu>."""

    _gpu = 0

    @property
    def device(self):
        return type("Device", (), {"id": self._gpu})()


def test_mixing_devices_in_one_op_names_both(monkeypatch):
    fake = type(sys)("cupy")
    fake.ndarray = _FakeDeviceArray
    monkeypatch.setattr(backends, "_cupy", fake)
    monkeypatch.setattr(backends, "cuda_loaded", True)
    on_gpu = gradspec.tensor([1.0, 2.0])
    on_gpu._data = on_gpu._data.view(_FakeDeviceArray)
    assert str(on_gpu.device) == "cuda:0"
    on_cpu = gradspec.tensor([3.0, 4.0])
    for op in (lambda: on_gpu * on_cpu, lambda: on_cpu + on_gpu, lambda: gradspec.where(on_cpu > 0, on_gpu, on_cpu)):
        with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device, but found at "
                                               "least two devices, (cuda:0 and cpu|cpu and cuda:0)!"):
            op()
    assert (on_cpu * 2.0).device == backends.CPU  # numbers are not on a device
