"""gradspec.save / gradspec.load: checkpoints in a format that cannot run code when loaded.

A checkpoint holds a tree of dicts (any key of the types below), lists, tuples, tensors,
numbers, strings, bytes, None, dtypes and devices: the state dicts of modules, optimizers and
schedulers and whatever a training script puts around them. Nothing is pickled: the tree is
JSON, every tensor a raw little-endian byte blob. The layout:

    offset 0   MAGIC (12 bytes), format version (u32 LE)
               header length H (u64 LE), then H bytes of UTF-8 JSON:
               {"root": <value>, "tensors": [{"dtype", "shape", "offset", "nbytes", ...}]}
               zero padding to a multiple of 64, then the blobs, each 64-aligned
    end - 20   TRAILER (b"GSEND\\0\\0\\0"), total file length (u64 LE), CRC-32 of everything before (u32 LE)

`load` checks the signature, the trailer, the length and the checksum before it builds
anything, so a file cut short at any byte (an interrupted copy) or a foreign file is refused
with an error that says which, and never loaded in part. `save` writes to a temporary file in
the target's directory, flushes and fsyncs it, then renames it over the target (os.replace),
so a crash mid-save leaves the previous checkpoint intact.

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
import os
import struct
import zlib
from collections import OrderedDict

import numpy as np

from . import dtypes
from .backends import CPU, device, device_of, to_device
from .tensor import Tensor, make_tensor

__all__ = ["save", "load", "CheckpointError"]

MAGIC = b"\x89GRADSPEC\r\n\x1a"  # 12 bytes: non-ASCII first byte, CRLF and ^Z catch text-mode mangling
FORMAT_VERSION = 1
TRAILER = b"GSEND\x00\x00\x00"
_PREFIX = struct.Struct("<12sIQ")  # magic, version, header length
_SUFFIX = struct.Struct("<8sQI")  # trailer tag, total length, crc32
_ALIGN = 64
_DTYPES = {d.numpy.name: d.numpy for d in dtypes.ALL}


class CheckpointError(RuntimeError):
    """A file that is not a complete, intact gradspec checkpoint."""


# ---- encoding ---------------------------------------------------------------------------------

class _Encoder:
    def __init__(self):
        self.arrays: list[np.ndarray] = []
        self.metas: list[dict] = []
        self.tensor_ids: dict[int, int] = {}
        self._keep_alive: list = []

    def encode(self, value, path: str):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, Tensor):
            return {"tensor": self._tensor(value)}
        if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
            return int(value)
        if isinstance(value, (float, np.floating)):
            return {"f": repr(float(value))}
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, dict):
            items = [[self.encode(k, f"{path}[key]"), self.encode(v, f"{path}[{k!r}]")] for k, v in value.items()]
            out = {"dict": items}
            if isinstance(value, OrderedDict):
                out["ordered"] = True
            return out
        if isinstance(value, list):
            return {"list": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, tuple):
            if hasattr(value, "_fields"):
                raise TypeError(f"gradspec.save: cannot store the namedtuple {type(value).__name__} at {path}; "
                                "convert it to a tuple or dict")
            return {"tuple": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, (bytes, bytearray)):
            return {"bytes": base64.b64encode(bytes(value)).decode("ascii")}
        if isinstance(value, dtypes.dtype):
            return {"dtype": value.name}
        if isinstance(value, device):
            return {"device": str(value)}
        if isinstance(value, np.ndarray):
            return {"ndarray": self._array(value, {})}
        raise TypeError(f"gradspec.save: cannot store an object of type {type(value).__module__}."
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
        if data.dtype.name not in _DTYPES:
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


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True) -> None:
    """Write `obj` (a state dict, or dicts/lists of tensors, numbers and strings) to `f`.

    `f` is a path (written atomically: temp file, fsync, rename) or a binary file object.
    """
    if pickle_module is not None:
        raise TypeError("gradspec.save does not pickle: pickle_module is not supported")
    chunks = _serialize(obj)
    crc, total = 0, 0
    for chunk in chunks:
        crc = zlib.crc32(chunk, crc)
        total += len(chunk)
    chunks.append(_SUFFIX.pack(TRAILER, total + _SUFFIX.size, crc))
    if hasattr(f, "write"):
        for chunk in chunks:
            f.write(chunk)
        return
    path = os.fspath(f)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        with open(tmp, "xb") as out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


# ---- decoding ---------------------------------------------------------------------------------

def _describe_foreign(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        return ("it is a zip archive, as torch.save writes: those hold pickled Python objects, which gradspec "
                "does not load; in PyTorch, re-save the state dict with tensors converted to numpy "
                "(or load it with torch and copy the tensors over)")
    if head[:1] == b"\x80":
        return "it looks like a Python pickle, which gradspec never loads (unpickling can run arbitrary code)"
    if head.startswith(b"\x93NUMPY"):
        return "it is a .npy file: use numpy.load, then gradspec.from_numpy"
    return "it does not start with the gradspec checkpoint signature"


def _check(raw, name: str):
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
    try:
        header = json.loads(bytes(raw[_PREFIX.size:_PREFIX.size + header_len]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise CheckpointError(f"{name} has an unreadable header: {error}") from None
    return header


def _map_device(saved: str, map_location):
    if map_location is None:
        return device(saved)
    if isinstance(map_location, dict):
        return device(map_location.get(saved, saved))
    if callable(map_location):
        raise TypeError("gradspec.load: a callable map_location is not supported; pass a device or a dict")
    return device(map_location)


def _decode(header: dict, raw, name: str, map_location):
    tensors: dict[int, Tensor] = {}
    metas = header["tensors"]
    size = len(raw)

    def array(index: int) -> np.ndarray:
        meta = metas[index]
        dtype = _DTYPES.get(meta["dtype"])
        if dtype is None:
            raise CheckpointError(f"{name}: tensor {index} has an unknown dtype {meta['dtype']!r}")
        start, nbytes, shape = meta["offset"], meta["nbytes"], tuple(meta["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        if start < 0 or start + nbytes > size or count * dtype.itemsize != nbytes:
            raise CheckpointError(f"{name}: tensor {index} lies outside the file or has inconsistent sizes")
        return np.frombuffer(raw, dtype=dtype.newbyteorder("<"), count=count, offset=start).astype(dtype).reshape(shape)

    def tensor(index: int) -> Tensor:
        if index in tensors:
            return tensors[index]
        meta = metas[index]
        data = array(index)
        target = _map_device(meta.get("device", "cpu"), map_location)
        if target != CPU:
            data = to_device(data, target)
        out = make_tensor(data)
        if meta.get("parameter"):
            from .nn.parameter import Parameter

            out = Parameter(out, requires_grad=meta.get("requires_grad", True))
        elif meta.get("requires_grad"):
            out.requires_grad_(True)
        tensors[index] = out
        return out

    def decode(value):
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, list):
            raise CheckpointError(f"{name}: malformed value in the header")
        (tag, payload), *rest = value.items()
        if tag == "f":
            return float(payload)
        if tag == "tensor":
            return tensor(payload)
        if tag == "dict":
            items = [(decode(k), decode(v)) for k, v in payload]
            return OrderedDict(items) if value.get("ordered") else dict(items)
        if tag == "list":
            return [decode(v) for v in payload]
        if tag == "tuple":
            return tuple(decode(v) for v in payload)
        if tag == "bytes":
            return base64.b64decode(payload)
        if tag == "dtype":
            return getattr(dtypes, payload)
        if tag == "device":
            return device(payload)
        if tag == "ndarray":
            return array(payload)
        raise CheckpointError(f"{name}: unknown value tag {tag!r} in the header (written by a newer gradspec?)")

    return decode(header["root"])


def load(f, map_location=None, pickle_module=None, *, weights_only: bool = True, mmap=None, **pickle_load_args):
    """Read what `save` wrote. Tensors return to the device they were saved from, or to `map_location`
    ("cpu", "cuda:0", a device, or a {saved: target} dict). Refuses truncated, damaged and foreign
    files with a CheckpointError (a RuntimeError) that says which; nothing is ever unpickled, so
    `weights_only` is always in effect."""
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
    header = _check(raw, name)
    try:
        return _decode(header, raw, name, map_location)
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise CheckpointError(f"{name} has a malformed header: {error!r}") from None


def _roundtrip(obj):
    """save then load through memory (for tests)."""
    buffer = io.BytesIO()
    save(obj, buffer)
    buffer.seek(0)
    return load(buffer)
