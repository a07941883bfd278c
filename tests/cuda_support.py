"""Shared by the CUDA tests: compile the generated kernels without a GPU, and run them on the host.

* `cubin(files, plans, arch)`: nvcc -cubin of every kernel, instantiated for float and double;
* `host_library(files, plans)`: the same backward.cu compiled by g++ with a harness
  (codegen.cuda.host_harness) that runs each kernel over a stand-in grid, loaded with ctypes;
* `HostBackend`: gradspec.backends.fused.FusedKernels over numpy and that library, so that a
  node's `apply_fused`, `prepare` and the kernel all run on the host.

Compilations are cached by the hash of their inputs and command under the system temp folder,
so a session (and the next one, on the same machine) compiles each source once.
"""

from __future__ import annotations

import ctypes
import shutil
from pathlib import Path

import numpy as np

from gradspec.codegen import cuda as codegen_cuda
from gradspec.backends import fused as runtime_fused
from gradspec.emulated_cuda.host_compiler import CompileException as CompileError
from gradspec.emulated_cuda.host_compiler import build as _build

ROOT = Path(__file__).resolve().parent.parent
NVCC = shutil.which("nvcc")
CXX = shutil.which("g++") or shutil.which("c++")
ARCHES = ("sm_80", "sm_90")
NO_NVCC = "nvcc is not on PATH: the CUDA kernels cannot be compiled here (CI and the dev machines have it)"
NO_CXX = "no C++ compiler (g++) on PATH: the kernels cannot be built for the host"


def generated_files(folder: Path = ROOT / "generated") -> dict[str, str]:
    return {name: (folder / name).read_text() for name in codegen_cuda.CUDA_OUTPUTS}


def nvcc_command(arch: str) -> list[str]:
    return [NVCC, "-cubin", f"-arch={arch}", "-std=c++14", "--Werror", "all-warnings", "-o", f"kernels_{arch}.cubin",
            "instances.cu"]


def cubins(files: dict[str, str], plans, arches=ARCHES) -> dict[str, bytes]:
    """Every kernel of `plans` compiled by nvcc for each arch (the compiles run in parallel)."""
    # exactly the source gradspec.backends.fused gives cupy (header pasted in), plus the instantiations
    source = runtime_fused.paste_header(files["backward.cu"], files["backward.cuh"])
    sources = {"instances.cu": source + codegen_cuda.instantiations(plans)}
    results = {}
    with _Parallel() as pool:
        for arch in arches:
            pool.submit(arch, _build, sources, nvcc_command(arch), f"kernels_{arch}.cubin")
    for arch, path in pool.results.items():
        results[arch] = path.read_bytes()
    return results


def host_command() -> list[str]:
    # no FMA contraction: the host must round like numpy, one operation at a time
    return [CXX, "-std=c++14", "-O1", "-ffp-contract=off", "-fno-fast-math", "-Wall", "-Werror", "-shared", "-fPIC",
            "-o", "libgs_host.so", "harness.cpp"]


def host_library(files: dict[str, str], plans) -> ctypes.CDLL:
    sources = dict(files, **{"harness.cpp": codegen_cuda.host_harness(plans)})
    return ctypes.CDLL(str(_build(sources, host_command(), "libgs_host.so")))


class _Parallel:
    """Run a few builds at once (two cores here): nvcc spends most of its time in one process."""

    def __init__(self):
        import concurrent.futures

        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=2)
        self.futures, self.results = {}, {}

    def submit(self, key, fn, *args):
        self.futures[key] = self.executor.submit(fn, *args)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for key, future in self.futures.items():
            self.results[key] = future.result()
        self.executor.shutdown()


# ---- running kernels on the host ----------------------------------------------------------------

class HostBackend(runtime_fused.FusedKernels):
    """The fused kernels' launcher over numpy arrays and host-compiled kernels: `launch` is what
    a backend hands a node's `apply_fused`."""

    def __init__(self, library: ctypes.CDLL, grid: tuple[int, int] | None = None):
        super().__init__(np)
        self.library, self.grid = library, grid
        self.launched: list[tuple[str, tuple]] = []

    @staticmethod
    def device_id(array) -> int:
        return 0

    def run(self, node: str, call: runtime_fused.Launch) -> None:
        blocks, block = self.grid or (min(runtime_fused.MAX_BLOCKS, -(-call.n // runtime_fused.BLOCK)),
                                      runtime_fused.BLOCK)
        run(self.library, node, call.types, blocks, block, call.args)
        self.launched.append((node, call.types))


def run(library: ctypes.CDLL, node: str, types: tuple, blocks: int, block: int, args: list) -> None:
    """Call one harness entry point with gradspec.backends.fused.prepare's kernel arguments."""
    symbol = codegen_cuda.host_symbol(node, types)
    try:
        function = getattr(library, symbol)
    except AttributeError:
        raise AssertionError(f"the host harness has no instantiation {symbol} (types {types})") from None
    converted = [ctypes.c_uint(blocks), ctypes.c_uint(block)] + [_c_argument(a) for a in args]
    function.argtypes = [type(c) for c in converted]
    function.restype = None
    function(*converted)


def _c_argument(value):
    if isinstance(value, np.ndarray):
        return ctypes.c_void_p(value.ctypes.data)
    if isinstance(value, np.uint64):  # gradspec.backends.fused.NULL
        return ctypes.c_void_p(int(value) or None)
    if isinstance(value, np.float32):
        return ctypes.c_float(value)
    if isinstance(value, np.float64):
        return ctypes.c_double(value)
    if isinstance(value, np.int64):
        return ctypes.c_longlong(value)
    raise TypeError(f"unexpected kernel argument {value!r}")
