"""torch.nn.functional over the generated ops.

Each function maps torch's Python signature onto the spec's ops (`conv2d` -> `convolution`,
`cross_entropy` -> `_log_softmax` + `nll_loss_forward`, ...), so the graph records the
same nodes torch records (ConvolutionBackward0, NllLossBackward0, ...).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..backends import to_device
from ..generated import functions as F

from .. import composites
from .. import random as _random
from ..dtypes import bool as _bool
from ..shapes import broadcast_error, int_list
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


def hardswish(input, inplace=False):
    return F.hardswish_(input) if inplace else F.hardswish(input)


def hardsigmoid(input, inplace=False):
    return F.hardsigmoid_(input) if inplace else F.hardsigmoid(input)


def threshold(input, threshold, value, inplace=False):  # noqa: A002
    """`value` where input <= threshold (NaN stays), else input; the gradient flows where it is kept."""
    below = input <= threshold
    return input.masked_fill_(below, value) if inplace else input.masked_fill(below, value)


def logsigmoid(input):
    """log(sigmoid(x)) = -softplus(-x), stable for large |x|."""
    return -F.softplus(-input, 1, 20)


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
    input, target = _broadcast_pair(input, target)
    loss = F.abs(input - target)
    code = _reduction(reduction, "l1_loss")
    return loss if code == 0 else F.mean_default(loss) if code == 1 else F.sum_default(loss)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    _no_legacy(size_average, reduce)
    input, target = _broadcast_pair(input, target)
    return F.smooth_l1_loss(input, target, _reduction(reduction, "smooth_l1_loss"), beta)


def _reduce(loss, reduction: str, op: str):
    code = _reduction(reduction, op)
    return loss if code == 0 else F.mean_default(loss) if code == 1 else F.sum_default(loss)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """delta * smooth_l1(beta=delta): quadratic within delta, linear beyond."""
    if weight is not None:
        raise NotImplementedError("huber_loss: weight= is not supported")
    input, target = _broadcast_pair(input, target)
    return _reduce(F.smooth_l1_loss(input, target, 0, delta) * delta, reduction, "huber_loss")


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Pointwise target * (log target - input), input being log-probabilities; `batchmean` divides
    the sum by the batch size (torch's `mean` divides by every element, with a warning)."""
    _no_legacy(size_average, reduce)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = F.where(target > 0, target * target.clamp_min(1e-45).log(), 0) - target * input
    if reduction == "batchmean":
        return F.sum_default(loss) / (input.shape[0] if input.ndim else 1)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.")
    return _reduce(loss, reduction, "kl_div")


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    _no_legacy(size_average, reduce)
    return _reduce((-target * input).exp().log1p(), reduction, "soft_margin_loss")


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """input where target is 1, max(0, margin - input) where it is -1 (torch sums both masks)."""
    _no_legacy(size_average, reduce)
    loss = F.where(target != 1, (margin - input).clamp_min(0), 0) + F.where(target != -1, input, 0)
    return _reduce(loss, reduction, "hinge_embedding_loss")


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    _no_legacy(size_average, reduce)
    if not (input1.ndim == input2.ndim == target.ndim):
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {input1.shape}, input2: {input2.shape}, target: {target.shape} ")
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction, "margin_ranking_loss")


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    _no_legacy(size_average, reduce)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:  # Stirling's term, where target > 1
        stirling = target * target.clamp_min(1).log() - target + 0.5 * (2 * math.pi * target.clamp_min(1)).log()
        loss = loss + F.where(target > 1, stirling, 0)
    return _reduce(loss, reduction, "poisson_nll_loss")


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 * (log var + (input - target)^2 / var); var is clamped to eps without changing its
    gradient (torch clamps a copy in place under no_grad)."""
    if isinstance(var, (int, float)):
        var = input.new_full(input.shape, float(var))
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:  # one variance per sample, homoscedastic over the last dim
            var = var.unsqueeze(-1)
        elif not (input.shape[:-1] == var.shape[:-1] and var.shape[-1] == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    if bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    var = var + (var.detach().clamp_min(eps) - var.detach())
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, "gaussian_nll_loss")


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    _no_legacy(size_average, reduce)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    classes = input.shape[-1] if input.ndim else 1
    loss = F.sum_dim_IntList(loss, [input.ndim - 1], False) / classes if input.ndim else loss
    return _reduce(loss, reduction, "multilabel_soft_margin_loss")


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """1 - cos where target is 1, max(0, cos - margin) where it is -1 (torch's 1e-12 in each norm)."""
    _no_legacy(size_average, reduce)
    dim = input1.ndim - 1
    dot = F.sum_dim_IntList(input1 * input2, [dim], False)
    norms = (F.sum_dim_IntList(input1 * input1, [dim], False) + 1e-12) * \
        (F.sum_dim_IntList(input2 * input2, [dim], False) + 1e-12)
    cos = dot / norms.sqrt()
    loss = F.where(target == 1, 1 - cos, 0) + F.where(target == -1, (cos - margin).clamp_min(0), 0)
    return _reduce(loss, reduction, "cosine_embedding_loss")


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """Per sample: the mean over classes j != y of max(0, margin - x[y] + x[j])^p, scaled by weight[y]."""
    _no_legacy(size_average, reduce)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    rows = input if input.ndim == 2 else input.reshape(1, -1)
    labels = target.reshape(-1, 1)
    terms = (margin - rows.gather(1, labels) + rows).clamp_min(0)
    if p == 2:
        terms = terms * terms
    if weight is not None:
        terms = terms * weight[target.reshape(-1)].reshape(-1, 1)
    own = make_tensor(to_device(np.arange(rows.shape[1]).reshape(1, -1), rows.device)) == labels
    loss = F.sum_dim_IntList(terms.masked_fill(own, 0), [1], False) / rows.shape[1]
    loss = loss if input.ndim == 2 else loss.reshape(target.shape)
    return _reduce(loss, reduction, "multi_margin_loss")


def _broadcast_pair(input, target):
    """torch's losses broadcast_tensors(input, target) first: its error, and expanded operands."""
    if input.shape == target.shape:
        return input, target
    try:
        shape = np.broadcast_shapes(tuple(input.shape), tuple(target.shape))
    except ValueError as error:
        raise broadcast_error(error, input, target) from None
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


def _feature_dropout(input, p, training, inplace, op: str):
    """Whole channels zeroed: one draw per (N, C) (torch's bernoulli_(1 - p) over an (N, C, 1, ...)
    tensor, then divided by 1 - p), so the same seed drops the same channels."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    if p == 1:
        noise = np.zeros(shape, input._data.dtype)
    else:
        noise = _random.bernoulli(1 - p, shape, input._data.dtype) / input._data.dtype.type(1 - p)
    noise = make_tensor(noise).to(input.device)
    return F.mul_(input, noise) if inplace else F.mul(input, noise)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) (or unbatched (C, L)) inputs."""
    if input.dim() not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. Note that "
                           "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a "
                           "channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    if input.dim() == 2:
        return F.squeeze_dim(_feature_dropout(F.unsqueeze(input, 0), p, training, inplace, "dropout1d"), 0)
    return _feature_dropout(input, p, training, inplace, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) inputs (a 3-D input is taken as (N, C, L), with torch's warning)."""
    if input.dim() not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.dim()}-D input to dropout2d, which is deprecated and will "
                      "result in an error in a future release. To retain the behavior and silence this warning, "
                      "please use dropout instead. Note that dropout2d exists to provide channel-wise dropout on "
                      "inputs with 2 spatial dimensions, a channel dimension, and an optional batch dimension (i.e. "
                      "3D or 4D inputs).", stacklevel=2)
    if input.dim() == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please "
                      "switch to using dropout1d instead.", stacklevel=2)
    return _feature_dropout(input, p, training, inplace, "dropout2d")


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


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, spatial: int, op: str):
    stride, padding = _pair(stride, op, "stride", spatial), _pair(padding, op, "padding", spatial)
    dilation, output_padding = _pair(dilation, op, "dilation", spatial), _pair(output_padding, op, "output_padding",
                                                                                spatial)
    return F.convolution(input, weight, bias, stride, padding, dilation, True, output_padding, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                           "conv_transpose1d")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                           "conv_transpose2d")


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

_LINEAR_MODES = ("linear", "bilinear", "bicubic", "trilinear")


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None,
                antialias=False):
    """Resample (N, C, L) or (N, C, H, W) inputs to `size`, or by `scale_factor`: mode 'nearest'
    (both ranks), 'linear' (3-D) or 'bilinear' (4-D), with torch's sizes, scales and source
    positions. 1-D inputs run as 2-D ones of height 1 (UpsampleNearest2D/UpsampleBilinear2D nodes)."""
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input.dim() - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    output_size = scales = None
    if size is not None:
        output_size = list(size) if isinstance(size, (list, tuple)) else [size] * dim
        if len(output_size) != dim:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input with "
                             f"spatial dimensions of {list(input.shape[2:])} and output size of {size}. Please "
                             "provide input tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, "
                             "...,oK) format.")
    elif scale_factor is not None:
        scales = list(scale_factor) if isinstance(scale_factor, (list, tuple)) else [scale_factor] * dim
        if len(scales) != dim:
            raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input "
                             f"with spatial dimensions of {list(input.shape[2:])} and scale_factor of shape "
                             f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                             "scale_factor in (s1, s2, ...,sK) format.")
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if scales is not None:
        output_size = [int(math.floor(float(input.shape[i + 2]) * scales[i])) for i in range(dim)]
        if recompute_scale_factor:
            scales = None
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    if mode == "bilinear" and input.dim() == 3:
        raise NotImplementedError("Got 3D input, but bilinear mode needs 4D input")
    if mode == "linear" and input.dim() == 4:
        raise NotImplementedError("Got 4D input, but linear mode needs 3D input")
    if (mode, input.dim()) not in (("nearest", 3), ("nearest", 4), ("linear", 3), ("bilinear", 4)):
        raise NotImplementedError(f"interpolate: mode {mode!r} on a {input.dim()}-D input is not supported (gradspec "
                                  "has nearest on 3-D and 4-D inputs, linear on 3-D and bilinear on 4-D)")
    flat = input.dim() == 3  # (N, C, L) as (N, C, 1, L)
    x = F.unsqueeze(input, 2) if flat else input
    size2d = [1, *output_size] if flat else output_size
    scales2d = [None, None] if scales is None else ([None, *scales] if flat else scales)
    if mode == "nearest":
        out = F.upsample_nearest2d(x, size2d, *scales2d)
    else:
        out = F.upsample_bilinear2d(x, size2d, align_corners, *scales2d)
    return F.squeeze_dim(out, 2) if flat else out


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
        dropout_mask = make_tensor(_random.bernoulli(1 - dropout_p, shape, np.float32).astype(bool)).to(query.device)
    return F._scaled_dot_product_attention(query, key, value, attn_mask, dropout_p, is_causal, dropout_mask,
                                           scale=scale)[0]


def _canonical_mask(mask, mask_name, other_type, other_name, target_type, check_other=True):
    """A bool mask (True = masked) as a float one (-inf where masked); float masks as they are."""
    if mask is None:
        return None
    if mask.dtype is not _bool and not mask.is_floating_point():
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same type for both "
                      "instead.", stacklevel=3)
    if mask.is_floating_point():
        return mask
    return F.masked_fill_Scalar(F.zeros_like(mask, dtype=target_type), mask, -math.inf)


def _none_or_dtype(input):
    return None if input is None else input.dtype


def _in_projection_packed(q, k, v, w, b=None):
    """q, k, v projected by the rows of one (3E, E) weight: one product when they are one tensor."""
    E = q.size(-1)
    if k is v:
        if q is k:
            proj = linear(q, w, b).unflatten(-1, (3, E)).unsqueeze(0).transpose(0, -2).squeeze(-2).contiguous()
            return proj[0], proj[1], proj[2]
        w_q, w_kv = w.split([E, E * 2])
        b_q, b_kv = (None, None) if b is None else b.split([E, E * 2])
        kv_proj = linear(k, w_kv, b_kv).unflatten(-1, (2, E)).unsqueeze(0).transpose(0, -2).squeeze(-2).contiguous()
        return linear(q, w_q, b_q), kv_proj[0], kv_proj[1]
    w_q, w_k, w_v = w.chunk(3)
    b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _mha_batched(query, key, value, key_padding_mask, attn_mask, num_heads) -> bool:
    """Whether the inputs carry a batch dim (3-D), checking the masks' ranks as torch does."""
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError(f"For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                                 f"{key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError(f"For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but "
                                 f"found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError(f"For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                                 f"found {attn_mask.dim()}-D tensor instead")
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError(f"For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                                 f"{key.dim()}-D and {value.dim()}-D tensors respectively")
        if attn_mask is not None and attn_mask.dim() == 3 and attn_mask.shape[0] != num_heads:
            raise AssertionError(f"Expected `attn_mask` shape to be {(num_heads, query.shape[0], key.shape[0])} "
                                 f"but got {tuple(attn_mask.shape)}")
        return False
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.dim()}-D query "
                         "tensor")


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """torch's multi-head attention over (L, N, E) inputs (or unbatched (L, E)): the same steps, so
    the same nodes and, with dropout, the same random draws. Without need_weights the attention
    runs as scaled_dot_product_attention (one node); with it, as bmm, softmax and bmm, so that
    the weights exist to return (averaged over heads unless average_attn_weights is False)."""
    batched = _mha_batched(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask), "attn_mask",
                                       query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # scaled_dot_product_attention's is_causal stands for the mask
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        b_q, b_k, b_v = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
        q, k, v = (linear(query, q_proj_weight, b_q), linear(key, k_proj_weight, b_k),
                   linear(value, v_proj_weight, b_v))
    else:
        if key.shape != value.shape:
            raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
            raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                               f"{(bsz * num_heads, tgt_len, src_len)}.")
    if bias_k is not None and bias_v is not None:
        k = F.cat([k, bias_k.repeat(1, bsz, 1)])
        v = F.cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    q = q.view(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = (k.view(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_k is None else static_k)
    v = (v.view(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_v is None else static_v)
    if add_zero_attn:
        zeros = F.zeros_like(k[:, :1])
        k = F.cat([k, zeros], dim=1)
        v = F.cat([v, F.zeros_like(v[:, :1])], dim=1)
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    src_len = k.size(1)
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        key_padding_mask = key_padding_mask.view(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1).reshape(
            bsz * num_heads, 1, src_len)
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask
    if not training:
        dropout_p = 0.0
    if need_weights:
        q_scaled = q * math.sqrt(1.0 / float(q.shape[-1]))
        weights = F.bmm(q_scaled, k.transpose(-2, -1))
        if attn_mask is not None:
            weights = attn_mask + weights
        weights = softmax(weights, dim=-1)
        if dropout_p > 0.0:
            weights = dropout(weights, p=dropout_p)
        attn_output = F.bmm(weights, v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        attn_output = linear(attn_output, out_proj_weight, out_proj_bias).view(tgt_len, bsz, -1)
        weights = weights.view(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not batched:
            attn_output, weights = attn_output.squeeze(1), weights.squeeze(0)
        return attn_output, weights
    if attn_mask is not None:
        attn_mask = attn_mask.unsqueeze(0) if attn_mask.size(0) == 1 and attn_mask.dim() == 3 else \
            attn_mask.view(bsz, num_heads, -1, src_len)
    q = q.view(bsz, num_heads, tgt_len, head_dim)
    k = k.view(bsz, num_heads, src_len, head_dim)
    v = v.view(bsz, num_heads, src_len, head_dim)
    attn_output = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    attn_output = attn_output.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    attn_output = linear(attn_output, out_proj_weight, out_proj_bias).view(tgt_len, bsz, -1)
    return (attn_output if batched else attn_output.squeeze(1)), None
