"""Helpers named in derivatives.yaml formulas.

Each is written once over `ops`, a namespace with every op of the spec: the generated array
namespace (numpy/cupy arrays) for ordinary backward, or the generated Tensor namespace for
`create_graph=True`, where the helper's own ops are recorded and so differentiable again.
Arithmetic operators work on both arrays and Tensors.
"""

from __future__ import annotations

import math

from . import kernels
from .backends import array_module
from .dtypes import get_default_dtype
from .node import KnownZero
from .tensor import make_tensor

REDUCTION_NONE, REDUCTION_MEAN = 0, 1


def maybe_multiply(ops, x, alpha):
    return x if alpha == 1 else x * alpha


def sum_to(ops, x, shape):
    """Sum the broadcast dims of `x` away so that it has `shape`."""
    x_shape = _shape(x)
    lead = len(x_shape) - len(shape)
    if lead:  # leading dims go away; the rest keep their place
        x = ops.sum_dim_IntList(x, list(range(lead)), False)
    kept = [i for i, s in enumerate(shape) if s == 1 and x_shape[lead + i] != 1]
    return ops.sum_dim_IntList(x, kept, True) if kept else x


def sum_backward(ops, grad, shape, dim, keepdim):
    """Put the reduced dims back as size 1, then expand to the input's shape (a reduction over
    every dim needs no size-1 dims: expand adds leading ones)."""
    if not keepdim and len(shape) > 0 and dim is not None and len(dim) > 0:
        for d in sorted(_reduced_dims(dim, len(shape))):
            grad = ops.unsqueeze(grad, d)
    return ops.expand(grad, shape)


def mean_backward(ops, grad, shape, dim, keepdim):
    count = math.prod(shape) if dim is None else math.prod(shape[d] for d in _reduced_dims(dim, len(shape)))
    # divided after expanding, as torch: a gradient of its own (an expanded view is read-only)
    return sum_backward(ops, grad, shape, dim, keepdim) / count


def _reduced_dims(dim, ndim: int) -> list[int]:
    if dim is None or len(dim) == 0 or ndim == 0:  # a 0-d tensor's dim 0 is itself: none to restore
        return list(range(ndim))
    return [d % ndim for d in dim]


def pow_backward(ops, grad, self, exponent):
    if exponent == 0 and not isinstance(exponent, bool):  # torch's shortcut compares with 0.0: False misses it
        return ops.zeros_like(self)
    if exponent == 2:  # x ** 2, the common case (squares, MSE): no power op needed
        return grad * 2 * self
    # torch's order, and its pow (the kernel, which computes x ** -2 as 1 / (x * x)), so that a
    # gradient written by hand with the same ops compares exactly with autograd's, as under torch
    return grad * (exponent * ops.pow(self, exponent - 1))


def pow_backward_self(ops, grad, self, exponent):
    # ops.sub, not `-`: a bool exponent is refused by name, as torch's `exponent - 1`; grouped as
    # torch's, grad * (exponent * power): the inner product may overflow to inf, and 0 * inf is NaN
    return ops.where(exponent == 0, 0, grad * (exponent * self ** ops.sub(exponent, 1)))


def pow_backward_exponent(ops, grad, self, exponent, result):
    """d(self ** e)/de = result * log(self); torch makes it 0 where self == 0 and e >= 0."""
    if isinstance(self, (int, float)):
        if self == 0:  # grad outside the where, as torch's: a NaN gradient stays NaN
            return grad * ops.where(exponent >= 0, 0, result * -math.inf)
        return grad * result * math.log(self)
    if not _is_float(self):  # an integer base's log is in the default float dtype, as torch's (numpy's: float16)
        self = ops._to_copy(self, dtype=get_default_dtype())
    zero_base = ops.logical_and(self == 0, exponent >= 0)
    return grad * ops.where(zero_base, 0, result * ops.log(self))


def matmul_backward(ops, grad, self, other, mask):
    """Both gradients of matmul, those the mask asks for (for a spec that saves both operands)."""
    return (matmul_backward_self(ops, grad, _ndim(self), other) if mask[0] else None,
            matmul_backward_other(ops, grad, self, _ndim(other)) if mask[1] else None)


def matmul_backward_self(ops, grad, self_ndim, other):
    """grad @ other^T over every rank combination: 1-D operands are promoted to matrices, then the
    promoted dims are squeezed away; batch broadcasting is undone by the engine's sum to the input
    shape. It reads other alone, as torch's decomposition into mm/bmm saves no more."""
    if _ndim(other) == 1:
        grad, other = ops.unsqueeze(grad, -1), ops.unsqueeze(other, -1)
    if self_ndim == 1:
        grad = ops.unsqueeze(grad, -2)
    grad_self = ops.matmul(grad, ops.transpose(other, -1, -2))
    return ops.squeeze_dim(grad_self, -2) if self_ndim == 1 else grad_self


def matmul_backward_other(ops, grad, self, other_ndim):
    """self^T @ grad, as matmul_backward_self; it reads self alone."""
    if other_ndim == 1:
        grad = ops.unsqueeze(grad, -1)
    if _ndim(self) == 1:
        grad, self = ops.unsqueeze(grad, -2), ops.unsqueeze(self, 0)
    if other_ndim <= 2 and _ndim(self) > 2:
        # a matrix shared by a batch: one product over all rows, not one per batch then their sum
        rows = math.prod(_shape(self)[:-1])  # (not -1: an empty row would leave it ambiguous)
        grad_other = ops.mm(ops.t(ops.reshape(self, [rows, _shape(self)[-1]])),
                            ops.reshape(grad, [rows, _shape(grad)[-1]]))
    else:
        grad_other = ops.matmul(ops.transpose(self, -1, -2), grad)
    return ops.squeeze_dim(grad_other, -1) if other_ndim == 1 else grad_other


def mm_mat1_backward(ops, grad, mat2):
    """grad @ mat2^T. With mat2 row-major that is BLAS's "B transposed" product, which OpenBLAS
    runs up to 2x slower for a wide, short output (a batch of 64 against 512 features) than
    the same product transposed, (mat2 @ grad^T)^T; see docs/decisions.md. That result is
    column-major and is copied back to row-major, as torch lays this gradient out (hooks see
    no difference, consumers pay no strided pass); where the copy would cost more than the
    product saves, and in the differentiable form, the plain product is kept."""
    if not ops.DIFFERENTIABLE and transposed_product_pays(grad, mat2):
        return array_module(grad).ascontiguousarray(ops.t(ops.mm(mat2, ops.t(grad))))
    return ops.mm(grad, ops.t(mat2))


def transposed_product_pays(grad, mat2) -> bool:
    """mm_mat1_backward's rule, as measured by bench/bench_layout.py."""
    (rows, inner), columns = _shape(grad), _shape(mat2)[0]
    return rows <= 64 and columns >= 8 * rows and inner >= 128 and mat2.flags.c_contiguous


def mm_mat2_backward(ops, grad, mat1, mat2_shape, mat2_strides):
    """mat1^T @ grad, computed in mat2's memory order as torch does: for the usual
    `x @ weight.t()` (mat2 a transposed view) the result is (grad^T @ mat1)^T, whose transpose,
    the weight's gradient, is then contiguous and needs no copy. Only mat2's sizes and strides
    (in bytes, grad's item size each) are saved, as torch's: mat2 itself may change since."""
    itemsize = getattr(grad, "_data", grad).itemsize
    if mat2_strides[0] == itemsize and mat2_strides[1] >= max(1, mat2_shape[0]) * itemsize:  # torch's is_transposed
        return ops.t(ops.mm(ops.t(grad), mat1))
    return ops.mm(ops.t(mat1), grad)


def permute_backwards(ops, grad, dims):
    inverse = [0] * len(dims)
    for position, d in enumerate(dims):
        inverse[d % len(dims)] = position
    return ops.permute(grad, inverse)


def to_copy_backward(ops, grad, dtype, device):
    """The gradient in self's dtype, on its device. An integral self (written from a tensor that
    requires grad) is left the floating gradient, which the engine refuses as torch's does."""
    return ops._to_copy(grad, dtype=dtype if dtype.kind in "fc" else None, device=device)


def bce_with_logits_backward(ops, grad, self, target, weight, pos_weight, reduction):
    """d/dx of torch's binary_cross_entropy_with_logits."""
    if pos_weight is None:
        grad_input = ops.sigmoid(self) - target
    else:
        t = pos_weight * target
        grad_input = (t + 1 - target) * ops.sigmoid(self) - t
    return _scale_loss_grad(grad_input, grad, weight, reduction, _numel(self))


def bce_with_logits_target_backward(ops, grad, self, target, weight, pos_weight, reduction):
    if pos_weight is None:
        grad_target = -self
    else:
        # d/dt of (1 - t) x + (1 + (pw - 1) t) * softplus(-x), softplus(-x) = -log(sigmoid(x))
        grad_target = -self - (pos_weight - 1) * ops.log(ops.sigmoid(self))
    return _scale_loss_grad(grad_target, grad, weight, reduction, _numel(self))


def _scale_loss_grad(local, grad, weight, reduction, numel: int):
    if weight is not None:
        local = local * weight
    local = local * grad
    return local / numel if reduction == REDUCTION_MEAN else local


def _is_float(x) -> bool:
    dtype = x.dtype  # a numpy dtype, or gradspec's
    return dtype.kind == "f" if hasattr(dtype, "kind") else dtype.is_floating_point


def _shape(x) -> tuple:
    return tuple(x.shape)  # arrays and Tensors alike


def _ndim(x) -> int:
    return len(_shape(x))


def _numel(x) -> int:
    return math.prod(_shape(x))


# ---- element-wise ------------------------------------------------------------------------------

def zeros_like(ops, x):
    return ops.zeros_like(x)


def sgn_backward(ops, self, grad, result):
    """torch's for a real tensor: an efficient zero tensor, which the engine passes on without
    running the formulas it reaches (node.KnownZero). Under create_graph, ordinary zeros: torch's
    ZeroTensor gets a grad_fn from each recorded formula it meets, so those formulas run. (self and
    result are saved, unread, as torch's are: a second backward through the node is refused.)"""
    if ops.DIFFERENTIABLE:
        return ops.zeros_like(grad)
    return KnownZero(array_module(grad), grad.shape, grad.dtype)


def negated(ops, values):
    """An int list with every entry negated (roll back, crop what padding added)."""
    return [-v for v in values]


def clamp_backward(ops, grad, self, min, max):  # noqa: A002 - torch's names
    """The gradient flows where min <= self <= max (inclusive bounds, as torch)."""
    inside = None
    if min is not None:
        inside = self >= min
    if max is not None:
        inside = self <= max if inside is None else ops.logical_and(inside, self <= max)
    return ops.where(inside, grad, 0)


def gelu_double_backward(ops, grad, grad_output, self, approximate):
    """torch's: grad * grad_output times gelu's second derivative, computed from self alone (the
    product rule through the first derivative's terms gives inf - inf for an infinite gradient)."""
    if approximate == "tanh":  # gelu' = 0.5 (1 + t) + f g h, with f = x / 2, g = 1 - t^2, h = dinner/dx
        k = math.sqrt(2 / math.pi)
        t = ops.tanh(k * (self + 0.044715 * self * self * self))
        g = 1 - t * t
        h = k * (1 + 3 * 0.044715 * self * self)
        f = 0.5 * self
        second = g * h + f * h * (-2 * t * g * h) + f * g * (6 * 0.044715 * k * self)
    else:
        pdf = ops.exp(self * self * -0.5) * (1 / math.sqrt(2 * math.pi))
        second = 2 * pdf - self * self * pdf
    return grad * grad_output * second


# ---- reductions --------------------------------------------------------------------------------

def _restore_reduced(ops, x, shape, dim, keepdim):
    """Give a reduced tensor its size-1 dims back, ready to broadcast against the input."""
    if not keepdim and len(shape) > 0:
        for d in sorted(_reduced_dims(dim, len(shape))):
            x = ops.unsqueeze(x, d)
    return x


def prod_backward(ops, grad, self, result, dim, keepdim):
    """d(prod)/dx_i = product of the others: result / x_i without zeros; with a zero in the input,
    the product of the others itself (from products of the elements before and after each, as
    torch's prod_safe_zeros_backward, so NaN times 0 is NaN there too)."""
    shape = _shape(self)
    if not shape:  # a 0-d input is its own product, as torch's
        return grad
    dims = [] if dim is None else [dim]
    grad = _restore_reduced(ops, grad, shape, dims, keepdim)
    if not _any(self == 0):
        return grad * _restore_reduced(ops, result, shape, dims, keepdim) / self
    if dim is None and not ops.DIFFERENTIABLE and int((self == 0).sum()) > 1:  # torch's shortcut outside
        return ops.zeros_like(self)  # create_graph: two zeros make every gradient 0 (a NaN element's too)
    if (math.prod(shape) if dim is None else shape[dim]) == 1:  # a product of one element: grad itself,
        return ops.reshape(grad, list(shape))  # as torch's prod_safe_zeros_backward (no graph to self)
    if ops.DIFFERENTIABLE:
        return grad * _product_of_others(ops, self, dim)
    return grad * kernels.product_of_others(self, dim)


def _product_of_others(ops, self, dim):
    """kernels.product_of_others by differentiable ops (torch composes it of cumprods; here each
    element's slice is copied with that element made 1, then multiplied out): a double backward
    through zeros, where the quotient result / x cannot be used."""
    x = ops.reshape(self, [-1]) if dim is None else self
    ndim = _ndim(x)
    axis = 0 if dim is None else dim % ndim
    size = _shape(x)[axis]
    eye = array_module(x._data).eye(size, dtype=bool).reshape((size,) + tuple(size if d == axis else 1
                                                                               for d in range(ndim)))
    copies = ops.where(make_tensor(eye), 1, ops.unsqueeze(x, 0))  # copies[i]: the slices, element i made 1
    products = ops.prod_dim_int(copies, axis + 1)  # products[i]: element i's product of the others
    order = list(range(1, axis + 1)) + [0] + list(range(axis + 1, ndim))
    return ops.reshape(ops.permute(products, order), list(_shape(self)))


def evenly_distribute_backward(ops, grad, self, result):
    """max()/min() over everything: ties share the gradient equally; a NaN result's gradient is
    shared by the NaN elements (as torch's)."""
    mask = ops.isnan(self) if _any(ops.isnan(result)) else self == result
    return ops.where(mask, grad / ops.sum_default(mask), 0)


def value_selecting_reduction_backward(ops, grad, dim, indices, shape, keepdim):
    """max/min over a dim: the gradient goes to the selected element of each slice."""
    if not keepdim and len(shape) > 0:
        grad, indices = ops.unsqueeze(grad, dim), ops.unsqueeze(indices, dim)
    return ops.scatter(ops.new_zeros(grad, shape), dim, indices, grad)


def amax_backward(ops, grad, self, result, dim, keepdim):
    shape = _shape(self)
    grad = _restore_reduced(ops, grad, shape, dim, keepdim)
    mask = self == _restore_reduced(ops, result, shape, dim, keepdim)
    # multiplied, not selected, as torch's: a NaN maximum (no element equal to it) gives NaN
    return grad / ops.sum_dim_IntList(mask, _reduced_dims(dim, len(shape)), True) * mask


def logsumexp_backward(ops, grad, self, result, dim, keepdim):
    shape = _shape(self)
    grad, result = (_restore_reduced(ops, x, shape, dim, keepdim) for x in (grad, result))
    return grad * ops.exp(self - result)


def var_backward(ops, grad, self, dim, correction, keepdim):
    shape = _shape(self)
    dims = _reduced_dims(dim, len(shape))
    count = math.prod(shape[d] for d in dims)
    correction = 1 if correction is None else correction
    grad = _restore_reduced(ops, grad, shape, dim, keepdim)
    if (dim is None or not shape) and count <= correction:
        # torch's: no degree of freedom left over everything gives an infinite slope, NaN where
        # the input equals its mean (infinity times 0), whatever the sign of 2 / (n - correction)
        return grad * ops.where(self == ops.mean_default(self), math.nan, math.inf)
    scale = 2 / (count - correction) if count != correction else math.inf  # torch's division, by zero too
    return grad * scale * (self - ops.mean_dim(self, dims, True))


def defined(ops, grad) -> bool:
    """Whether a gradient reached this output of a node of several: torch's `grads[i].defined()`
    (the engine hands None, not zeros, for an output no gradient reached)."""
    return grad is not None


def var_mean_backward(ops, grad_var, grad_mean, self, dim, correction, keepdim):
    """torch's: the part of each output whose gradient is defined (an unreached var adds nothing,
    where zeros times its 2 / (n - correction) could make NaN)."""
    parts = []
    if defined(ops, grad_var):
        parts.append(var_backward(ops, grad_var, self, dim, correction, keepdim))
    if defined(ops, grad_mean):
        parts.append(mean_backward(ops, grad_mean, _shape(self), dim, keepdim))
    return parts[0] if len(parts) == 1 else parts[0] + parts[1]


def std_backward(ops, result, grad, self, dim, correction, keepdim):
    return var_backward(ops, ops.where(result == 0, 0, grad / (2 * result)), self, dim, correction, keepdim)


def norm_backward(ops, grad, self, ord, result, dim, keepdim):
    """torch's norm_backward branch by branch: where its masked_fill_ comes before or after the
    product with grad decides whether an inf or NaN gradient gives NaN, so the order is kept."""
    shape = _shape(self)
    grad, result = (_restore_reduced(ops, x, shape, dim, keepdim) for x in (grad, result))
    if ord == 0:  # no gradient at all, as torch (not zeros: .grad stays None)
        return None
    if ord == 1:
        return ops.sgn(self) * grad
    if ord == 2:
        return grad * ops.where(result == 0, 0, self / result)
    if ord in (math.inf, -math.inf):  # amax's gradient, shared among ties; a NaN element takes it
        magnitude = ops.abs(self)
        mask = ops.logical_or(magnitude == result, ops.isnan(magnitude))
        count = ops.sum_dim_IntList(mask, _reduced_dims(dim, len(shape)), True)
        return ops.sgn(self) * (grad / count * mask)
    if ord < 1:
        scaled = ops.sgn(self) * ops.where(self == 0, 0, ops.abs(self) ** (ord - 1))
        return scaled * grad * result ** (1 - ord)
    scaled = ops.sgn(self) * ops.abs(self) ** (ord - 1) if ord < 2 else self * ops.abs(self) ** (ord - 2)
    return scaled * ops.where(result == 0, 0, grad / result ** (ord - 1))


def cumsum_backward(ops, grad, dim):
    return ops.flip(ops.cumsum(ops.flip(grad, [dim]), dim), [dim])


# ---- shape and indexing ------------------------------------------------------------------------

def as_strided_scatter_self_backward(ops, grad, src, size, stride, storage_offset):
    """The base's gradient without the written part. torch's CopySlices first copies the written
    part's gradient back through the view: a view whose elements share memory (a write through an
    expanded tensor) cannot take that copy, and torch refuses there. (src saved makes the node
    refuse to run again after its graph was freed, as torch's CopySlices, which drops its fn;
    as_strided_scatter_src_backward saves it for the same reason.)"""
    if math.prod(size) and any(step == 0 and n > 1 for n, step in zip(size, stride)):  # (an empty view writes nothing)
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a "
                           "single memory location. Please clone() the tensor before performing the operation.")
    return ops._as_strided_scatter(grad, ops.zeros_like(src), size, stride, storage_offset)


def as_strided_scatter_src_backward(ops, grad, src, size, stride, storage_offset):
    """The written part's gradient. It takes src, unused, so that the node saves src whichever
    input needs a gradient: a write through a view refuses to run again after its graph was
    freed (torch's CopySlices drops its fn) even where the base needs no gradient."""
    return ops._as_strided_copy(grad, size, stride, storage_offset)


def cat_backward(ops, grad, shapes, dim):
    """One slice of the gradient per input of cat (1-D empties, skipped by cat, get new empties, as
    torch's: no slice of the gradient, so no graph under create_graph)."""
    ndim = len(_shape(grad))
    dim = dim % ndim
    grads, start = [], 0
    for shape in shapes:
        if len(shape) == 1 and shape[0] == 0:
            grads.append(ops.new_zeros(grad, shape))
            continue
        grads.append(ops.slice(grad, dim, start, start + shape[dim], 1))
        start += shape[dim]
    return grads


def stack_backward(ops, grad, dim, shapes):
    return [ops.select(grad, dim, i) for i in range(len(shapes))]


def repeat_backward(ops, grad, repeats, shape):
    """Sum the tiles back: view the gradient as (r0, s0, r1, s1, ...) and sum the r dims."""
    lead = len(repeats) - len(shape)
    if lead:
        grad = ops.sum_dim_IntList(grad, list(range(lead)))
        repeats = repeats[lead:]
    split = []
    for r, s in zip(repeats, shape):
        split.extend((r, s))
    if not split:
        return grad
    return ops.sum_dim_IntList(ops.reshape(grad, split), list(range(0, len(split), 2)))


def index_select_backward(ops, grad, shape, dim, index):
    if not shape:  # a 0-d input: its one element was selected (once, index_select checked)
        return ops.reshape(grad, [])
    return ops.index_backward(grad, shape, [None] * (dim % len(shape)) + [ops.reshape(index, [-1])])


def gather_backward(ops, grad, shape, dim, index):
    return ops.scatter_add(ops.new_zeros(grad, shape), dim, index, grad)


def embedding_backward(ops, grad, indices, num_weights, padding_idx):
    width = _shape(grad)[-1]
    flat_indices = ops.reshape(indices, [-1])
    grad = ops.reshape(grad, [-1, width])
    if padding_idx >= 0:
        grad = ops.where(ops.unsqueeze(flat_indices == padding_idx, 1), 0, grad)
    return ops.index_backward(grad, [num_weights, width], [flat_indices])


def upsample_nearest2d_backward(ops, grad, self_shape, output_size, scales_h, scales_w):
    from .kernels import nearest_source_indices

    rows = nearest_source_indices(self_shape[-2], output_size[0], scales_h)
    cols = nearest_source_indices(self_shape[-1], output_size[1], scales_w)
    return ops.index_backward(grad, self_shape, [None, None, rows[:, None], cols])


def upsample_bilinear2d_backward(ops, grad, self_shape, output_size, align_corners, scales_h, scales_w):
    """Each output's gradient goes back to its 2 x 2 source pixels by their weights: columns first,
    then rows, each a weighted scatter-add (index_backward)."""
    dtype = getattr(grad, "_data", grad).dtype
    h0, h1, top, bottom = kernels.linear_source_weights(self_shape[-2], output_size[0], align_corners, scales_h, dtype)
    w0, w1, left, right = kernels.linear_source_weights(self_shape[-1], output_size[1], align_corners, scales_w, dtype)
    lead = [None] * (len(self_shape) - 2)
    by_columns = list(self_shape[:-2]) + [output_size[0], self_shape[-1]]
    columns = (ops.index_backward(grad * _constant(ops, grad, left), by_columns, lead + [None, w0])
               + ops.index_backward(grad * _constant(ops, grad, right), by_columns, lead + [None, w1]))
    return (ops.index_backward(columns * _constant(ops, grad, top[:, None]), list(self_shape), lead + [h0])
            + ops.index_backward(columns * _constant(ops, grad, bottom[:, None]), list(self_shape), lead + [h1]))


def _constant(ops, like, array):
    """A host array of constants as an operand next to `like` (an array, or a Tensor in the
    differentiable form), on its device."""
    data = getattr(like, "_data", like)
    values = array_module(data).asarray(array)
    return make_tensor(values) if ops.DIFFERENTIABLE else values


# ---- linear algebra and neural-network functions ------------------------------------------------

def convolution_backward(ops, grad, input, weight, bias, stride, padding, dilation, transposed,  # noqa: A002
                         output_padding, groups, mask):
    if ops.DIFFERENTIABLE:
        raise NotImplementedError("double backward through convolution is not implemented "
                                  "(derivatives.yaml: convolution)")
    return kernels.convolution_backward(grad, input, weight, bias, stride, padding, dilation, transposed,
                                        output_padding, groups, mask)


def max_pool2d_backward(ops, grad, self_shape, indices):
    """Each output's gradient goes to the input element its window selected (summed over overlaps)."""
    planes = math.prod(self_shape[:-2])
    plane = self_shape[-2] * self_shape[-1]
    positions = getattr(indices, "_data", indices)  # integer positions: constants, never differentiated
    xp = array_module(positions)
    flat = (positions.reshape(planes, -1) + xp.arange(planes)[:, None] * plane).reshape(-1)
    picked = ops.index_backward(ops.reshape(grad, [-1]), [planes * plane], [flat])
    return ops.reshape(picked, self_shape)


def binary_cross_entropy_backward(ops, grad, self, target, weight, reduction):
    local = (self - target) / ops.clamp_min(self * (1 - self), 1e-12)
    return _scale_loss_grad(local, grad, weight, reduction, _numel(self))


def binary_cross_entropy_target_backward(ops, grad, self, target, weight, reduction):
    """-logit(self), unclamped as torch's (the forward's logs are clamped at -100, this is not)."""
    local = ops.log1p(-self) - ops.log(self)
    return _scale_loss_grad(local, grad, weight, reduction, _numel(self))


def _difference(ops, self, target):
    """self - target of a loss whose forward promoted the pair: a bool operand is cast to the other's
    dtype first (- refuses bools)."""
    if self.dtype.name == "bool":
        self = ops._to_copy(self, dtype=target.dtype)
    elif target.dtype.name == "bool":
        target = ops._to_copy(target, dtype=self.dtype)
    return self - target


def mse_loss_backward(ops, grad, self, target, reduction):
    return _scale_loss_grad(2 * _difference(ops, self, target), grad, None, reduction, _numel(self))


def smooth_l1_loss_double_backward(ops, grad, self, target, reduction, beta):
    """torch's: the second derivative is 1 / beta inside the quadratic branch. Its self - target
    refuses a bool target, as torch's does (the first derivative's kernel takes one)."""
    if beta == 0:
        return ops.zeros_like(grad)
    local = grad * (ops.abs(ops.sub(self, target)) < beta) / beta  # (numpy's - would take a bool)
    return local / _numel(self) if reduction == REDUCTION_MEAN else local


def dropout_backward(ops, grad, mask, p, train):
    if not train:
        return grad
    return grad * mask * (0 if p == 1 else 1 / (1 - p))


def scaled_dot_product_attention_backward(ops, grad, query, key, value, attn_mask, dropout_p, is_causal,
                                          dropout_mask, scale, attn, mask):
    """Gradients of softmax(q k^T * scale + mask) @ v for (query, key, value, attn_mask). The
    probabilities are the forward's `attn` when nothing was dropped; else (and in the
    differentiable form, where they depend on query and key) they are computed again."""
    if ops.DIFFERENTIABLE:
        probs = _attention_probs(ops, query, key, attn_mask, is_causal, scale)
    elif dropout_p > 0:
        probs = kernels.attention_probs(query, key, attn_mask, is_causal, scale)
    else:
        probs = attn
    kept = 1 if dropout_p == 0 else 1 / (1 - dropout_p)
    dropped = probs if dropout_p == 0 else probs * dropout_mask
    grad_query = grad_key = grad_value = grad_mask = None
    if mask[2]:
        grad_value = ops.matmul(ops.transpose(dropped, -1, -2), grad)
        grad_value = grad_value if dropout_p == 0 else grad_value * kept
    if mask[0] or mask[1] or mask[3]:
        grad_probs = ops.matmul(grad, ops.transpose(value, -1, -2))
        if dropout_p > 0:
            grad_probs = grad_probs * dropout_mask * kept
        grad_scores = probs * (grad_probs - ops.sum_dim_IntList(grad_probs * probs, [-1], True))
        factor = kernels.attention_scale(query, scale)
        if mask[0]:
            grad_query = ops.matmul(grad_scores, key) * factor
        if mask[1]:
            grad_key = ops.matmul(ops.transpose(grad_scores, -1, -2), query) * factor
        grad_mask = grad_scores if mask[3] else None
    return grad_query, grad_key, grad_value, grad_mask


def _attention_probs(ops, query, key, attn_mask, is_causal, scale):
    """kernels.attention_probs over Tensors, so that the probabilities' own derivatives are recorded."""
    scores = ops.matmul(query, ops.transpose(key, -1, -2)) * kernels.attention_scale(query, scale)
    if is_causal:
        xp = array_module(query._data)
        above = xp.triu(xp.ones(_shape(scores)[-2:], bool), 1)
        scores = ops.masked_fill_Scalar(scores, make_tensor(above), -math.inf)
    if attn_mask is not None:
        scores = scores + attn_mask
    return ops._softmax(scores, -1, False)


def lstm_cell_backward(ops, grad_hy, grad_cy, input_gates, hidden_gates, cx, mask):
    """Gradients of _lstm_cell for (input_gates, hidden_gates, cx): the gates' activations are
    computed again from the saved pre-activations (cheaper than keeping four more tensors)."""
    width = _shape(cx)[-1]
    gates = input_gates + hidden_gates
    i, f, o = (ops.sigmoid(ops.slice(gates, -1, k * width, (k + 1) * width, 1)) for k in (0, 1, 3))
    g = ops.tanh(ops.slice(gates, -1, 2 * width, 3 * width, 1))
    tanh_cy = ops.tanh(f * cx + i * g)
    # an output no gradient reached has an undefined one (None): it contributes nothing
    grad_hy = grad_hy if defined(ops, grad_hy) else ops.zeros_like(cx)
    grad_c = grad_hy * o * (1 - tanh_cy * tanh_cy)
    grad_c = grad_c + grad_cy if defined(ops, grad_cy) else grad_c
    grad_gates = ops.cat([grad_c * g * i * (1 - i), grad_c * cx * f * (1 - f), grad_c * i * (1 - g * g),
                          grad_hy * tanh_cy * o * (1 - o)], -1)
    return (grad_gates if mask[0] else None, grad_gates if mask[1] else None, grad_c * f if mask[2] else None)


def gru_cell_backward(ops, grad, input_gates, hidden_gates, hx, mask):
    """Gradients of _gru_cell for (input_gates, hidden_gates, hx), the gates computed again."""
    width = _shape(hx)[-1]

    def part(x, k):
        return ops.slice(x, -1, k * width, (k + 1) * width, 1)

    reset = ops.sigmoid(part(hidden_gates, 0) + part(input_gates, 0))
    update = ops.sigmoid(part(hidden_gates, 1) + part(input_gates, 1))
    hidden_new = part(hidden_gates, 2)
    new = ops.tanh(part(input_gates, 2) + hidden_new * reset)
    grad_new = grad * (1 - update) * (1 - new * new)
    grad_reset = grad_new * hidden_new * reset * (1 - reset)
    grad_update = grad * (hx - new) * update * (1 - update)
    return (ops.cat([grad_reset, grad_update, grad_new], -1) if mask[0] else None,
            ops.cat([grad_reset, grad_update, grad_new * reset], -1) if mask[1] else None,
            grad * update if mask[2] else None)


def batch_norm_backward(ops, grad, input, weight, running_mean, running_var, training, eps, mask):  # noqa: A002
    """(grad_input, grad_weight, grad_bias), recomputing the batch statistics with ops so that
    the result is differentiable again (their dependence on the input included)."""
    shape = _shape(input)
    dims = [0] + list(range(2, len(shape)))
    broadcast = [1, shape[1]] + [1] * (len(shape) - 2)
    if training:
        mean = ops.mean_dim(input, dims, True)
        centered = input - mean
        invstd = 1 / ops.sqrt(ops.mean_dim(centered * centered, dims, True) + eps)
    else:
        centered = input - ops.reshape(running_mean, broadcast)
        invstd = 1 / ops.sqrt(ops.reshape(running_var, broadcast) + eps)
    normalized = centered * invstd
    scale = invstd if weight is None else invstd * ops.reshape(weight, broadcast)
    grad_input = grad_weight = grad_bias = None
    if mask[0]:
        if training:
            count = math.prod(shape[d] for d in dims)
            mean_grad = ops.sum_dim_IntList(grad, dims, True) / count
            mean_grad_x = ops.sum_dim_IntList(grad * normalized, dims, True) / count
            grad_input = (grad - mean_grad - normalized * mean_grad_x) * scale
        else:
            grad_input = grad * scale
    if mask[1]:
        grad_weight = ops.sum_dim_IntList(grad * normalized, dims)
    if mask[2]:
        grad_bias = ops.sum_dim_IntList(grad, dims)
    return grad_input, grad_weight, grad_bias


def layer_norm_backward(ops, grad, input, normalized_shape, weight, mean, rstd, eps, mask):  # noqa: A002
    """The array form reuses the forward's mean and rstd; the differentiable form recomputes them
    with ops, so that their dependence on the input is differentiated too."""
    if not ops.DIFFERENTIABLE:
        return kernels.layer_norm_backward(grad, input, normalized_shape, weight, mean, rstd, mask)
    shape = _shape(input)
    dims = list(range(len(shape) - len(normalized_shape), len(shape)))
    lead = list(range(len(shape) - len(normalized_shape)))
    count = math.prod(normalized_shape)
    mean = ops.mean_dim(input, dims, True)
    centered = input - mean
    rstd = 1 / ops.sqrt(ops.mean_dim(centered * centered, dims, True) + eps)
    normalized = centered * rstd
    grad_input = grad_weight = grad_bias = None
    if mask[0]:
        g = grad if weight is None else grad * weight
        mean_g = ops.sum_dim_IntList(g, dims, True) / count
        mean_gx = ops.sum_dim_IntList(g * normalized, dims, True) / count
        grad_input = (g - mean_g - normalized * mean_gx) * rstd
    if mask[1]:
        grad_weight = ops.sum_dim_IntList(grad * normalized, lead) if lead else grad * normalized
    if mask[2]:
        grad_bias = ops.sum_dim_IntList(grad, lead) if lead else grad
    return grad_input, grad_weight, grad_bias


def group_norm_backward(ops, grad, input, weight, N, C, HxW, group, eps, mask):  # noqa: A002,N803
    shape = _shape(input)
    grouped = ops.reshape(input, [N, group, -1])
    mean = ops.mean_dim(grouped, [2], True)
    centered = grouped - mean
    rstd = 1 / ops.sqrt(ops.mean_dim(centered * centered, [2], True) + eps)
    normalized = ops.reshape(centered * rstd, shape)
    broadcast = [1, C] + [1] * (len(shape) - 2)
    spatial = [0] + list(range(2, len(shape)))
    grad_input = grad_weight = grad_bias = None
    if mask[0]:
        g = grad if weight is None else grad * ops.reshape(weight, broadcast)
        g = ops.reshape(g, [N, group, -1])
        x_hat = ops.reshape(normalized, [N, group, -1])
        count = _shape(g)[2]
        mean_g = ops.sum_dim_IntList(g, [2], True) / count
        mean_gx = ops.sum_dim_IntList(g * x_hat, [2], True) / count
        grad_input = ops.reshape((g - mean_g - x_hat * mean_gx) * rstd, shape)
    if mask[1]:
        grad_weight = ops.sum_dim_IntList(grad * normalized, spatial)
    if mask[2]:
        grad_bias = ops.sum_dim_IntList(grad, spatial)
    return grad_input, grad_weight, grad_bias


def _any(mask) -> bool:
    """Whether a bool array or Tensor has a True: a data-dependent branch, read off the values."""
    return bool(getattr(mask, "_data", mask).any())
