"""Tensor factories: torch.tensor, zeros, ones, rand, randn, eye, arange, ... and *_like."""

from __future__ import annotations

import numpy as np

from . import dtypes, random
from .accelerator import get_default_device
from .backends import CPU, META, device, meta_array, to_device
from .backends import array_module as array_module_of
from .shapes import int_list
from .tensor import Tensor, make_tensor


def _finish(array, dtype, dev, requires_grad: bool) -> Tensor:
    if dtype is not None:
        array = array.astype(dtypes.to_numpy(dtype), copy=False)
    if dev is None:
        dev = get_default_device()
    if dev != CPU:
        array = to_device(array, device(dev))
    if requires_grad and array.dtype.kind != "f":
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
    return make_tensor(array, requires_grad)


def _on_meta(dev) -> bool:
    """Whether a factory makes a tensor without data: nothing allocated, no random numbers drawn
    (torch's meta factories)."""
    return (get_default_device() if dev is None else device(dev)).type == "meta"


def _meta(shape, dtype, requires_grad: bool) -> Tensor:
    return _finish(meta_array(shape, dtype), None, META, requires_grad)


def _size(size: tuple, op: str) -> tuple[int, ...]:
    """`zeros(2, 3)`, `zeros((2, 3))`, `zeros([2, 3])` and `zeros(torch.Size([2, 3]))` alike."""
    if len(size) == 1 and not isinstance(size[0], (int, np.integer)):
        size = size[0]
    return int_list(size, op, "size")


def _dtype_or_default(dtype) -> np.dtype:
    return dtypes.to_numpy(dtype) if dtype is not None else dtypes.get_default_dtype().numpy


# Factories build on the host and move the result: to_device puts it on the right GPU (cuda:N).


def tensor(data, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor copying `data`; Python floats give the default dtype, ints int64, bools bool."""
    if isinstance(data, Tensor):
        array = data._data.copy()
    else:
        array = np.array(data)
        if dtype is None and array.dtype.kind == "f" and not isinstance(data, np.ndarray):
            array = array.astype(dtypes.get_default_dtype().numpy)
        elif array.dtype.kind == "O" or array.dtype.kind == "U":
            raise TypeError(f"Could not infer dtype of {type(data).__name__}")
    return _finish(array, dtype, device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    if isinstance(data, np.ndarray) and dtype is None and device is None:
        return make_tensor(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """Shares memory with `array`, as torch.from_numpy does."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return make_tensor(array)


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    shape, numpy_dtype = _size(size, "zeros"), _dtype_or_default(dtype)
    if _on_meta(device):
        return _meta(shape, numpy_dtype, requires_grad)
    return _finish(np.zeros(shape, numpy_dtype), None, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    shape, numpy_dtype = _size(size, "ones"), _dtype_or_default(dtype)
    if _on_meta(device):
        return _meta(shape, numpy_dtype, requires_grad)
    return _finish(np.ones(shape, numpy_dtype), None, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    shape, numpy_dtype = _size(size, "empty"), _dtype_or_default(dtype)
    if _on_meta(device):
        return _meta(shape, numpy_dtype, requires_grad)
    return _finish(np.empty(shape, numpy_dtype), None, device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    if dtype is None:
        dtype = dtypes.bool if isinstance(fill_value, bool) else \
            dtypes.int64 if isinstance(fill_value, int) else dtypes.get_default_dtype()
    array = np.full(_size((size,), "full"), fill_value, dtypes.to_numpy(dtype))
    return _finish(array, None, device, requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _finish(np.eye(n, m, dtype=_dtype_or_default(dtype)), None, device, requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    if end is None:
        start, end = 0, start
    integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    numpy_dtype = dtypes.to_numpy(dtype) if dtype is not None else np.int64 if integral else _dtype_or_default(None)
    return _finish(np.arange(start, end, step, dtype=numpy_dtype), None, device, requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _finish(np.linspace(start, end, steps, dtype=_dtype_or_default(dtype)), None, device, requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    shape, numpy_dtype = _size(size, "rand"), _dtype_or_default(dtype)
    if _on_meta(device):
        return _meta(shape, numpy_dtype, requires_grad)
    return _finish(random.uniform(shape, numpy_dtype, generator=generator), None, device, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    shape, numpy_dtype = _size(size, "randn"), _dtype_or_default(dtype)
    if _on_meta(device):
        return _meta(shape, numpy_dtype, requires_grad)
    return _finish(random.normal(shape, numpy_dtype, generator=generator), None, device, requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """randint(high, size), randint(low, high, size), with size positional or a keyword."""
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=...)
        low, high = 0, low
    numpy_dtype = dtypes.to_numpy(dtype) if dtype is not None else np.dtype(np.int64)
    array = random.randint(low, high, int_list(size, "randint", "size"), numpy_dtype, generator=generator)
    return _finish(array, None, device, requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    numpy_dtype = dtypes.to_numpy(dtype) if dtype is not None else np.dtype(np.int64)
    return _finish(random.randperm(n, numpy_dtype, generator=generator), None, device, requires_grad)


def _like(factory):
    def like(input, *, dtype=None, device=None, requires_grad=False, **kwargs):
        data = input._data if isinstance(input, Tensor) else np.asarray(input)
        return factory(*data.shape, dtype=dtype or dtypes.from_numpy(data.dtype),
                       device=device or (input.device if isinstance(input, Tensor) else CPU),
                       requires_grad=requires_grad, **kwargs)

    like.__name__ = factory.__name__ + "_like"
    like.__doc__ = f"{factory.__name__} with the shape, dtype and device of `input`."
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)
rand_like = _like(rand)
randn_like = _like(randn)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return full(input.shape, fill_value, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)


def new_zeros(like: Tensor, shape) -> Tensor:
    """Zeros of `shape` with the dtype and device of `like` (Tensor.new_zeros)."""
    return make_tensor(array_module_of(like._data).zeros(tuple(shape), like._data.dtype))


def manual_seed(seed: int):
    return random.manual_seed(seed)


def get_rng_state() -> Tensor:
    """The default generator's state as a uint8 tensor (torch.get_rng_state's bytes)."""
    return make_tensor(random.default_generator.get_state())


def set_rng_state(new_state: Tensor) -> None:
    random.default_generator.set_state(new_state._data if isinstance(new_state, Tensor) else new_state)
