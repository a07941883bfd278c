"""default_collate and default_convert: torch's rules for turning a list of samples into a batch."""

from __future__ import annotations

import collections.abc
import re

import numpy as np

from ...backends import array_module
from ...tensor import Tensor, make_tensor
from .dataset import GatheredBatch

__all__ = ["default_collate", "default_convert"]

_np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)


def default_convert(data):
    """Numpy arrays (and numbers in them) become tensors, recursively; anything else is kept."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        if _np_str_obj_array_pattern.search(data.dtype.str) is not None:
            return data
        return make_tensor(data)
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        return make_tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(data[key]) for key in data}
        if type(data) is dict:
            return converted
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def _stack(arrays: list):
    xp = array_module(arrays[0])
    return make_tensor(xp.stack(arrays))


def default_collate(batch):
    """Stack tensors and numpy arrays along a new first dim; numbers become a 1-d tensor (float64
    for floats, int64 for ints); dicts, tuples and lists are collated field by field; strings stay
    a list. Tuples come back as lists, as in torch."""
    if isinstance(batch, GatheredBatch):
        return list(batch.columns)
    elem = batch[0]
    if isinstance(elem, Tensor):
        shape = elem._data.shape
        for i, b in enumerate(batch):
            if b._data.shape != shape:
                raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 "
                                   f"and {list(b._data.shape)} at entry {i}")
        return _stack([b._data for b in batch])
    if isinstance(elem, np.ndarray):
        if _np_str_obj_array_pattern.search(elem.dtype.str) is not None:
            raise TypeError(default_collate_err_msg_format.format(elem.dtype))
        return make_tensor(np.stack(batch))
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        return make_tensor(np.asarray(batch))
    if isinstance(elem, bool):
        return make_tensor(np.asarray(batch, dtype=np.bool_))
    if isinstance(elem, float):
        return make_tensor(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, int):
        return make_tensor(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        if type(elem) is dict:
            return collated
        try:
            return type(elem)(collated)
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        it = iter(batch)
        elem_size = len(next(it))
        if not all(len(e) == elem_size for e in it):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            return [default_collate(samples) for samples in transposed]
        try:
            return type(elem)([default_collate(samples) for samples in transposed])
        except TypeError:
            return [default_collate(samples) for samples in transposed]
    raise TypeError(default_collate_err_msg_format.format(type(elem)))
