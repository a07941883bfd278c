"""gradspec.save / gradspec.load: checkpoints in a format that cannot run code when loaded.

A checkpoint holds a tree of dicts (any key of the types below), lists, tuples, tensors,
numbers, strings, bytes, None, dtypes and devices: the state dicts of modules, optimizers and
schedulers and whatever a training script puts around them. Nothing is pickled: the tree is
JSON, every tensor a raw little-endian byte blob. (An object this format cannot hold, such as a
whole model, is pickled into torch's zip format instead, as torch.save pickles it; `load` builds
such objects only from the classes and functions of `safe_globals`, or when told
`weights_only=False`: see docs/decisions.md.) The layout:

    offset 0   MAGIC (12 bytes), format version (u32 LE)
               header length H (u64 LE), then H bytes of UTF-8 JSON:
               {"root": <value>, "tensors": [{"dtype", "shape", "offset", "nbytes", ...}]}
               zero padding to a multiple of 64, then the blobs, each 64-aligned
    end - 20   TRAILER (b"GSEND\\0\\0\\0"), total file length (u64 LE), CRC-32 of everything before (u32 LE)

`load` checks the signature, the trailer, the length and the checksum before it builds
anything, so a file cut short at any byte (an interrupted copy) or a foreign file is refused
with an error that says which, and never loaded in part. Then the contents are checked as data
(see "decoding" below): a file with a valid checksum but hostile contents is refused too, with a
CheckpointError naming the cause, and loading allocates no more than the file holds. `save`
writes to a temporary file in the target's directory, flushes and fsyncs it, then renames it
over the target (os.replace), so a crash mid-save leaves the previous checkpoint intact; the
next save into that folder removes the temp file a killed save left (see gradspec.atomic_write).

Values are encoded as JSON objects with one tag key: {"f": "0.1"} (floats, as repr, so nan,
inf and -0.0 survive), {"list": [...]}, {"tuple": [...]}, {"dict": [[key, value], ...]},
{"tensor": i}, {"bytes": base64}, {"dtype": "float32"}, {"device": "cuda:0"}; ints, strings,
booleans and null are JSON's own. The same tensor object stored twice is stored once and
loads as one object; distinct tensors that shared memory (views) load as separate copies.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import re
import struct
from pickle import UnpicklingError
import zlib
from collections import OrderedDict

import numpy as np

from . import dtypes, torch_format
from .atomic_write import write_atomically
from .backends import CPU, device, device_of, to_device
from .tensor import Tensor, make_tensor

__all__ = ["save", "load", "CheckpointError", "add_safe_globals", "get_safe_globals", "clear_safe_globals",
           "safe_globals"]

MAGIC = b"\x89GRADSPEC\r\n\x1a"  # 12 bytes: non-ASCII first byte, CRLF and ^Z catch text-mode mangling
FORMAT_VERSION = 1
TRAILER = b"GSEND\x00\x00\x00"
_PREFIX = struct.Struct("<12sIQ")  # magic, version, header length
_SUFFIX = struct.Struct("<8sQI")  # trailer tag, total length, crc32
_ALIGN = 64
_ZIP = b"PK\x03\x04"
_SIGNATURES = (MAGIC, _ZIP)  # how files `save` writes begin (see atomic_write.remove_orphans)
_BY_NAME = {d.name: d for d in dtypes.ALL}  # the dtypes a file may name (their numpy names too)
MAX_DEPTH = 100  # how deep values may nest (a module's or optimizer's state dict nests < 10 deep)


class CheckpointError(RuntimeError):
    """A file that is not a complete, intact gradspec checkpoint."""


class _NotData(TypeError):
    """An object that gradspec's format cannot hold: `save` pickles it (torch's zip format)."""


# ---- torch.serialization's safe globals: classes and functions a weights-only load may build --

_safe_globals: list = []


def add_safe_globals(safe_globals: list) -> None:
    """Allow these classes and functions in every weights-only load (torch.serialization's): an
    object of an allowed class is built with `cls.__new__` and its pickled state (`__setstate__`,
    else its `__dict__` updated), an allowed function may be called with pickled arguments. An
    entry is the object (the pickle names it "module.qualname") or (object, the name a file
    gives it), as torch's."""
    _safe_globals.extend(g for g in safe_globals if g not in _safe_globals)


def get_safe_globals() -> list:
    return list(_safe_globals)


def clear_safe_globals() -> None:
    _safe_globals.clear()


class safe_globals:  # noqa: N801 - torch.serialization.safe_globals, a context manager class
    """`with safe_globals([...]):` allows them in weight-only loads inside the block only."""

    def __init__(self, safe_globals: list):
        self.safe_globals = list(safe_globals)

    def __enter__(self):
        self.before = list(_safe_globals)
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc_info) -> None:
        _safe_globals[:] = self.before


# ---- encoding ---------------------------------------------------------------------------------

class _Encoder:
    def __init__(self):
        self.arrays: list[np.ndarray] = []
        self.metas: list[dict] = []
        self.tensor_ids: dict[int, int] = {}
        self._keep_alive: list = []

    def encode(self, value, path: str, depth: int = 0):
        if value is None or isinstance(value, (bool, str)):
            return value
        if depth >= MAX_DEPTH:
            raise ValueError(f"gradspec.save: {path} nests more than {MAX_DEPTH} levels deep, more than "
                             "gradspec.load accepts")
        if isinstance(value, Tensor):
            return {"tensor": self._tensor(value)}
        if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
            return int(value)
        if isinstance(value, (float, np.floating)):
            return {"f": repr(float(value))}
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, dict):
            items = [[self.encode(k, f"{path}[key]", depth + 1), self.encode(v, f"{path}[{k!r}]", depth + 1)]
                     for k, v in value.items()]
            out = {"dict": items}
            if isinstance(value, OrderedDict):
                out["ordered"] = True
            return out
        if isinstance(value, list):
            return {"list": [self.encode(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]}
        if isinstance(value, tuple):
            if hasattr(value, "_fields"):
                raise _NotData(f"gradspec.save: cannot store the namedtuple {type(value).__name__} at {path}; "
                               "convert it to a tuple or dict")
            return {"tuple": [self.encode(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]}
        if isinstance(value, (bytes, bytearray)):
            return {"bytes": base64.b64encode(bytes(value)).decode("ascii")}
        if isinstance(value, dtypes.dtype):
            return {"dtype": value.name}
        if isinstance(value, device):
            return {"device": str(value)}
        if isinstance(value, np.ndarray):
            return {"ndarray": self._array(value, {})}
        raise _NotData(f"gradspec.save: cannot store an object of type {type(value).__module__}."
                       f"{type(value).__qualname__} at {path}: a checkpoint holds tensors, numbers, strings, bytes, "
                       "None, dtypes, devices, and dicts/lists/tuples of them (nothing is pickled, so that loading "
                       "a checkpoint can never run code)")

    def _tensor(self, tensor: Tensor) -> int:
        key = id(tensor)
        if key in self.tensor_ids:
            return self.tensor_ids[key]
        from .nn.parameter import Parameter

        meta = {"requires_grad": bool(tensor._requires_grad), "device": str(device_of(tensor._data))}
        if isinstance(tensor, Parameter):
            meta["parameter"] = True
        index = self._array(tensor._data, meta)
        self.tensor_ids[key] = index
        self._keep_alive.append(tensor)
        return index

    def _array(self, data, meta: dict) -> int:
        if type(data) is not np.ndarray:
            data = to_device(data, CPU)
        if data.dtype.name not in _BY_NAME:
            raise TypeError(f"gradspec.save: arrays of dtype {data.dtype} are not supported")
        # (not np.ascontiguousarray: it turns a 0-d array into a 1-d one)
        array = np.asarray(data, dtype=data.dtype.newbyteorder("<"), order="C")
        meta.update(dtype=data.dtype.name, shape=list(array.shape), nbytes=int(array.nbytes))
        self.arrays.append(array)
        self.metas.append(meta)
        return len(self.arrays) - 1


def _pad(n: int) -> int:
    return -n % _ALIGN


def _serialize(obj) -> list:
    """The file's bytes as a list of chunks (tensor blobs are not copied)."""
    encoder = _Encoder()
    root = encoder.encode(obj, "obj")
    # Offsets depend on the header's length, which depends on the offsets: iterate to a fixed point.
    header_len_guess = 0
    while True:
        start = _PREFIX.size + header_len_guess
        offset = start + _pad(start)
        for meta in encoder.metas:
            meta["offset"] = offset
            offset += meta["nbytes"] + _pad(meta["nbytes"])
        header = json.dumps({"format": "gradspec-checkpoint", "root": root, "tensors": encoder.metas},
                            separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
        if len(header) == header_len_guess:
            break
        header_len_guess = len(header)
    chunks = [_PREFIX.pack(MAGIC, FORMAT_VERSION, len(header)), header]
    position = _PREFIX.size + len(header)
    for array, meta in zip(encoder.arrays, encoder.metas):
        gap = meta["offset"] - position
        chunks.append(b"\x00" * gap)
        chunks.append(memoryview(array.reshape(-1).view(np.uint8)) if array.size else b"")
        position = meta["offset"] + meta["nbytes"]
    chunks.append(b"\x00" * _pad(position))
    return chunks


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True, *,
         format: str = "gradspec") -> None:  # noqa: A002 - the option's natural name
    """Write `obj` (a state dict, or dicts/lists of tensors, numbers and strings) to `f`.

    `f` is a path (written atomically: temp file, fsync, rename; see gradspec.atomic_write) or a
    binary file object. format="gradspec" (the default) writes this module's format;
    format="torch" writes torch.save's zip format, which torch.load(weights_only=True) reads (for
    handing weights to PyTorch; gradspec.load reads both). Other objects (a whole model) are
    pickled in torch's zip format, as torch.save pickles them: `load` then builds them only where
    their classes are allowed (`safe_globals`) or where the caller trusts the file
    (`weights_only=False`).
    """
    if pickle_module is not None:
        raise TypeError("gradspec.save does not pickle: pickle_module is not supported")
    if format not in ("gradspec", "torch"):
        raise ValueError(f"gradspec.save: format must be 'gradspec' or 'torch', not {format!r}")
    if format == "torch":
        chunks = [torch_format.dumps_zip(obj)]
    else:
        try:
            chunks = _checksummed(_serialize(obj))
        except _NotData:  # a whole model, say: pickled, as torch.save pickles it
            chunks = [torch_format.dumps_zip(obj, objects=True)]
    if hasattr(f, "write"):
        for chunk in chunks:
            f.write(chunk)
        return
    write_atomically(f, chunks, signatures=_SIGNATURES)


def _checksummed(chunks: list) -> list:
    """The chunks followed by the trailer: the file's length and checksum."""
    crc, total = 0, 0
    for chunk in chunks:
        crc = zlib.crc32(chunk, crc)
        total += len(chunk)
    chunks.append(_SUFFIX.pack(TRAILER, total + _SUFFIX.size, crc))
    return chunks


# ---- decoding ---------------------------------------------------------------------------------
#
# A file is data only. Its header is JSON parsed into plain values (after a scan that bounds its
# nesting, so that neither json nor the decoder can recurse without limit), then checked against
# the format before anything is built: every tensor's dtype is one of a fixed list of names, its
# shape a short list of sizes >= 0 whose product times the itemsize is its blob's size, and the
# blobs lie in order, without overlapping, between the header and the trailer. So a load allocates
# at most the file's size in arrays: each blob is materialized once, on first use, and every
# reference to it gets the same array (the same Tensor object). Values are canonical (a float is
# its own repr, bytes their own base64, a bool byte 0 or 1): a file that says anything in a way
# `save` would not have said it is refused. Every refusal is a CheckpointError naming the cause.

_DEVICE = re.compile(r"cpu|cuda(:[0-9]{1,4})?")
_TENSOR_KEYS = frozenset({"dtype", "shape", "offset", "nbytes", "requires_grad", "device", "parameter"})
_REQUIRED_TENSOR_KEYS = frozenset({"dtype", "shape", "offset", "nbytes"})
_MAX_NDIM = 64
# A value nesting level costs up to three JSON levels ({"dict": [[key, value], ...]}).
_MAX_JSON_DEPTH = 3 * MAX_DEPTH + 3
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_OPENERS, _CLOSERS = np.zeros(256, np.int8), np.zeros(256, np.int8)
_OPENERS[[ord("["), ord("{")]] = 1
_CLOSERS[[ord("]"), ord("}")]] = 1


def _json_depth(text: bytes) -> int:
    """How deep the JSON text nests (strings removed first, so that brackets in them do not count)."""
    skeleton = np.frombuffer(_JSON_STRING.sub(b'""', text), np.uint8)
    if not skeleton.size:
        return 0
    return int(np.cumsum(_OPENERS[skeleton].astype(np.int64) - _CLOSERS[skeleton]).max())


def _no_duplicates(pairs: list) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("a JSON object repeats a key")
    return out


def _refuse_number(text: str):
    raise ValueError(f"the bare number {text} (a checkpoint writes floats as {{\"f\": repr}})")


def _is_int(value) -> bool:
    return type(value) is int


def _describe_foreign(head: bytes) -> str:
    if head[:1] == b"\x80":
        return ("it looks like a Python pickle, not a torch.save file; gradspec never loads plain pickles "
                "(unpickling can run arbitrary code)")
    if head.startswith(b"\x93NUMPY"):
        return "it is a .npy file: use numpy.load, then gradspec.from_numpy"
    return "it does not start with the gradspec checkpoint signature"


def _check(raw, name: str) -> tuple[dict, int]:
    """The parsed header and the offset where the blobs may start, once the file's signature,
    length and checksum hold."""
    size = len(raw)
    if size == 0:
        raise CheckpointError(f"{name} is empty (0 bytes): not a gradspec checkpoint")
    head = bytes(raw[:len(MAGIC)])
    if head != MAGIC[:len(head)] or size < len(MAGIC):
        if head == MAGIC[:len(head)]:
            raise CheckpointError(f"{name} is truncated: only {size} bytes, which end inside the checkpoint "
                                  "signature; it was not loaded")
        raise CheckpointError(f"{name} is not a gradspec checkpoint: {_describe_foreign(bytes(raw[:8]))}")
    if size < _PREFIX.size + _SUFFIX.size:
        raise CheckpointError(f"{name} is truncated: only {size} bytes, too short to be a complete checkpoint; "
                              "it was not loaded")
    _, version, header_len = _PREFIX.unpack_from(raw, 0)
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{name} was written in checkpoint format {version}, newer than this gradspec "
                              f"reads ({FORMAT_VERSION}): upgrade gradspec")
    tag, total, crc = _SUFFIX.unpack_from(raw, size - _SUFFIX.size)
    if tag != TRAILER or total != size:
        expected = _PREFIX.size + header_len
        if tag == TRAILER and total > size:
            detail = f"it is {size} bytes, but was written as {total}"
        elif size < expected:
            detail = f"it ends after {size} bytes, inside its header"
        else:
            detail = f"it ends after {size} bytes, before its end marker"
        raise CheckpointError(f"{name} is truncated or damaged: {detail} (an interrupted write or copy?); "
                              "it was not loaded")
    if zlib.crc32(memoryview(raw)[:size - _SUFFIX.size]) != crc:
        raise CheckpointError(f"{name} is corrupted: its checksum does not match its contents; it was not loaded")
    data_start = _PREFIX.size + header_len
    if data_start > size - _SUFFIX.size:
        raise CheckpointError(f"{name}: its header length ({header_len} bytes) runs past the end of the file")
    return _parse_header(bytes(raw[_PREFIX.size:data_start]), name), data_start


def _parse_header(text: bytes, name: str) -> dict:
    depth = _json_depth(text)
    if depth > _MAX_JSON_DEPTH:
        raise CheckpointError(f"{name}: its header nests {depth} levels deep, more than a checkpoint may "
                              f"({MAX_DEPTH} levels of values)")
    try:
        header = json.loads(text.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_float=_refuse_number,
                            parse_constant=_refuse_number)
    except (UnicodeDecodeError, ValueError) as error:
        raise CheckpointError(f"{name} has an unreadable header: {error}") from None
    if (not isinstance(header, dict) or set(header) != {"format", "root", "tensors"}
            or header["format"] != "gradspec-checkpoint" or not isinstance(header["tensors"], list)):
        raise CheckpointError(f"{name}: its header is not a gradspec checkpoint header (it should be an object "
                              "with exactly 'format', 'root' and 'tensors')")
    return header


class _Blob:
    __slots__ = ("dtype", "shape", "offset", "nbytes", "requires_grad", "parameter", "device")


def _blobs(metas: list, raw, name: str, data_start: int) -> list[_Blob]:
    """The header's tensor table, checked against the file (see the comment above)."""
    data_end = len(raw) - _SUFFIX.size
    end = data_start
    blobs = []
    for index, meta in enumerate(metas):
        where = f"{name}: tensor {index}"
        if not isinstance(meta, dict) or not _REQUIRED_TENSOR_KEYS <= set(meta) <= _TENSOR_KEYS:
            raise CheckpointError(f"{where} is described by {type(meta).__name__} {str(meta)[:80]}, not an object "
                                  f"with the keys {sorted(_REQUIRED_TENSOR_KEYS)} (and optionally "
                                  f"{sorted(_TENSOR_KEYS - _REQUIRED_TENSOR_KEYS)})")
        blob = _Blob()
        blob.dtype = _BY_NAME.get(meta["dtype"]) if isinstance(meta["dtype"], str) else None
        if blob.dtype is None:
            raise CheckpointError(f"{where} has an unknown dtype {meta['dtype']!r} (known: {', '.join(_BY_NAME)})")
        shape = meta["shape"]
        if (not isinstance(shape, list) or len(shape) > _MAX_NDIM
                or not all(_is_int(n) and n >= 0 for n in shape)):
            raise CheckpointError(f"{where} has the shape {str(shape)[:80]}: a shape is a list of at most "
                                  f"{_MAX_NDIM} sizes, each an integer >= 0")
        blob.shape = tuple(shape)
        blob.offset, blob.nbytes = meta["offset"], meta["nbytes"]
        if not (_is_int(blob.offset) and _is_int(blob.nbytes)):
            raise CheckpointError(f"{where}: its offset and size must be integers, not {blob.offset!r} and "
                                  f"{blob.nbytes!r}")
        needed = math.prod(blob.shape) * blob.dtype.itemsize
        if needed != blob.nbytes:
            raise CheckpointError(f"{where}: its shape {list(blob.shape)} of {blob.dtype.name} needs {needed} bytes, "
                                  f"but its blob is said to hold {blob.nbytes}")
        if blob.offset < data_start:
            raise CheckpointError(f"{where}: its blob at byte {blob.offset} would lie inside the header, which ends "
                                  f"at byte {data_start}")
        if blob.offset < end:
            raise CheckpointError(f"{where}: its blob at byte {blob.offset} overlaps the previous tensor's, which "
                                  f"ends at byte {end} (blobs are stored once each, in order)")
        if blob.offset % _ALIGN:
            raise CheckpointError(f"{where}: its blob at byte {blob.offset} is not {_ALIGN}-byte aligned")
        end = blob.offset + blob.nbytes
        if end > data_end:
            raise CheckpointError(f"{where}: its blob (bytes {blob.offset} to {end}) runs past the end of the data "
                                  f"(byte {data_end})")
        blob.requires_grad, blob.parameter = meta.get("requires_grad", False), meta.get("parameter", False)
        blob.device = meta.get("device", "cpu")
        if type(blob.requires_grad) is not bool or type(blob.parameter) is not bool:
            raise CheckpointError(f"{where}: 'requires_grad' and 'parameter' must be true or false")
        if blob.requires_grad and not blob.dtype.is_floating_point:
            raise CheckpointError(f"{where} is {blob.dtype.name} but requires grad: only floating point tensors can")
        if not isinstance(blob.device, str) or not _DEVICE.fullmatch(blob.device):
            raise CheckpointError(f"{where} names the device {str(blob.device)[:40]!r} (expected cpu or cuda[:N])")
        if blob.dtype is dtypes.bool and blob.nbytes:
            if np.frombuffer(raw, np.uint8, blob.nbytes, blob.offset).max() > 1:
                raise CheckpointError(f"{where} is bool, but its blob holds bytes other than 0 and 1")
        blobs.append(blob)
    return blobs


def _map_device(saved: str, map_location):
    if map_location is None:
        return device(saved)
    if isinstance(map_location, dict):
        return device(map_location.get(saved, saved))
    return device(map_location)


def _placer(name: str, map_location):
    """place(array, saved_device) -> the array on the device map_location chooses for it."""
    if callable(map_location):
        raise TypeError("gradspec.load: a callable map_location is not supported; pass a device or a dict")

    def place(data, saved: str):
        target = _map_device(saved, map_location)
        if target == CPU:
            return data
        try:
            return to_device(data, target)
        except (ImportError, RuntimeError) as error:
            raise CheckpointError(f"{name}: a tensor saved on {saved} cannot go to {target} here ({error}); load "
                                  "it with map_location='cpu'") from None

    return place


class _Decoder:
    """Builds the value tree from a checked header; each blob becomes one array and one Tensor."""

    def __init__(self, raw, name: str, blobs: list[_Blob], place):
        self.raw, self.name, self.blobs, self.place = raw, name, blobs, place
        self.arrays: dict[int, np.ndarray] = {}
        self.tensors: dict[int, Tensor] = {}

    def fail(self, message: str):
        return CheckpointError(f"{self.name} has a malformed header: {message}")

    def index(self, payload) -> int:
        if not _is_int(payload) or not 0 <= payload < len(self.blobs):
            raise self.fail(f"it refers to tensor {str(payload)[:40]}, but the file holds {len(self.blobs)} "
                            "tensors")
        return payload

    def array(self, payload, depth=0) -> np.ndarray:
        index = self.index(payload)
        if index not in self.arrays:
            blob = self.blobs[index]
            dtype = blob.dtype.numpy
            data = np.frombuffer(self.raw, dtype.newbyteorder("<"), math.prod(blob.shape), blob.offset)
            self.arrays[index] = data.astype(dtype).reshape(blob.shape)
        return self.arrays[index]

    def tensor(self, payload, depth=0) -> Tensor:
        index = self.index(payload)
        if index in self.tensors:
            return self.tensors[index]
        blob = self.blobs[index]
        out = make_tensor(self.place(self.array(index), blob.device))
        if blob.parameter:
            from .nn.parameter import Parameter

            out = Parameter(out, requires_grad=blob.requires_grad)
        elif blob.requires_grad:
            out.requires_grad_(True)
        self.tensors[index] = out
        return out

    def value(self, value, depth: int = 0):
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if depth >= MAX_DEPTH:
            raise self.fail(f"values nest more than {MAX_DEPTH} levels deep")
        if not isinstance(value, dict) or not value:
            raise self.fail(f"a JSON {type(value).__name__} {str(value)[:40]} where a tagged value belongs")
        tag, payload = next(iter(value.items()))
        if len(value) > 1 and not (tag == "dict" and len(value) == 2 and value.get("ordered") is True):
            raise self.fail(f"the value tagged {tag!r} has the extra keys {sorted(value)[1:]}")
        decode = self._TAGS.get(tag)
        if decode is None:
            raise self.fail(f"unknown value tag {tag!r} (written by a newer gradspec?)")
        out = decode(self, payload, depth + 1)
        if tag == "dict" and len(value) == 2:
            out = OrderedDict(out)
        return out

    def float_(self, payload, depth):
        if isinstance(payload, str):
            try:
                number = float(payload)
            except ValueError:
                number = None
            if number is not None and repr(number) == payload:
                return number
        raise self.fail(f"the float {str(payload)[:40]!r} is not written as Python's repr of a float")

    def list_(self, payload, depth) -> list:
        if not isinstance(payload, list):
            raise self.fail(f"a list or tuple holds a {type(payload).__name__}, not a JSON array")
        return [self.value(v, depth) for v in payload]

    def dict_(self, payload, depth) -> dict:
        if not isinstance(payload, list) or not all(isinstance(p, list) and len(p) == 2 for p in payload):
            raise self.fail("a dict is not a JSON array of [key, value] pairs")
        out = {}
        for key, value in payload:
            key = self.value(key, depth)
            try:
                hash(key)
            except TypeError:
                raise self.fail(f"a dict key is a {type(key).__name__}, which cannot be a key") from None
            if key in out:
                raise self.fail(f"a dict repeats the key {str(key)[:40]}")
            out[key] = self.value(value, depth)
        return out

    def bytes_(self, payload, depth) -> bytes:
        try:
            out = base64.b64decode(payload, validate=True) if isinstance(payload, str) else None
        except ValueError:
            out = None
        if out is None or base64.b64encode(out).decode("ascii") != payload:
            raise self.fail(f"bytes {str(payload)[:40]!r} are not canonical base64")
        return out

    def dtype_(self, payload, depth):
        found = _BY_NAME.get(payload) if isinstance(payload, str) else None
        if found is None:
            raise self.fail(f"unknown dtype {str(payload)[:40]!r} (known: {', '.join(_BY_NAME)})")
        return found

    def device_(self, payload, depth):
        if not isinstance(payload, str) or not _DEVICE.fullmatch(payload):
            raise self.fail(f"the device {str(payload)[:40]!r} is not cpu or cuda[:N]")
        return device(payload)

    def tuple_(self, payload, depth) -> tuple:
        return tuple(self.list_(payload, depth))

    _TAGS = {"f": float_, "list": list_, "tuple": tuple_, "dict": dict_, "bytes": bytes_, "dtype": dtype_,
             "device": device_, "tensor": tensor, "ndarray": array}


def load(f, map_location=None, pickle_module=None, *, weights_only: bool | None = None, mmap=None,
         **pickle_load_args):
    """Read what `save` wrote, or what torch.save wrote (its zip and legacy formats: see
    gradspec.torch_format). Tensors return to the device they were saved from, or to
    `map_location` ("cpu", "cuda:0", a device, or a {saved: target} dict). Refuses truncated,
    damaged, hostile and foreign files with a CheckpointError (a RuntimeError) that says which.
    As torch.load, `weights_only` defaults to True: pickles are read by a restricted unpickler
    that builds data and the classes and functions of `safe_globals` only, never running code
    the file chose. Only `weights_only=False`, given explicitly, unpickles a torch zip file with
    Python's pickle, which runs whatever the file says: for files you trust."""
    if pickle_module is not None:
        raise TypeError("gradspec.load does not unpickle: pickle_module is not supported")
    if hasattr(f, "read"):
        name = getattr(f, "name", None)
        name = repr(name) if isinstance(name, str) else "the checkpoint stream"
        raw = f.read()
    else:
        path = os.fspath(f)
        name = f"'{path}'"
        with open(path, "rb") as handle:
            raw = handle.read()
    if isinstance(raw, str):
        raise TypeError("gradspec.load needs a binary file (opened with 'rb')")
    place = _placer(name, map_location)
    if raw[:len(_ZIP)] == _ZIP or (raw[:1] == b"\x80" and torch_format.is_legacy(raw)):
        try:
            if raw[:1] == b"P":
                return torch_format.load_zip(bytes(raw), place, _safe_globals, trusted=weights_only is False)
            return torch_format.load_legacy(bytes(raw), place)
        except (torch_format.TorchFileError, UnpicklingError) as error:
            raise CheckpointError(f"{name} was not loaded: {error}") from None
    header, data_start = _check(raw, name)
    return _Decoder(raw, name, _blobs(header["tensors"], raw, name, data_start), place).value(header["root"])


def _roundtrip(obj):
    """save then load through memory (for tests)."""
    buffer = io.BytesIO()
    save(obj, buffer)
    buffer.seek(0)
    return load(buffer)
