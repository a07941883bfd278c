"""torch.save's file formats, read without running pickle code, and the zip format written.

Read (`load_zip`, `load_legacy`): the zip format of torch >= 1.6 (`archive/data.pkl`, a pickle
whose tensors point by persistent id at the raw storages `archive/data/<key>`, plus
`archive/byteorder`), and the legacy format (`_use_new_zipfile_serialization=False`: pickles of a
magic number, a protocol version and system info, the object, the storage keys, then each
storage's element count and bytes). Pickles go through gradspec.safe_pickle with the table of
`_Loader.allowed`, the globals torch's own `weights_only=True` loader allows for state dicts:
tensor and parameter rebuilds, storage types, dtypes, torch.Size, torch.device, OrderedDict, and
the helpers protocol 2 uses for bytes and sets, and the classes and functions the caller allows
(gradspec.serialization.safe_globals, torch's): objects of those classes are made by NEWOBJ and
given their state by BUILD (`__setstate__`, else `__dict__.update`), as torch's unpickler does.
Any other global, and every other way a pickle could run code, is refused with an error naming
it. Only `trusted` (torch.load's `weights_only=False`) runs Python's own unpickler instead.

Bounded, as gradspec's own format: every storage is read once however many tensors view it (the
tensors are numpy views of it, sharing memory as torch's do), its size must match its record, all
storages together may not hold more bytes than the file, and every tensor's offset, sizes and
strides must stay inside its storage without overlapping itself (an expanded tensor is refused:
state dicts never hold one). Zip entries must be stored uncompressed, as torch writes them, so
no entry can expand.

Written (`dumps_zip`): the same zip layout, a protocol-2 pickle naming only globals that
`torch.load(weights_only=True)` accepts, each storage 64-byte aligned as torch aligns them; with
`objects`, other objects pickled as pickle would (gradspec.save of a whole model).

Errors are TorchFileError (a ValueError) or pickle.UnpicklingError; gradspec.load turns both
into a CheckpointError that names the file.
"""

from __future__ import annotations

import io
import math
import pickle
import re
import struct
import zipfile
from collections import OrderedDict

import numpy as np

from . import dtypes
from .backends import CPU, device, to_device
from .safe_pickle import AS_PICKLE, Call, Function, Global, PersistentId, UnpicklingError, dumps, loads
from .tensor import Size, Tensor, make_tensor

__all__ = ["TorchFileError", "load_zip", "load_legacy", "is_legacy", "dumps_zip"]

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
_MAX_NDIM = 64
_LOCATION = re.compile(r"cpu|cuda(:[0-9]{1,4})?")
# torch's legacy storage classes, by the dtype of their elements
_STORAGE_NAMES = {"Float": dtypes.float32, "Double": dtypes.float64, "Half": dtypes.float16,
                  "Long": dtypes.int64, "Int": dtypes.int32, "Short": dtypes.int16, "Char": dtypes.int8,
                  "Byte": dtypes.uint8, "Bool": dtypes.bool}
_UNSUPPORTED_STORAGES = {"BFloat16": "bfloat16", "ComplexFloat": "complex64", "ComplexDouble": "complex128"}
_STORAGE_OF = {dtype: f"torch {name}Storage" for name, dtype in _STORAGE_NAMES.items()}


class TorchFileError(ValueError):
    """A torch file whose contents gradspec refuses (the message says what and why)."""


class _StorageType:
    """What a pickle's `torch.FloatStorage` global means here: the dtype of a storage's elements."""

    __slots__ = ("name", "dtype", "unsupported")

    def __init__(self, name: str, dtype=None, unsupported: str | None = None):
        self.name, self.dtype, self.unsupported = name, dtype, unsupported

    def __repr__(self) -> str:
        return f"torch.{self.name}"


class _Storage:
    """One storage's elements (a 1-d numpy array), read once, viewed by every tensor built on it."""

    __slots__ = ("key", "array", "location")

    def __init__(self, key: str, array: np.ndarray, location: str):
        self.key, self.array, self.location = key, array, location

    def view(self, offset, size, stride) -> np.ndarray:
        """The tensor (offset, size, stride) as a view of this storage, each checked to stay inside it."""
        where = f"a tensor of size {list(size)} and stride {list(stride)} at offset {offset}"
        length = len(self.array)
        if math.prod(size):
            last = offset + sum((n - 1) * s for n, s in zip(size, stride))
            if last >= length:
                raise TorchFileError(f"{where} reaches element {last} of storage {self.key!r}, which has {length}")
            span = 0
            for n, s in sorted((p for p in zip(size, stride) if p[0] > 1), key=lambda p: p[1]):
                if s <= span:
                    raise TorchFileError(f"{where} overlaps itself in storage {self.key!r} (an expanded tensor); "
                                         "gradspec loads state dicts, whose tensors never do")
                span += (n - 1) * s
        elif offset > length:
            raise TorchFileError(f"{where} starts past the end of storage {self.key!r}, which has {length} elements")
        itemsize = self.array.itemsize
        return np.lib.stride_tricks.as_strided(self.array[offset:], shape=size, strides=[s * itemsize for s in stride],
                                               writeable=True)


def _int(value) -> bool:
    return type(value) is int


def _ints(value, what: str) -> tuple:
    if not isinstance(value, tuple) or len(value) > _MAX_NDIM or not all(_int(n) and n >= 0 for n in value):
        raise TorchFileError(f"a tensor's {what} {str(value)[:80]} is not a tuple of at most {_MAX_NDIM} integers >= 0")
    return value


class _Loader:
    """The allowed globals and the storage bookkeeping of one load (see the module docstring).

    `budget`: the most bytes all storages together may hold (the file's size). `place(array,
    location)` moves a tensor's array where map_location says."""

    def __init__(self, budget: int, place, safe_globals=()):
        self.budget, self.place = budget, place
        self.storages: dict[str, _Storage] = {}
        self.allowed = self._allowed()
        # torch.serialization's safe globals: objects, named "module.qualname", or (object, name)
        named = [g if isinstance(g, tuple) else (g, f"{g.__module__}.{g.__qualname__}") for g in safe_globals]
        self.user_globals = tuple(obj for obj, _ in named)
        self.user_classes = {obj for obj in self.user_globals if isinstance(obj, type)}
        self.allowed.update((name, obj) for obj, name in named)

    def _allowed(self) -> dict:
        table = {
            "collections.OrderedDict": Function("collections.OrderedDict", self.ordered_dict),
            "torch._utils._rebuild_tensor_v2": Function("torch._utils._rebuild_tensor_v2", self.rebuild_tensor_v2),
            "torch._utils._rebuild_tensor": Function("torch._utils._rebuild_tensor", self.rebuild_tensor),
            "torch._utils._rebuild_parameter": Function("torch._utils._rebuild_parameter", self.rebuild_parameter),
            "torch._utils._rebuild_parameter_with_state": Function("torch._utils._rebuild_parameter_with_state",
                                                                   self.rebuild_parameter_with_state),
            "torch.Size": Function("torch.Size", _size),
            "torch.device": Function("torch.device", _device),
            "_codecs.encode": Function("_codecs.encode", _encode),
            "builtins.bytes": Function("builtins.bytes", _empty_bytes),
            "builtins.set": Function("builtins.set", lambda items=(): set(_items(items))),
            "builtins.frozenset": Function("builtins.frozenset", lambda items=(): frozenset(_items(items))),
        }
        for name, dtype in _STORAGE_NAMES.items():
            table[f"torch.{name}Storage"] = _StorageType(f"{name}Storage", dtype)
        for name, dtype_name in _UNSUPPORTED_STORAGES.items():
            table[f"torch.{name}Storage"] = _StorageType(f"{name}Storage", unsupported=dtype_name)
        for dtype in dtypes.ALL:
            table[f"torch.{dtype.name}"] = dtype
        return table

    # -- storages ---------------------------------------------------------------------------------
    def storage_id(self, pid, length: int) -> tuple:
        """(storage type, key, location, element count) from a persistent id of `length` items."""
        if type(pid) is not tuple or len(pid) != length or pid[0] != "storage":
            kind = pid[0] if type(pid) is tuple and pid else pid
            raise TorchFileError(f"the pickle refers to outside data {str(kind)[:40]!r}; only storages are loaded")
        kind, key, location, numel = pid[1:5]
        if not isinstance(kind, _StorageType):
            raise TorchFileError(f"a storage of type {str(kind)[:40]}, not a torch storage class")
        if kind.unsupported:
            raise TorchFileError(f"a {kind.unsupported} storage (torch.{kind.name}): gradspec has no {kind.unsupported} "
                                 "dtype; convert the tensors to float32 in torch first")
        if type(key) is not str or type(location) is not str or not _LOCATION.fullmatch(location) or not _int(numel) \
                or numel < 0:
            raise TorchFileError(f"a malformed storage record {str(pid[1:5])[:80]}")
        return kind, key, location, numel

    def claim(self, key: str, kind: _StorageType, numel: int) -> int:
        """The storage's size in bytes, once it fits in what is left of the budget."""
        nbytes = numel * kind.dtype.itemsize
        if nbytes > self.budget:
            raise TorchFileError(f"storage {key!r} claims {nbytes} bytes, more than the file holds (beyond the "
                                 "storages already read)")
        self.budget -= nbytes
        return nbytes

    def known(self, key: str, kind: _StorageType):
        storage = self.storages.get(key)
        if storage is not None and storage.array.dtype != kind.dtype.numpy:
            raise TorchFileError(f"storage {key!r} is used as both {storage.array.dtype} and {kind.dtype.name}")
        return storage

    # -- the allowed functions --------------------------------------------------------------------
    def ordered_dict(self, items=()):
        return OrderedDict(_items(items))

    def rebuild_tensor(self, storage, storage_offset, size, stride):
        return self.rebuild_tensor_v2(storage, storage_offset, size, stride, False, OrderedDict())

    def rebuild_tensor_v2(self, storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
        if not isinstance(storage, _Storage):
            raise TorchFileError(f"a tensor built on {str(storage)[:40]}, not on a storage")
        size, stride = _ints(size, "size"), _ints(stride, "stride")
        if len(size) != len(stride) or not _int(storage_offset) or storage_offset < 0:
            raise TorchFileError(f"a tensor with size {list(size)}, stride {list(stride)} and offset "
                                 f"{str(storage_offset)[:20]}")
        if type(requires_grad) is not bool or not isinstance(backward_hooks, dict) or \
                not (metadata is None or isinstance(metadata, dict)):
            raise TorchFileError("a tensor whose requires_grad, hooks or metadata are malformed")
        data = self.place(storage.view(storage_offset, size, stride), storage.location)
        tensor = make_tensor(data)
        if requires_grad:
            if data.dtype.kind != "f":
                raise TorchFileError(f"a {data.dtype} tensor that requires grad: only floating point tensors can")
            tensor.requires_grad_(True)
        return tensor

    def rebuild_parameter(self, data, requires_grad, backward_hooks):
        from .nn.parameter import Parameter

        if not isinstance(data, Tensor) or type(requires_grad) is not bool:
            raise TorchFileError("a Parameter whose data is not a tensor, or whose requires_grad is not a bool")
        if requires_grad and data.dtype.numpy.kind != "f":
            raise TorchFileError(f"a {data.dtype} Parameter that requires grad: only floating point tensors can")
        return Parameter(data.detach(), requires_grad=requires_grad)

    def rebuild_parameter_with_state(self, data, requires_grad, backward_hooks, state):
        if state:
            raise TorchFileError("a Parameter with Python attributes (a subclass's state), which gradspec does not "
                                 "restore")
        return self.rebuild_parameter(data, requires_grad, backward_hooks)

    def build(self, obj, state) -> None:
        """BUILD: a state dict's `_metadata` (module versions), and the state of an object of a
        class in the caller's safe globals, set as torch's weights_only unpickler sets them."""
        if type(obj) is OrderedDict and isinstance(state, dict) and set(state) <= {"_metadata"}:
            if "_metadata" in state:
                obj._metadata = state["_metadata"]
            return
        if type(obj) in self.user_classes:
            if hasattr(obj, "__setstate__"):
                obj.__setstate__(state)
                return
            slots = None
            if isinstance(state, tuple) and len(state) == 2:
                state, slots = state
            if state:
                obj.__dict__.update(state)
            for name, value in (slots or {}).items():
                setattr(obj, name, value)
            return
        raise UnpicklingError(f"BUILD (setting attributes) on {type(obj).__name__} is not allowed")


def _items(items):
    if not isinstance(items, (list, tuple)):
        raise TorchFileError(f"a container built from {type(items).__name__}, not a list")
    return items


def _size(dims=()):
    return Size(_ints(tuple(dims) if isinstance(dims, list) else dims, "torch.Size"))


def _device(kind, index=None):
    text = kind if index is None else f"{kind}:{index}"
    if type(text) is not str or not _LOCATION.fullmatch(text):
        raise TorchFileError(f"the device {str(text)[:40]!r} (gradspec has cpu and cuda[:N])")
    return device(text)


def _encode(text, encoding="utf-8"):
    """_codecs.encode, as protocol 2 writes bytes: (str, "latin1")."""
    if type(text) is not str or encoding not in ("latin1", "latin-1"):
        raise TorchFileError("_codecs.encode is allowed only as protocol 2 writes bytes: (text, 'latin1')")
    return text.encode("latin1")


def _empty_bytes(*args):
    if args:
        raise TorchFileError("builtins.bytes is allowed only as protocol 2 writes b'': with no arguments")
    return b""


# ---- reading ----------------------------------------------------------------------------------------

class _TrustedUnpickler(pickle.Unpickler):
    """Python's own unpickler, for a file the caller trusts (`weights_only=False`): torch's names
    resolve to this loader's rebuilds, every other global is imported, and any code may run."""

    def __init__(self, data: bytes, loader: _Loader, persistent_load):
        super().__init__(io.BytesIO(data))
        self.loader, self.persistent_load = loader, persistent_load

    def find_class(self, module: str, name: str):
        found = self.loader.allowed.get(f"{module}.{name}")
        if found is None:
            return super().find_class(module, name)
        return found.function if isinstance(found, Function) else found


def load_zip(raw: bytes, place, safe_globals=(), trusted: bool = False):
    """The object in torch's zip format `raw` (see the module docstring). `safe_globals`: the
    classes and functions the caller allows besides torch's state-dict globals; `trusted`: run
    the pickle with Python's unpickler, as torch.load(weights_only=False) does."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        infos = {info.filename: info for info in archive.infolist()}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, struct.error) as error:
        raise TorchFileError(f"it is a zip archive, but a damaged one ({error})") from None
    prefixes = [name[:-len("/data.pkl")] for name in infos if name.endswith("/data.pkl") and name.count("/") == 1]
    if len(prefixes) != 1:
        raise TorchFileError("it is a zip archive, but not one torch.save wrote (it should hold exactly one "
                             "<name>/data.pkl)")
    prefix = prefixes[0]
    loader = _Loader(len(raw), place, safe_globals)

    def read(name: str, nbytes: int | None = None) -> bytes:
        info = infos.get(f"{prefix}/{name}")
        if info is None:
            raise TorchFileError(f"the archive has no record {prefix}/{name}")
        if info.compress_type != zipfile.ZIP_STORED:
            raise TorchFileError(f"the record {info.filename} is compressed; torch.save stores records uncompressed")
        if info.file_size > len(raw) or (nbytes is not None and info.file_size != nbytes):
            expected = f"{nbytes} bytes" if nbytes is not None else "at most the file's size"
            raise TorchFileError(f"the record {info.filename} holds {info.file_size} bytes, not {expected}")
        try:
            return archive.read(info)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, struct.error) as error:
            raise TorchFileError(f"the record {info.filename} is damaged ({error})") from None

    byteorder = read("byteorder") if f"{prefix}/byteorder" in infos else b"little"
    if byteorder not in (b"little", b"big"):
        raise TorchFileError(f"its byteorder record says {byteorder[:20]!r}, not little or big")

    def persistent_load(pid):
        kind, key, location, numel = loader.storage_id(pid, 5)
        storage = loader.known(key, kind)
        if storage is None:
            nbytes = loader.claim(key, kind, numel)
            dtype = kind.dtype.numpy.newbyteorder("<" if byteorder == b"little" else ">")
            array = np.frombuffer(bytearray(read(f"data/{key}", nbytes)), dtype).astype(kind.dtype.numpy, copy=False)
            storage = loader.storages[key] = _Storage(key, _checked(array, key), location)
        return storage

    if trusted:
        return _TrustedUnpickler(read("data.pkl"), loader, persistent_load).load()
    obj, _ = loads(read("data.pkl"), loader.allowed, persistent_load, loader.build, callables=loader.user_globals)
    return obj


def _checked(array: np.ndarray, key: str) -> np.ndarray:
    """The storage's elements, once a bool storage holds only the bytes 0 and 1."""
    if array.dtype == np.bool_ and array.size and array.view(np.uint8).max() > 1:
        raise TorchFileError(f"bool storage {key!r} holds bytes other than 0 and 1")
    return array


def is_legacy(raw: bytes) -> bool:
    """Whether `raw` starts with the pickled magic number of torch's legacy format."""
    try:
        magic, _ = loads(raw[:64], {})
    except UnpicklingError:
        return False
    return magic == LEGACY_MAGIC


def load_legacy(raw: bytes, place):
    """The object in torch's legacy format `raw` (see the module docstring)."""
    magic, pos = loads(raw, {})
    version, pos = loads(raw, {}, start=pos)
    info, pos = loads(raw, {}, start=pos)
    if magic != LEGACY_MAGIC or version != LEGACY_PROTOCOL or not isinstance(info, dict) \
            or type(info.get("little_endian")) is not bool:
        raise TorchFileError(f"it starts like torch's legacy format, but its protocol ({str(version)[:20]}) or "
                             "system info is not what torch writes")
    order = "<" if info["little_endian"] else ">"
    loader = _Loader(len(raw), place)

    def persistent_load(pid):
        if type(pid) is tuple and len(pid) == 6 and pid[5] is not None:
            raise TorchFileError("a storage view (legacy view metadata), which gradspec does not load")
        kind, key, location, numel = loader.storage_id(pid[:5] if type(pid) is tuple else pid, 5)
        storage = loader.known(key, kind)
        if storage is None:  # its bytes come after the pickle: allocate now (within budget), fill below
            loader.claim(key, kind, numel)
            storage = loader.storages[key] = _Storage(key, np.zeros(numel, kind.dtype.numpy), location)
        return storage

    obj, pos = loads(raw, loader.allowed, persistent_load, loader.build, start=pos)
    keys, pos = loads(raw, {}, start=pos)
    if not isinstance(keys, list) or sorted(map(str, keys)) != sorted(loader.storages) or len(set(keys)) != len(keys):
        raise TorchFileError("its list of storages does not match the storages its pickle uses")
    for key in keys:
        array = loader.storages[key].array
        if pos + 8 > len(raw) or struct.unpack_from("<q", raw, pos)[0] != len(array):
            raise TorchFileError(f"storage {key!r} is truncated or its size record does not match")
        pos += 8
        if pos + array.nbytes > len(raw):
            raise TorchFileError(f"storage {key!r} is truncated")
        array[...] = _checked(np.frombuffer(raw, array.dtype.newbyteorder(order), len(array), pos), key)
        pos += array.nbytes
    if pos != len(raw):
        raise TorchFileError(f"{len(raw) - pos} bytes follow the last storage")
    return obj


# ---- writing -------------------------------------------------------------------------------------

class _StorageRef:
    __slots__ = ("key", "array")

    def __init__(self, key: str, array: np.ndarray):
        self.key, self.array = key, array


class _Data:
    """A Parameter's tensor, written as a plain tensor inside _rebuild_parameter."""

    __slots__ = ("tensor",)

    def __init__(self, tensor):
        self.tensor = tensor


def dumps_zip(obj, objects: bool = False) -> bytes:
    """`obj` in torch's zip format, readable by torch.load(weights_only=True) (and by load_zip).
    With `objects`, other objects are pickled as pickle would (torch.save of a whole model): such
    a file loads where the loader allows their classes (safe_globals) or trusts the file."""
    from .nn.parameter import Parameter

    storages: list[_StorageRef] = []

    def tensor_call(tensor: Tensor) -> Call:
        data = tensor._data if type(tensor._data) is np.ndarray else to_device(tensor._data, CPU)
        array = np.asarray(data, dtype=data.dtype.newbyteorder("<"), order="C")
        strides = tuple(math.prod(max(n, 1) for n in array.shape[i + 1:]) for i in range(array.ndim))  # torch's
        ref = _StorageRef(str(len(storages)), array)
        storages.append(ref)
        return Call("torch._utils _rebuild_tensor_v2",
                    (ref, 0, tuple(array.shape), strides, bool(tensor._requires_grad), OrderedDict()))

    def reduce(value):
        if isinstance(value, Parameter):
            return Call("torch._utils _rebuild_parameter", (_Data(value), value.requires_grad, OrderedDict()))
        if isinstance(value, _Data):
            return tensor_call(value.tensor)
        if isinstance(value, Tensor):
            return tensor_call(value)
        if isinstance(value, _StorageRef):
            dtype = dtypes.from_numpy(value.array.dtype.newbyteorder("="))
            return PersistentId(("storage", Global(_STORAGE_OF[dtype]), value.key, "cpu", value.array.size))
        if isinstance(value, dtypes.dtype):
            return Global(f"torch {value.name}")
        if isinstance(value, device):
            return Call("torch device", (str(value),))
        if isinstance(value, (bytes, bytearray)):
            # (torch itself writes b"" as builtins.bytes(), which its weights_only loader refuses)
            return Call("_codecs encode", (bytes(value).decode("latin1"), "latin1"))
        if isinstance(value, (np.bool_, np.integer, np.floating)):
            return value.item()
        if objects:
            return AS_PICKLE
        raise TypeError(f"gradspec.save(format='torch'): cannot store an object of type {type(value).__qualname__}: "
                        "a torch weights file holds tensors, numbers, strings, bytes, None, dtypes, devices, and "
                        "dicts/lists/tuples of them")

    pickle = dumps(obj, reduce)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        def add(name: str, data) -> None:
            info = zipfile.ZipInfo(f"archive/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            pad = -(buffer.tell() + 30 + len(info.filename) + 4) % 64  # data 64-aligned, as torch's writer does
            info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
            archive.writestr(info, data)

        add("data.pkl", pickle)
        add("byteorder", b"little")
        for ref in storages:
            add(f"data/{ref.key}", ref.array.tobytes())
        add("version", b"3\n")
    return buffer.getvalue()
