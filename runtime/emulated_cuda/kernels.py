"""cupy.RawModule on the host: the CUDA source compiled by g++, each kernel run over a stand-in grid.

The source must compile for the host as gradspec's backward.cu does (its prelude's host half
defines `__global__` away and declares `gs_dim3 threadIdx, blockIdx, blockDim, gridDim`). For
each name expression (a kernel instantiation, `gs::MulBackward0_kernel<float, ...>`) a harness
adds `gs_emulated_launch_<i>(grid, block, args)`, which sets blockIdx/threadIdx and calls the
very kernel function once per thread, reading each parameter from `args` as CUDA reads a
launch's parameter buffer, and `gs_emulated_sizes_<i>`, the size of each parameter. Threads that
meet at `__syncthreads()` (the row kernels' block reductions) run as fibers, all of a block
reaching the barrier before any goes on, as on a GPU; a launch whose first thread meets no
barrier runs its threads as plain calls, one after another. A launch
packs its arguments as cupy does (an array: its data pointer; a Python int: 8 bytes; a float:
a double; numpy scalars: their own type; None: a null pointer) and refuses a parameter whose
size the kernel does not expect, where a GPU would read garbage.

Libraries are cached by content (host_compiler.py), as cupy caches its cubins.
"""

from __future__ import annotations

import ctypes

import numpy as np

from . import array as A
from . import counters
from .device import CUDADriverError, current
from .host_compiler import CompileException, build, compiler, host_command

HARNESS = r"""
#include <cstddef>
#include <cstdlib>
#include <utility>
#include <ucontext.h>

gs_dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace gs_emulated {
// The threads of one block run one after another. A kernel whose threads meet at __syncthreads()
// needs them to run together: the first thread of each launch runs as a fiber (ucontext) with a
// stack of its own; if it reaches a barrier, every block of the launch runs its threads as fibers,
// each until the barrier, then the next, and all of them on past it once all have arrived (or
// finished), as a GPU's block does. Otherwise the rest run as plain calls.
enum { RUNNABLE, WAITING, DONE };
const std::size_t STACK = 256 * 1024;

struct Fibers {
    ucontext_t scheduler;
    ucontext_t *threads = nullptr;
    int *state = nullptr;
    char *stacks = nullptr;
    unsigned capacity = 0, current = 0;
    bool in_fiber = false;
    void (*body)(void *) = nullptr;
    void *call = nullptr;

    void reserve(unsigned count) {
        if (count <= capacity) return;
        delete[] threads;
        delete[] state;
        std::free(stacks);
        threads = new ucontext_t[count];
        state = new int[count];
        stacks = static_cast<char *>(std::malloc(count * STACK));  // untouched pages cost nothing
        capacity = count;
    }
};
Fibers fibers;

struct BarrierOutsideFibers {};

void run_thread() {
    fibers.body(fibers.call);
    fibers.state[fibers.current] = DONE;  // then uc_link returns to the scheduler
}

void start(unsigned t) {
    getcontext(&fibers.threads[t]);
    fibers.threads[t].uc_stack.ss_sp = fibers.stacks + t * STACK;
    fibers.threads[t].uc_stack.ss_size = STACK;
    fibers.threads[t].uc_link = &fibers.scheduler;
    makecontext(&fibers.threads[t], run_thread, 0);
    fibers.state[t] = RUNNABLE;
}

void resume(unsigned t) {
    fibers.current = t;
    threadIdx = gs_dim3{t, 0, 0};
    fibers.in_fiber = true;
    swapcontext(&fibers.scheduler, &fibers.threads[t]);
    fibers.in_fiber = false;
}

// every thread of the current block as a fiber, thread 0 perhaps already started
void run_block(unsigned block, unsigned first) {
    for (unsigned t = first; t < block; ++t) start(t);
    for (bool waiting = true; waiting;) {
        for (unsigned t = 0; t < block; ++t)
            if (fibers.state[t] == RUNNABLE) resume(t);
        waiting = false;
        for (unsigned t = 0; t < block; ++t)
            if (fibers.state[t] == WAITING) fibers.state[t] = RUNNABLE, waiting = true;
    }
}

template <typename... A, std::size_t... I>
void invoke(void (*kernel)(A...), void **args, std::index_sequence<I...>) {
    kernel(*static_cast<A *>(args[I])...);
}

template <typename... A>
struct Call {
    void (*kernel)(A...);
    void **args;
    static void run(void *self) {
        Call *call = static_cast<Call *>(self);
        invoke(call->kernel, call->args, std::index_sequence_for<A...>{});
    }
};

// 0, or 1 where a thread met __syncthreads() although the launch's first thread did not
template <typename... A>
int launch(void (*kernel)(A...), unsigned grid, unsigned block, void **args) {
    Call<A...> call{kernel, args};
    gridDim = gs_dim3{grid, 1, 1};
    blockDim = gs_dim3{block, 1, 1};
    fibers.reserve(block);
    fibers.body = &Call<A...>::run;
    fibers.call = &call;
    blockIdx = gs_dim3{0, 0, 0};
    start(0);
    resume(0);
    if (fibers.state[0] == WAITING) {
        for (unsigned b = 0; b < grid; ++b) {
            blockIdx = gs_dim3{b, 0, 0};
            run_block(block, b == 0 ? 1 : 0);
        }
        return 0;
    }
    try {
        for (unsigned b = 0; b < grid; ++b) {
            for (unsigned t = b == 0 ? 1 : 0; t < block; ++t) {
                blockIdx = gs_dim3{b, 0, 0};
                threadIdx = gs_dim3{t, 0, 0};
                Call<A...>::run(&call);
            }
        }
    } catch (const BarrierOutsideFibers &) {
        return 1;
    }
    return 0;
}

template <typename... A>
int sizes(void (*)(A...), long long *out) {
    const long long each[] = {(long long)sizeof(A)..., 0};
    for (std::size_t i = 0; i < sizeof...(A); ++i) out[i] = each[i];
    return (int)sizeof...(A);
}
}  // namespace gs_emulated

void gs_host_syncthreads() {
    if (gs_emulated::fibers.in_fiber) {
        gs_emulated::fibers.state[gs_emulated::fibers.current] = gs_emulated::WAITING;
        swapcontext(&gs_emulated::fibers.threads[gs_emulated::fibers.current], &gs_emulated::fibers.scheduler);
    } else if (blockDim.x > 1) {
        throw gs_emulated::BarrierOutsideFibers();
    }
}
"""

ENTRY = """
extern "C" int gs_emulated_launch_{i}(unsigned grid, unsigned block, void **args) {{
    return gs_emulated::launch(&{expression}, grid, block, args);
}}
extern "C" int gs_emulated_sizes_{i}(long long *out) {{ return gs_emulated::sizes(&{expression}, out); }}
"""


class RawModule:
    """cupy.RawModule(code=..., options=..., name_expressions=[...]) over a host compiler."""

    def __init__(self, code=None, *, path=None, options=(), backend="nvrtc", translate_cucomplex=False,
                 enable_cooperative_groups=False, name_expressions=None, jitify=None):
        if path is not None or code is None:
            raise A.not_emulated("cupy.RawModule(path=...)")
        self.code, self.options = code, tuple(options)
        self.name_expressions = tuple(name_expressions or ())
        self._device = current()
        self._library = None

    def _load(self) -> ctypes.CDLL:
        if self._library is None:
            cxx = compiler()
            if cxx is None:
                raise CompileException("the emulated CUDA device runs kernels on the host and needs a C++ compiler "
                                       "(g++, or set CXX): none was found")
            source = self.code + HARNESS + "".join(ENTRY.format(i=i, expression=e)
                                                   for i, e in enumerate(self.name_expressions))
            self._library = ctypes.CDLL(str(build({"source.cpp": source}, host_command(cxx, self.options), "lib.so")))
        return self._library

    def get_function(self, name: str) -> "Function":
        if name not in self.name_expressions:
            raise CUDADriverError(500, "CUDA_ERROR_NOT_FOUND: named symbol not found")
        library, index = self._load(), self.name_expressions.index(name)
        return Function(name, getattr(library, f"gs_emulated_launch_{index}"),
                        getattr(library, f"gs_emulated_sizes_{index}"), self._device)


class Function:
    """A kernel of a RawModule: `kernel(grid, block, args)` launches it on the current device."""

    def __init__(self, name: str, entry, sizes, device: int):
        self.name, self._entry, self._device = name, entry, device
        buffer = (ctypes.c_longlong * 256)()
        count = sizes(buffer)
        self._sizes = tuple(buffer[:count])
        entry.argtypes = [ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p]
        entry.restype = ctypes.c_int

    def __call__(self, grid, block, args, *, shared_mem=0, stream=None, enable_cooperative_groups=False):
        device = current()
        if device != self._device:  # a function is loaded into one device's context
            raise CUDADriverError(400, "CUDA_ERROR_INVALID_HANDLE: invalid resource handle")
        grid, block = _dims(grid), _dims(block)
        if grid[1:] != (1, 1) or block[1:] != (1, 1):
            raise A.not_emulated("a 2-d or 3-d grid")
        if not isinstance(args, tuple):
            raise TypeError(f"Argument 'args' has incorrect type (expected tuple, got {type(args).__name__})")
        if len(args) != len(self._sizes):
            raise CUDADriverError(1, f"CUDA_ERROR_INVALID_VALUE: invalid argument ({self.name} takes "
                                     f"{len(self._sizes)} parameters, {len(args)} given)")
        buffers = [_pack(value, device) for value in args]
        for position, (buffer, size) in enumerate(zip(buffers, self._sizes)):
            if ctypes.sizeof(buffer) != size:
                raise TypeError(f"emulated launch of {self.name}: argument {position} ({args[position]!r}) is "
                                f"{ctypes.sizeof(buffer)} bytes, the kernel's parameter {size}: on a GPU the kernel "
                                f"would read garbage")
        pointers = (ctypes.c_void_p * max(len(buffers), 1))(*[ctypes.addressof(b) for b in buffers])
        if self._entry(grid[0], block[0], pointers):
            raise CUDADriverError(700, f"emulated launch of {self.name}: a thread met __syncthreads() where the "
                                       "block's first thread did not (divergent barriers are undefined on a GPU)")
        counters.launch(self.name)


def _dims(value) -> tuple:
    value = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    return tuple(int(v) for v in value) + (1,) * (3 - len(value))


def _pack(value, device: int):
    """A kernel argument's bytes, as cupy passes it (cupy/cuda/function.pyx, _pointer)."""
    if value is None:
        return ctypes.c_void_p(0)
    if type(value) is A.ndarray:
        if value._device != device:  # a GPU without peer access faults reading it
            from cupy_backends.cuda.api.runtime import CUDARuntimeError

            raise CUDARuntimeError(700)  # cudaErrorIllegalAddress
        return ctypes.c_void_p(value._a.__array_interface__["data"][0])
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise TypeError(f"You are trying to pass a numpy.ndarray of shape {value.shape} as a kernel parameter. "
                            "Only numpy.ndarrays of size one can be passed by value. If you meant to pass a pointer "
                            "to __global__ memory, you need to pass a cupy.ndarray instead.")
        value = value.reshape(())[()]
    if isinstance(value, bool):
        value = np.bool_(value)
    elif isinstance(value, int):
        value = np.int64(value)
    elif isinstance(value, float):
        value = np.float64(value)
    if not isinstance(value, np.generic):
        raise TypeError(f"Unsupported type {type(value)}")
    return (ctypes.c_char * value.itemsize).from_buffer_copy(value.tobytes())
