"""The emulated CUDA device (gradspec.emulated_cuda): it accepts only what cupy accepts.

The stand-in is checked against the installed cupy itself (cupy imports without a GPU): its
names, its signatures, its flags, its refusals (host arrays, implicit conversion, arrays of
another device), what it counts, and when backends uses it. Skipped where cupy is not
installed (the dev extra installs it).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

cupy = pytest.importorskip("cupy", reason="the emulated device introspects cupy: pip install cupy-cuda12x")

from conftest import ROOT  # noqa: E402
from gradspec import backends  # noqa: E402
from gradspec.backends import cupy_backend  # noqa: E402
from gradspec import emulated_cuda  # noqa: E402

xp = emulated_cuda.module()


def test_the_namespace_has_cupys_names_only():
    for name in ("exp", "zeros", "matmul", "where", "lib", "cuda", "float32", "RawModule", "asnumpy"):
        assert hasattr(xp, name) and hasattr(cupy, name)
    for numpy_only in sorted(set(dir(np)) - set(dir(cupy))):
        if not numpy_only.startswith("_"):
            assert not hasattr(xp, numpy_only), numpy_only
    with pytest.raises(AttributeError, match="module 'cupy' has no attribute 'errstate'"):
        xp.errstate
    assert xp.float32 is np.float32 and xp.__name__ == "cupy"


def test_the_array_type_has_cupys_names_only():
    public = {n for n in dir(xp.ndarray) if not n.startswith("_")}
    assert public == {n for n in dir(cupy.ndarray) if not n.startswith("_")}
    dunders = {n for n in dir(xp.ndarray) if n.startswith("__")}
    assert dunders <= set(dir(cupy.ndarray)) | {"__weakref__", "__dict__"}, dunders - set(dir(cupy.ndarray))
    x = xp.ones((2, 3), dtype=xp.float32)
    for numpy_only in ("ctypes", "setflags", "resize", "__array_interface__", "__index__"):
        assert not hasattr(x, numpy_only), numpy_only


def test_keywords_cupy_does_not_take_are_refused():
    x = xp.ones((2, 3), dtype=xp.float32)
    with pytest.raises(TypeError, match="as_strided\\(\\) got an unexpected keyword argument 'writeable'"):
        xp.lib.stride_tricks.as_strided(x, (3,), (4,), writeable=False)
    with pytest.raises(TypeError, match="Wrong arguments \\{'where': True\\}"):
        xp.exp(x, where=True)  # cupy's ufuncs take out, dtype, casting and _where
    with pytest.raises(TypeError, match="unexpected keyword argument 'device'"):
        xp.zeros(3, device="cuda")
    with pytest.raises(TypeError, match="sum\\(\\) got an unexpected keyword argument 'initial'"):
        x.sum(initial=0)
    assert float(xp.exp(x, _where=x > 0, out=xp.zeros_like(x)).sum()) == pytest.approx(6 * np.e, rel=1e-6)


def test_flags_are_cupys():
    x = xp.ones((2, 3))
    flags = x.flags
    assert type(flags) is type(cupy._core.flags.Flags(True, False, True))
    assert flags.c_contiguous and not flags.f_contiguous and flags.owndata
    assert not x.T.flags.owndata and x.T.flags.f_contiguous
    with pytest.raises(AttributeError, match="writeable"):
        flags.writeable


def test_no_implicit_conversion_to_numpy():
    x = xp.arange(3.0)
    message = "Implicit conversion to a NumPy array is not allowed. Please use `.get()`"
    with pytest.raises(TypeError, match=message.replace("(", "\\(").replace(")", "\\)").replace(".", "\\.")):
        np.asarray(x)
    host = x.get()
    assert type(host) is np.ndarray and host.tolist() == [0.0, 1.0, 2.0]
    host[0] = 5.0
    assert x.get()[0] == 0.0  # a copy
    with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
        x + np.ones(3)
    with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
        np.ones(3) * x
    with pytest.raises(TypeError, match="Unsupported type"):
        x[...] = np.ones(3)


def test_numpy_functions_dispatch_as_on_cupy():
    x = xp.arange(6.0).reshape(2, 3)
    total = np.sum(x, axis=0)  # __array_function__: cupy.sum runs
    assert type(total) is xp.ndarray and total.get().tolist() == [3.0, 5.0, 7.0]
    assert type(np.add.reduce(x, axis=1)) is xp.ndarray  # __array_ufunc__
    missing = next(n for n in ("unstack", "block", "insert") if hasattr(np, n) and not hasattr(cupy, n))
    with pytest.raises(TypeError, match="no implementation found"):
        getattr(np, missing)(x) if missing != "insert" else np.insert(x, 0, 1.0)


def test_reductions_and_integer_indexing_give_0d_arrays():
    x = xp.arange(6.0).reshape(2, 3)
    for value in (x.sum(), x.max(), x[1, 2], xp.mean(x)):
        assert type(value) is xp.ndarray and value.shape == ()
    assert x[1, 2].base is x.base  # a view of the same memory, as cupy's


def test_each_array_keeps_its_device_and_devices_do_not_mix():
    xp.cuda.runtime.setDevice(0)  # (gradspec leaves the device of its last op current)
    assert xp.cuda.runtime.getDeviceCount() == 2
    x = xp.ones(3)
    with xp.cuda.Device(1):
        y = xp.asarray(np.ones(3))
        assert y.device.id == 1 and (y + 1).device.id == 1
        assert xp.asarray(x).device.id == 1  # a copy between devices
    assert x.device.id == 0 and y.T.device.id == 1  # a view is made anywhere
    with pytest.raises(ValueError, match="The device where the array resides \\(1\\) is different from the current "
                                         "device \\(0\\). Peer access is unavailable"):
        x + y
    with pytest.raises(ValueError, match="Peer access"):
        y.sum()
    from cupy_backends.cuda.api.runtime import CUDARuntimeError

    with pytest.raises(CUDARuntimeError, match="invalid device ordinal"):
        with xp.cuda.Device(2):
            pass


def test_counts_launches_allocations_and_transfers():
    x = xp.ones((4, 5), dtype=xp.float32)
    before = emulated_cuda.snapshot()
    y = x * 2  # one elementwise kernel, one new buffer
    y.T.reshape(20)  # a view, then a copy (the transpose is not contiguous)
    y += 1  # in place: a launch, no buffer
    float(y.sum())  # a reduction, and the value read on the host
    xp.zeros(3)  # a memset
    xp.empty(3)  # nothing but the allocation
    counted = emulated_cuda.since(before)
    assert counted["kernels"] == {"multiply": 1, "copy": 1, "add": 1, "sum": 1, "memcpy DtoH": 1, "memset": 1}
    assert counted["allocations"] == 5 and counted["device_to_host"] == 1 and counted["host_to_device"] == 0


def test_raw_module_runs_kernels_on_the_host_and_checks_parameters():
    source = ('struct gs_dim3 { unsigned x, y, z; };\nextern gs_dim3 threadIdx, blockIdx, blockDim, gridDim;\n'
              "#define __global__\n"
              "template <typename T> __global__ void scale(long long n, const T* x, T a, T* y) {\n"
              "  for (long long i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)\n"
              "    y[i] = a * x[i];\n}\n")
    module = xp.RawModule(code=source, options=("--std=c++14",), name_expressions=["scale<float>"])
    kernel = module.get_function("scale<float>")
    x, y = xp.arange(10, dtype=xp.float32), xp.zeros(10, dtype=xp.float32)
    before = emulated_cuda.snapshot()
    kernel((2,), (3,), (np.int64(10), x, np.float32(2.5), y))
    assert emulated_cuda.since(before)["kernels"] == {"scale<float>": 1}
    assert y.get().tolist() == (2.5 * np.arange(10)).tolist()
    with pytest.raises(TypeError, match="argument 2 .* is 8 bytes, the kernel's parameter 4"):
        kernel((1,), (32,), (np.int64(10), x, 2.5, y))  # a Python float is a double, as cupy passes it
    with pytest.raises(TypeError, match="Only numpy.ndarrays of size one can be passed by value"):
        kernel((1,), (32,), (np.int64(10), x.get(), np.float32(2.5), y))
    with xp.cuda.Device(1), pytest.raises(RuntimeError, match="CUDA_ERROR_INVALID_HANDLE"):
        kernel((1,), (32,), (np.int64(10), x, np.float32(2.5), y))


# ---- when backends uses it --------------------------------------------------------------------

def _request_cuda(environment: dict) -> subprocess.CompletedProcess:
    code = "import gradspec; print(type(gradspec.ones(2, device='cuda')._data).__module__)"
    env = {k: v for k, v in __import__("os").environ.items() if k != emulated_cuda.VARIABLE}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(env, **environment))


@pytest.mark.skipif(cupy_backend.load()[1] is None, reason="this machine has a GPU: cupy itself is used")
def test_used_only_with_the_variable():
    without = _request_cuda({})
    assert without.returncode != 0 and "no NVIDIA GPU is visible to cupy" in without.stderr
    emulated = _request_cuda({emulated_cuda.VARIABLE: "1"})
    assert emulated.returncode == 0, emulated.stderr
    assert emulated.stdout.strip() == "gradspec.emulated_cuda.array"


def test_never_used_where_cupy_sees_a_gpu(monkeypatch):
    real = backends.Backend("cupy", type(sys)("cupy"), type("ndarray", (), {}))
    monkeypatch.setattr(cupy_backend, "load", lambda: (real, None))
    monkeypatch.setattr(backends, "_cupy", None)
    monkeypatch.setattr(backends, "_cuda_table", None)
    monkeypatch.setattr(backends, "cuda_loaded", False)
    monkeypatch.setattr(backends, "_TABLES", dict(backends._TABLES))
    monkeypatch.setenv(emulated_cuda.VARIABLE, "1")
    assert backends.cupy() is real.xp
