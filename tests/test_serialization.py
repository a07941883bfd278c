"""gradspec.save / gradspec.load: round trips, the safe format, truncation and foreign files, atomic writes."""

import io
import math
import os
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import gradspec as rt
from gradspec import nn
from gradspec.serialization import CheckpointError
from conftest import CUDA_MISSING, DEVICES


def roundtrip(obj, tmp_path):
    path = tmp_path / "obj.ckpt"
    rt.save(obj, path)
    return rt.load(path)


def test_nested_values_roundtrip(tmp_path):
    obj = {
        "none": None, "true": True, "int": 7, "big": 2 ** 70, "neg": -3, "float": 0.1, "nan": math.nan,
        "inf": -math.inf, "zero": -0.0, "str": "héllo ✓", "bytes": b"\x00\xff", "list": [1, [2.5, "x"], []],
        "tuple": (1, (2,), ()), 3: "int key", (1, "a"): "tuple key", 2.5: "float key", None: "none key",
        "odict": OrderedDict([("b", 1), ("a", 2)]), "dtype": rt.float64, "device": rt.device("cpu"),
        "np": np.float32(1.5), "npint": np.int64(4),
    }
    back = roundtrip(obj, tmp_path)
    assert set(back) == set(obj)
    for key, value in obj.items():
        if key == "nan":
            assert math.isnan(back[key])
        elif key == "zero":
            assert back[key] == 0.0 and math.copysign(1, back[key]) == -1
        else:
            assert back[key] == value and type(back[key]) is (type(value) if not isinstance(value, np.generic)
                                                               else type(value.item())), key
    assert isinstance(back["odict"], OrderedDict) and list(back["odict"]) == ["b", "a"]
    assert back["dtype"] is rt.float64


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"])
def test_tensor_dtypes_roundtrip(tmp_path, dtype, device):
    data = (np.arange(24).reshape(2, 3, 4) % 5).astype(dtype)
    back = roundtrip({"t": rt.tensor(data, device=device), "scalar": rt.tensor(data.reshape(-1)[3], device=device),
                      "empty": rt.tensor(data[:0], device=device)}, tmp_path)
    assert back["t"].dtype == getattr(rt, dtype) and back["t"].shape == rt.Size([2, 3, 4])
    assert {t.device.type for t in back.values()} == {device}
    np.testing.assert_array_equal(back["t"].cpu().numpy(), data)
    assert back["scalar"].ndim == 0 and back["scalar"].item() == data.reshape(-1)[3]
    assert back["empty"].shape == rt.Size([0, 3, 4])


def test_tensor_flags_views_and_sharing(tmp_path):
    base = rt.arange(12.0).reshape(3, 4)
    view = base.t()  # non-contiguous
    param = nn.Parameter(rt.ones(2))
    frozen = nn.Parameter(rt.ones(2), requires_grad=False)
    leaf = rt.ones(3, requires_grad=True)
    back = roundtrip({"view": view, "param": param, "frozen": frozen, "leaf": leaf, "twice": [base, base]}, tmp_path)
    np.testing.assert_array_equal(back["view"].numpy(), view.numpy())
    assert isinstance(back["param"], nn.Parameter) and back["param"].requires_grad
    assert isinstance(back["frozen"], nn.Parameter) and not back["frozen"].requires_grad
    assert back["leaf"].requires_grad and back["leaf"].is_leaf
    assert back["twice"][0] is back["twice"][1]
    back["view"][0, 0] = 100.0  # loaded tensors own writable memory
    assert back["view"][0, 0].item() == 100.0


def test_state_dicts_roundtrip(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    opt = rt.optim.Adam(model.parameters(), lr=0.01)
    model(rt.randn(5, 3)).sum().backward()
    opt.step()
    back = roundtrip({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 3}, tmp_path)
    assert isinstance(back["model"], OrderedDict) and list(back["model"]) == list(model.state_dict())
    fresh = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    fresh.load_state_dict(back["model"])
    for (k, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    assert back["model"]["1.num_batches_tracked"].dtype == rt.int64
    rt.optim.Adam(fresh.parameters(), lr=0.01).load_state_dict(back["opt"])


def test_file_objects_and_map_location(tmp_path):
    buffer = io.BytesIO()
    rt.save({"w": rt.ones(2)}, buffer)
    buffer.seek(0)
    assert rt.load(buffer)["w"].tolist() == [1.0, 1.0]
    with open(tmp_path / "f", "wb") as f:
        rt.save([rt.zeros(1)], f)
    with open(tmp_path / "f", "rb") as f:
        assert rt.load(f, map_location="cpu")[0].tolist() == [0.0]
    assert rt.load(tmp_path / "f", map_location={"cpu": "cpu"}, weights_only=True)[0].tolist() == [0.0]
    assert rt.load(str(tmp_path / "f"))[0].device == rt.device("cpu")


@pytest.mark.cuda
@pytest.mark.skipif(CUDA_MISSING is not None, reason=f"no cuda device: {CUDA_MISSING}")
def test_cuda_tensors_load_back_onto_their_device_or_where_map_location_says(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)).to("cuda")
    opt = rt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(rt.randn(5, 3, device="cuda")).sum().backward()
    opt.step()
    second = rt.arange(6.0, device="cuda:1").reshape(2, 3).t()  # a view, on the second device
    path = tmp_path / "cuda.ckpt"
    rt.save({"model": model.state_dict(), "opt": opt.state_dict(), "second": second}, path)
    back = rt.load(path)
    for key, value in back["model"].items():
        assert value.device == rt.device("cuda", 0), key
        np.testing.assert_array_equal(value.cpu().numpy(), model.state_dict()[key].cpu().numpy(), err_msg=key)
    assert back["opt"]["state"][0]["momentum_buffer"].device == rt.device("cuda", 0)
    assert back["second"].device == rt.device("cuda", 1)
    assert back["second"].cpu().tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    on_cpu = rt.load(path, map_location="cpu")
    assert {v.device for v in on_cpu["model"].values()} == {rt.device("cpu")}
    assert on_cpu["second"].tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    moved = rt.load(path, map_location={"cuda:1": "cuda:0"})
    assert moved["second"].device == rt.device("cuda", 0) and moved["model"]["0.weight"].device.type == "cuda"
    fresh = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)).to("cuda")
    fresh.load_state_dict(back["model"])
    rt.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9).load_state_dict(back["opt"])


def test_objects_that_cannot_be_pickled_are_refused_and_nothing_is_written(tmp_path):
    """What the data format cannot hold is pickled, as torch.save does (tests/test_save_objects.py);
    what pickle cannot name (a lambda, a local class) is refused before anything is written."""
    path = tmp_path / "ckpt"
    rt.save({"ok": 1}, path)
    with pytest.raises(TypeError, match="cannot pickle .*lambda"):
        rt.save({"fn": lambda: 0}, path)
    with pytest.raises(TypeError, match="cannot pickle .*P"):
        from collections import namedtuple

        rt.save(namedtuple("P", "x")(1), path)
    assert rt.load(path) == {"ok": 1}  # the old checkpoint is untouched
    assert os.listdir(tmp_path) == ["ckpt"]  # and no temporary file is left
    rt.save({"set": {1, 2}}, path)  # a set is pickled (builtins.set, which weights-only loads allow)
    assert rt.load(path) == {"set": {1, 2}}


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / "ckpt"
    rt.save({"version": 1, "w": rt.ones(1000)}, path)

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        rt.save({"version": 2, "w": rt.zeros(1000)}, path)
    monkeypatch.undo()
    assert rt.load(path)["version"] == 1
    assert os.listdir(tmp_path) == ["ckpt"]


def _sample_checkpoint() -> bytes:
    rt.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    buffer = io.BytesIO()
    rt.save({"model": model.state_dict(), "epoch": 2, "name": "digits", "lr": [0.1, 0.01]}, buffer)
    return buffer.getvalue()


def test_truncated_at_every_byte_is_refused(tmp_path):
    raw = _sample_checkpoint()
    assert rt.load(io.BytesIO(raw))["epoch"] == 2
    for cut in range(len(raw)):
        with pytest.raises(CheckpointError) as error:
            rt.load(io.BytesIO(raw[:cut]))
        message = str(error.value)
        assert ("truncated" in message or "empty" in message), (cut, message)
    assert issubclass(CheckpointError, RuntimeError)


def test_truncated_large_checkpoint_on_disk(tmp_path):
    rt.manual_seed(0)
    state = nn.Linear(300, 200).state_dict()
    path = tmp_path / "big.ckpt"
    rt.save(state, path)
    raw = path.read_bytes()
    rng = np.random.default_rng(0)
    for cut in sorted(set(rng.integers(0, len(raw), 200).tolist()) | {0, 1, 12, 24, len(raw) - 1, len(raw) - 20}):
        path.write_bytes(raw[:cut])
        with pytest.raises(CheckpointError, match=f"'{path}' is (truncated|empty)"):
            rt.load(path)


def test_corruption_is_detected():
    raw = bytearray(_sample_checkpoint())
    for position in (40, len(raw) // 2, len(raw) - 30):
        damaged = bytearray(raw)
        damaged[position] ^= 0x10
        with pytest.raises(CheckpointError, match="corrupted|truncated|damaged|header"):
            rt.load(io.BytesIO(bytes(damaged)))
    longer = bytes(raw) + b"\x00"
    with pytest.raises(CheckpointError):
        rt.load(io.BytesIO(longer))


def test_foreign_files_are_refused_with_a_reason(tmp_path):
    cases = {
        "pickle": (pickle.dumps({"a": 1}), "pickle"),
        "text": (b"hello, this is text\n" * 10, "signature"),
        "npy": (b"\x93NUMPY\x01\x00" + b" " * 100, "numpy"),
        "zip": (b"PK\x03\x04" + b"\x00" * 100, "a zip archive, but a damaged one"),
    }
    for name, (content, reason) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(CheckpointError, match=reason):
            rt.load(path)
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        rt.load(tmp_path / "empty")


def test_loading_never_runs_code(tmp_path):
    """save pickles what it is given (as torch.save); load refuses to run it unless told
    weights_only=False, and never takes a pickle module."""
    marker = tmp_path / "pwned"

    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    rt.save({"x": Boom()}, tmp_path / "x")
    with pytest.raises(CheckpointError, match=r"refused the global (posix|nt)\.system"):
        rt.load(tmp_path / "x")
    with pytest.raises(CheckpointError, match=r"refused the global (posix|nt)\.system"):
        rt.load(tmp_path / "x", weights_only=True)
    assert not marker.exists()
    with pytest.raises(TypeError, match="does not unpickle"):
        rt.load(tmp_path / "x", pickle_module=pickle)


def test_format_is_documented_and_versioned():
    raw = _sample_checkpoint()
    from gradspec import serialization as s

    assert raw.startswith(s.MAGIC) and raw[-20:-12] == s.TRAILER
    header_len = int.from_bytes(raw[16:24], "little")
    import json

    header = json.loads(raw[24:24 + header_len])
    assert header["format"] == "gradspec-checkpoint" and all(t["offset"] % 64 == 0 for t in header["tensors"])


# ---- crafted files: valid checksum, hostile contents --------------------------------------------

def data_offset(header_size: int) -> int:
    return 24 + header_size + (-(24 + header_size) % 64)


CRAFTED_HEADER = 4096  # the header is padded with spaces to this length, so blobs start at DATA
DATA = data_offset(CRAFTED_HEADER)


def craft(header, body: bytes = b"", header_size: int = CRAFTED_HEADER) -> bytes:
    """A checkpoint file around `header` (a dict, or JSON text) and `body` (the bytes from
    data_offset(header_size) on), with a correct length and checksum: only its contents are hostile."""
    import json
    import struct
    import zlib

    from gradspec import serialization as s

    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    if len(text) <= header_size:
        text = text.ljust(header_size)
    raw = struct.pack("<12sIQ", s.MAGIC, s.FORMAT_VERSION, len(text)) + text
    if len(text) == header_size:
        raw += b"\x00" * (data_offset(header_size) - len(raw)) + body
    raw += b"\x00" * (-len(raw) % 64)
    return raw + struct.pack("<8sQI", s.TRAILER, len(raw) + 20, zlib.crc32(raw))


def blob(dtype="float32", shape=(4,), offset=DATA, nbytes=None, **flags):
    itemsize = np.dtype(dtype).itemsize if dtype in ("float32", "int64", "bool") else 4
    size = int(np.prod(shape)) * itemsize if nbytes is None else nbytes
    return {"dtype": dtype, "shape": list(shape), "offset": offset, "nbytes": size, **flags}


def checkpoint(root, tensors=(), body=b"\x00" * 64, header_size=CRAFTED_HEADER):
    return craft({"format": "gradspec-checkpoint", "root": root, "tensors": list(tensors)}, body, header_size)


def test_crafting_helper_makes_loadable_files():
    body = np.arange(4, dtype="<f4").tobytes()
    back = rt.load(io.BytesIO(checkpoint({"list": [{"tensor": 0}, 3, {"f": "0.5"}]}, [blob()], body)))
    assert back[0].tolist() == [0.0, 1.0, 2.0, 3.0] and back[1:] == [3, 0.5]


def test_every_reference_to_a_blob_shares_one_array():
    """A 1 MB file that refers to its blob 100,000 times loads one array (was: a copy per reference)."""
    body = np.ones(1 << 18, np.float32).tobytes()
    root = {"list": [{"tensor": 0}] * 50_000 + [{"ndarray": 1}] * 50_000}
    start = data_offset(2_000_000)
    tensors = [blob(shape=(1 << 18,), offset=start), blob(shape=(0,), offset=start + len(body))]
    raw = checkpoint(root, tensors, body, header_size=2_000_000)
    back = rt.load(io.BytesIO(raw))
    assert len(back) == 100_000
    assert len({id(t) for t in back[:50_000]}) == 1 and len({id(a) for a in back[50_000:]}) == 1
    assert back[0].numpy().sum() == 1 << 18


def test_two_tensors_may_not_share_or_overlap_bytes():
    body = np.ones(16, np.float32).tobytes()
    overlapping = [blob(shape=(16,)), blob(shape=(16,))]
    with pytest.raises(CheckpointError, match="tensor 1: its blob at byte .* overlaps the previous tensor's"):
        rt.load(io.BytesIO(checkpoint({"list": [{"tensor": 0}, {"tensor": 1}]}, overlapping, body)))


HOSTILE_TENSORS = {
    "dtype fetching a module": (blob(dtype="numpy"), "unknown dtype 'numpy'"),
    "dtype fetching builtins": (blob(dtype="__builtins__"), "unknown dtype '__builtins__'"),
    "dtype alias": (blob(dtype="float"), "unknown dtype 'float'"),
    "dtype object": (blob(dtype="object", nbytes=32), "unknown dtype 'object'"),
    "dtype not a string": (blob(dtype=["float32"]), "unknown dtype"),
    "negative dim": (blob(shape=(-1,), nbytes=4), r"shape \[-1\]"),
    "bool dim": (dict(blob(), shape=[True]), r"shape \[True\]"),
    "too many dims": (blob(shape=(1,) * 65), "at most 64 sizes"),
    "overflowing dims": (blob(shape=(2 ** 32, 2 ** 32), nbytes=0), "needs 73786976294838206464 bytes"),
    "size mismatch": (blob(shape=(4,), nbytes=8), "needs 16 bytes, but its blob is said to hold 8"),
    "blob in the header": (blob(offset=64), "at byte 64 would lie inside the header"),
    "negative offset": (blob(offset=-64), "at byte -64 would lie inside the header"),
    "blob past the end": (blob(shape=(1000,)), "runs past the end of the data"),
    "misaligned blob": (blob(offset=DATA + 4, shape=(1,)), "not 64-byte aligned"),
    "offset not an integer": (blob(offset=str(DATA)), "must be integers"),
    "offset a float": (blob(offset=float(DATA)), "bare number 4160.0"),
    "missing key": ({"dtype": "float32", "shape": [1]}, "not an object with the keys"),
    "extra key": (dict(blob(), code="os.system"), "not an object with the keys"),
    "not an object": ([1, 2], "described by list"),
    "int requiring grad": (blob(dtype="int64", shape=(1,), requires_grad=True), "only floating point"),
    "flag not a bool": (blob(parameter=1), "must be true or false"),
    "unknown device": (blob(device="tpu"), "names the device 'tpu'"),
    "bad device index": (blob(device="cuda:x"), "names the device 'cuda:x'"),
    "non-canonical bool bytes": (blob(dtype="bool", shape=(4,)), "bytes other than 0 and 1"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_TENSORS))
def test_hostile_tensor_tables_are_refused(case):
    meta, message = HOSTILE_TENSORS[case]
    body = bytes([0, 1, 2, 1]) + b"\x00" * 60
    with pytest.raises(CheckpointError, match=message):
        rt.load(io.BytesIO(checkpoint({"tensor": 0}, [meta], body)))


HOSTILE_VALUES = {
    "missing tensor": ({"tensor": 5}, "refers to tensor 5, but the file holds 1"),
    "negative tensor index": ({"tensor": -1}, "refers to tensor -1"),
    "bool tensor index": ({"ndarray": True}, "refers to tensor True"),
    "dtype fetching a module": ({"dtype": "np"}, "unknown dtype 'np'"),
    "dtype fetching a function": ({"dtype": "from_numpy"}, "unknown dtype 'from_numpy'"),
    "dtype fetching builtins": ({"dtype": "builtins"}, "unknown dtype 'builtins'"),
    "invalid base64": ({"bytes": "!!!!"}, "not canonical base64"),
    "non-canonical base64": ({"bytes": "QR=="}, "not canonical base64"),
    "base64 without padding": ({"bytes": "QQ"}, "not canonical base64"),
    "non-canonical float": ({"f": "1_0"}, "not written as Python's repr"),
    "float with spaces": ({"f": " 1.0"}, "not written as Python's repr"),
    "float not a string": ({"f": 1}, "not written as Python's repr"),
    "unknown tag": ({"pickle": "..."}, "unknown value tag 'pickle'"),
    "extra keys": ({"list": [], "x": 1}, "extra keys"),
    "empty object": ({}, "where a tagged value belongs"),
    "bare array": ([1, 2], "where a tagged value belongs"),
    "list not an array": ({"list": 3}, "not a JSON array"),
    "dict not pairs": ({"dict": [[1, 2, 3]]}, "not a JSON array of"),
    "unhashable key": ({"dict": [[{"list": []}, 1]]}, "a dict key is a list"),
    "repeated key": ({"dict": [["a", 1], ["a", 2]]}, "repeats the key a"),
    "bad device": ({"device": "cuda:0:1"}, "not cpu or cuda"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_VALUES))
def test_hostile_values_are_refused(case):
    root, message = HOSTILE_VALUES[case]
    with pytest.raises(CheckpointError, match=message):
        rt.load(io.BytesIO(checkpoint({"list": [root]}, [blob()])))


@pytest.mark.parametrize("depth", [150, 500, 100_000])
def test_deep_nesting_is_refused_without_recursing(depth):
    values = '{"list":[' * depth + "1" + "]}" * depth
    raw = craft(b'{"format":"gradspec-checkpoint","tensors":[],"root":' + values.encode() + b"}")
    with pytest.raises(CheckpointError, match="nests .* levels deep|values nest more than 100"):
        rt.load(io.BytesIO(raw))
    depth = max(depth, 400)
    json_only = craft(b"[" * depth + b"]" * depth)
    with pytest.raises(CheckpointError, match=f"nests {depth} levels deep"):
        rt.load(io.BytesIO(json_only))


def test_save_refuses_what_load_would_refuse_as_too_deep(tmp_path):
    nested = []
    for _ in range(100):
        nested = [nested]
    with pytest.raises(ValueError, match="nests more than 100 levels"):
        rt.save(nested, tmp_path / "deep")
    assert rt.load(io.BytesIO(_bytes_of(nested[0]))) == nested[0]


def _bytes_of(obj) -> bytes:
    buffer = io.BytesIO()
    rt.save(obj, buffer)
    return buffer.getvalue()


HOSTILE_HEADERS = {
    "bare float": (b'{"format":"gradspec-checkpoint","tensors":[],"root":1.5}', "bare number 1.5"),
    "NaN constant": (b'{"format":"gradspec-checkpoint","tensors":[],"root":NaN}', "bare number NaN"),
    "duplicate key": (b'{"format":"gradspec-checkpoint","tensors":[],"root":1,"root":2}', "repeats a key"),
    "huge integer": (b'{"format":"gradspec-checkpoint","tensors":[],"root":' + b"9" * 5000 + b"}", "unreadable"),
    "not UTF-8": (b'{"format":"gradspec-checkpoint","tensors":[],"root":"\xff"}', "unreadable header"),
    "extra key": (b'{"format":"gradspec-checkpoint","tensors":[],"root":1,"run":"x"}', "not a gradspec checkpoint"),
    "wrong format": (b'{"format":"other","tensors":[],"root":1}', "not a gradspec checkpoint header"),
    "tensors not a list": (b'{"format":"gradspec-checkpoint","tensors":{},"root":1}', "not a gradspec checkpoint"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_HEADERS))
def test_hostile_headers_are_refused(case):
    text, message = HOSTILE_HEADERS[case]
    with pytest.raises(CheckpointError, match=message):
        rt.load(io.BytesIO(craft(text)))


def test_header_length_past_the_end_is_refused():
    import struct
    import zlib

    from gradspec import serialization as s

    raw = struct.pack("<12sIQ", s.MAGIC, s.FORMAT_VERSION, 10 ** 9) + b"{}" + b"\x00" * 38
    raw += struct.pack("<8sQI", s.TRAILER, len(raw) + 20, zlib.crc32(raw))
    with pytest.raises(CheckpointError, match="header length .* runs past the end"):
        rt.load(io.BytesIO(raw))


def test_random_damage_to_a_valid_header_gives_only_checkpoint_errors():
    """Structural mutations of a real header, checksum recomputed: each loads or is a CheckpointError."""
    import json
    import random

    raw = _sample_checkpoint()
    header_len = int.from_bytes(raw[16:24], "little")
    header = json.loads(raw[24:24 + header_len])
    body = raw[24 + header_len + (-(24 + header_len) % 64):-20]
    junk = [-1, 0, 7, 2 ** 70, "", "x", "float32", None, True, [], {}, [1, 2], {"f": "x"}, {"tensor": 99},
            {"dict": [[1]]}, {"list": [[]]}, 1.5]
    rng = random.Random(0)
    outcomes = {"loaded": 0, "refused": 0}
    for _ in range(400):
        mutated = json.loads(json.dumps(header))
        node, key = mutated, None
        while True:  # walk down to a random leaf or container slot
            children = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
            if not children or rng.random() < 0.25:
                break
            key, child = rng.choice(children)
            if not isinstance(child, (dict, list)) or rng.random() < 0.3:
                node[key] = rng.choice(junk)
                break
            node = child
        text = json.dumps(mutated).encode()
        if len(text) > CRAFTED_HEADER:
            continue
        shift = DATA - (24 + header_len + (-(24 + header_len) % 64))  # blobs moved with the padded header
        for meta in mutated.get("tensors", []) if isinstance(mutated.get("tensors"), list) else []:
            if isinstance(meta, dict) and type(meta.get("offset")) is int:
                meta["offset"] += shift
        crafted = craft(mutated, body)
        try:
            rt.load(io.BytesIO(crafted))
            outcomes["loaded"] += 1
        except CheckpointError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 100 and outcomes["loaded"] > 10, outcomes


# ---- temp files left by killed saves ------------------------------------------------------------

STALLED_WRITER = """
import os, sys, time
import gradspec

def stall(fd):
    print("writing", flush=True)
    time.sleep(600)

os.fsync = stall
gradspec.save({"w": gradspec.ones(100_000)}, sys.argv[1])
"""


def _temp_files(folder):
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


@pytest.mark.skipif(os.name != "posix", reason="orphans are told by flock, which needs POSIX")
def test_orphan_of_a_killed_save_is_removed_by_the_next_save_but_a_live_one_is_not(tmp_path):
    import subprocess
    import sys

    lookalike = tmp_path / ".notes.gradspec-0123456789abcdef.tmp"  # named like ours, but not a checkpoint
    lookalike.write_bytes(b"someone else's data")
    writer = subprocess.Popen([sys.executable, "-c", STALLED_WRITER, str(tmp_path / "ckpt")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline() == "writing\n"
        (pending,) = set(_temp_files(tmp_path)) - {lookalike.name}
        rt.save({"other": 1}, tmp_path / "other.ckpt")
        assert pending in _temp_files(tmp_path), "the live writer's temp file was removed"
    finally:
        writer.kill()
        writer.wait()
    assert pending in _temp_files(tmp_path)  # the killed save's orphan...
    rt.save({"other": 2}, tmp_path / "other.ckpt")
    assert _temp_files(tmp_path) == [lookalike.name]  # ...is gone after the next save into the folder
    assert rt.load(tmp_path / "other.ckpt") == {"other": 2} and not (tmp_path / "ckpt").exists()


@pytest.mark.skipif(os.name != "posix", reason="orphans are told by flock, which needs POSIX")
def test_a_cleaner_racing_the_writer_before_its_lock_cannot_lose_the_save(tmp_path, monkeypatch):
    """A cleaner may take a brand-new temp file (not yet locked) for an orphan and remove it: the
    writer notices once it holds the lock and starts over under another name."""
    from gradspec import atomic_write

    real_flock, raced = atomic_write.fcntl.flock, []

    def flock_after_a_cleaner(fd, operation):
        if not raced:
            raced.append(True)
            (name,) = _temp_files(tmp_path)
            os.unlink(tmp_path / name)
        return real_flock(fd, operation)

    monkeypatch.setattr(atomic_write.fcntl, "flock", flock_after_a_cleaner)
    rt.save({"w": rt.arange(3.0)}, tmp_path / "ckpt")
    monkeypatch.undo()
    assert raced and rt.load(tmp_path / "ckpt")["w"].tolist() == [0.0, 1.0, 2.0]
    assert os.listdir(tmp_path) == ["ckpt"]


def test_save_errors_name_the_target_not_the_temp_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"cannot save to '{tmp_path}/missing/ckpt'") as error:
        rt.save({"a": 1}, tmp_path / "missing" / "ckpt")
    assert ".tmp" not in str(error.value)
    with pytest.raises(IsADirectoryError, match=f"{tmp_path}"):
        rt.save({"a": 1}, tmp_path)
