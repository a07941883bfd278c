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


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"])
def test_tensor_dtypes_roundtrip(tmp_path, dtype):
    data = (np.arange(24).reshape(2, 3, 4) % 5).astype(dtype)
    back = roundtrip({"t": rt.tensor(data), "scalar": rt.tensor(data.reshape(-1)[3]), "empty": rt.tensor(data[:0])},
                     tmp_path)
    assert back["t"].dtype == getattr(rt, dtype) and back["t"].shape == rt.Size([2, 3, 4])
    np.testing.assert_array_equal(back["t"].numpy(), data)
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


def test_unsupported_objects_are_refused_and_nothing_is_written(tmp_path):
    path = tmp_path / "ckpt"
    rt.save({"ok": 1}, path)
    with pytest.raises(TypeError, match=r"cannot store an object of type .*set.* at obj\['bad'\]"):
        rt.save({"bad": {1, 2}}, path)
    with pytest.raises(TypeError, match="nothing is pickled"):
        rt.save({"fn": lambda: 0}, path)
    with pytest.raises(TypeError, match="namedtuple"):
        from collections import namedtuple

        rt.save(namedtuple("P", "x")(1), path)
    assert rt.load(path) == {"ok": 1}  # the old checkpoint is untouched
    assert os.listdir(tmp_path) == ["ckpt"]  # and no temporary file is left


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
        "zip": (b"PK\x03\x04" + b"\x00" * 100, "torch.save"),
    }
    for name, (content, reason) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(CheckpointError, match=reason):
            rt.load(path)
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        rt.load(tmp_path / "empty")


def test_torch_save_files_are_refused_not_unpickled(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pth"
    torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    with pytest.raises(CheckpointError, match="zip archive"):
        rt.load(path)


def test_loading_never_runs_code(tmp_path):
    class Boom:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(TypeError):
        rt.save({"x": Boom()}, tmp_path / "x")
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
