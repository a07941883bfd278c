"""The emulated cupy module: cupy's own names, each run by numpy's function of the same name.

A `Namespace` answers only the names the installed cupy has (anything else is cupy's
AttributeError); each is built on first use from what that name is in cupy:

* a cupy ufunc: `ufunc` over numpy's, taking only cupy's keywords (out, dtype, casting, _where);
* a function: numpy's of the same name, called only after the arguments were checked against
  cupy's signature (a keyword cupy does not take fails, whatever numpy would accept);
* a submodule: another Namespace (cupy.linalg over numpy.linalg, ...);
* a numpy object cupy re-exports (float32, dtype, pi): that object;
* anything else (cupy-only classes and functions not written here): a stub raising
  NotImplementedError that names it.

Host data enters only through `array`/`asarray`/`asanyarray` (a counted host-to-device copy)
and leaves through `asnumpy`/`ndarray.get`.
"""

from __future__ import annotations

import math
import types

import cupy
import numpy as np

from . import array as A
from . import counters, kernels
from . import device as D
from .introspect import check_for

_CUPY_UFUNC = type(cupy.add)
_UFUNC_KEYWORDS = frozenset({"out", "_where", "dtype", "casting"})
# cupy calls that write no kernel of their own, or whose kernel has another name
_LAUNCHES = {"empty": 0, "empty_like": 0}
_KERNEL_NAMES = {"zeros": "memset", "zeros_like": "memset"}
# cupy calls that read a count back to the host before they can allocate their result
_SYNCS = frozenset({"nonzero", "argwhere", "flatnonzero", "unique", "extract", "compress", "bincount"})
# cupy calls that write into an argument and return nothing: a launch without a new buffer
_WRITES = frozenset({"put_along_axis", "copyto", "place", "put", "putmask", "fill_diagonal"})


class ufunc:  # noqa: N801 - cupy's name
    """A cupy ufunc over numpy's: cupy takes the keywords out, dtype, casting and _where only."""

    def __init__(self, name: str, host):
        self.__name__ = self.name = name
        self._host = host
        self.nin, self.nout = getattr(host, "nin", 1), getattr(host, "nout", 1)
        self.nargs = self.nin + self.nout
        for method in ("reduce", "accumulate", "reduceat", "outer", "at"):
            if hasattr(host, method):
                setattr(self, method, self._method(method))

    def __call__(self, *args, **kwargs):
        if not _UFUNC_KEYWORDS.issuperset(kwargs):
            raise TypeError("Wrong arguments %s" % {k: v for k, v in kwargs.items() if k not in _UFUNC_KEYWORDS})
        if "_where" in kwargs:
            kwargs["where"] = kwargs.pop("_where")
        if len(args) > self.nin:  # outputs given by position
            if "out" in kwargs:
                raise ValueError("Cannot specify 'out' as both a positional and keyword argument")
            args, outputs = args[:self.nin], args[self.nin:]
            kwargs["out"] = outputs[0] if len(outputs) == 1 else outputs
        return A.apply(self.name, self._host, args, kwargs)

    def _method(self, method: str):
        check = check_for(f"ufunc.{method}", getattr(cupy.add, method), bound=True)
        run = getattr(self._host, method)
        name = f"{self.name}.{method}"

        def call(*args, **kwargs):
            check(args, kwargs)
            return A.apply(name, run, args, kwargs, wrote=method == "at")

        call.__name__ = method
        return call

    def __repr__(self) -> str:
        return f"<ufunc '{self.name}'>"


def function(qualname: str, name: str, real, host):
    """cupy's `real` run by numpy's `host`, with cupy's signature checked first."""
    check = check_for(qualname, real)
    launches, kernel, syncs = _LAUNCHES.get(name, 1), _KERNEL_NAMES.get(name, name), name in _SYNCS
    writes = name in _WRITES

    def call(*args, **kwargs):
        if check is not None:
            check(args, kwargs)
        if syncs:
            counters.device_to_host()
        return A.apply(kernel, host, args, kwargs, wrote=writes, launches=launches)

    call.__name__, call.__qualname__, call.__module__ = name, name, qualname.rpartition(".")[0]
    call.__doc__ = f"{qualname}, emulated over numpy.{name}"
    return call


def _stub_function(qualname: str):
    def refuse(*args, **kwargs):
        raise A.not_emulated(qualname)

    refuse.__name__ = qualname.rpartition(".")[2]
    return refuse


def _stub_class(qualname: str) -> type:
    def refuse(self, *args, **kwargs):
        raise A.not_emulated(qualname)

    return type(qualname.rpartition(".")[2], (), {"__init__": refuse, "__module__": qualname.rpartition(".")[0]})


class Namespace(types.ModuleType):
    """An emulated cupy module: the names of `real` (a cupy module), run by `host` (numpy's)."""

    def __init__(self, name: str, real, host=None, overrides: dict | None = None):
        super().__init__(name, getattr(real, "__doc__", None))
        self._real, self._host, self._overrides = real, host, overrides or {}

    def __getattr__(self, attr: str):
        if attr.startswith("_"):
            raise AttributeError(f"module '{self.__name__}' has no attribute '{attr}'")
        if attr in self._overrides:
            value = self._overrides[attr]
        else:
            try:
                real = getattr(self._real, attr)
            except AttributeError:
                raise AttributeError(f"module '{self.__name__}' has no attribute '{attr}'") from None
            value = self._emulate(attr, real)
        setattr(self, attr, value)  # built once
        return value

    def __dir__(self):
        return sorted(set(dir(self._real)) | set(self._overrides))

    def _emulate(self, attr: str, real):
        qualname = f"{self.__name__}.{attr}"
        host = getattr(self._host, attr, None) if self._host is not None else None
        if isinstance(real, types.ModuleType):
            return Namespace(qualname, real, host if isinstance(host, types.ModuleType) else None)
        if isinstance(real, _CUPY_UFUNC):
            return ufunc(attr, host) if isinstance(host, np.ufunc) else _stub_function(qualname)
        if real is host or isinstance(real, (bool, int, float, complex, str, type(None))):
            return real
        if isinstance(real, type):
            return _stub_class(qualname)
        if callable(real) and callable(host):
            return function(qualname, attr, real, host)
        return _stub_function(qualname) if callable(real) else real


# ---- host data in and out ----------------------------------------------------------------------

def _to_device(obj, dtype, order, copy, ndmin=0):
    device = D.current()
    if type(obj) is A.ndarray:
        if obj._device != device:  # a copy between devices (cudaMemcpyPeer needs no peer access)
            counters.launch("memcpy PtoP")
            counters.stats["allocations"] += 1
            return A.new(np.array(obj._a, dtype=dtype, order=order or "K", ndmin=ndmin), device)
        return A.apply("copy", np.array, (obj,), {"dtype": dtype, "order": order or "K", "ndmin": ndmin,
                                                  "copy": bool(copy)})
    inputs: list = []
    try:
        on_device = A.unwrap(obj, inputs) if isinstance(obj, (list, tuple)) else None
    except TypeError:
        on_device, inputs = None, []
    if inputs:  # a list of device arrays: joined on the device
        return A.apply("concatenate", np.array, (obj,), {"dtype": dtype, "ndmin": ndmin})
    if copy is False:
        raise ValueError("Unable to avoid copy while creating an array as requested.")
    host = np.array(obj if on_device is None else on_device, dtype=dtype, order=order or "K", ndmin=ndmin)
    if host.dtype.kind not in "biufc":
        raise ValueError(f"Unsupported dtype {host.dtype}")
    counters.host_to_device()
    counters.stats["allocations"] += 1
    return A.new(host, device)


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    return _to_device(obj, dtype, order, copy, ndmin)


def asarray(a, dtype=None, order=None, *, copy=None, blocking=False):
    return _to_device(a, dtype, order, copy)


def asanyarray(a, dtype=None, order=None, *, blocking=False):
    return _to_device(a, dtype, order, None)


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    if type(a) is A.ndarray:
        return a.get(stream=stream, order=order, out=out, blocking=blocking)
    return np.asarray(a, order=order)


def get_array_module(*args):
    return MODULE if any(type(a) is A.ndarray for a in args) else np


# cuBLAS's compute type per dtype, as cupy._core._routines_linalg.set_compute_type sets it;
# COMPUTE_TYPE_TF32 (7) makes float32 products round their inputs to TF32 (10 bits of mantissa).
COMPUTE_TYPES: dict = {}
COMPUTE_TYPE_TF32 = 7


def set_compute_type(dtype, compute_type: int) -> None:
    COMPUTE_TYPES[np.dtype(dtype)] = compute_type


def _tf32(array):
    if getattr(array, "dtype", None) != np.float32 or COMPUTE_TYPES.get(np.dtype(np.float32)) != COMPUTE_TYPE_TF32:
        return array
    bits = np.ascontiguousarray(array).view(np.uint32)
    return ((bits + np.uint32(0x1000)) & np.uint32(0xFFFFE000)).view(np.float32)  # round to nearest


def _product(host):
    """A matrix product as cuBLAS computes it under the current compute type."""
    def product(a, b, *args, **kwargs):
        return host(_tf32(a), _tf32(b), *args, **kwargs)

    return product


def _erf(x):
    """erf on the host (numpy has none): libm's, element by element, keeping float32 float32."""
    values = np.frompyfunc(math.erf, 1, 1)(x)
    return np.asarray(values, dtype=x.dtype if x.dtype.kind == "f" else np.float64)


def _build() -> Namespace:
    import cupyx
    import cupyx.scipy.special

    runtime = Namespace("cupy.cuda.runtime", cupy.cuda.runtime, None, D.RUNTIME)
    cuda = Namespace("cupy.cuda", cupy.cuda, None, {
        "Device": D.Device, "runtime": runtime, "get_device_id": D.get_device_id, "is_available": lambda: True,
        "MemoryPointer": A.MemoryPointer})
    module = Namespace("cupy", cupy, np, {
        "ndarray": A.ndarray, "ufunc": ufunc, "array": array, "asarray": asarray, "asanyarray": asanyarray,
        "asnumpy": asnumpy, "get_array_module": get_array_module, "RawModule": kernels.RawModule, "cuda": cuda,
        **{name: function(f"cupy.{name}", name, getattr(cupy, name), _product(getattr(np, name)))
           for name in ("matmul", "dot")}})
    module.__version__ = cupy.__version__
    special = Namespace("cupyx.scipy.special", cupyx.scipy.special, None, {"erf": ufunc("erf", _erf)})
    scipy = Namespace("cupyx.scipy", cupyx.scipy, None, {"special": special})
    extras = Namespace("cupyx", cupyx, None, {
        "scatter_add": lambda a, slices, value: a.scatter_add(slices, value),
        "scatter_max": lambda a, slices, value: a.scatter_max(slices, value),
        "scatter_min": lambda a, slices, value: a.scatter_min(slices, value), "scipy": scipy})
    return module, extras


MODULE, CUPYX = _build()
A._NAMESPACE = MODULE
