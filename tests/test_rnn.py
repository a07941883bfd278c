"""nn.RNN/LSTM/GRU, their cells and nn.utils.rnn against torch: parameter names, shapes and
initial values after manual_seed, outputs, final states and every gradient."""

import numpy as np
import pytest

import gradspec
from gradspec import nn

RNG = np.random.default_rng(0)


def _weights_for(out):
    """Fixed, uneven output weights, so that every output element gets its own gradient."""
    return np.cos(np.arange(out.numel())).reshape(tuple(out.shape)).astype(np.float32)


def _run(lib, make, x, lengths=None, batch_first=False, hidden=None, seed=0, train=False):
    lib.manual_seed(seed)
    module = make(lib)
    module.train(train)
    xt = lib.tensor(x, requires_grad=True)
    states = None if hidden is None else tuple(lib.tensor(h, requires_grad=True) for h in hidden)
    inp = xt if lengths is None else lib.nn.utils.rnn.pack_padded_sequence(xt, lengths, batch_first=batch_first,
                                                                          enforce_sorted=False)
    lib.manual_seed(seed + 1)  # the dropout masks
    if states is None:
        out, h = module(inp)
    else:
        out, h = module(inp, states if len(states) == 2 else states[0])
    if lengths is not None:
        out = lib.nn.utils.rnn.pad_packed_sequence(out, batch_first=batch_first)[0]
    finals = h if isinstance(h, tuple) else (h,)
    loss = (out * lib.tensor(_weights_for(out))).sum() + sum((f * f).sum() for f in finals)
    loss.backward()
    grads = [xt.grad] + [p.grad for p in module.parameters()] + ([s.grad for s in states] if states else [])
    return module, [out, *finals], grads


LAYERS = [
    ("LSTM", dict(input_size=3, hidden_size=4), (5, 2, 3), {}),
    ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True), (5, 2, 3), {}),
    ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2, batch_first=True, bias=False), (2, 5, 3), {}),
    ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True), (5, 3, 3),
     dict(lengths=[3, 5, 2])),
    ("LSTM", dict(input_size=3, hidden_size=4, bidirectional=True, batch_first=True, proj_size=2), (3, 5, 3),
     dict(lengths=[2, 5, 5], batch_first=True)),
    ("LSTM", dict(input_size=3, hidden_size=5, num_layers=2, proj_size=3), (4, 2, 3),
     dict(hidden=[(2, 2, 3), (2, 2, 5)])),
    ("LSTM", dict(input_size=3, hidden_size=4, num_layers=3, dropout=0.5), (5, 2, 3), dict(train=True)),
    ("LSTM", dict(input_size=3, hidden_size=4), (5, 3), {}),  # unbatched
    ("GRU", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True), (5, 2, 3), {}),
    ("GRU", dict(input_size=3, hidden_size=4, batch_first=True, bias=False), (2, 5, 3), dict(hidden=[(1, 2, 4)])),
    ("GRU", dict(input_size=3, hidden_size=4, num_layers=2), (5, 3, 3), dict(lengths=[4, 5, 1])),
    ("GRU", dict(input_size=3, hidden_size=4, num_layers=2, dropout=0.3), (5, 2, 3), dict(train=True)),
    ("RNN", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True), (5, 2, 3), {}),
    ("RNN", dict(input_size=3, hidden_size=4, nonlinearity="relu", batch_first=True), (2, 5, 3), {}),
    ("RNN", dict(input_size=3, hidden_size=4, bidirectional=True), (5, 3, 3), dict(lengths=[5, 2, 3])),
]


@pytest.mark.parametrize("name,kwargs,shape,options", LAYERS, ids=[f"{n}-{i}" for i, (n, *_) in enumerate(LAYERS)])
def test_layer_matches_torch(torch, name, kwargs, shape, options):
    options = dict(options)
    hidden = options.pop("hidden", None)
    x = RNG.standard_normal(shape).astype(np.float32)
    hidden = None if hidden is None else [RNG.standard_normal(s).astype(np.float32) for s in hidden]
    ours, outs_a, grads_a = _run(gradspec, lambda lib: getattr(lib.nn, name)(**kwargs), x, hidden=hidden, **options)
    theirs, outs_b, grads_b = _run(torch, lambda lib: getattr(lib.nn, name)(**kwargs), x, hidden=hidden, **options)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
           [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert repr(ours) == repr(theirs)
    for a, b in zip(outs_a + grads_a, outs_b + grads_b):
        assert a.shape == b.shape
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
def test_initial_parameters_equal_torchs_after_manual_seed(torch, name):
    kwargs = dict(input_size=3, hidden_size=5)
    if not name.endswith("Cell"):
        kwargs.update(num_layers=2, bidirectional=True)
    gradspec.manual_seed(7)
    torch.manual_seed(7)
    ours, theirs = getattr(nn, name)(**kwargs).state_dict(), getattr(torch.nn, name)(**kwargs).state_dict()
    assert list(ours) == list(theirs)
    for key in theirs:
        np.testing.assert_array_equal(ours[key].numpy(), theirs[key].numpy(), err_msg=key)


CELLS = [
    ("RNNCell", dict(input_size=3, hidden_size=4)),
    ("RNNCell", dict(input_size=3, hidden_size=4, nonlinearity="relu", bias=False)),
    ("LSTMCell", dict(input_size=3, hidden_size=4)),
    ("LSTMCell", dict(input_size=3, hidden_size=4, bias=False)),
    ("GRUCell", dict(input_size=3, hidden_size=4)),
]


@pytest.mark.parametrize("name,kwargs", CELLS, ids=[n for n, _ in CELLS])
@pytest.mark.parametrize("batched,given", [(True, True), (True, False), (False, True)])
def test_cell_matches_torch(torch, name, kwargs, batched, given):
    x = RNG.standard_normal((2, 3) if batched else (3,)).astype(np.float32)
    state_shape = (2, 4) if batched else (4,)
    states = [RNG.standard_normal(state_shape).astype(np.float32) for _ in range(2 if name == "LSTMCell" else 1)]
    results = []
    for lib in (gradspec, torch):
        lib.manual_seed(0)
        cell = getattr(lib.nn, name)(**kwargs)
        xt = lib.tensor(x, requires_grad=True)
        st = [lib.tensor(s, requires_grad=True) for s in states]
        out = cell(xt, (tuple(st) if name == "LSTMCell" else st[0]) if given else None)
        outs = out if isinstance(out, tuple) else (out,)
        sum(((o * lib.tensor(_weights_for(o))).sum() for o in outs)).backward()
        results.append([*outs, xt.grad, *[p.grad for p in cell.parameters()], *([s.grad for s in st] if given else [])])
        assert repr(cell) == f"{name}(3, 4{', bias=False' if kwargs.get('bias') is False else ''}" \
                             f"{', nonlinearity=relu' if kwargs.get('nonlinearity') == 'relu' else ''})"
    for a, b in zip(*results):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_rnn_backward_through_many_steps_reaches_the_input_once_per_step():
    """The per-step gates come from one _Steps node, not a slice per step."""
    lstm = nn.LSTM(2, 3)
    out, _ = lstm(gradspec.randn(6, 1, 2, requires_grad=True))
    names = set()
    stack = [out.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or type(node).__name__ in names:
            continue
        names.add(type(node).__name__)
        stack.extend(n for n, _ in node.next_functions)
    assert {"LstmCellBackward0", "_StepsBackward", "AddmmBackward0"} <= names
    assert "SliceBackward0" not in names


def test_errors_name_what_is_wrong():
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'"):
        nn.RNN(2, 3, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(2, 3, proj_size=3)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.GRU(2, 3, dropout=0.5)
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. Expected 2, got 4"):
        nn.LSTM(2, 3)(gradspec.randn(5, 1, 4))
    with pytest.raises(RuntimeError, match="Expected hidden size \\(1, 1, 3\\), got \\[1, 2, 3\\]"):
        nn.GRU(2, 3)(gradspec.randn(5, 1, 2), gradspec.zeros(1, 2, 3))
    with pytest.raises(ValueError, match="LSTMCell: Expected input to be 1D or 2D, got 3D instead"):
        nn.LSTMCell(2, 3)(gradspec.randn(1, 1, 2))


# ---- nn.utils.rnn -------------------------------------------------------------------------------

def _sequences(lib, lengths, width=2):
    return [lib.tensor(np.arange(n * width, dtype=np.float32).reshape(n, width) + 10 * n, requires_grad=True)
            for n in lengths]


@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [4, 3, 3, 1]), (False, [2, 4, 3, 4])])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_and_pad_match_torch(torch, enforce_sorted, lengths, batch_first):
    results = []
    for lib in (gradspec, torch):
        rnn = lib.nn.utils.rnn
        seqs = _sequences(lib, lengths)
        padded = rnn.pad_sequence(seqs, batch_first=batch_first, padding_value=-1.0)
        packed = rnn.pack_padded_sequence(padded, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
        again, again_lengths = rnn.pad_packed_sequence(packed, batch_first=batch_first, padding_value=-2.0,
                                                       total_length=6)
        (again * lib.tensor(_weights_for(again))).sum().backward()
        results.append([padded, packed.data, packed.batch_sizes, again, again_lengths, *[s.grad for s in seqs],
                        *(t for t in (packed.sorted_indices, packed.unsorted_indices) if t is not None)])
    for a, b in zip(*results):
        assert str(a.dtype) == str(b.dtype)
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_pack_sequence_unpack_and_padding_side(torch):
    for side in ("left", "right"):
        a = gradspec.nn.utils.rnn.pad_sequence(_sequences(gradspec, [1, 3]), padding_side=side)
        b = torch.nn.utils.rnn.pad_sequence(_sequences(torch, [1, 3]), padding_side=side)
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    packed = gradspec.nn.utils.rnn.pack_sequence(_sequences(gradspec, [2, 3, 1]), enforce_sorted=False)
    unpacked = gradspec.nn.utils.rnn.unpack_sequence(packed)
    assert [u.tolist() for u in unpacked] == [s.tolist() for s in _sequences(gradspec, [2, 3, 1])]
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        gradspec.nn.utils.rnn.pack_sequence(_sequences(gradspec, [2, 3]))
    with pytest.raises(ValueError, match="Expected total_length to be at least"):
        gradspec.nn.utils.rnn.pad_packed_sequence(packed, total_length=2)
