"""The emulated cupy.ndarray: a numpy array that lives on one emulated device.

It is not a numpy array (nor a subclass): numpy refuses it where it refuses cupy's arrays.
Its public attributes are a subset of cupy.ndarray's (those cupy has and numpy has too are run
by numpy; cupy's own, `get`, `set`, `scatter_add`, ..., are written here; the rest raise
NotImplementedError naming themselves). What cupy refuses, this refuses, with cupy's message:

* implicit conversion to numpy (`np.asarray(x)`, `__array__`): TypeError; `.get()` copies;
* a numpy array where cupy wants its own (an operand, `out=`, an assigned value): TypeError;
* an array on another device than the current one: cupy's peer-access ValueError;
* `flags` has c_contiguous, f_contiguous and owndata only (cupy's own Flags class);
* reductions and integer indexing give 0-d arrays, never numpy scalars;
* numpy functions called on it dispatch to the emulated namespace as cupy's
  `__array_function__`/`__array_ufunc__` do, or fail where cupy has no such function.

`apply` runs a numpy function on unwrapped arguments and wraps its results, counting the
launch and allocations (counters.py): a result that shares memory with an input is a view.
"""

from __future__ import annotations

import functools
import inspect
import types

import cupy
import numpy as np
from cupy._core.flags import Flags

from . import counters
from .device import Device, check_ordinal, current, peer_access_error
from .introspect import check_for

_object_new = object.__new__
_may_share_memory = np.may_share_memory

IMPLICIT_CONVERSION = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a "
                       "NumPy array explicitly.")
_NAMESPACE = None  # the emulated cupy module, installed by namespace.py (numpy functions dispatch to it)


def not_emulated(what: str) -> NotImplementedError:
    return NotImplementedError(f"{what} exists in cupy but is not emulated (GRADSPEC_EMULATE_CUDA): add it to "
                               f"gradspec/emulated_cuda if gradspec needs it")


def _unsupported(value) -> TypeError:
    return TypeError(f"Unsupported type {type(value)}")


# ---- wrapping and unwrapping -------------------------------------------------------------------

def new(array: np.ndarray, device: int, base=None) -> "ndarray":
    x = _object_new(ndarray)
    x._a = array
    x._device = device
    x._base = base
    return x


def unwrap(value, inputs: list):
    """The numpy form of one argument: emulated arrays are collected in `inputs`; a numpy array
    is refused (cupy never copies from the host implicitly)."""
    kind = type(value)
    if kind is ndarray:
        inputs.append(value)
        return value._a
    if kind is list or kind is tuple:
        return kind(unwrap(v, inputs) for v in value) if value else value
    if isinstance(value, np.ndarray):
        raise _unsupported(value)
    return value


def check_devices(inputs: list, device: int) -> None:
    for x in inputs:
        if x._device != device:
            raise peer_access_error(x._device, device)


def apply(name: str, fn, args: tuple, kwargs: dict, wrote: bool = False, launches: int = 1):
    """fn(*args, **kwargs) over numpy, its results wrapped as arrays of the current device.
    `wrote`: the call writes into an argument (in place, or `out=`): it launches even without a
    new buffer. A call that only makes views reads nothing on the device: it is allowed
    whatever the current device is (as cupy's views are)."""
    device = current()
    inputs: list = []
    args = [unwrap(a, inputs) for a in args]
    if kwargs:
        kwargs = {k: unwrap(v, inputs) for k, v in kwargs.items()}
        wrote = wrote or kwargs.get("out") is not None
    if wrote:
        check_devices(inputs, device)
    result = fn(*args, **kwargs)
    fresh = [0]
    wrapped = _wrap(result, device, inputs, fresh)
    if fresh[0] or wrote:
        if not wrote:
            check_devices(inputs, device)
        for _ in range(launches):
            counters.launch(name)
        counters.stats["allocations"] += fresh[0]
    return wrapped


def _wrap(result, device: int, inputs: list, fresh: list):
    if isinstance(result, np.ndarray):
        for x in inputs:
            if x._a is result:
                return x
        if result.base is not None:
            for x in inputs:
                if _may_share_memory(result, x._a):
                    return new(result, x._device, x if x._base is None else x._base)
        fresh[0] += 1
        return new(result, device)
    if isinstance(result, np.generic):  # cupy's reductions and ufuncs give 0-d arrays, never scalars
        fresh[0] += 1
        return new(np.asarray(result), device)
    if type(result) is tuple or type(result) is list:
        return type(result)(_wrap(r, device, inputs, fresh) for r in result)
    return result


def host_result(array: "ndarray", value):
    """A value read on the host (item, tolist, float(), printing): one device-to-host copy."""
    counters.device_to_host()
    return value


class MemoryPointer:
    """array.data: where the elements start, on which device."""

    __slots__ = ("ptr", "device_id")

    def __init__(self, array: "ndarray"):
        self.ptr = array._a.__array_interface__["data"][0]
        self.device_id = array._device

    @property
    def device(self) -> Device:
        return Device(self.device_id)


# ---- the array ---------------------------------------------------------------------------------

def _ufunc_operator(ufunc: np.ufunc, reflected: bool = False, inplace: bool = False):
    name = ufunc.__name__

    def operator(self, other):
        if type(other) is not ndarray and getattr(other, "__array_priority__", -1e9) > ndarray.__array_priority__:
            return NotImplemented  # cupy's _should_use_rop: the other type's reflected method runs
        if inplace:
            apply(name, ufunc, (self, other), {"out": self})
            return self
        return apply(name, ufunc, (other, self) if reflected else (self, other), {})

    return operator


def _unary_operator(ufunc: np.ufunc):
    def operator(self):
        return apply(ufunc.__name__, ufunc, (self,), {})

    return operator


def _index(key, inputs: list) -> tuple:
    """The numpy form of an index, and how cupy gathers with it: index arrays from the host are
    copied to the device (cupy converts lists and numpy arrays in an index)."""
    items = key if type(key) is tuple else (key,)
    converted, integer_arrays, masks = [], 0, 0
    for item in items:
        if type(item) is ndarray:
            inputs.append(item)
            item = item._a
        elif isinstance(item, (np.ndarray, list)) or isinstance(item, (bool, np.bool_)):
            counters.host_to_device()
            item = np.asarray(item)
        if isinstance(item, np.ndarray):
            if item.dtype == np.bool_:
                masks += 1
            else:
                integer_arrays += 1
        converted.append(item)
    return (tuple(converted) if type(key) is tuple else converted[0]), integer_arrays, masks


class ndarray:  # noqa: N801 - cupy's name
    """cupy.ndarray, emulated over numpy (see the module's docstring)."""

    __slots__ = ("_a", "_device", "_base", "__weakref__")
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        if memptr is not None or strides is not None:
            raise not_emulated("cupy.ndarray(memptr=..., strides=...)")
        self._a = np.empty(shape, dtype, order=order)
        self._device = current()
        self._base = None
        counters.stats["allocations"] += 1

    # ---- where it lives, and its layout ----

    @property
    def device(self) -> Device:
        return Device(self._device)

    @property
    def data(self) -> MemoryPointer:
        return MemoryPointer(self)

    @property
    def flags(self) -> Flags:
        flags = self._a.flags
        return Flags(flags.c_contiguous, flags.f_contiguous, self._base is None)

    @property
    def base(self):
        return self._base

    @property
    def shape(self) -> tuple:
        return self._a.shape

    @shape.setter
    def shape(self, shape) -> None:
        reshaped = self._a.reshape(shape)
        if not _may_share_memory(reshaped, self._a) and reshaped.size:
            raise AttributeError("Incompatible shape for in-place modification. Use `.reshape()` to make a copy "
                                 "with the desired shape.")
        self._a = reshaped

    strides = property(lambda self: self._a.strides)
    dtype = property(lambda self: self._a.dtype)
    size = property(lambda self: self._a.size)
    ndim = property(lambda self: self._a.ndim)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    T = property(lambda self: apply("transpose", np.transpose, (self,), {}))
    mT = property(lambda self: apply("swapaxes", np.swapaxes, (self, -1, -2), {}))
    real = property(lambda self: apply("real", np.real, (self,), {}))
    imag = property(lambda self: apply("imag", np.imag, (self,), {}))

    # ---- host transfers ----

    def get(self, stream=None, order="C", out=None, blocking=True):
        if out is not None:
            if not isinstance(out, np.ndarray):
                raise TypeError("Only numpy.ndarray can be obtained fromcupy.ndarray")
            if out.dtype != self._a.dtype:
                raise TypeError(f"{out.dtype} array cannot be obtained from {self._a.dtype} array")
            if out.shape != self._a.shape:
                raise ValueError(f"Shape mismatch. Expected shape: {self._a.shape}, actual shape: {out.shape}")
            out[...] = self._a
            return host_result(self, out)
        return host_result(self, np.array(self._a, order=order))

    def set(self, arr, stream=None):
        if not isinstance(arr, np.ndarray):
            raise TypeError("Only numpy.ndarray can be set to cupy.ndarray")
        if self._a.dtype != arr.dtype:
            raise TypeError(f"{arr.dtype} array cannot be set to {self._a.dtype} array")
        if self._a.shape != arr.shape:
            raise ValueError(f"Shape mismatch. Old shape: {self._a.shape}, new shape: {arr.shape}")
        if not (self._a.flags.c_contiguous or self._a.flags.f_contiguous):
            raise RuntimeError("Cannot set to non-contiguous array")
        counters.host_to_device()
        self._a[...] = arr

    def __array__(self, dtype=None):
        raise TypeError(IMPLICIT_CONVERSION)

    def item(self):
        return host_result(self, self._a.item())

    def tolist(self):
        return host_result(self, self._a.tolist())

    def tobytes(self, order="C") -> bytes:
        return host_result(self, self._a.tobytes(order))

    def __bool__(self) -> bool:
        return host_result(self, bool(self._a))

    def __int__(self) -> int:
        return host_result(self, int(self._a))

    def __float__(self) -> float:
        return host_result(self, float(self._a))

    def __complex__(self) -> complex:
        return host_result(self, complex(self._a))

    def __repr__(self) -> str:
        return host_result(self, repr(self._a))

    def __str__(self) -> str:
        return host_result(self, str(self._a))

    def __reduce__(self):
        return _rebuild, (self.get(), self._device)

    # ---- copies and conversions ----

    def copy(self, order="C"):
        return apply("copy", np.array, (self,), {"order": order, "copy": True})

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        return apply("astype", np.ndarray.astype, (self, dtype), {"order": order, "casting": casting or "unsafe",
                                                                   "copy": copy})

    def reshape(self, *shape, order="C", copy=None):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        if copy:
            return apply("copy", lambda a: a.reshape(shape, order=order).copy(), (self,), {})
        result = apply("copy", np.reshape, (self, shape), {"order": order})
        if copy is False and result._base is None:
            raise ValueError("Unable to avoid copy while reshaping.")
        return result

    def view(self, dtype=None, type=None):
        if type is not None:
            raise not_emulated("cupy.ndarray.view(type=...)")
        return apply("view", np.ndarray.view, (self,) if dtype is None else (self, dtype), {})

    def fill(self, value):
        if isinstance(value, np.ndarray):
            raise _unsupported(value)
        apply("fill", np.ndarray.fill, (self, value), {}, wrote=True)

    # ---- indexing ----

    def __getitem__(self, key):
        inputs = [self]
        index, integer_arrays, masks = _index(key, inputs)
        result = self._a[index]
        if isinstance(result, np.generic):  # integers only: cupy gives a 0-d view
            result = self._a[(index if type(index) is tuple else (index,)) + (Ellipsis,)]
        if _may_share_memory(result, self._a) or not result.size and not (integer_arrays or masks):
            return new(result, self._device, self if self._base is None else self._base)
        check_devices(inputs, current())
        if masks:  # cupy counts the selected elements on the device and reads the count back
            counters.launch("nonzero")
            counters.device_to_host()
        if integer_arrays + masks > 1:
            counters.launch("cupy_prepare_array_indexing")
        counters.launch("take")
        counters.stats["allocations"] += 1
        return new(result, current())

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray):
            raise _unsupported(value)  # cupy refuses assignment from host arrays
        inputs = [self]
        index, integer_arrays, masks = _index(key, inputs)
        if type(value) is ndarray:
            inputs.append(value)
            value = value._a
        check_devices(inputs, current())
        if masks:
            counters.launch("nonzero")
            counters.device_to_host()
        if integer_arrays + masks > 1:
            counters.launch("cupy_prepare_array_indexing")
        counters.launch("scatter" if integer_arrays or masks else "copy" if inputs[-1] is not self else "fill")
        self._a[index] = value

    def __len__(self) -> int:
        if self._a.ndim == 0:
            raise TypeError("len() of unsized object")
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self._a.shape[0]))

    # ---- numpy's protocols: numpy functions on these arrays run the emulated ones ----

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """cupy's __array_ufunc__: the emulated ufunc of the same name runs (a numpy array among the
        operands is then refused by it)."""
        if "out" in kwargs:
            out = kwargs["out"]
            if len(out) != 1:
                raise ValueError("The 'out' parameter must have exactly one array value")
            kwargs["out"] = out[0]
        emulated = getattr(_NAMESPACE, ufunc.__name__, None)
        if emulated is None:
            return NotImplemented
        if method != "__call__":
            emulated = getattr(emulated, method, None)
            if emulated is None:
                return NotImplemented
        return emulated(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        module = _NAMESPACE
        try:
            for part in func.__module__.split(".")[1:]:
                module = getattr(module, part)
            emulated = getattr(module, func.__name__)
        except AttributeError:
            return NotImplemented
        return emulated(*args, **kwargs)

    def __class_getitem__(cls, item):
        return types.GenericAlias(cls, item)


def _rebuild(host: np.ndarray, device: int) -> ndarray:
    check_ordinal(device)
    counters.host_to_device()
    return new(np.array(host), device)


# ---- operators: cupy's ufuncs -------------------------------------------------------------------

_BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.true_divide, "div": np.true_divide,
           "floordiv": np.floor_divide, "mod": np.remainder, "pow": np.power, "and": np.bitwise_and,
           "or": np.bitwise_or, "xor": np.bitwise_xor, "lshift": np.left_shift, "rshift": np.right_shift,
           "matmul": np.matmul, "divmod": np.divmod}
_COMPARISONS = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater,
                "ge": np.greater_equal}
_UNARY = {"neg": np.negative, "pos": np.positive, "abs": np.absolute, "invert": np.invert}
_CUPY_NAMES = frozenset(dir(cupy.ndarray))
# cupy gains names across releases (`mT` from 14): the stand-in keeps only the installed cupy's
for _name in [n for n in vars(ndarray) if not n.startswith("_") and n not in _CUPY_NAMES]:
    delattr(ndarray, _name)

for _name, _ufunc in list(_BINARY.items()) + list(_COMPARISONS.items()):
    for _dunder, _kind in ((f"__{_name}__", {}), (f"__r{_name}__", {"reflected": True}),
                           (f"__i{_name}__", {"inplace": True})):
        if _dunder in _CUPY_NAMES:
            setattr(ndarray, _dunder, _ufunc_operator(_ufunc, **_kind))
for _name, _ufunc in _UNARY.items():
    setattr(ndarray, f"__{_name}__", _unary_operator(_ufunc))


# ---- the rest of cupy.ndarray's methods: numpy's where numpy has them ------------------------------

_WRITES = {"sort", "partition", "put"}  # in place: a launch without a new buffer
_SYNCS = {"nonzero"}  # cupy reads the number of nonzero elements back to the host


def _method(name: str, check, run):
    @functools.wraps(run)
    def method(self, *args, **kwargs):
        if check is not None:
            check(args, kwargs)
        if name in _SYNCS:
            counters.device_to_host()
        return apply(name, run, (self,) + args, kwargs, wrote=name in _WRITES)

    method.__name__ = method.__qualname__ = name
    return method


def _scatter(ufunc):
    def scatter(self, slices, value):
        inputs: list = []
        index = _index(slices, inputs)[0]
        apply(f"scatter_{ufunc.__name__}", lambda a, v: ufunc.at(a, index, v), (self, value), {}, wrote=True)

    return scatter


def _stub(name: str, is_property: bool):
    def refuse(self, *args, **kwargs):
        raise not_emulated(f"cupy.ndarray.{name}")

    return property(refuse) if is_property else refuse


def _complete() -> None:
    """Give ndarray every public name of cupy.ndarray that it lacks: numpy's method where numpy
    has one, cupy's own where written here, a NotImplementedError stub otherwise."""
    own = {"scatter_add": _scatter(np.add), "scatter_max": _scatter(np.maximum), "scatter_min": _scatter(np.minimum),
           "ptp": lambda self, axis=None, out=None, keepdims=False: apply("ptp", np.ptp, (self,), dict(
               axis=axis, out=out, keepdims=keepdims))}
    for name in sorted(_CUPY_NAMES):
        if name.startswith("_") and not name.startswith("__") or name in ndarray.__dict__:
            continue
        static = inspect.getattr_static(cupy.ndarray, name)
        if name in own:
            setattr(ndarray, name, own[name])
        elif name.startswith("__"):
            if type(static).__name__ in ("method_descriptor", "getset_descriptor") and not hasattr(object, name):
                setattr(ndarray, name, _stub(name, type(static).__name__ == "getset_descriptor"))
        elif type(static).__name__ == "getset_descriptor" or not hasattr(np.ndarray, name):
            setattr(ndarray, name, _stub(name, type(static).__name__ == "getset_descriptor"))
        else:
            check = check_for(f"cupy.ndarray.{name}", getattr(cupy.ndarray, name), bound=True)
            setattr(ndarray, name, _method(name, check, getattr(np.ndarray, name)))


_complete()
