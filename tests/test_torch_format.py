"""Weights from torch: gradspec.load reads torch.save's zip and legacy formats without running pickle
code (a restricted unpickler), and gradspec.save(format="torch") writes what torch.load(weights_only=True)
reads. Files written by torch in the suite (skipped without torch), and crafted hostile pickles."""

import hashlib
import io
import os
import pickle
import struct
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import gradspec as gs
from gradspec import nn
from gradspec.serialization import CheckpointError


# ---- files written by torch ------------------------------------------------------------------------

def _torch_file(torch, obj, legacy=False) -> io.BytesIO:
    buffer = io.BytesIO()
    torch.save(obj, buffer, _use_new_zipfile_serialization=not legacy)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_state_dicts_written_by_torch_load_with_their_values_and_metadata(legacy):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    model(torch.randn(5, 3))
    state = model.state_dict()
    back = gs.load(_torch_file(torch, state, legacy))
    assert type(back) is OrderedDict and list(back) == list(state)
    assert back._metadata == state._metadata
    for key, value in state.items():
        assert str(back[key].dtype) == str(value.dtype), key
        np.testing.assert_array_equal(back[key].numpy(), value.numpy(), err_msg=key)
    ours = gs.nn.Sequential(gs.nn.Linear(3, 4), gs.nn.BatchNorm1d(4))
    ours.load_state_dict(back)
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    ours.eval(), model.eval()
    np.testing.assert_allclose(ours(gs.tensor(x)).detach().numpy(), model(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_every_dtype_and_plain_value_torch_writes(legacy):
    torch = pytest.importorskip("torch")
    tensors = {name: (torch.arange(6) % 3).reshape(2, 3).to(getattr(torch, name))
               for name in ("float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool")}
    obj = {"tensors": tensors, "param": torch.nn.Parameter(torch.ones(2)), "frozen": torch.nn.Parameter(
        torch.ones(1), requires_grad=False), "leaf": torch.zeros(2, requires_grad=True), "scalar": torch.tensor(2.5),
           "empty": torch.zeros(0, 3), "dtype": torch.float16, "device": torch.device("cpu"), "size": torch.Size([2, 3]),
           "bytes": b"\x00\xff", "no bytes": b"", "set": {1, 2}, "big": 2 ** 70, "float": 1.5, "none": None,
           "nested": [(1, "a"), {"k": [True, False]}]}
    back = gs.load(_torch_file(torch, obj, legacy))
    for name, value in tensors.items():
        assert str(back["tensors"][name].dtype) == str(value.dtype)
        np.testing.assert_array_equal(back["tensors"][name].numpy(), value.numpy())
    assert isinstance(back["param"], nn.Parameter) and back["param"].requires_grad
    assert isinstance(back["frozen"], nn.Parameter) and not back["frozen"].requires_grad
    assert back["leaf"].requires_grad and back["scalar"].item() == 2.5 and back["empty"].shape == gs.Size([0, 3])
    assert back["dtype"] is gs.float16 and back["device"] == gs.device("cpu") and back["size"] == gs.Size([2, 3])
    assert (back["bytes"], back["no bytes"], back["set"], back["big"], back["float"], back["none"]) == \
        (b"\x00\xff", b"", {1, 2}, 2 ** 70, 1.5, None)
    assert back["nested"] == [(1, "a"), {"k": [True, False]}]


def test_tensors_on_one_storage_stay_views_of_it_as_in_torch():
    torch = pytest.importorskip("torch")
    base = torch.arange(12.0).reshape(3, 4)
    back = gs.load(_torch_file(torch, {"base": base, "t": base.t(), "row": base[1], "col": base[:, 2]}))
    for key, value in {"t": base.t(), "row": base[1], "col": base[:, 2]}.items():
        np.testing.assert_array_equal(back[key].numpy(), value.numpy())
        assert np.shares_memory(back[key].numpy(), back["base"].numpy())
    back["base"][1, 2] = 100.0  # as in torch, a write shows through every view
    assert back["row"][2].item() == 100.0 and back["t"][2, 1].item() == 100.0


def test_optimizer_state_dict_from_torch():
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(1, 2)).sum().backward()
    opt.step()
    back = gs.load(_torch_file(torch, opt.state_dict()))
    assert back["param_groups"] == opt.state_dict()["param_groups"]
    np.testing.assert_array_equal(back["state"][0]["momentum_buffer"].numpy(),
                                  opt.state_dict()["state"][0]["momentum_buffer"].numpy())


def test_pickled_modules_and_numpy_arrays_are_refused_naming_the_global():
    torch = pytest.importorskip("torch")
    with pytest.raises(CheckpointError, match="refused the global torch.nn.modules.linear.Linear"):
        gs.load(_torch_file(torch, torch.nn.Linear(2, 2)))
    with pytest.raises(CheckpointError, match="refused the global numpy"):
        gs.load(_torch_file(torch, {"a": np.ones(2)}))
    with pytest.raises(CheckpointError, match="no bfloat16 dtype"):
        gs.load(_torch_file(torch, {"a": torch.ones(2, dtype=torch.bfloat16)}))


def test_gradspec_writes_what_torch_loads_with_weights_only(tmp_path):
    torch = pytest.importorskip("torch")
    gs.manual_seed(0)
    model = gs.nn.Sequential(gs.nn.Linear(3, 4), gs.nn.BatchNorm1d(4), gs.nn.Linear(4, 2))
    model(gs.randn(5, 3))
    obj = {"model": model.state_dict(), "param": gs.nn.Parameter(gs.ones(2)), "view": gs.arange(6).reshape(2, 3).t(),
           "values": (1, 2.5, "x", None, b"ab", b"", gs.float64, gs.device("cpu"), 2 ** 80, np.float32(0.5)),
           "empty": gs.zeros(0, 3), "scalar": gs.tensor(3.5), "flags": gs.tensor([True, False])}
    gs.save(obj, tmp_path / "w.pth", format="torch")
    theirs = torch.load(tmp_path / "w.pth", weights_only=True)
    mapped = torch.load(tmp_path / "w.pth", weights_only=True, mmap=True)  # storages are 64-byte aligned
    for key, value in obj["model"].items():
        np.testing.assert_array_equal(theirs["model"][key].numpy(), value.numpy(), err_msg=key)
        np.testing.assert_array_equal(mapped["model"][key].numpy(), value.numpy(), err_msg=key)
    assert theirs["model"]._metadata == dict(obj["model"]._metadata)
    assert isinstance(theirs["param"], torch.nn.Parameter) and theirs["param"].requires_grad
    np.testing.assert_array_equal(theirs["view"].numpy(), obj["view"].numpy())
    assert theirs["values"] == (1, 2.5, "x", None, b"ab", b"", torch.float64, torch.device("cpu"), 2 ** 80, 0.5)
    assert theirs["empty"].shape == (0, 3) and theirs["scalar"].item() == 3.5 and theirs["flags"].tolist() == [1, 0]
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2)).eval()
    net.load_state_dict(theirs["model"])
    model.eval()
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_allclose(net(torch.tensor(x)).detach().numpy(), model(gs.tensor(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-6)


def test_torch_format_roundtrip_without_torch(tmp_path):
    shared = gs.arange(4.0)
    obj = OrderedDict(a=shared, b=[shared, gs.nn.Parameter(gs.ones(2))], c={"x": (1, "y", None, 2.5, b"z")},
                      d=gs.tensor([[1, 2], [3, 4]], dtype=gs.int16).t(), e=gs.float32)
    gs.save(obj, tmp_path / "w.pth", format="torch")
    back = gs.load(tmp_path / "w.pth")
    assert list(back) == list(obj) and back["a"] is back["b"][0]
    np.testing.assert_array_equal(back["d"].numpy(), obj["d"].numpy())
    assert back["d"].dtype is gs.int16 and back["e"] is gs.float32 and back["c"] == obj["c"]
    assert isinstance(back["b"][1], nn.Parameter)
    with pytest.raises(TypeError, match="format='torch'.*cannot store an object of type set"):
        gs.save({"s": {1}}, tmp_path / "x.pth", format="torch")
    with pytest.raises(ValueError, match="format must be"):
        gs.save({}, tmp_path / "x.pth", format="pickle")


# ---- seed 002 from torchvision's weights file ---------------------------------------------------------

needs_conv = pytest.mark.skipif(not hasattr(gs.nn.functional, "conv2d"), reason="no convolution ops")


@needs_conv
def test_seed_002_starts_from_torchvisions_resnet18_weights_file(tmp_path, monkeypatch):
    """A resnet18 state dict written by torch under torchvision's key names, in torch.hub's cache as
    torchvision leaves it: resnet18(weights=ResNet18_Weights.DEFAULT) loads it (hash checked)."""
    torch = pytest.importorskip("torch")
    from gradspec.models import ResNet18_Weights, resnet, resnet18
    from tests.test_models import _torch_resnet18

    torch.manual_seed(0)
    theirs = _torch_resnet18(torch).eval()
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    buffer = _torch_file(torch, theirs.state_dict())
    name = f"resnet18-{hashlib.sha256(buffer.getvalue()).hexdigest()[:8]}.pth"
    (folder / name).write_bytes(buffer.getvalue())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setitem(resnet.WEIGHT_FILES, ("ResNet18_Weights", "IMAGENET1K_V1"), name)

    model = resnet18(weights=ResNet18_Weights.DEFAULT).eval()  # seed 002's line
    x = np.random.default_rng(0).random((1, 3, 64, 64), dtype=np.float32)
    with gs.no_grad():
        ours = model(gs.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-4)

    for param in model.parameters():  # seed 002's fine-tuning recipe
        param.requires_grad = False
    model.fc = nn.Linear(512, 10)
    optimizer = gs.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    conv1 = model.conv1.weight.detach().numpy().copy()
    gs.nn.functional.cross_entropy(model(gs.tensor(x)), gs.tensor([3])).backward()
    optimizer.step()
    np.testing.assert_array_equal(model.conv1.weight.detach().numpy(), conv1)

    raw = buffer.getvalue()
    (folder / name).write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    with pytest.raises(RuntimeError, match="invalid hash value"):
        resnet18(weights=ResNet18_Weights.DEFAULT)


# ---- crafted hostile pickles -------------------------------------------------------------------------

def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _str(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _int(n: int) -> bytes:
    if -(1 << 31) <= n < 1 << 31:
        return b"J" + struct.pack("<i", n)
    raw = n.to_bytes(16, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw  # LONG1


def _tuple(items) -> bytes:
    return b"(" + b"".join(_int(n) for n in items) + b"t"


def _storage(key="0", numel=4, kind="FloatStorage") -> bytes:
    return b"(" + _str("storage") + _global("torch", kind) + _str(key) + _str("cpu") + _int(numel) + b"tQ"


def _tensor(key="0", numel=4, size=(4,), stride=(1,), offset=0, kind="FloatStorage", requires_grad=False,
            storage=None) -> bytes:
    return (_global("torch._utils", "_rebuild_tensor_v2") + b"(" + (storage or _storage(key, numel, kind))
            + _int(offset) + _tuple(size) + _tuple(stride) + (b"\x88" if requires_grad else b"\x89")
            + _global("collections", "OrderedDict") + b")R" + b"tR")


def _dict(**values: bytes) -> bytes:
    return b"\x80\x02}(" + b"".join(_str(k) + v for k, v in values.items()) + b"u."


def torch_zip(data_pkl: bytes, records=None, compress=False) -> bytes:
    """A torch.save-style zip around a crafted data.pkl; `records`: {storage key: bytes}."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/byteorder", b"little")
        for key, data in (records if records is not None else {"0": bytes(16)}).items():
            archive.writestr(f"archive/data/{key}", data)
    return buffer.getvalue()


class Boom:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def _hostile_cases(marker):
    touch = f"touch {marker}"
    call_system = _global("os", "system") + b"(" + _str(touch) + b"tR."
    cases = {
        "os.system via GLOBAL and REDUCE": (call_system, "refused the global os.system"),
        "os.system inside a state dict": (_dict(w=_global("os", "system") + b"(" + _str(touch) + b"tR"),
                                          "refused the global os.system"),
        "eval": (_global("builtins", "eval") + b"(" + _str("1") + b"tR.", "refused the global builtins.eval"),
        "getattr": (_global("__builtin__", "getattr") + b".", "refused the global builtins.getattr"),
        "__import__ by STACK_GLOBAL": (b"\x80\x04" + _str("builtins") + _str("__import__") + b"\x93.",
                                       "refused the global builtins.__import__"),
        "subprocess.Popen": (_global("subprocess", "Popen") + b".", "refused the global subprocess.Popen"),
        "torch.load": (_global("torch", "load") + b".", "refused the global torch.load"),
        "INST": (b"(" + _str(touch) + b"ios\nsystem\n.", "refused the opcode INST"),
        "OBJ": (b"(" + _global("collections", "OrderedDict") + b"o.", "refused the opcode OBJ"),
        "NEWOBJ": (_global("collections", "OrderedDict") + b")\x81.", "refused the opcode NEWOBJ"),
        "EXT1": (b"\x82\x01.", "refused the opcode EXT1"),
        "REDUCE on a value": (_global("torch", "float32") + b")R.", "REDUCE calls torch.float32, which is not"),
        "REDUCE on a string": (_str("os.system") + b")R.", "REDUCE calls 'os.system', which is not"),
        "REDUCE args not a tuple": (_global("collections", "OrderedDict") + b"]R.", "arguments that are not a tuple"),
        "rebuild with no arguments": (_global("torch._utils", "_rebuild_tensor_v2") + b")R.",
                                      "_rebuild_tensor_v2 called with 0 arguments"),
        "BUILD on a tensor": (_tensor() + b"}" + _str("_data") + _str("x") + b"sb.", "BUILD .* on Tensor"),
        "BUILD an attribute on a state dict": (_global("collections", "OrderedDict") + b")R}" + _str("keys")
                                               + _str("x") + b"sb.", "BUILD .* on OrderedDict"),
        "APPEND to a dict": (b"}K\x01a.", "adds items to a dict, not a list"),
        "SETITEM into a tensor": (_tensor() + b"K\x01K\x02s.", "adds items to a Tensor"),
        "persistent id not a storage": (b"(" + _str("module") + b"K\x01tQ.", "only storages are loaded"),
        "nested persistent ids": (b"(" + _str("storage") + _global("torch", "FloatStorage") + _storage()
                                  + _str("cpu") + _int(4) + b"tQ.", "malformed storage record"),
        "storage type not a storage": (b"(" + _str("storage") + _global("torch", "float32") + _str("0") + _str("cpu")
                                       + _int(4) + b"tQ.", "not a torch storage class"),
        "unknown location": (b"(" + _str("storage") + _global("torch", "FloatStorage") + _str("0") + _str("mps")
                             + _int(4) + b"tQ.", "malformed storage record"),
        "huge storage": (_tensor(numel=10 ** 15, size=(1,)), "claims 4000000000000000 bytes, more than the file"),
        "huge tensor on a small storage": (_tensor(size=(10 ** 9, 10 ** 9), stride=(10 ** 9, 1)),
                                           "reaches element 999999999999999999 of storage '0', which has 4"),
        "negative size": (_tensor(size=(-1,)), r"size \(-1,\) is not a tuple of at most 64 integers >= 0"),
        "negative stride": (_tensor(size=(2,), stride=(-1,)), "stride .* is not a tuple"),
        "expanded tensor": (_tensor(size=(1000, 4), stride=(0, 1)), "overlaps itself"),
        "offset past the end": (_tensor(size=(0,), offset=100), "starts past the end of storage"),
        "size and stride differ in length": (_tensor(size=(2, 2), stride=(1,)), "a tensor with size"),
        "int tensor requires grad": (_tensor(kind="IntStorage", requires_grad=True), "only floating point"),
        "bfloat16": (_tensor(numel=8, kind="BFloat16Storage"), "no bfloat16 dtype"),
        "storage used as two dtypes": (b"(" + _tensor() + _tensor(kind="IntStorage") + b"l.", "used as both"),
        "missing storage record": (_tensor(key="7"), "has no record archive/data/7"),
        "record size mismatch": (_tensor(numel=2, size=(2,)), "holds 16 bytes, not 8 bytes"),
        "huge BINUNICODE": (b"X\xff\xff\xff\x7f.", "truncated: 2147483647 bytes needed"),
        "huge LONG4": (b"\x8b\xff\xff\xff\x7f.", "truncated: 2147483647 bytes needed"),
        "huge BINBYTES8": (b"\x8e" + struct.pack("<Q", 1 << 62) + b".", "truncated"),
        "memo entry never stored": (b"h\x05.", "memo entry 5, which it never stored"),
        "MARK never opened": (b"K\x011.", "closes a MARK it never opened"),
        "STACK_GLOBAL with non-strings": (b"K\x01K\x02\x93.", "STACK_GLOBAL with a module or name that is not"),
        "unknown opcode": (b"\xff.", "unknown opcode"),
        "protocol 6": (b"\x80\x06N.", "unsupported pickle protocol 6"),
        "no STOP": (b"\x80\x02N", "truncated"),
        "huge INT line": (b"I" + b"9" * 5000 + b"\n.", "Exceeds the limit"),
    }
    for protocol in (0, 2, 4, 5):
        cases[f"__reduce__ object, protocol {protocol}"] = (pickle.dumps(Boom(touch), protocol=protocol),
                                                           "refused the global (posix|os|nt).system")
    return cases


HOSTILE = sorted(_hostile_cases("MARKER"))


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_pickles_are_refused_and_run_nothing(case, tmp_path):
    marker = tmp_path / "pwned"
    data, message = _hostile_cases(marker)[case]
    path = tmp_path / "evil.pth"
    path.write_bytes(torch_zip(data))
    with pytest.raises(CheckpointError, match=message) as error:
        gs.load(path)
    assert str(error.value).startswith(f"'{path}' was not loaded: ")
    assert not marker.exists()


def test_every_tensor_on_one_storage_shares_it():
    """10,000 tensors on one 1 MB storage: one array, viewed 10,000 times (not 10 GB of copies)."""
    items = b"".join(_tensor(numel=1 << 18, size=(1 << 18,)) for _ in range(10_000))
    back = gs.load(io.BytesIO(torch_zip(b"\x80\x02(" + items + b"l.", {"0": bytes(1 << 20)})))
    assert len(back) == 10_000
    first = back[0].numpy()
    assert all(np.shares_memory(t.numpy(), first) for t in back[::997])


@pytest.mark.parametrize("case, records, message", [
    ("compressed record", None, "is compressed; torch.save stores records uncompressed"),
    ("no data.pkl", {}, "exactly one"),
    ("bool bytes", {"0": bytes([0, 1, 2, 1])}, "bool storage '0' holds bytes other than 0 and 1"),
])
def test_malformed_archives_are_refused(case, records, message):
    if case == "compressed record":
        raw = torch_zip(_tensor(), compress=True)
    elif case == "no data.pkl":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("archive/other.pkl", b"N.")
        raw = buffer.getvalue()
    else:
        raw = torch_zip(_tensor(kind="BoolStorage"), records)
    with pytest.raises(CheckpointError, match=message):
        gs.load(io.BytesIO(raw))


def test_random_damage_to_a_torch_file_gives_only_checkpoint_errors():
    buffer = io.BytesIO()
    gs.save({"w": gs.arange(12.0).reshape(3, 4), "b": [gs.ones(2), 3, "x"]}, buffer, format="torch")
    raw = buffer.getvalue()
    rng = np.random.default_rng(0)
    refused = 0
    for position, bit in zip(rng.integers(0, len(raw), 300), rng.integers(0, 8, 300)):
        damaged = bytearray(raw)
        damaged[position] ^= 1 << bit
        try:
            gs.load(io.BytesIO(bytes(damaged)))
        except CheckpointError:
            refused += 1
    assert refused > 100  # (the rest hit bytes nothing reads: zip timestamps, padding)
    for cut in range(0, len(raw), 7):
        with pytest.raises(CheckpointError):
            gs.load(io.BytesIO(raw[:cut] if cut else b"PK\x03\x04"))


# ---- the legacy format ---------------------------------------------------------------------------------

def _legacy(obj_pickle: bytes, keys=("0",), storages=(bytes(16),), numels=(4,)) -> bytes:
    head = (pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2)
            + pickle.dumps({"protocol_version": 1001, "little_endian": True, "type_sizes": {}}, protocol=2))
    body = b"".join(struct.pack("<q", n) + data for n, data in zip(numels, storages))
    return head + obj_pickle + pickle.dumps(list(keys), protocol=2) + body


def _legacy_tensor(**kwargs) -> bytes:
    storage = (b"(" + _str("storage") + _global("torch", "FloatStorage") + _str("0") + _str("cpu") + _int(4)
               + b"NtQ")
    return b"\x80\x02" + _tensor(storage=storage, **kwargs) + b"."


@pytest.mark.parametrize("raw, message", [
    (_legacy(_legacy_tensor()) + b"\x00", "1 bytes follow the last storage"),
    (_legacy(_legacy_tensor())[:-3], "storage '0' is truncated"),
    (_legacy(_legacy_tensor(), numels=(5,)), "size record does not match"),
    (_legacy(_legacy_tensor(), keys=("0", "1")), "does not match the storages its pickle uses"),
    (_legacy(b"\x80\x02" + _global("os", "system") + b"(" + _str("true") + b"tR."), "refused the global os.system"),
    (_legacy(b"\x80\x02(" + _str("storage") + _global("torch", "FloatStorage") + _str("0") + _str("cpu") + _int(4)
             + b"(" + _str("1") + _int(0) + _int(4) + b"ttQ."), "storage view"),
])
def test_hostile_legacy_files_are_refused(raw, message):
    assert gs.load(io.BytesIO(_legacy(_legacy_tensor()))).tolist() == [0.0] * 4
    with pytest.raises(CheckpointError, match=message):
        gs.load(io.BytesIO(raw))


def test_plain_pickles_are_still_refused():
    with pytest.raises(CheckpointError, match="looks like a Python pickle, not a torch.save file"):
        gs.load(io.BytesIO(pickle.dumps({"a": 1}, protocol=2)))
