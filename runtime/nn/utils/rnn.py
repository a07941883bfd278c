"""torch.nn.utils.rnn: PackedSequence, and packing and padding batches of sequences of different lengths.

A PackedSequence holds the steps of a batch sorted by length (longest first) time step by time
step: `data` stacks the rows of step 0 of every sequence, then step 1 of those still running,
...; `batch_sizes[t]` says how many rows step t has. Packing gathers those rows from a padded
batch with one index_select, padding scatters them back with one index_backward, so either way
the graph has one node and a gradient flows through it to the padded tensor or the data.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ...generated import functions as F
from ...tensor import Tensor, make_tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence"]


class PackedSequence(namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """(data, batch_sizes, sorted_indices, unsorted_indices); made by pack_padded_sequence or pack_sequence."""

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> "PackedSequence":
        """The data converted (dtype, device); the indices follow the data's device."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        moved = [None if t is None else t.to(data.device) for t in (self.sorted_indices, self.unsorted_indices)]
        return type(self)(data, self.batch_sizes, *moved)

    def cpu(self) -> "PackedSequence":
        return self.to("cpu")

    def double(self) -> "PackedSequence":
        return self.to(dtype=self.data.double().dtype)

    def float(self) -> "PackedSequence":
        return self.to(dtype=self.data.float().dtype)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda


def invert_permutation(permutation):
    """The inverse of a permutation tensor (None for None)."""
    if permutation is None:
        return None
    order = np.asarray(permutation.tolist(), dtype=np.int64)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    return make_tensor(inverse).to(permutation.device)


def _lengths(lengths) -> np.ndarray:
    return np.asarray(lengths.tolist() if isinstance(lengths, Tensor) else lengths, dtype=np.int64).reshape(-1)


def _rows(batch_sizes: np.ndarray, steps: int, batch: int, batch_first: bool) -> np.ndarray:
    """Where each row of packed data sits in a padded batch flattened to (steps * batch, ...)."""
    rows = [t * batch + np.arange(size) if not batch_first else np.arange(size) * steps + t
            for t, size in enumerate(batch_sizes)]
    return np.concatenate(rows) if rows else np.zeros(0, np.int64)


def pack_padded_sequence(input, lengths, batch_first: bool = False, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) ((B, T, *) if batch_first) of sequences of the given lengths."""
    lengths = _lengths(lengths)
    batch_dim = 0 if batch_first else 1
    sorted_indices = None
    if enforce_sorted:
        if np.any(lengths[1:] > lengths[:-1]):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                               "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
                               "to sidestep this requirement if you do not need ONNX exportability.")
    else:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = make_tensor(order.astype(np.int64)).to(input.device)
        input = F.index_select(input, batch_dim, sorted_indices)
    if lengths.size and lengths.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' that "
                           "is <= 0")
    steps, batch = (input.shape[1], input.shape[0]) if batch_first else (input.shape[0], input.shape[1])
    if lengths.size != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {lengths.size} (batch_size="
                           f"{batch})")
    if lengths.size and lengths[0] > steps:
        raise RuntimeError(f"pack_padded_sequence: the longest length is {lengths[0]}, but the input has only "
                           f"{steps} time steps")
    batch_sizes = (lengths[None, :] > np.arange(lengths.max() if lengths.size else 0)[:, None]).sum(axis=1)
    flat = F.reshape(input, [steps * batch, *input.shape[2:]])
    rows = make_tensor(_rows(batch_sizes, steps, batch, batch_first)).to(input.device)
    data = F.index_select(flat, 0, rows)
    return PackedSequence(data, make_tensor(batch_sizes.astype(np.int64)), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None):
    """(padded batch, lengths): the inverse of pack_padded_sequence, in the original batch order."""
    batch_sizes = _lengths(sequence.batch_sizes)
    steps = batch_sizes.size
    if total_length is not None:
        if total_length < steps:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {steps}")
        steps = total_length
    batch = int(batch_sizes[0]) if batch_sizes.size else 0
    data = sequence.data
    rest = list(data.shape[1:])
    rows = _rows(batch_sizes, steps, batch, batch_first)
    padded = F.index_backward(data, [steps * batch, *rest], [make_tensor(rows).to(data.device)])
    if padding_value != 0:
        empty = np.ones((steps * batch,) + (1,) * len(rest), bool)
        empty[rows] = False
        padded = F.masked_fill_Scalar(padded, make_tensor(empty).to(data.device), padding_value)
    padded = F.reshape(padded, [batch, steps, *rest] if batch_first else [steps, batch, *rest])
    lengths = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1).astype(np.int64)
    if sequence.unsorted_indices is not None:
        order = sequence.unsorted_indices
        padded = F.index_select(padded, 0 if batch_first else 1, order)
        lengths = lengths[np.asarray(order.tolist(), dtype=np.int64)]
    return padded, make_tensor(lengths)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0, padding_side: str = "right"):
    """Stack sequences of shapes (L_i, *) into (L_max, B, *) ((B, L_max, *) if batch_first), padded."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if isinstance(sequences, Tensor):
        sequences = [F.select(sequences, 0, i) for i in range(sequences.shape[0])]
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        pad = [0, 0] * (s.ndim - 1) + ([0, missing] if padding_side == "right" else [missing, 0])
        padded.append(F.constant_pad_nd(s, pad, padding_value) if missing else s)
    return F.stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first: bool = False) -> list:
    """The sequences of a padded batch, each cut to its length (the padded tensor is left as it is;
    torch transposes it in place when batch_first is False)."""
    batch_dim = 0 if batch_first else 1
    return [F.slice(F.select(padded_sequences, batch_dim, i), 0, 0, int(n), 1)
            for i, n in enumerate(_lengths(lengths))]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences (L_i, *), longest first unless enforce_sorted is False."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
