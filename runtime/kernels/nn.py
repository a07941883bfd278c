"""Neural-network kernels: activations, softmax and losses, dropout, convolution, pooling,
normalization, embedding and upsampling. Heavy ops avoid Python loops over pixels:
convolution is an im2col over a strided window view and one batched BLAS matmul."""

from __future__ import annotations

import math

import numpy as np

from .. import random
from .. import backends
from ..backends import array_module
from ..dtypes import FLOATING, check_kernel_dtype, result_type, scalar_type_name
from ..shapes import wrap_dim
from .core import reduce_loss, sigmoid

# ---- activations ---------------------------------------------------------------------------

_erf = np.frompyfunc(math.erf, 1, 1)

# erf in float32 from two polynomials, fitted here (least squares on 6000 Chebyshev nodes against
# math.erf): erf(x) = x P(x^2) on |x| < 2, and 1 - exp(-x^2) Q(|x| - 3) on 2 <= |x| <= 4 (erf
# rounds to 1 in float32 beyond). Evaluated in float32 they are within 6 ulp of the correctly
# rounded value (torch's SLEEF erff: 1 ulp), in about 20 array passes instead of a Python call
# per element (100 times faster on the GELU of a GPT's MLP).
_ERF_SMALL = np.array([1.128379166926235, -0.3761263695818389, 0.11283768851986567, -0.02686519205650521,
                       0.005221869090724367, -0.0008521953914185468, 0.00011848640556740218,
                       -1.3868567817494077e-05, 1.2871011476516254e-06, -8.247002146445737e-08,
                       2.647563611483052e-09], np.float32)
_ERF_LARGE = np.array([0.17900115117222998, -0.05437226000164846, 0.015884371810275223, -0.004479431204178987,
                       0.0012230315796304665, -0.00032412383513313604, 8.35854227162001e-05,
                       -2.0996044439185483e-05, 5.087688471956338e-06, -1.2212083024753707e-06,
                       3.3928373999645926e-07, -7.704939064746045e-08], np.float32)


def _horner(xp, coefficients, v):
    out = xp.full_like(v, coefficients[-1])
    for c in coefficients[-2::-1]:
        out *= v
        out += c
    return out


def _erf_float32(xp, x):
    a = xp.abs(x)
    s = xp.minimum(a, np.float32(2))
    small = _horner(xp, _ERF_SMALL, s * s)
    small *= s
    m = xp.clip(a, np.float32(2), np.float32(4))
    tail = m * m
    xp.negative(tail, out=tail)
    xp.exp(tail, out=tail)
    large = _horner(xp, _ERF_LARGE, m - np.float32(3))
    large *= tail
    xp.subtract(np.float32(1), large, out=large)
    out = xp.where(a < 2, small, large)
    return xp.copysign(out, x, out=out)


def erf(self):
    xp = array_module(self)
    if xp is not np:
        return backends.cupyx().scipy.special.erf(self)
    if self.dtype == np.float32 and self.ndim:
        return _erf_float32(xp, self)
    # float64 (and 0-d) keep libm's erf, element by element: double precision for gradient checks
    return np.asarray(_erf(self)).astype(self.dtype if self.dtype.kind == "f" else np.float32)


_GELU_BETA = math.sqrt(2 / math.pi)
_GELU_KAPPA = 0.044715


def _gelu_tanh_inner(xp, self):
    """tanh(sqrt(2 / pi) * (x + 0.044715 x^3)), in a fresh array (the passes done in place)."""
    inner = xp.asarray(self * self)  # an array even for 0-d self (numpy's product is then a scalar)
    inner *= _GELU_BETA * _GELU_KAPPA
    inner += _GELU_BETA
    inner *= self
    return xp.tanh(inner, out=inner)


def gelu(self, approximate):
    check_kernel_dtype("GeluKernelImpl", FLOATING, self)
    xp = array_module(self)
    if approximate == "tanh":
        out = _gelu_tanh_inner(xp, self)
        out += 1
        out *= self
        out *= 0.5
        return out
    if approximate != "none":
        raise RuntimeError(f"approximate argument must be either none or tanh, got {approximate!r}")
    out = 0.5 * self * (1 + erf(self * (1 / math.sqrt(2))))
    if self.dtype == np.float32 and self.size > 1 and self.flags.c_contiguous:
        # torch's vectorized float32 kernel gives NaN at +inf; a lone element or a strided tensor
        # runs its scalar loop, which gives inf
        out = xp.where(self == math.inf, math.nan, out).astype(self.dtype, copy=False)
    return out


def gelu_backward(grad, self, approximate):
    """grad * gelu'(self) over arrays, in few passes (the spec's gelu_backward)."""
    xp = array_module(self)
    if grad.shape != self.shape:  # (the passes write into arrays of self's shape)
        self = xp.broadcast_to(self, np.broadcast_shapes(grad.shape, self.shape))
    if approximate != "tanh":
        cdf = erf(self * (1 / math.sqrt(2)))
        cdf += 1
        cdf *= 0.5
        pdf = xp.exp(self * self * -0.5)
        pdf *= self * (1 / math.sqrt(2 * math.pi))
        cdf += pdf
        cdf *= grad
        return cdf
    # d/dx 0.5 x (1 + t) = 0.5 (1 + t) + 0.5 x (1 - t^2) beta (1 + 3 kappa x^2)
    t = _gelu_tanh_inner(xp, self)
    slope = self * self
    slope *= 3 * _GELU_KAPPA * _GELU_BETA
    slope += _GELU_BETA
    slope *= self
    slope *= 0.5
    slope *= 1 - t * t
    t += 1
    t *= 0.5
    t += slope
    t *= grad
    return t


def silu(self):
    check_kernel_dtype("silu_cpu", FLOATING, self)
    xp = array_module(self)
    return self / (1 + xp.exp(-self))


def leaky_relu(self, negative_slope):
    check_kernel_dtype("leaky_relu_cpu", FLOATING, self)
    return array_module(self).where(self > 0, self, self * negative_slope)


def elu(self, alpha, scale, input_scale):
    check_kernel_dtype("elu_cpu", FLOATING, self)
    xp = array_module(self)
    negative = alpha * scale * xp.expm1(xp.minimum(self, 0) * input_scale)
    return xp.where(self >= 0, self * scale, negative).astype(self.dtype, copy=False)  # (a zero keeps its sign, as torch's)


def softplus(self, beta, threshold):
    check_kernel_dtype("softplus_cpu", FLOATING, self)
    xp = array_module(self)
    scaled = self * beta
    soft = xp.log1p(xp.exp(xp.minimum(scaled, threshold))) / beta
    return xp.where(scaled > threshold, self, soft).astype(self.dtype, copy=False)


def hardswish(self):
    """torch's order: x * clamp(x + 3, 0, 6) / 6, in self's float dtype."""
    check_kernel_dtype("hardswish_cpu", FLOATING, self)
    return self * array_module(self).clip(self + 3, 0, 6) / 6


def hardsigmoid(self):
    check_kernel_dtype("hardsigmoid_cpu", FLOATING, self)
    return array_module(self).clip(self + 3, 0, 6) / 6


def hardtanh(self, min_val, max_val):
    """Clamped in self's dtype: an integer tensor's limits are truncated to integers, as torch's."""
    if self.dtype.kind == "b":
        raise RuntimeError("Bool inputs not supported for hardtanh")
    if self.dtype.kind in "iu":
        min_val, max_val = int(min_val), int(max_val)  # truncated first: -0.5 is a limit of 0
        if self.dtype.kind == "u" and (min_val < 0 or max_val < 0):
            raise RuntimeError("cannot do hardtanh on an unsigned type with negative limits")
    xp = array_module(self)
    return xp.minimum(max_val, xp.maximum(min_val, self)).astype(self.dtype, copy=False)  # self where equal, as clamp


# ---- recurrent cells -------------------------------------------------------------------------

def _gate_width(op: str, gates, state, count: int) -> int:
    width = state.shape[-1]
    if gates.shape[-1] != count * width:
        raise RuntimeError(f"{op}: expected gates with {count} * {width} = {count * width} features for a state of "
                           f"{width}, got gates of shape {list(gates.shape)}")
    return width


def lstm_cell(input_gates, hidden_gates, cx):
    """(hy, cy) of one LSTM step from its gate pre-activations (torch's order: i, f, g, o)."""
    xp = array_module(cx)
    h = _gate_width("_lstm_cell", input_gates, cx, 4)
    gates = input_gates + hidden_gates
    cy = sigmoid(gates[..., h:2 * h]) * cx
    cy += sigmoid(gates[..., :h]) * xp.tanh(gates[..., 2 * h:3 * h])
    return sigmoid(gates[..., 3 * h:]) * xp.tanh(cy), cy


def gru_cell(input_gates, hidden_gates, hx):
    """hy of one GRU step from its gate pre-activations (torch's order: r, z, n)."""
    xp = array_module(hx)
    h = _gate_width("_gru_cell", input_gates, hx, 3)
    reset = sigmoid(hidden_gates[..., :h] + input_gates[..., :h])
    update = sigmoid(hidden_gates[..., h:2 * h] + input_gates[..., h:2 * h])
    new = xp.tanh(input_gates[..., 2 * h:] + hidden_gates[..., 2 * h:] * reset)
    hy = hx - new
    hy *= update
    hy += new
    return hy


# ---- softmax and losses ----------------------------------------------------------------------

def _along(op: str, self, dim):
    """The axis of a softmax, once torch's checks passed; 0-d tensors run as one element."""
    axis = wrap_dim(dim, self.ndim)
    kernel = f"{op}_lastdim_kernel_impl" if axis == max(self.ndim - 1, 0) else f"{op}_kernel_impl"
    if self.size:  # an empty input runs no kernel
        check_kernel_dtype(kernel, FLOATING, self)
    return axis


def softmax(self, dim, half_to_float):
    axis = _along("softmax", self, dim)
    if self.size == 0:
        return self.copy()
    if self.ndim == 0:  # one element: nothing to normalize against
        return array_module(self).exp(self - self)
    xp = array_module(self)
    shifted = xp.exp(self - xp.max(self, axis=axis, keepdims=True))
    return shifted / xp.sum(shifted, axis=axis, keepdims=True)


def scaled_dot_product_attention(query, key, value, attn_mask, dropout_p, is_causal, dropout_mask, scale):
    """(output, attn): softmax(query @ key^T * scale + attn_mask) @ value over the last two dims.
    Rows masked everywhere attend to nothing (zeros), as torch's; with dropout the given
    dropout_mask zeroes attn's entries and value is scaled by 1 / (1 - dropout_p)."""
    xp = array_module(query)
    probs = attention_probs(query, key, attn_mask, is_causal, scale)
    if dropout_p > 0:
        if dropout_mask is None:
            raise RuntimeError("_scaled_dot_product_attention: dropout_p > 0 needs the dropout_mask "
                               "(nn.functional.scaled_dot_product_attention draws it)")
        probs *= dropout_mask
        return xp.matmul(probs, value * (1 / (1 - dropout_p))), probs
    return xp.matmul(probs, value), probs


def attention_scale(query, scale) -> float:
    return 1 / math.sqrt(query.shape[-1]) if scale is None else scale


def attention_probs(query, key, attn_mask, is_causal, scale):
    """softmax(query @ key^T * scale + mask) over the last dim, 0 on rows masked everywhere."""
    xp = array_module(query)
    scores = xp.matmul(query, xp.swapaxes(key, -1, -2))
    scores *= attention_scale(query, scale)
    if is_causal:
        length, source = scores.shape[-2:]
        scores[..., xp.triu(xp.ones((length, source), bool), 1)] = -xp.inf
    if attn_mask is not None:
        scores = scores + attn_mask if scores.shape != xp.broadcast_shapes(scores.shape, attn_mask.shape) else \
            xp.add(scores, attn_mask, out=scores)
    top = scores.max(axis=-1, keepdims=True)
    top[~xp.isfinite(top)] = 0  # a row masked everywhere: exp gives zeros, not nan
    scores -= top
    xp.exp(scores, out=scores)
    total = scores.sum(axis=-1, keepdims=True)
    total[total == 0] = 1
    scores /= total
    return scores


def log_softmax(self, dim, half_to_float):
    axis = _along("log_softmax", self, dim)
    if self.size == 0:
        return self.copy()
    if self.ndim == 0:
        return self - self
    xp = array_module(self)
    shifted = self - xp.max(self, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def _check_targets(self, target, ignore_index: int) -> None:
    if target.dtype.kind not in "iu":
        raise RuntimeError(f"nll_loss: expected target of dtype int64 (class indices), got {target.dtype}")
    if self.ndim < 1 or (self.ndim > 1 and target.shape != self.shape[:1] + self.shape[2:]):
        raise ValueError(f"Expected target size {list(self.shape[:1] + self.shape[2:])}, got {list(target.shape)}")
    if type(target) is not np.ndarray:
        # on a GPU torch checks the range inside its kernel (a device-side assert) rather than
        # reading targets back to the host before every loss: neither does gradspec (docs/decisions.md)
        return
    classes = self.shape[1] if self.ndim > 1 else self.shape[0]
    valid = target[target != ignore_index]
    if valid.size and (valid.min() < 0 or valid.max() >= classes):
        bad = valid[(valid < 0) | (valid >= classes)][0]
        raise IndexError(f"Target {int(bad)} is out of bounds.")


def check_nll_loss(self, target, weight, reduction, ignore_index):
    """nll_loss_forward's checks of its arguments, run before its row kernel (derivatives.yaml)."""
    _check_targets(self, target, ignore_index)


def nll_loss_forward(self, target, weight, reduction, ignore_index):
    """(loss, total_weight): -w[t] * self[n, t] summed (or averaged over the weights)."""
    check_kernel_dtype("nll_loss_out_frame", FLOATING, self)
    _check_targets(self, target, ignore_index)
    xp = array_module(self)
    scores = self if self.ndim > 1 else self[None]
    labels = target if self.ndim > 1 else target[None]
    valid = labels != ignore_index
    safe = xp.where(valid, labels, 0)
    picked = xp.take_along_axis(scores, xp.expand_dims(safe, 1), axis=1).squeeze(1)
    # the weight of each target (the mask itself without class weights: no ones to multiply)
    weights = weight[safe] * valid if weight is not None else valid
    # a typed zero: numpy 1.26's where promotes a Python 0 with float32 to float64 (cupy 13's too)
    losses = xp.where(valid, -picked, self.dtype.type(0)) if weight is None else -picked * weights
    if reduction == 0:  # torch leaves total_weight at 0 when it does not reduce
        return (losses if self.ndim > 1 else losses[0]), xp.zeros((), self.dtype)
    total = xp.sum(weights, dtype=self.dtype)
    if reduction == 2:
        return xp.sum(losses), total
    return xp.sum(losses) / total, total


def nll_loss_backward(grad_output, self, target, weight, reduction, ignore_index, total_weight):
    xp = array_module(self)
    labels = target if self.ndim > 1 else target[None]
    valid = labels != ignore_index
    safe = xp.where(valid, labels, 0)
    coefficient = -(grad_output / total_weight) if reduction == 1 else -grad_output
    zero = self.dtype.type(0)  # typed, as in the forward
    # an ignored target gets 0 even where the coefficient is not finite (a mean over no weight)
    scale = xp.where(valid, coefficient if weight is None else coefficient * weight[safe], zero)
    if reduction == 0 and self.ndim == 1:
        scale = scale.reshape(1)
    values = xp.expand_dims(scale.astype(self.dtype, copy=False), 1)
    # a one-hot select: three kernels on any cupy (put_along_axis is fancy-index setitem there, and
    # cupy before 14 lacks it), and one pass over the output as zeros + scatter would make on numpy
    scores_shape = self.shape if self.ndim > 1 else (1,) + self.shape
    classes = xp.arange(scores_shape[1]).reshape((-1,) + (1,) * (len(scores_shape) - 2))
    out = xp.where(classes == xp.expand_dims(safe, 1), values, zero)
    return out if self.ndim > 1 else out[0]


def binary_cross_entropy(self, target, weight, reduction):
    xp = array_module(self)
    if target.shape != self.shape:  # (torch's Python wrapper checks it, before the kernel's dtype check)
        raise ValueError(f"Using a target size ({list(target.shape)}) that is different to the input size "
                         f"({list(self.shape)}) is deprecated. Please ensure they have the same size.")
    if target.dtype != self.dtype:
        raise RuntimeError(f"Found dtype {scalar_type_name(target.dtype)} but expected {scalar_type_name(self.dtype)}")
    if not xp.all((self >= 0) & (self <= 1)):  # a NaN is out of range too
        raise RuntimeError("all elements of input should be between 0 and 1")
    if not xp.all((target >= 0) & (target <= 1)):
        raise RuntimeError("all elements of target should be between 0 and 1")
    # torch clamps the logs at -100 so that 0 and 1 give finite losses
    loss = -(target * xp.maximum(xp.log(self), -100) + (1 - target) * xp.maximum(xp.log1p(-self), -100))
    return reduce_loss(loss if weight is None else loss * weight, reduction)


def mse_loss(self, target, reduction):
    check_kernel_dtype("mse_cpu", FLOATING, self)
    diff = self - target
    return reduce_loss(diff * diff, reduction)


def smooth_l1_loss(self, target, reduction, beta):
    dtype = result_type((self, target))
    self, target = self.astype(dtype, copy=False), target.astype(dtype, copy=False)
    check_kernel_dtype("smooth_l1_cpu", FLOATING, self)
    xp = array_module(self)
    diff = xp.abs(self - target)
    loss = diff - 0.5 * beta if beta == 0 else xp.where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta)
    return reduce_loss(loss, reduction)


def native_dropout(input, p, train):  # noqa: A002
    """(output, mask) with the mask drawn as torch draws it (bernoulli(1 - p) from the CPU generator)."""
    xp = array_module(input)
    if not train or p == 0:
        return input.copy(), xp.ones(input.shape, bool)
    if p == 1:
        return xp.zeros_like(input), xp.zeros(input.shape, bool)
    mask = random.bernoulli(1 - p, input.shape, np.float32).astype(bool)
    mask = xp.asarray(mask)
    return input * mask * (1 / (1 - p)), mask


# ---- convolution -----------------------------------------------------------------------------

def _as_2d(array, spatial: int):
    """1-D convolutions and pools run as 2-D ones over a height of 1."""
    return array[:, :, None] if spatial == 1 else array


def _pairs(values, spatial: int, fill: int) -> tuple:
    """2-D parameters from 1-D ones: the added height dim gets `fill` (stride 1, padding 0, ...)."""
    values = tuple(values)
    return (fill,) + values if spatial == 1 else values


def _output_size(size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool = False) -> int:
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:  # the last window must start inside the input
        out -= 1
    return out


def _windows(padded, kernel, stride, dilation, out_hw):
    """(N, C, KH, KW, OH, OW) strided view of every kernel position over every output pixel (its
    elements overlap: never written to; cupy's as_strided has no `writeable` to forbid it)."""
    xp = array_module(padded)
    n, c, _, _ = padded.shape
    s0, s1, s2, s3 = padded.strides
    shape = (n, c, kernel[0], kernel[1], out_hw[0], out_hw[1])
    strides = (s0, s1, s2 * dilation[0], s3 * dilation[1], s2 * stride[0], s3 * stride[1])
    return xp.lib.stride_tricks.as_strided(padded, shape, strides)


def _pad2d(x, padding, value=0.0):
    if not any(padding):
        return x
    xp = array_module(x)
    return xp.pad(x, ((0, 0), (0, 0), (padding[0], padding[0]), (padding[1], padding[1])), constant_values=value)


def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups):  # noqa: A002
    """Convolution, or with `transposed` its adjoint (the input gradient of a convolution by the same
    weight, (C_in, C_out / groups, k...)), over 1-D or 2-D images."""
    spatial = input.ndim - 2
    if spatial not in (1, 2) or weight.ndim != input.ndim:
        raise RuntimeError(f"convolution: expected a 3-D or 4-D input and a weight of the same rank, got input "
                           f"of shape {list(input.shape)} and weight of shape {list(weight.shape)}")
    channels = weight.shape[0] if transposed else weight.shape[1] * groups
    if input.shape[1] != channels:
        raise RuntimeError(f"Given {'transposed=1, ' if transposed else ''}groups={groups}, weight of size "
                           f"{list(weight.shape)}, expected input{list(input.shape)} to have {channels} channels, "
                           f"but got {input.shape[1]} channels instead")
    x, w = _as_2d(input, spatial), _as_2d(weight, spatial)
    stride, padding, dilation = _pairs(stride, spatial, 1), _pairs(padding, spatial, 0), _pairs(dilation, spatial, 1)
    if transposed:
        output_padding = _pairs(output_padding, spatial, 0)
        size = tuple((n - 1) * s - 2 * p + d * (k - 1) + extra + 1 for n, s, p, d, k, extra in
                     zip(x.shape[2:], stride, padding, dilation, w.shape[2:], output_padding))
        if min(size) <= 0:
            raise RuntimeError(f"Given input size per channel: {list(x.shape[2:])}, calculated output size per "
                               f"channel: {list(size)}. Output size is too small")
        out = _conv_input_grad(x, w, size, stride, padding, dilation, groups)
    else:
        out = _conv2d(x, w, stride, padding, dilation, groups)
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out[:, :, 0] if spatial == 1 else out


def _conv2d(x, w, stride, padding, dilation, groups):
    xp = array_module(x)
    n, c, h, width = x.shape
    o, cg, kh, kw = w.shape
    oh = _output_size(h, kh, stride[0], padding[0], dilation[0])
    ow = _output_size(width, kw, stride[1], padding[1], dilation[1])
    if oh <= 0 or ow <= 0:
        raise RuntimeError(f"Calculated output size ({oh}x{ow}) is too small for input ({h}x{width}) and kernel "
                           f"({kh}x{kw})")
    windows = _windows(_pad2d(x, padding), (kh, kw), stride, dilation, (oh, ow))
    og = o // groups
    backends.product_precision(x, "conv")
    if xp is not np:  # a GPU: a few large batched GEMMs, not one small one per image
        out = xp.empty((n, o, oh * ow), x.dtype)
        for g in range(groups):
            kernels = w[g * og:(g + 1) * og].reshape(og, -1)
            for start, stop in _image_chunks(n, cg * kh * kw * oh * ow * x.itemsize):
                cols = windows[start:stop, g * cg:(g + 1) * cg].reshape(stop - start, cg * kh * kw, oh * ow)
                xp.matmul(kernels, cols, out=out[start:stop, g * og:(g + 1) * og])
        return out.reshape(n, o, oh, ow)
    if oh * ow < _SMALL_IMAGE:  # few pixels per image: one GEMM over the whole batch
        out = xp.empty((o, n, oh * ow), x.dtype)
        for g in range(groups):
            cols = _batch_columns(windows[:, g * cg:(g + 1) * cg])
            xp.matmul(w[g * og:(g + 1) * og].reshape(og, -1), cols, out=out[g * og:(g + 1) * og].reshape(og, -1))
        return xp.ascontiguousarray(out.reshape(o, n, oh, ow).transpose(1, 0, 2, 3))
    out = xp.empty((n, o, oh * ow), x.dtype)
    for g in range(groups):
        kernels = w[g * og:(g + 1) * og].reshape(og, -1)
        for image in range(n):  # one image's columns at a time: they stay in cache for the GEMM
            cols = windows[image, g * cg:(g + 1) * cg].reshape(cg * kh * kw, oh * ow)  # im2col: one copy
            xp.matmul(kernels, cols, out=out[image, g * og:(g + 1) * og])
    return out.reshape(n, o, oh, ow)


# Below this many output pixels per image, per-image GEMMs get too thin to run fast.
_SMALL_IMAGE = 256
# On a GPU the columns of as many images as fit in this many bytes are materialized at once (one
# im2col copy and one batched GEMM per chunk): enough to fill the device, bounded in memory.
IM2COL_BYTES = 256 << 20


def _image_chunks(n: int, image_bytes: int):
    """(start, stop) ranges of images whose columns together fit in IM2COL_BYTES (one at least)."""
    step = max(1, IM2COL_BYTES // max(image_bytes, 1))
    return [(start, min(start + step, n)) for start in range(0, n, step)]


def _batch_columns(windows):
    """im2col of a whole batch: (C * KH * KW, N * OH * OW), one copy."""
    n, c, kh, kw, oh, ow = windows.shape
    return windows.transpose(1, 2, 3, 0, 4, 5).reshape(c * kh * kw, n * oh * ow)


def convolution_backward(grad_output, input, weight, bias_sizes, stride, padding, dilation, transposed,  # noqa: A002
                         output_padding, groups, output_mask):
    """(grad_input, grad_weight, grad_bias) of convolution, each computed only if asked for. For a
    transposed convolution the roles swap: its input gradient is the plain convolution of the
    output gradient, and its weight gradient that of a convolution of grad_output into input."""
    spatial = input.ndim - 2
    x, w, g = _as_2d(input, spatial), _as_2d(weight, spatial), _as_2d(grad_output, spatial)
    stride, padding, dilation = _pairs(stride, spatial, 1), _pairs(padding, spatial, 0), _pairs(dilation, spatial, 1)
    grad_input = grad_weight = grad_bias = None
    if output_mask[1]:
        grad_weight = (_conv_weight_grad(g, x, w, stride, padding, dilation, groups) if transposed else
                       _conv_weight_grad(x, g, w, stride, padding, dilation, groups))
    if output_mask[0] and transposed:
        # rows that output_padding added past the last stride have no input row of their own
        grad_input = _conv2d(g, w, stride, padding, dilation, groups)[:, :, :x.shape[2], :x.shape[3]]
        grad_input = array_module(g).ascontiguousarray(grad_input)
    elif output_mask[0]:
        grad_input = _conv_input_grad(g, w, x.shape[2:], stride, padding, dilation, groups)
    if output_mask[2] and bias_sizes is not None:
        grad_bias = g.sum(axis=(0, 2, 3))
    if spatial == 1:
        grad_input = None if grad_input is None else grad_input[:, :, 0]
        grad_weight = None if grad_weight is None else grad_weight[:, :, 0]
    return grad_input, grad_weight, grad_bias


def _conv_weight_grad(x, g, w, stride, padding, dilation, groups):
    """The gradient of a convolution's weight (shaped like w) from its input x and output gradient g."""
    xp = array_module(x)
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    oh, ow = g.shape[2:]
    og = o // groups
    grad_rows = g.reshape(n, o, oh * ow)
    windows = _windows(_pad2d(x, padding), (kh, kw), stride, dilation, (oh, ow))
    backends.product_precision(x, "conv")
    if xp is not np:  # a GPU: per chunk of images, one im2col copy and one batched GEMM, summed
        grad_weight = xp.zeros(w.shape, x.dtype)
        for group in range(groups):
            target = grad_weight[group * og:(group + 1) * og].reshape(og, cg * kh * kw)
            for start, stop in _image_chunks(n, cg * kh * kw * oh * ow * x.itemsize):
                cols = windows[start:stop, group * cg:(group + 1) * cg].reshape(stop - start, cg * kh * kw, oh * ow)
                rows = grad_rows[start:stop, group * og:(group + 1) * og]
                target += xp.matmul(rows, cols.transpose(0, 2, 1)).sum(axis=0)
        return grad_weight
    grad_weight = xp.zeros(w.shape, x.dtype)
    for group in range(groups):
        target = grad_weight[group * og:(group + 1) * og].reshape(og, cg * kh * kw)
        if oh * ow < _SMALL_IMAGE:
            rows = grad_rows[:, group * og:(group + 1) * og].transpose(1, 0, 2).reshape(og, -1)
            target += rows @ _batch_columns(windows[:, group * cg:(group + 1) * cg]).T
            continue
        for image in range(n):
            cols = windows[image, group * cg:(group + 1) * cg].reshape(cg * kh * kw, oh * ow)
            target += grad_rows[image, group * og:(group + 1) * og] @ cols.T
    return grad_weight


def _conv_input_grad(g, w, size, stride, padding, dilation, groups):
    """The gradient of a convolution's input, of spatial `size`, from its output gradient g."""
    xp = array_module(g)
    n = g.shape[0]
    o, cg, kh, kw = w.shape
    oh, ow = g.shape[2:]
    h, width = size
    if stride == (1, 1) and all(p <= d * (k - 1) for p, d, k in zip(padding, dilation, (kh, kw))) and \
            all(out + d * (k - 1) - 2 * p == s for out, d, k, p, s in zip((oh, ow), dilation, (kh, kw), padding, size)):
        return _input_grad_as_convolution(g, w, padding, dilation, groups)
    og = o // groups
    grad_rows = g.reshape(n, o, oh * ow)
    backends.product_precision(g, "conv")
    padded = xp.zeros((n, cg * groups, h + 2 * padding[0], width + 2 * padding[1]), g.dtype)
    for group in range(groups):
        rows = grad_rows[:, group * og:(group + 1) * og]
        # weight rows ordered (kh, kw, c): each kernel position's columns come out as one
        # contiguous (n, c, oh, ow) block, so col2im's adds read memory in order
        kernel_major = w[group * og:(group + 1) * og].transpose(2, 3, 1, 0).reshape(-1, og)
        cols = xp.matmul(kernel_major, rows).reshape(n, kh, kw, cg, oh, ow)
        target = padded[:, group * cg:(group + 1) * cg]
        for i in range(kh):  # col2im: one strided add per kernel position, not per pixel
            for j in range(kw):
                top, left = i * dilation[0], j * dilation[1]
                target[:, :, top:top + stride[0] * oh:stride[0], left:left + stride[1] * ow:stride[1]] += cols[:, i, j]
    return xp.ascontiguousarray(padded[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + width])


def _input_grad_as_convolution(grad, weight, padding, dilation, groups):
    """For stride 1, the input's gradient is a convolution too: the output gradient, padded to
    full size, against the kernels flipped and with in/out channels swapped. One im2col and one
    GEMM, like the forward, instead of a col2im of scattered adds."""
    o, cg, kh, kw = weight.shape
    og = o // groups
    swapped = weight.reshape(groups, og, cg, kh, kw).transpose(0, 2, 1, 3, 4).reshape(groups * cg, og, kh, kw)
    flipped = array_module(weight).ascontiguousarray(swapped[:, :, ::-1, ::-1])
    full = tuple(d * (k - 1) - p for p, d, k in zip(padding, dilation, (kh, kw)))
    return _conv2d(grad, flipped, (1, 1), full, dilation, groups)


# ---- pooling ---------------------------------------------------------------------------------

def max_pool2d_with_indices(self, kernel_size, stride, padding, dilation, ceil_mode):
    """(output, indices); indices are flat positions in each input plane (H * W), as torch's."""
    xp = array_module(self)
    batched = self.ndim == 4
    x = self if batched else self[None]
    stride = stride or kernel_size
    n, c, h, w = x.shape
    kh, kw = kernel_size
    oh = _output_size(h, kh, stride[0], padding[0], dilation[0], ceil_mode)
    ow = _output_size(w, kw, stride[1], padding[1], dilation[1], ceil_mode)
    extra_h = max(0, (oh - 1) * stride[0] + dilation[0] * (kh - 1) + 1 - h - 2 * padding[0])
    extra_w = max(0, (ow - 1) * stride[1] + dilation[1] * (kw - 1) + 1 - w - 2 * padding[1])
    padded = xp.pad(x, ((0, 0), (0, 0), (padding[0], padding[0] + extra_h), (padding[1], padding[1] + extra_w)),
                    constant_values=-xp.inf)
    windows = _windows(padded, (kh, kw), stride, dilation, (oh, ow))
    flat = windows.reshape(n, c, kh * kw, oh, ow)
    position = xp.argmax(flat, axis=2)
    values = xp.take_along_axis(flat, position[:, :, None], axis=2)[:, :, 0]
    row = xp.arange(oh)[:, None] * stride[0] - padding[0] + (position // kw) * dilation[0]
    col = xp.arange(ow)[None, :] * stride[1] - padding[1] + (position % kw) * dilation[1]
    indices = (row * w + col).astype(xp.int64)
    return (values, indices) if batched else (values[0], indices[0])


def max_pool2d_with_indices_backward(grad_output, self, kernel_size, stride, padding, dilation, ceil_mode,
                                     indices):
    xp = array_module(self)
    planes = self.shape[-2] * self.shape[-1]
    count = grad_output.size // (indices.shape[-2] * indices.shape[-1]) if grad_output.ndim > 2 else 1
    offsets = (xp.arange(count) * planes).reshape(grad_output.shape[:-2] + (1, 1))
    flat = xp.bincount((indices + offsets).ravel(), weights=grad_output.ravel(), minlength=count * planes)
    return flat.astype(self.dtype).reshape(self.shape)


def _avg_divisors(h, w, kernel, stride, padding, out_hw, count_include_pad, divisor_override, xp, dtype):
    if divisor_override:
        return dtype.type(divisor_override)
    if count_include_pad:
        # windows clipped at the padded border (ceil_mode) count only the padded area
        ones = xp.pad(xp.ones((1, 1, h, w), dtype), ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2),
                      constant_values=1)
    else:
        ones = _pad2d(xp.ones((1, 1, h, w), dtype), padding)
    extra = [max(0, (o - 1) * s + k - size) for o, s, k, size in zip(out_hw, stride, kernel, ones.shape[2:])]
    ones = xp.pad(ones, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
    return _windows(ones, kernel, stride, (1, 1), out_hw).sum(axis=(2, 3))


def avg_pool2d(self, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    xp = array_module(self)
    batched = self.ndim == 4
    x = self if batched else self[None]
    stride = stride or kernel_size
    n, c, h, w = x.shape
    oh = _output_size(h, kernel_size[0], stride[0], padding[0], 1, ceil_mode)
    ow = _output_size(w, kernel_size[1], stride[1], padding[1], 1, ceil_mode)
    padded = _pad2d(x, padding)
    extra = [max(0, (o - 1) * s + k - size) for o, s, k, size in zip((oh, ow), stride, kernel_size, padded.shape[2:])]
    padded = xp.pad(padded, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
    sums = _windows(padded, kernel_size, stride, (1, 1), (oh, ow)).sum(axis=(2, 3))
    out = (sums / _avg_divisors(h, w, kernel_size, stride, padding, (oh, ow), count_include_pad,
                                divisor_override, xp, x.dtype)).astype(x.dtype)
    return out if batched else out[0]


def avg_pool2d_backward(grad_output, self, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override):
    xp = array_module(self)
    batched = self.ndim == 4
    g = grad_output if batched else grad_output[None]
    stride = stride or kernel_size
    n, c, h, w = (self if batched else self[None]).shape
    oh, ow = g.shape[2:]
    share = g / _avg_divisors(h, w, kernel_size, stride, padding, (oh, ow), count_include_pad,
                              divisor_override, xp, self.dtype)
    rows = max(h + 2 * padding[0], (oh - 1) * stride[0] + kernel_size[0])
    cols = max(w + 2 * padding[1], (ow - 1) * stride[1] + kernel_size[1])
    padded = xp.zeros((n, c, rows, cols), self.dtype)
    for i in range(kernel_size[0]):
        for j in range(kernel_size[1]):
            padded[:, :, i:i + stride[0] * oh:stride[0], j:j + stride[1] * ow:stride[1]] += share
    out = padded[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w]
    return xp.ascontiguousarray(out if batched else out[0])


def _adaptive_bounds(size: int, out: int) -> list[tuple[int, int]]:
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def adaptive_avg_pool2d(self, output_size):
    xp = array_module(self)
    h, w = self.shape[-2:]
    oh, ow = output_size
    if h % oh == 0 and w % ow == 0:  # equal bins: one reshape and mean
        shaped = self.reshape(self.shape[:-2] + (oh, h // oh, ow, w // ow))
        return shaped.mean(axis=(-3, -1))
    out = xp.empty(self.shape[:-2] + (oh, ow), self.dtype)
    for i, (top, bottom) in enumerate(_adaptive_bounds(h, oh)):
        for j, (left, right) in enumerate(_adaptive_bounds(w, ow)):
            out[..., i, j] = self[..., top:bottom, left:right].mean(axis=(-2, -1))
    return out


def adaptive_avg_pool2d_backward(grad_output, self):
    xp = array_module(self)
    h, w = self.shape[-2:]
    oh, ow = grad_output.shape[-2:]
    out = xp.zeros(self.shape, self.dtype)
    for i, (top, bottom) in enumerate(_adaptive_bounds(h, oh)):
        for j, (left, right) in enumerate(_adaptive_bounds(w, ow)):
            area = (bottom - top) * (right - left)
            out[..., top:bottom, left:right] += (grad_output[..., i, j] / area)[..., None, None]
    return out


# ---- normalization, embedding, upsampling ------------------------------------------------------

def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):  # noqa: A002
    """(output, save_mean, save_invstd); in training, running stats are updated in place as torch does."""
    xp = array_module(input)
    axes = (0,) + tuple(range(2, input.ndim))
    shape = (1, -1) + (1,) * (input.ndim - 2)
    if training:
        mean = input.mean(axis=axes)
        variance = input.var(axis=axes)
        if running_mean is not None:
            count = input.size // input.shape[1]
            running_mean *= 1 - momentum
            running_mean += momentum * mean
            running_var *= 1 - momentum
            running_var += momentum * variance * (count / max(count - 1, 1))
    else:
        mean, variance = running_mean, running_var
    invstd = 1 / xp.sqrt(variance + eps)
    out = (input - mean.reshape(shape)) * invstd.reshape(shape)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    empty = xp.zeros((0,), input.dtype)
    return (out.astype(input.dtype, copy=False), mean.astype(input.dtype) if training else empty,
            invstd.astype(input.dtype) if training else empty)


def native_layer_norm(input, normalized_shape, weight, bias, eps):  # noqa: A002
    xp = array_module(input)
    axes = tuple(range(input.ndim - len(normalized_shape), input.ndim))
    mean = input.mean(axis=axes, keepdims=True)
    rstd = 1 / xp.sqrt(input.var(axis=axes, keepdims=True) + eps)
    out = (input - mean) * rstd
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out.astype(input.dtype, copy=False), mean, rstd


def layer_norm_backward(grad, input, normalized_shape, weight, mean, rstd, mask):  # noqa: A002
    """(grad_input, grad_weight, grad_bias) of layer_norm from its saved mean and rstd, over arrays:
    the array form of formulas.layer_norm_backward, rows of the normalized size at a time."""
    width = math.prod(normalized_shape)
    rows = grad.reshape(-1, width)
    x_hat = input.reshape(-1, width) - mean.reshape(-1, 1)
    x_hat *= rstd.reshape(-1, 1)
    grad_input = grad_weight = grad_bias = None
    if mask[0]:
        g = rows if weight is None else rows * weight.reshape(1, -1)
        mean_gx = (g * x_hat).mean(axis=1, keepdims=True)
        grad_input = g - g.mean(axis=1, keepdims=True)
        mean_gx = x_hat * mean_gx
        grad_input -= mean_gx
        grad_input *= rstd.reshape(-1, 1)
        grad_input = grad_input.reshape(input.shape)
    if mask[1]:
        x_hat *= rows
        grad_weight = x_hat.sum(axis=0).reshape(normalized_shape)
    if mask[2]:
        grad_bias = rows.sum(axis=0).reshape(normalized_shape)
    return grad_input, grad_weight, grad_bias


def native_group_norm(input, weight, bias, N, C, HxW, group, eps):  # noqa: A002,N803 - torch's names
    xp = array_module(input)
    grouped = input.reshape(N, group, -1)
    mean = grouped.mean(axis=2, keepdims=True)
    rstd = 1 / xp.sqrt(grouped.var(axis=2, keepdims=True) + eps)
    out = ((grouped - mean) * rstd).reshape(input.shape)
    shape = (1, C) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out.astype(input.dtype, copy=False), mean.reshape(N, group), rstd.reshape(N, group)


def embedding(weight, indices, padding_idx, scale_grad_by_freq, sparse):
    if indices.dtype.kind not in "iu":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {indices.dtype} instead (while checking arguments for embedding)")
    if indices.size and (indices.min() < 0 or indices.max() >= weight.shape[0]):
        raise IndexError("index out of range in self")
    return weight[indices]


def upsample_nearest2d(self, output_size, scales_h, scales_w):
    xp = array_module(self)
    rows = _nearest_source(self.shape[-2], output_size[0], scales_h, xp)
    cols = _nearest_source(self.shape[-1], output_size[1], scales_w, xp)
    return self[..., rows[:, None], cols]


def linear_source_weights(size: int, out: int, align_corners: bool, scale, dtype):
    """(i0, i1, w0, w1): output position j of linear resampling reads input positions i0[j] and
    i1[j] with weights w0[j] and w1[j] (torch's area_pixel_compute_source_index, in `dtype`)."""
    t = np.dtype(dtype).type if np.dtype(dtype).kind == "f" else np.float32
    if align_corners:
        ratio = t(size - 1) / t(out - 1) if out > 1 else t(0)
    else:
        ratio = t(1.0 / scale) if scale is not None and scale > 0 else t(size) / t(out)
    target = np.arange(out, dtype=t)
    source = ratio * target if align_corners else np.maximum(ratio * (target + t(0.5)) - t(0.5), t(0))
    first = source.astype(np.int64)
    second = first + (first < size - 1)
    weight = np.clip(source - first, t(0), t(1)).astype(t)
    return first, second, t(1) - weight, weight


def upsample_bilinear2d(self, output_size, align_corners, scales_h, scales_w):
    xp = array_module(self)
    h0, h1, top, bottom = (xp.asarray(a) for a in linear_source_weights(self.shape[-2], output_size[0],
                                                                        align_corners, scales_h, self.dtype))
    w0, w1, left, right = (xp.asarray(a) for a in linear_source_weights(self.shape[-1], output_size[1],
                                                                        align_corners, scales_w, self.dtype))
    rows = self[..., h0, :] * top[:, None]
    rows += self[..., h1, :] * bottom[:, None]
    out = rows[..., w0] * left
    out += rows[..., w1] * right
    return out


def nearest_source_indices(size, output_size, scale):
    """Input index of each output position of nearest upsampling (torch's floor(dst * in / out))."""
    return _nearest_source(size, output_size, scale, np)


def _nearest_source(size: int, out: int, scale, xp):
    ratio = 1 / scale if scale else size / out
    return xp.minimum(xp.floor(xp.arange(out) * ratio).astype(xp.int64), size - 1)


def smooth_l1_loss_backward(grad_output, self, target, reduction, beta):
    """torch's kernel: the quadratic branch unless at or beyond +-beta (so NaN takes it); a bool
    operand is a number here (the kernel promotes; the second derivative's subtraction does not)."""
    xp = array_module(self)
    diff = self - target
    local = xp.sign(diff) if beta == 0 else xp.where(diff <= -beta, -1, xp.where(diff >= beta, 1, diff / beta))
    local = local * grad_output
    return local / self.size if reduction == 1 else local  # at::Reduction::Mean
