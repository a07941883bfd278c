"""torch.nn.functional over the generated ops.

Each function maps torch's Python signature onto the spec's ops (`conv2d` -> `convolution`,
`cross_entropy` -> `_log_softmax` + `nll_loss_forward`, ...), so the graph records the
same nodes torch records (ConvolutionBackward0, NllLossBackward0, ...).
"""

from __future__ import annotations

import math

import numpy as np

from ..backends import to_device
from ..generated import functions as F

from .. import composites
from .. import random as _random
from ..dtypes import bool as _bool
from ..shapes import int_list
from ..tensor import make_tensor

_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}


def _reduction(reduction: str, op: str) -> int:
    try:
        return _REDUCTIONS[reduction]
    except KeyError:
        raise ValueError(f"{op}: {reduction} is not a valid value for reduction "
                         f"(expected one of {', '.join(_REDUCTIONS)})") from None


def _pair(value, op: str, name: str, n: int = 2) -> tuple[int, ...]:
    return int_list(value, op, name, n)


# ---- activations ---------------------------------------------------------------------------

sigmoid = F.sigmoid
tanh = F.tanh


def relu(input, inplace=False):
    return F.relu_(input) if inplace else F.relu(input)


def silu(input, inplace=False):
    return F.silu_(input) if inplace else F.silu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return F.leaky_relu_(input, negative_slope) if inplace else F.leaky_relu(input, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    return F.elu_(input, alpha) if inplace else F.elu(input, alpha)


def gelu(input, approximate="none"):
    return F.gelu(input, approximate=approximate)


def softplus(input, beta=1.0, threshold=20.0):
    return F.softplus(input, beta, threshold)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return F.hardtanh_(input, min_val, max_val) if inplace else F.hardtanh(input, min_val, max_val)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def _softmax_dim(input, dim) -> int:
    if dim is None:  # torch's legacy default, with its deprecation
        return 0 if input.ndim in (0, 1, 3) else 1
    return dim


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    return composites.softmax(input, _softmax_dim(input, dim), dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    return composites.log_softmax(input, _softmax_dim(input, dim), dtype)


# ---- losses ----------------------------------------------------------------------------------

def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    _no_legacy(size_average, reduce)
    return F.nll_loss_forward(input, target, weight, _reduction(reduction, "nll_loss"), ignore_index)[0]


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Class indices (int targets) or class probabilities (float targets of the input's shape)."""
    _no_legacy(size_average, reduce)
    code = _reduction(reduction, "cross_entropy")
    log_probs = log_softmax(input, 1 if input.ndim > 1 else 0)
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    if target.is_floating_point():
        return _soft_cross_entropy(log_probs, target, weight, code, label_smoothing, classes)
    loss = F.nll_loss_forward(log_probs, target, weight, code, ignore_index)[0]
    if label_smoothing <= 0:
        return loss
    # torch: (1 - eps) * nll + eps * (the loss against the uniform distribution over classes)
    per_class = log_probs if weight is None else log_probs * _class_shaped(weight, log_probs)
    smooth = -F.sum_dim_IntList(per_class, [1 if input.ndim > 1 else 0], False)
    keep = target != ignore_index
    smooth = F.where(keep, smooth, 0)
    if code == 1:
        denominator = (F.sum_default(keep) if weight is None else
                       F.sum_default(F.where(keep, F.index_select(weight, 0, F.where(keep, target, 0)), 0)))
        smooth = F.sum_default(smooth) / denominator
    elif code == 2:
        smooth = F.sum_default(smooth)
    return loss * (1 - label_smoothing) + smooth * (label_smoothing / classes)


def _class_shaped(weight, like):
    """weight (C,) viewed to broadcast along the class dim 1 of (N, C, ...)."""
    return weight.reshape([1, -1] + [1] * (like.ndim - 2)) if like.ndim > 1 else weight


def _soft_cross_entropy(log_probs, target, weight, code, label_smoothing, classes):
    if target.shape != log_probs.shape:
        raise RuntimeError(f"cross_entropy: expected target of shape {list(log_probs.shape)} for class "
                           f"probabilities, got {list(target.shape)}")
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    terms = log_probs * target if weight is None else log_probs * target * _class_shaped(weight, log_probs)
    loss = -F.sum_dim_IntList(terms, [1 if log_probs.ndim > 1 else 0], False)
    if code == 0:
        return loss
    total = F.sum_default(loss)
    return total if code == 2 else total / (loss.numel() if loss.ndim else 1)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    _no_legacy(size_average, reduce)
    return F.binary_cross_entropy(input, target, weight, _reduction(reduction, "binary_cross_entropy"))


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    _no_legacy(size_average, reduce)
    return F.binary_cross_entropy_with_logits(input, target, weight, pos_weight,
                                              _reduction(reduction, "binary_cross_entropy_with_logits"))


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _no_legacy(size_average, reduce)
    input, target = _broadcast_pair(input, target)
    return F.mse_loss(input, target, _reduction(reduction, "mse_loss"))


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """torch composes it: (input - target).abs() then the reduction (MeanBackward0 on top)."""
    _no_legacy(size_average, reduce)
    loss = F.abs(input - target)
    code = _reduction(reduction, "l1_loss")
    return loss if code == 0 else F.mean_default(loss) if code == 1 else F.sum_default(loss)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    _no_legacy(size_average, reduce)
    input, target = _broadcast_pair(input, target)
    return F.smooth_l1_loss(input, target, _reduction(reduction, "smooth_l1_loss"), beta)


def _broadcast_pair(input, target):
    if input.shape == target.shape:
        return input, target
    shape = np.broadcast_shapes(tuple(input.shape), tuple(target.shape))
    return input.expand(*shape), target.expand(*shape)


def _no_legacy(size_average, reduce) -> None:
    if size_average is not None or reduce is not None:
        raise ValueError("size_average and reduce are deprecated in torch: use reduction=")


# ---- dropout, linear, embedding ----------------------------------------------------------------

def dropout(input, p=0.5, training=True, inplace=False):
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    return F.native_dropout(input, p, True)[0]


def linear(input, weight, bias=None):
    """As torch: addmm for a 2-D input with a bias (AddmmBackward0), and for a row-major N-D one
    viewed as 2-D (ViewBackward0 around AddmmBackward0); else matmul (+ bias)."""
    if input.ndim == 2 and bias is not None:
        return F.addmm(bias, input, F.t(weight))
    if input.ndim > 2 and bias is not None and input._data.flags.c_contiguous:
        rows = F.view(input, [-1, input.shape[-1]])
        return F.view(F.addmm(bias, rows, F.t(weight)), [*input.shape[:-1], weight.shape[0]])
    out = F.matmul(input, F.t(weight))
    return out if bias is None else out + bias


def bilinear(input1, input2, weight, bias=None):
    """out[..., o] = input1 @ weight[o] @ input2 (+ bias[o])."""
    left = F.matmul(F.unsqueeze(F.unsqueeze(input1, -2), -3), weight)  # (..., O, 1, J)
    out = F.sum_dim_IntList(F.squeeze(left, -2) * F.unsqueeze(input2, -2), [-1], False)
    return out if bias is None else out + bias


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    if max_norm is not None:
        raise NotImplementedError("embedding(max_norm=...) is not supported")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    return F.embedding(weight, input, -1 if padding_idx is None else padding_idx, scale_grad_by_freq, sparse)


def one_hot(tensor, num_classes=-1):
    data = tensor._data
    if data.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes < 0:
        num_classes = int(data.max()) + 1 if data.size else 0
    if data.size and (data.min() < 0 or data.max() >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes.")
    return make_tensor((data[..., None] == np.arange(num_classes)).astype(np.int64))


# ---- convolution and pooling -------------------------------------------------------------------

def _conv(input, weight, bias, stride, padding, dilation, groups, spatial: int, op: str):
    stride, dilation = _pair(stride, op, "stride", spatial), _pair(dilation, op, "dilation", spatial)
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,) * spatial
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            totals = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
            left = [t // 2 for t in totals]
            if any(t % 2 for t in totals):  # uneven: pad the extra element on the right first, as torch
                extra = []
                for t in reversed(totals):
                    extra.extend((0, t % 2))
                input = F.constant_pad_nd(input, extra, 0)
            padding = tuple(left)
        else:
            raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
    padding = _pair(padding, op, "padding", spatial)
    return F.convolution(input, weight, bias, stride, padding, dilation, False, (0,) * spatial, groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    kernel = _pair(kernel_size, "max_pool2d", "kernel_size")
    stride = kernel if stride is None or stride == [] else _pair(stride, "max_pool2d", "stride")
    output, indices = F.max_pool2d_with_indices(input, kernel, stride, _pair(padding, "max_pool2d", "padding"),
                                                _pair(dilation, "max_pool2d", "dilation"), ceil_mode)
    return (output, indices) if return_indices else output


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    kernel = _pair(kernel_size, "avg_pool2d", "kernel_size")
    stride = kernel if stride is None or stride == [] else _pair(stride, "avg_pool2d", "stride")
    return F.avg_pool2d(input, kernel, stride, _pair(padding, "avg_pool2d", "padding"), ceil_mode,
                        count_include_pad, divisor_override)


def adaptive_avg_pool2d(input, output_size):
    size = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    size = tuple(input.shape[-2 + i] if s is None else s for i, s in enumerate(size))
    return F._adaptive_avg_pool2d(input, size)


# ---- normalization -----------------------------------------------------------------------------

def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    if training and input.numel() // input.shape[1] <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {input.shape}")
    return F.native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)[0]


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    return F.native_layer_norm(input, int_list(normalized_shape, "layer_norm", "normalized_shape"), weight, bias,
                               eps)[0]


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input "
                           f"of shape {input.shape} and num_groups={num_groups}")
    return F.native_group_norm(input, weight, bias, n, c, input.numel() // (n * c) if n * c else 0, num_groups,
                               eps)[0]


# ---- resizing and padding ----------------------------------------------------------------------

def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None,
                antialias=False):
    if mode != "nearest" or input.ndim != 4:
        raise NotImplementedError(f"interpolate supports mode='nearest' on 4-D inputs, got mode={mode!r} on a "
                                  f"{input.ndim}-D input")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        return F.upsample_nearest2d(input, _pair(size, "interpolate", "size"), None, None)
    scales = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor, scale_factor)
    out = tuple(int(math.floor(s * f)) for s, f in zip(input.shape[-2:], scales))
    return F.upsample_nearest2d(input, out, None if recompute_scale_factor else scales[0],
                                None if recompute_scale_factor else scales[1])


def pad(input, pad, mode="constant", value=None):
    pad = int_list(pad, "pad", "pad")
    if mode == "constant":
        return F.constant_pad_nd(input, pad, 0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: mode must be one of constant, reflect, replicate, circular, got {mode!r}")
    out = input
    for i in range(len(pad) // 2):  # the pad list runs from the last dim backwards
        dim = input.ndim - 1 - i
        positions = _pad_positions(input.shape[dim], pad[2 * i], pad[2 * i + 1], mode)
        out = F.index_select(out, dim, make_tensor(to_device(positions, input.device)))
    return out


def _pad_positions(size: int, left: int, right: int, mode: str) -> np.ndarray:
    """The source index of every position of a dim padded by (left, right): gathering them is
    the padding, and index_select's backward adds the gradients of repeated sources."""
    if mode == "reflect" and (left >= size or right >= size):
        raise RuntimeError(f"Padding size should be less than the corresponding input dimension, but got: "
                           f"padding ({left}, {right}) at dimension of size {size}")
    positions = np.arange(-left, size + right)
    if mode == "reflect":
        period = 2 * (size - 1)
        positions = np.abs((positions + period) % period) if period else np.zeros_like(positions)
        return np.where(positions >= size, period - positions, positions)
    if mode == "replicate":
        return np.clip(positions, 0, size - 1)
    return positions % size



# ---- attention -----------------------------------------------------------------------------------

def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(query @ key^T * scale + mask) @ value over the last two dims (batch dims broadcast),
    one ScaledDotProductAttentionBackward0 node. A bool mask keeps where True; a float one is added.
    The dropout mask is drawn from the default generator as torch's math path draws it."""
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    if enable_gqa and query.shape[-3] != key.shape[-3]:
        raise NotImplementedError("scaled_dot_product_attention: enable_gqa with fewer key/value heads is not "
                                  "supported")
    if attn_mask is not None and attn_mask.dtype is _bool:
        attn_mask = F.masked_fill_Scalar(F.zeros_like(attn_mask, dtype=query.dtype), F.logical_not(attn_mask),
                                         -math.inf)
    dropout_mask = None
    if dropout_p > 0:
        shape = (*np.broadcast_shapes(tuple(query.shape[:-2]), tuple(key.shape[:-2])), query.shape[-2],
                 key.shape[-2])
        dropout_mask = make_tensor(_random.bernoulli(1 - dropout_p, shape, np.float32).astype(bool))
    return F._scaled_dot_product_attention(query, key, value, attn_mask, dropout_p, is_causal, dropout_mask,
                                           scale=scale)[0]
