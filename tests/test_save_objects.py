"""gradspec.save of whole objects (a model) and gradspec.load's weights_only, as torch's: save pickles
what gradspec's data format cannot hold (torch's zip format); load builds only data and the classes
and functions of `safe_globals` by default (a restricted unpickler), and runs Python's pickle only
when told `weights_only=False`. Compared with torch's behaviour on the same kind of model where
torch is installed."""

import io
import os

import numpy as np
import pytest

import gradspec as gs
from gradspec import nn
from gradspec.serialization import CheckpointError


class TinyNet(nn.Module):
    """A module of the test's own (pickled by reference, as a user's model class is)."""

    def __init__(self, activation=None):
        super().__init__()
        self.embed = nn.Embedding(5, 3)
        self.rnn = nn.LSTM(3, 4)
        self.out = nn.Linear(4, 2)
        self.activation = activation  # a function stored on the module (TransformerEncoderLayer's)
        self.register_buffer("scale", gs.full((2,), 0.5))

    def forward(self, tokens):
        hidden, _ = self.rnn(self.embed(tokens))
        out = self.out(hidden) * self.scale
        return out if self.activation is None else self.activation(out)


SAFE = [TinyNet, nn.Embedding, nn.LSTM, nn.Linear]


def _saved(obj) -> io.BytesIO:
    buffer = io.BytesIO()
    gs.save(obj, buffer)
    buffer.seek(0)
    return buffer


def test_a_whole_model_saves_and_loads_within_safe_globals():
    gs.manual_seed(0)
    model = TinyNet(gs.nn.functional.relu)
    tokens = gs.tensor([[1, 2], [3, 4], [0, 1]])
    raw = _saved(model).getvalue()
    assert raw[:4] == b"PK\x03\x04"  # torch's zip format, as torch.save writes a pickled model
    with pytest.raises(CheckpointError, match=r"refused the global .*TinyNet"):
        gs.load(io.BytesIO(raw))  # weights_only=True by default
    with gs.serialization.safe_globals(SAFE):
        with pytest.raises(CheckpointError, match=r"refused the global .*relu"):  # the stored function too
            gs.load(io.BytesIO(raw))
    assert gs.serialization.get_safe_globals() == []  # the block's globals are gone after it
    with gs.serialization.safe_globals([*SAFE, gs.nn.functional.relu]):
        back = gs.load(io.BytesIO(raw))
    assert type(back) is TinyNet and type(back.rnn) is nn.LSTM and back.activation is gs.nn.functional.relu
    assert isinstance(back.out.weight, nn.Parameter) and back.out.weight.requires_grad
    assert [n for n, _ in back.named_parameters()] == [n for n, _ in model.named_parameters()]
    np.testing.assert_array_equal(back(tokens).detach().numpy(), model(tokens).detach().numpy())
    back.rnn.flatten_parameters()
    trusted = gs.load(io.BytesIO(raw), weights_only=False)  # Python's pickle: for files one trusts
    np.testing.assert_array_equal(trusted(tokens).detach().numpy(), model(tokens).detach().numpy())


def test_add_safe_globals_lasts_until_cleared():
    raw = _saved(nn.Linear(2, 3)).getvalue()
    gs.serialization.add_safe_globals([nn.Linear])
    try:
        assert gs.serialization.get_safe_globals() == [nn.Linear]
        assert type(gs.load(io.BytesIO(raw))) is nn.Linear
    finally:
        gs.serialization.clear_safe_globals()
    with pytest.raises(CheckpointError, match="refused the global"):
        gs.load(io.BytesIO(raw))


def test_an_allowed_class_does_not_open_others(tmp_path):
    """NEWOBJ and REDUCE reach only the classes allowed; a pickle calling os.system is refused
    however many classes are allowed, and runs nothing."""
    marker = tmp_path / "ran"

    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    raw = _saved({"model": nn.Linear(2, 2), "boom": Boom()}).getvalue()
    with gs.serialization.safe_globals([nn.Linear]):
        with pytest.raises(CheckpointError, match=r"refused the global (posix|nt)\.system"):
            gs.load(io.BytesIO(raw))
    assert not marker.exists()


def test_state_dicts_stay_in_gradspecs_data_format():
    """Only what the data format cannot hold is pickled: checkpoints of state dicts are unchanged."""
    model = nn.Linear(2, 2)
    raw = _saved({"model": model.state_dict(), "step": 3}).getvalue()
    assert raw[:12] == gs.serialization.MAGIC


def test_whole_models_behave_as_torchs():
    """torch.save of a model, then torch.load: refused by default, loaded within safe_globals, and
    with weights_only=False, as here."""
    torch = pytest.importorskip("torch")
    buffer = io.BytesIO()
    torch.save(torch.nn.Linear(2, 3), buffer)
    with pytest.raises(Exception, match="Weights only load failed"):
        torch.load(io.BytesIO(buffer.getvalue()))
    with torch.serialization.safe_globals([torch.nn.Linear]):
        assert type(torch.load(io.BytesIO(buffer.getvalue()))) is torch.nn.Linear
    assert type(torch.load(io.BytesIO(buffer.getvalue()), weights_only=False)) is torch.nn.Linear
    with gs.serialization.safe_globals([nn.Linear]):
        assert type(gs.load(_saved(nn.Linear(2, 3)))) is nn.Linear
    assert type(gs.load(_saved(nn.Linear(2, 3)), weights_only=False)) is nn.Linear


def test_a_safe_global_may_be_given_with_its_name():
    """torch.serialization's (object, name) entries: the name is the one the file gives it."""
    raw = _saved(nn.Linear(2, 2)).getvalue()
    with gs.serialization.safe_globals([(nn.Linear, "oldpackage.layers.OldLinear")]):
        with pytest.raises(CheckpointError, match=r"refused the global .*Linear"):
            gs.load(io.BytesIO(raw))
    with gs.serialization.safe_globals([(nn.Linear, f"{nn.Linear.__module__}.{nn.Linear.__qualname__}")]):
        assert type(gs.load(io.BytesIO(raw))) is nn.Linear
