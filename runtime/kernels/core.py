"""Kernels of element-wise functions, layout and shape ops, matmul and simple losses."""

from __future__ import annotations

import builtins
import math

import numpy as np

from .. import backends
from ..backends import array_module, to_device
from ..dtypes import (ALL_TYPES, INTEGRAL_AND_BOOL, check_kernel_dtype, checked_number, promote, result_type,
                      scalar_type_name)
from ..shapes import broadcast_error, wrap_dim


def _dims(dim, ndim: int, op: str, in_order: bool = False) -> tuple[int, ...] | None:
    """torch's dim list: None or empty means every dim. A repeated dim is refused after every dim's
    range was checked (sum, amax, ...), or at the first repeat when `in_order` (var, std, vector_norm),
    as torch's."""
    if dim is None or len(dim) == 0:
        return None
    if not in_order:
        for d in dim:
            wrap_dim(d, ndim, op)
    wrapped: list[int] = []
    for d in dim:
        d = wrap_dim(d, ndim, op)
        if d in wrapped:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        wrapped.append(d)
    return tuple(wrapped) if ndim else ()  # a 0-d tensor's dim 0 (or -1) is the tensor itself: nothing to reduce


def _reduce_dtype(self, dtype):
    """torch sums bool and integer tensors as int64 unless a dtype is given."""
    if dtype is None and self.dtype.kind in "biu":
        return array_module(self).int64
    return dtype


def zeros_like(self):
    return array_module(self).zeros_like(self)


def fill(self, value):
    if not hasattr(value, "dtype"):
        value = checked_number(value, self.dtype)
    return array_module(self).full(self.shape, value, dtype=self.dtype)


def new_zeros(like, shape):
    return array_module(like).zeros(tuple(shape), like.dtype)


# ---- element-wise, where torch refuses some dtypes or departs from numpy -----------------------

NEGATION_OF_BOOL = ("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a "
                    "mask, use the `~` or `logical_not()` operator instead.")
SUBTRACTION_OF_BOOLS = ("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                        "`logical_xor()` operator instead.")
SUBTRACTION_OF_BOOL = ("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
                       "invert a mask, use the `~` or `logical_not()` operator instead.")


def _is_bool(value) -> bool:
    return isinstance(value, (builtins.bool, np.bool_)) or getattr(value, "dtype", None) == np.bool_


def neg(self):
    if self.dtype == np.bool_:
        raise RuntimeError(NEGATION_OF_BOOL)
    return -self


def _check_broadcast(*operands) -> None:
    """Shapes first, as torch's TensorIterator: operands that do not broadcast are refused before
    any dtype is."""
    arrays = [a for a in operands if hasattr(a, "shape")]
    try:
        np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError as error:
        raise broadcast_error(error, *arrays) from None


def _alpha(alpha, target: np.dtype):
    """alpha as torch applies it in the result dtype: refused as a float for integral results,
    converted (wrapping) for integer ones, a truth value for bool ones."""
    if target.kind in "iub" and isinstance(alpha, (float, np.floating)):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    if target.kind == "b":
        return np.bool_(alpha)
    return np.asarray(alpha).astype(target)[()] if target.kind in "iu" else alpha


def add(self, other, alpha):
    if alpha == 1 and type(alpha) is int:  # the common case, as fast as numpy's +
        return self + other
    return self + _alpha(alpha, _result_dtype(self, other)) * other


def _result_dtype(*operands) -> np.dtype:
    return next(a.dtype for a in operands if hasattr(a, "dtype"))


def _refuse_bool_subtraction(a, b) -> None:
    """torch refuses bool operands of a subtraction, which numpy would treat as 0 and 1."""
    if _is_bool(a) or _is_bool(b):
        raise RuntimeError(SUBTRACTION_OF_BOOLS if _is_bool(a) and _is_bool(b) else SUBTRACTION_OF_BOOL)


def sub(self, other, alpha):
    """self - alpha * other in the operands' result dtype (promoted here, after the bool check, which
    must see the operands as given)."""
    _check_broadcast(self, other)
    _refuse_bool_subtraction(self, other)
    self, other = promote(self, other)
    if alpha == 1 and type(alpha) is int:
        return self - other
    return self - _alpha(alpha, _result_dtype(self, other)) * other


def rsub(self, other, alpha):
    """other - alpha * self, other a tensor or a number (`2.5 - x`)."""
    return sub(other, self, alpha)


def _bitwise(kernel: str, *operands) -> None:
    _check_broadcast(*operands)
    check_kernel_dtype(kernel, INTEGRAL_AND_BOOL, *(a for a in operands if hasattr(a, "dtype")))


def bitwise_and(self, other):
    _bitwise("bitwise_and_cpu", self, other)
    return self & other


def bitwise_or(self, other):
    _bitwise("bitwise_or_cpu", self, other)
    return self | other


def bitwise_xor(self, other):
    _bitwise("bitwise_xor_cpu", self, other)
    return self ^ other


def bitwise_not(self):
    _bitwise("bitwise_not_cpu", self)
    return ~self


def abs(self):  # noqa: A001 - torch's op name
    check_kernel_dtype("abs_cpu", ALL_TYPES, self)
    return array_module(self).abs(self)


def round_half_even(self, decimals=0):
    """Half to even, as torch's; integers are their own rounding (torch refuses decimals on them)."""
    if self.dtype.kind in "biu":
        if decimals:
            raise RuntimeError(f"round: decimals is only supported for floating inputs, got {self.dtype}")
        return self.copy()
    return array_module(self).round(self, decimals)


def sign(self):
    """torch's sign: bool is its own sign, and NaN's is 0 (numpy's is NaN)."""
    if self.dtype == np.bool_:
        return self.copy()
    xp = array_module(self)
    # a zero of self's dtype: numpy 1's where() makes a Python 0 an int64 array
    return xp.where(self != self, self.dtype.type(0), xp.sign(self)) if self.dtype.kind == "f" else xp.sign(self)


_BOOL = np.dtype(np.bool_)


def relu(self):
    if self.dtype is _BOOL:
        raise RuntimeError("Boolean inputs not supported for relu")
    return array_module(self).maximum(0, self)  # (0, self): self where they are equal, so -0.0 stays -0.0


# Unsigned integers as wide as each float: its bits times 0 or 1 are 0.0 or the float itself.
_SAME_WIDTH_BITS = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def threshold_backward(grad_output, self, threshold):
    """grad_output where self > threshold (or is NaN), else exactly 0, as torch's: not
    `grad * mask`, which gives NaN for an inf or NaN gradient and -0.0 for a negative one. numpy's
    where() takes 3-4 times a multiply (relu's backward in every step of an MLP), so on numpy the
    gradient's bits are multiplied by the mask as unsigned integers: the same result, bit for bit."""
    xp = array_module(grad_output)
    keep = xp.logical_not(self <= threshold)
    if xp is not np or type(grad_output) is not np.ndarray or grad_output.dtype.kind != "f":
        return xp.where(keep, grad_output, 0)
    bits = _SAME_WIDTH_BITS.get(grad_output.dtype.itemsize)
    if bits is None:  # long double
        return np.where(keep, grad_output, 0)
    return np.multiply(grad_output.view(bits), keep, dtype=bits).view(grad_output.dtype)


def pow_scalar_exponent(self, exponent):
    """self ** exponent in torch's result dtype (an int tensor to a float power is float32, a bool
    one to an int power int64); integers to negative integer powers are refused."""
    target = result_type((self, exponent))
    if target == np.bool_:  # a bool to a bool power: itself, or all True
        return self.copy() if exponent else array_module(self).ones_like(self)
    if target.kind in "iu" and exponent < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    base = self if self.dtype == target else self.astype(target)
    if exponent == -0.5 and target.kind == "f":  # torch's rsqrt (numpy's pow: 0 for -inf, inf for -0.0)
        return 1 / array_module(self).sqrt(base)
    if exponent in (3, -2) and target.kind == "f":  # products in torch's kernel, not pow (which rounds once)
        square = base * base
        if exponent == 3:
            return square * base
        with np.errstate(divide="ignore"):  # 1 / 0 is inf, silently, as torch's
            return 1 / square
    return base ** exponent


def pow_tensors(self, exponent):
    """self ** exponent over arrays already of one dtype (or a Python number for self). Integer
    powers follow torch where numpy refuses: a negative exponent gives 1 for base 1, +-1 for
    base -1 and 0 otherwise."""
    array = exponent if not hasattr(self, "dtype") else self
    _check_broadcast(self, exponent)
    check_kernel_dtype("pow", ALL_TYPES, array)
    if array.dtype.kind == "f":
        out = self ** exponent
        halves = exponent == 0.5  # numpy takes sqrt there: NaN at -inf and -0.0 at -0.0, torch's pow inf and 0
        if halves.any():
            base = array_module(array).asarray(self, dtype=array.dtype)  # (a number base keeps the dtype)
            out = array_module(array).where(halves & ((base == -math.inf) | (base == 0)), abs(base), out)
        return out
    if array.dtype.kind not in "iu" or not (exponent < 0).any():
        return self ** exponent
    xp = array_module(exponent)
    base = xp.asarray(self, dtype=array.dtype)
    negative = exponent < 0
    powers = base ** xp.where(negative, exponent.dtype.type(0), exponent)  # typed: numpy 1's where widens a 0
    odd = (exponent % 2) == 1
    reciprocal = xp.where(base == 1, 1, xp.where(base == -1, xp.where(odd, -1, 1), 0)).astype(array.dtype)
    return xp.where(negative, reciprocal, powers)


def pow_scalar_base(self, exponent):
    """number ** tensor: the number's kind raises the tensor's (2.5 ** int is float32, 2 ** int stays int)."""
    target = result_type((self, exponent))
    return pow_tensors(self, exponent if exponent.dtype == target else exponent.astype(target))


def _bound(value, dtype):
    """A clamp bound (Python number) converted to an integer tensor's dtype as torch converts it."""
    if value is None or dtype.kind not in "iu" or isinstance(value, builtins.bool) or hasattr(value, "dtype"):
        return value
    return checked_number(value, dtype)


def clamp(self, min, max):  # noqa: A002 - torch's argument names
    """torch.clamp over numbers or arrays of self's dtype: the result dtype promotes self with the
    bounds (int tensor clamped to 0.5 is float32); integer bounds convert to an integer self's dtype."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    target = result_type((self, min, max))
    if target == np.bool_ and not hasattr(min if min is not None else max, "dtype"):  # bool bounds of a tensor: fine
        which = "clamp" if min is not None and max is not None else "clamp_min" if min is not None else "clamp_max"
        check_kernel_dtype(f"{which}_scalar_cpu", ALL_TYPES, self)
    xp = array_module(self)
    out = self if self.dtype == target else self.astype(target)
    # the bound first: numpy's maximum and minimum return their second argument where the two are
    # equal, and torch's clamp keeps self unless it is strictly outside (clamp(-0.0, min=0) is -0.0)
    if min is not None:
        out = xp.maximum(_bound(min, target), out)
    if max is not None:
        out = xp.minimum(_bound(max, target), out)
    return out.astype(target, copy=False) if out is not self else out.copy()


def clamp_min(self, min):  # noqa: A002
    return clamp(self, min, None)


def clamp_max(self, max):  # noqa: A002
    return clamp(self, None, max)


def sigmoid(self):
    """1 / (1 + exp(-x)), torch's formula, in three passes; exp overflows to inf for very negative
    x, giving the exact 0 (numpy's overflow warning is silenced)."""
    xp = array_module(self)
    with np.errstate(over="ignore"):
        out = xp.asarray(xp.exp(-self))  # an array for a 0-d input too (numpy gives a scalar)
    out += 1
    return xp.reciprocal(out, out=out)


def tanh_backward(grad_output, self):
    """grad_output * (1 - output**2) with `1 - output**2` rounded once, as torch's kernels compute
    it (a fused multiply-add, `fma(-y, y, 1)`; float16 in float32 throughout), so that gradients
    computed by hand compare with autograd's as they do under torch. float16/float32 square and
    subtract in float64 (the square is exact there; rounding the difference twice differs from
    once only at an exact tie of float32); float64 adds back the rounding errors of the square
    (Dekker's split) and of the difference (Knuth's two-sum)."""
    output = self  # tanh's output
    xp = array_module(output)
    if output.dtype.kind != "f":
        return grad_output * (1 - output * output)
    if output.dtype.itemsize < 8:
        wide = output.astype(xp.float64)
        factor = (1 - wide * wide).astype(xp.float32)
        if output.dtype.itemsize == 4:
            return grad_output * factor
        return (grad_output.astype(xp.float32) * factor).astype(output.dtype)  # half: in float, as torch
    square = output * output
    split = output * 134217729.0  # 2**27 + 1: output = high + low, each with at most 26 bits
    high = split - (split - output)
    low = output - high
    error = ((high * high - square) + 2 * high * low) + low * low  # output**2 - square, exactly
    difference = 1 - square
    virtual = difference - 1  # Knuth's two-sum: (1 - square) - difference, exactly
    lost = (1 - (difference - virtual)) + (-square - virtual)
    return grad_output * (difference + (lost - error))


def sum_all(self, dtype):
    return array_module(self).sum(self, dtype=_reduce_dtype(self, dtype))


def sum_dims(self, dim, keepdim, dtype):
    axes = _dims(dim, self.ndim, "sum")
    return array_module(self).sum(self, axis=axes, keepdims=keepdim, dtype=_reduce_dtype(self, dtype))


def mean_all(self, dtype):
    _check_mean_dtype(self, dtype)
    if type(self) is np.ndarray and (dtype or self.dtype) in _DIRECT_MEAN:
        # numpy's mean is this sum and division behind several Python calls, which cost more
        # than the reduction itself on the small losses a training step ends with
        total = np.add.reduce(self, axis=None, dtype=dtype)
        return total / total.dtype.type(self.size) if self.size else total.dtype.type(np.nan)  # torch: nan, silently
    return array_module(self).mean(self, dtype=dtype)


_DIRECT_MEAN = (np.dtype(np.float32), np.dtype(np.float64))


def mean_dims(self, dim, keepdim, dtype):
    _check_mean_dtype(self, dtype)
    return array_module(self).mean(self, axis=_dims(dim, self.ndim, "mean"), keepdims=keepdim, dtype=dtype)


def _check_mean_dtype(self, dtype) -> None:
    if (dtype or self.dtype).kind not in "fc":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a floating point "
                           f"or complex dtype. Got: {str(self.dtype).capitalize()}")


# C++'s names of the element types, in torch's mm dtype message
_CPP_TYPE_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
                   "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
                   "bool": "bool"}


def _check_matmul_dtypes(self, other) -> None:
    """torch runs matmul as dot, mv, mm or bmm by rank: each wants one dtype (and none is built for
    bool), and each says so in its own words."""
    a, b = self.dtype, other.dtype
    if self.ndim == 1 and other.ndim == 1:
        route, bool_kernel = "dot", "dot"
    elif max(self.ndim, other.ndim) >= 3 and not _folds(self, other):
        route, bool_kernel = "bmm", "bmm"
    elif other.ndim == 1 or self.ndim == 1 and other.ndim >= 3:
        route, bool_kernel = "mv", "addmv_impl_cpu"
    else:
        route, bool_kernel = "mm", "addmm_impl_cpu_"
    if route == "bmm" and self.size and other.size and _batches_broadcast(self, other):
        check_kernel_dtype(bool_kernel, ALL_TYPES, self)  # bmm dispatches on self's dtype before comparing
    if a != b and (route != "bmm" or self.size and other.size):  # (torch's batched path returns an empty
        name_a, name_b = scalar_type_name(a), scalar_type_name(b)  # product unchecked, in other's dtype)
        raise RuntimeError({
            "dot": f"dot : expected both vectors to have same dtype, but found {name_a} and {name_b}",
            "mv": f"addmv input tensors must have the same dtype, but got {name_b}, {name_a}, and {name_b}",
            "mm": f"expected m1 and m2 to have the same dtype, but got: {_CPP_TYPE_NAMES[a.name]} != "
                  f"{_CPP_TYPE_NAMES[b.name]}",
            "bmm": f"expected scalar type {name_a} but found {name_b}",
        }[route])
    if self.size and other.size and (route != "bmm" or _batches_broadcast(self, other)):  # an empty product, or
        check_kernel_dtype(bool_kernel, ALL_TYPES, self)  # batches that do not broadcast, run no kernel


def _batches_broadcast(self, other) -> bool:
    try:
        np.broadcast_shapes(self.shape[:-2], other.shape[:-2])
    except ValueError:
        return False
    return True


def _folds(self, other) -> bool:
    """torch's matmul should_fold (without its requires_grad rule, which arrays do not know): an N-D
    operand (N >= 3) by a 1-D or 2-D one runs as one mm or mv where the N-D one (other's transpose,
    when it is other) views as a matrix without a copy; a 2-D self by an N-D other never does."""
    larger = self if self.ndim >= other.ndim else other.swapaxes(-1, -2)
    if min(self.ndim, other.ndim) > 2 or self.ndim == 2:
        return False
    if larger.size == 0:
        return True
    return all(larger.strides[i] == larger.strides[i + 1] * larger.shape[i + 1] for i in range(larger.ndim - 2))


def matmul(self, other):
    if self.ndim == 0 or other.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {self.ndim}D and "
                           f"{other.ndim}D")
    dtypes_to_check = self.dtype != other.dtype or self.dtype == np.bool_
    if self.dtype != other.dtype and self.ndim == other.ndim == 1:  # dot compares dtypes first; the
        _check_matmul_dtypes(self, other)  # rest (and dot's kernel for bool) come after the shapes
    inner_self = self.shape[-1]
    inner_other = other.shape[-2] if other.ndim > 1 else other.shape[0]
    if inner_self != inner_other:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_rows(self)}x{inner_self} and "
                           f"{inner_other}x{other.shape[-1] if other.ndim > 1 else 1})")
    if dtypes_to_check:
        _check_matmul_dtypes(self, other)
    backends.product_precision(self)
    if self.dtype != other.dtype:  # an empty batched product (any other raised above): torch's is in other's dtype
        return array_module(self).matmul(self, other).astype(other.dtype)
    if other.ndim == 2 and self.ndim > 2:  # (..., n, k) @ (k, m): one GEMM over all rows, as torch folds it
        rows = self.reshape(math.prod(self.shape[:-1]), inner_self)  # (not -1: inner_self may be 0)
        return array_module(self).matmul(rows, other).reshape(self.shape[:-1] + (other.shape[1],))
    return array_module(self).matmul(self, other)


def mm(self, mat2):
    if self.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    return matmul(self, mat2)


def bmm(self, mat2):
    if self.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if mat2.shape[:2] != (self.shape[0], self.shape[2]):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{self.shape[0]}, {self.shape[2]}] but got: [{mat2.shape[0]}, {mat2.shape[1]}].")
    return matmul(self, mat2)


def addmm(self, mat1, mat2, beta, alpha):
    product = matmul(mat1, mat2)
    product = product if alpha == 1 else product * alpha
    bias = self if beta == 1 else self * beta
    if bias.dtype == product.dtype and bias.ndim <= 2 and bias.shape == product.shape[-bias.ndim:]:
        product += bias  # the product is a fresh array: the bias goes in without another allocation
        return product
    return product + bias


def dot(self, tensor):
    if self.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and {tensor.ndim}D tensors")
    if self.dtype != tensor.dtype or self.dtype == np.bool_:
        _check_matmul_dtypes(self, tensor)
    if self.shape != tensor.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{self.shape[0]}] and src "
                           f"[{tensor.shape[0]}] to have the same number of elements, but got "
                           f"{self.shape[0]} and {tensor.shape[0]} elements respectively")
    return array_module(self).dot(self, tensor)


def _rows(array) -> int:
    return math.prod(array.shape[:-1]) if array.ndim > 1 else 1


def _infer_size(size, numel: int) -> tuple[int, ...]:
    size = tuple(size)
    if size.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = math.prod(s for s in size if s != -1)
    if -1 in size:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(size)}' is invalid for input of size {numel}")
        size = tuple(numel // known if s == -1 else s for s in size)
    if math.prod(size) != numel:
        raise RuntimeError(f"shape '{list(size)}' is invalid for input of size {numel}")
    return size


def view(self, size):
    """A view sharing storage; torch's error where no view of these strides exists."""
    shape = _infer_size(size, self.size)
    out = self.reshape(shape)
    # reshape copies where no view of these strides exists (numpy deprecates assigning .shape, and
    # reshape's copy=False is numpy >= 2.1 only): a result not on self's memory is such a copy
    if out.size and out.base is not (self if self.base is None else self.base):
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                           "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
    return out


def reshape(self, size):
    return self.reshape(_infer_size(size, self.size))


def t(self):
    if self.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
    return self.T


def transpose(self, dim0, dim1):
    dim0, dim1 = wrap_dim(dim0, self.ndim), wrap_dim(dim1, self.ndim)
    return array_module(self).swapaxes(self, dim0, dim1) if self.ndim else self[...]


def alias(self):
    """A view of all of self (x[...]), as torch's alias."""
    return self[...]


def permute(self, dims):
    if len(dims) != self.ndim:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {self.ndim} is not "
                           f"equal to len(dims) = {len(dims)}")
    axes = []
    for d in dims:
        d = wrap_dim(d, self.ndim)
        if d in axes:
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        axes.append(d)
    return array_module(self).transpose(self, tuple(axes))


def expand(self, size, implicit):
    size = tuple(size)
    if len(size) < self.ndim:
        raise RuntimeError(f"expand: the number of sizes provided ({len(size)}) must be greater or equal to the "
                           f"number of dimensions in the tensor ({self.ndim})")
    lead = len(size) - self.ndim
    target = tuple(self.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(size)) \
        if -1 in size else size
    for i, s in enumerate(self.shape):
        if s != 1 and s != target[lead + i]:
            raise RuntimeError(f"The expanded size of the tensor ({target[lead + i]}) must match the existing size "
                               f"({s}) at non-singleton dimension {lead + i}.  Target sizes: {list(size)}.  "
                               f"Tensor sizes: {list(self.shape)}")
    xp = array_module(self)
    if xp is not np or not self.flags.c_contiguous:
        return xp.broadcast_to(self, target)
    # the same read-only view as broadcast_to, built directly (broadcast_to costs microseconds), with
    # torch's strides: 0 where a dim is expanded, else as the input's (a new size-1 dim's as if
    # it were contiguous; every dim's 0 for a 0-d input), which torch's overlap checks compare
    strides = [0 if size != want else stride for size, want, stride in zip(self.shape, target[lead:], self.strides)]
    for i in reversed(range(lead)):  # new dims
        strides.insert(0, 0 if target[i] != 1 else target[i + 1] * strides[0] if i + 1 < len(target) else 0)
    view = np.ndarray(target, self.dtype, self, 0, tuple(strides))
    view.flags.writeable = False
    return view


def clone(self):
    """A copy in torch's preserve_format: a dense layout is kept (numpy's order K); an overlapping
    one (expanded) gets torch's infer_dense_strides, which leaves a dim of stride 0 where it is,
    where numpy's K would make it the innermost."""
    xp = array_module(self)
    if 0 not in self.strides or self.size == 0:
        return xp.array(self, copy=True)
    order = _dense_order(self.shape, self.strides)
    in_memory = xp.empty(tuple(self.shape[d] for d in order), self.dtype)
    out = in_memory.transpose(tuple(order.index(d) for d in range(len(order))))
    out[...] = self
    return out


def _dense_order(shape, strides) -> list[int]:
    """torch's infer_dense_strides' permutation, outermost dim first: an insertion sort by stride
    (then size) in which a stride of 0 compares with nothing."""
    def should_swap(a, b) -> int:
        if strides[a] == 0 or strides[b] == 0:
            return 0
        if strides[a] != strides[b]:
            return 1 if strides[a] > strides[b] else -1
        return 1 if shape[a] > shape[b] else 0

    perm = list(reversed(range(len(shape))))  # innermost first
    for i in range(1, len(perm)):
        moving = i
        for j in reversed(range(i)):
            comparison = should_swap(perm[j], perm[moving])
            if comparison > 0:
                perm[j], perm[moving] = perm[moving], perm[j]
                moving = j
            elif comparison < 0:
                break
    return perm[::-1]


def unsqueeze(self, dim):
    return array_module(self).expand_dims(self, wrap_dim(dim, self.ndim + 1))


def squeeze_all(self):
    return self.reshape(tuple(s for s in self.shape if s != 1))


def squeeze(self, dim):
    dim = wrap_dim(dim, self.ndim)
    if self.ndim == 0:
        return self
    return self.squeeze(dim) if self.shape[dim] == 1 else self


def _index_at(dim: int, ndim: int, item) -> tuple:
    return (builtins.slice(None),) * wrap_dim(dim, ndim) + (item,)


def select(self, dim, index):
    size = self.shape[wrap_dim(dim, self.ndim)] if self.ndim else 0
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(self.shape)} at "
                         f"dimension {dim}")
    return self[_index_at(dim, self.ndim, index) + (Ellipsis,)]  # `...`: a 0-d result is a view too


def slice(self, dim, start, end, step):  # noqa: A001 - torch's op name
    if step <= 0:  # Python's message for 0, torch's for negative steps
        raise ValueError("slice step cannot be zero" if step == 0 else "step must be greater than zero")
    return self[_index_at(dim, self.ndim, builtins.slice(start, end, step))]


def select_backward(grad_output, input_sizes, dim, index):
    out = array_module(grad_output).zeros(input_sizes, grad_output.dtype)
    out[_index_at(dim, len(input_sizes), index)] = grad_output
    return out


def slice_backward(grad_output, input_sizes, dim, start, end, step):
    out = array_module(grad_output).zeros(input_sizes, grad_output.dtype)
    out[_index_at(dim, len(input_sizes), builtins.slice(start, end, step))] = grad_output
    return out


def to_copy(self, dtype, device, non_blocking):
    out = self if device is None else to_device(self, device)
    if dtype is not None:
        out = out.astype(dtype, copy=out is self)
    return out.copy() if out is self else out


def binary_cross_entropy_with_logits(self, target, weight, pos_weight, reduction):
    """torch's stable form: (1 - t) x + (1 + (pw - 1) t) * (log1p(exp(-|x|)) + max(-x, 0))."""
    if target.shape != self.shape:
        raise ValueError(f"Target size ({list(target.shape)}) must be the same as input size ({list(self.shape)})")
    check_kernel_dtype("log_sigmoid_cpu", "f", self)
    if target.dtype.kind != "f":
        raise RuntimeError(f"result type {scalar_type_name(self.dtype)} can't be cast to the desired output type "
                           f"{scalar_type_name(target.dtype)}")
    xp = array_module(self)
    softplus_neg = xp.log1p(xp.exp(-xp.abs(self))) + xp.maximum(-self, 0)
    if pos_weight is None:
        loss = (1 - target) * self + softplus_neg
    else:
        loss = (1 - target) * self + (1 + (pos_weight - 1) * target) * softplus_neg
    if weight is not None:
        loss = loss * weight
    return reduce_loss(loss, reduction).astype(target.dtype, copy=False)  # torch's output takes target's dtype


def reduce_loss(loss, reduction: int):
    """at::Reduction: 0 none, 1 mean, 2 sum."""
    if reduction == 0:
        return loss
    xp = array_module(loss)
    return xp.mean(loss) if reduction == 1 else xp.sum(loss)


def tril(self, diagonal):
    return array_module(self).tril(self, diagonal)


def triu(self, diagonal):
    return array_module(self).triu(self, diagonal)
