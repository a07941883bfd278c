"""RNN, LSTM, GRU and their cells, with torch's parameter names, shapes, initialisation and results.

A layer runs as torch's CPU implementation does: the input's products with weight_ih for every
time step at once (one GEMM), then per step the hidden state's product with weight_hh (addmm)
and the cell's pointwise math, one spec node for LSTM and GRU (_lstm_cell, _gru_cell) and
tanh/relu of a sum for RNN. Padded and packed inputs share the loop: a padded batch is a packed
one whose steps all have every row. Per step the graph holds about three nodes; the precomputed
gates are handed out per step by one `_Steps` node whose backward concatenates, where slicing
would give each step a full-size gradient to add up.
"""

from __future__ import annotations

import math
import numbers
import warnings

from ... import factories
from ...autograd.function import Function
from ...generated import functions as ops
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


class _Steps(Function):
    """Consecutive row blocks of a tensor (one per time step) as separate tensors, in one node."""

    @staticmethod
    def forward(ctx, rows, sizes):
        ctx.sizes = sizes
        starts = [0]
        for size in sizes:
            starts.append(starts[-1] + size)
        return tuple(ops.slice(rows, 0, start, stop, 1) for start, stop in zip(starts, starts[1:]))

    @staticmethod
    def backward(ctx, *grads):
        return ops.cat(list(grads), 0), None


def _step(mode: str, input_gates, h, c, w_hh_t, b_hh, w_hr_t):
    """(h', c') of one step of `mode` (c' None but for LSTM) from the step's input gates."""
    hidden_gates = ops.mm(h, w_hh_t) if b_hh is None else ops.addmm(b_hh, h, w_hh_t)
    if mode == "LSTM":
        hy, cy = ops._lstm_cell(input_gates, hidden_gates, c)
        return (hy if w_hr_t is None else ops.mm(hy, w_hr_t)), cy
    if mode == "GRU":
        return ops._gru_cell(input_gates, hidden_gates, h), None
    summed = hidden_gates + input_gates
    return (ops.tanh(summed) if mode == "RNN_TANH" else ops.relu(summed)), None


def _run_direction(mode: str, seq, batch_sizes: list, h0, c0, weights: tuple, reverse: bool):
    """One layer in one direction: (output, h_n, c_n).

    seq: a padded batch (T, B, F), or packed rows (the steps' inputs stacked time step by time
    step, batch_sizes[t] rows for step t, non-increasing); the output is laid out alike, as torch
    makes it (stacked steps, StackBackward0; concatenated rows, CatBackward0). A row that has
    ended keeps its last state; running backwards, a row joins with its initial state at its
    last step."""
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    gates = F.linear(seq, w_ih, b_ih)
    if gates.ndim == 3:
        gates = gates.reshape(-1, gates.shape[-1])
    steps = _Steps.apply(gates, tuple(batch_sizes))
    w_hh_t = ops.t(w_hh).contiguous()  # row-major: each step's product is BLAS's faster NN case
    w_hr_t = None if w_hr is None else ops.t(w_hr)
    total = h0.shape[0]
    outputs = [None] * len(batch_sizes)
    finished = []  # (h, c) of rows that ended, latest last (forward direction)
    if reverse:
        active = batch_sizes[-1] if batch_sizes else total
        h = h0 if active == total else ops.slice(h0, 0, 0, active, 1)
        c = None if c0 is None else (c0 if active == total else ops.slice(c0, 0, 0, active, 1))
        order = range(len(batch_sizes) - 1, -1, -1)
    else:
        active, h, c = total, h0, c0
        order = range(len(batch_sizes))
    for t in order:
        size = batch_sizes[t]
        if size < active:  # forward: rows [size, active) ended at the previous step
            finished.append((ops.slice(h, 0, size, active, 1), None if c is None else ops.slice(c, 0, size, active, 1)))
            h = ops.slice(h, 0, 0, size, 1)
            c = None if c is None else ops.slice(c, 0, 0, size, 1)
        elif size > active:  # backward: rows [active, size) start here
            h = ops.cat([h, ops.slice(h0, 0, active, size, 1)], 0)
            c = None if c is None else ops.cat([c, ops.slice(c0, 0, active, size, 1)], 0)
        active = size
        h, c = _step(mode, steps[t], h, c, w_hh_t, b_hh, w_hr_t)
        outputs[t] = h
    if finished:
        h = ops.cat([h] + [f[0] for f in reversed(finished)], 0)
        c = None if c is None else ops.cat([c] + [f[1] for f in reversed(finished)], 0)
    return (ops.stack(outputs, 0) if seq.ndim == 3 else ops.cat(outputs, 0)), h, c


class RNNBase(Module):
    """The layers' shared machinery: parameters weight_ih_l{k}[_reverse], weight_hh_l{k}, bias_ih_l{k},
    bias_hh_l{k} (and weight_hr_l{k} with proj_size), each U(-1/sqrt(hidden), 1/sqrt(hidden))."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None) -> None:
        super().__init__()
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an element "
                             "being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                          stacklevel=2)
        for name, value, kind in (("bias", bias, bool), ("batch_first", batch_first, bool),
                                  ("input_size", input_size, int), ("hidden_size", hidden_size, int)):
            if not isinstance(value, kind):
                raise TypeError(f"{name} should be of type {kind.__name__}, got: {type(value).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else real_hidden * directions
                shapes = [("weight_ih_l{}{}", (gate_size, layer_input)), ("weight_hh_l{}{}", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih_l{}{}", (gate_size,)), ("bias_hh_l{}{}", (gate_size,))]
                if proj_size > 0:
                    shapes += [("weight_hr_l{}{}", (proj_size, hidden_size))]
                suffix = "_reverse" if direction == 1 else ""
                names = []
                for pattern, shape in shapes:
                    name = pattern.format(layer, suffix)
                    setattr(self, name, Parameter(factories.empty(shape, device=device, dtype=dtype)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """cuDNN's weight layout; nothing to do here."""

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    def _weights(self, layer: int, direction: int) -> tuple:
        suffix = "_reverse" if direction == 1 else ""

        def get(kind):
            return getattr(self, f"{kind}_l{layer}{suffix}", None)

        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), get("weight_hr")

    def _state_sizes(self) -> tuple[int, int]:
        """(the hidden state's width, the cell state's width)."""
        return (self.proj_size if self.proj_size > 0 else self.hidden_size), self.hidden_size

    def _check_input(self, input, batch_sizes) -> None:
        expected = 2 if batch_sizes is not None else 3
        if input.dim() != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {input.dim()}")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.shape[-1]}")

    def _check_hidden(self, hx, batch: int, width: int, what: str = "hidden") -> None:
        expected = [self.num_layers * (2 if self.bidirectional else 1), batch, width]
        if list(hx.shape) != expected:
            raise RuntimeError(f"Expected {what} size {tuple(expected)}, got {list(hx.shape)}")

    def _run(self, input, hx, cx):
        """(output, h_n, c_n) for a PackedSequence or a batch, with torch's argument handling."""
        packed = isinstance(input, PackedSequence)
        h_width, c_width = self._state_sizes()
        if packed:
            rows, batch_sizes = input.data, [int(n) for n in input.batch_sizes.tolist()]
            batch = batch_sizes[0]
            self._check_input(rows, batch_sizes)
            unbatched = False
        else:
            if input.dim() not in (2, 3):
                raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got {input.dim()}D instead")
            unbatched = input.dim() == 2
            if unbatched:
                input = ops.unsqueeze(input, 0 if self.batch_first else 1)
                hx = None if hx is None else ops.unsqueeze(hx, 1)
                cx = None if cx is None else ops.unsqueeze(cx, 1)
            self._check_input(input, None)
            if self.batch_first:
                input = ops.transpose(input, 0, 1)
            steps, batch = input.shape[0], input.shape[1]
            rows, batch_sizes = input, [batch] * steps
        directions = 2 if self.bidirectional else 1
        layers = self.num_layers * directions
        if hx is None:
            hx = factories.zeros((layers, batch, h_width), dtype=rows.dtype, device=rows.device)
        elif packed and input.sorted_indices is not None:
            hx = ops.index_select(hx, 1, input.sorted_indices)
        self._check_hidden(hx, batch, h_width)
        if self.mode == "LSTM":
            if cx is None:
                cx = factories.zeros((layers, batch, c_width), dtype=rows.dtype, device=rows.device)
            elif packed and input.sorted_indices is not None:
                cx = ops.index_select(cx, 1, input.sorted_indices)
            self._check_hidden(cx, batch, c_width, "cell")
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                out, h, c = _run_direction(self.mode, rows, batch_sizes, ops.select(hx, 0, index),
                                           None if cx is None else ops.select(cx, 0, index),
                                           self._weights(layer, direction), reverse=direction == 1)
                outputs.append(out)
                h_n.append(h)
                c_n.append(c)
            rows = outputs[0] if directions == 1 else ops.cat(outputs, rows.ndim - 1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                rows = F.dropout(rows, self.dropout, True)
        h_n = ops.stack(h_n, 0)
        c_n = ops.stack(c_n, 0) if self.mode == "LSTM" else None
        if packed:
            if input.unsorted_indices is not None:
                h_n = ops.index_select(h_n, 1, input.unsorted_indices)
                c_n = None if c_n is None else ops.index_select(c_n, 1, input.unsorted_indices)
            return PackedSequence(rows, input.batch_sizes, input.sorted_indices, input.unsorted_indices), h_n, c_n
        output = rows
        if self.batch_first:
            output = ops.transpose(output, 0, 1)
        if unbatched:
            output = ops.squeeze_dim(output, 0 if self.batch_first else 1)
            h_n = ops.squeeze_dim(h_n, 1)
            c_n = None if c_n is None else ops.squeeze_dim(c_n, 1)
        return output, h_n, c_n


class RNN(RNNBase):
    """An Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_(t-1) W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None) -> None:
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        output, h_n, _ = self._run(input, hx, None)
        return output, h_n


class LSTM(RNNBase):
    """Long short-term memory; returns (output, (h_n, c_n)). proj_size > 0 projects h by weight_hr."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        h0, c0 = (None, None) if hx is None else hx
        output, h_n, c_n = self._run(input, h0, c0)
        return output, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit; returns (output, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)

    def forward(self, input, hx=None):
        output, h_n, _ = self._run(input, hx, None)
        return output, h_n


# ---- cells ----------------------------------------------------------------------------------------

class RNNCellBase(Module):
    """weight_ih (chunks * hidden, input), weight_hh (chunks * hidden, hidden), bias_ih, bias_hh."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(factories.empty((num_chunks * hidden_size, input_size), device=device, dtype=dtype))
        self.weight_hh = Parameter(factories.empty((num_chunks * hidden_size, hidden_size), device=device,
                                                   dtype=dtype))
        if bias:
            self.bias_ih = Parameter(factories.empty(num_chunks * hidden_size, device=device, dtype=dtype))
            self.bias_hh = Parameter(factories.empty(num_chunks * hidden_size, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    reset_parameters = RNNBase.reset_parameters

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def _batched(self, input, states):
        """(input, states, whether batched): a 1-D input (and its states) gain a batch dim of 1;
        missing states are zeros."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        for state in states:
            if state is not None and state.dim() not in (1, 2):
                raise ValueError(f"{name}: Expected hidden to be 1D or 2D, got {state.dim()}D instead")
        batched = input.dim() == 2
        if not batched:
            input = ops.unsqueeze(input, 0)
        filled = []
        for state in states:
            if state is None:
                state = factories.zeros((input.shape[0], self.hidden_size), dtype=input.dtype, device=input.device)
            elif not batched:
                state = ops.unsqueeze(state, 0)
            filled.append(state)
        return input, filled, batched

    def _gates(self, input, hx):
        return F.linear(input, self.weight_ih, self.bias_ih), F.linear(hx, self.weight_hh, self.bias_hh)


def _unbatched(state, batched: bool):
    return state if batched else ops.squeeze_dim(state, 0)


class RNNCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh", device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        input, (hx,), batched = self._batched(input, (hx,))
        input_gates, hidden_gates = self._gates(input, hx)
        if self.nonlinearity == "tanh":
            hy = ops.tanh(hidden_gates + input_gates)
        elif self.nonlinearity == "relu":
            hy = ops.relu(hidden_gates + input_gates)
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return _unbatched(hy, batched)


class LSTMCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        input, (h, c), batched = self._batched(input, (None, None) if hx is None else hx)
        hy, cy = ops._lstm_cell(*self._gates(input, h), c)
        return _unbatched(hy, batched), _unbatched(cy, batched)


class GRUCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        input, (hx,), batched = self._batched(input, (hx,))
        return _unbatched(ops._gru_cell(*self._gates(input, hx), hx), batched)
