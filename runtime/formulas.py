"""Helpers named in derivatives.yaml formulas.

Each is written once over `ops`, a namespace with every op of the spec: the generated array
namespace (numpy/cupy arrays) for ordinary backward, or the generated Tensor namespace for
`create_graph=True`, where the helper's own ops are recorded and so differentiable again.
Arithmetic operators work on both arrays and Tensors.
"""

from __future__ import annotations

import math

REDUCTION_NONE, REDUCTION_MEAN = 0, 1


def maybe_multiply(ops, x, alpha):
    return x if alpha == 1 else x * alpha


def sum_to(ops, x, shape):
    """Sum the broadcast dims of `x` away so that it has `shape`."""
    x_shape = _shape(x)
    lead = len(x_shape) - len(shape)
    dims = list(range(lead)) + [lead + i for i, s in enumerate(shape) if s == 1 and x_shape[lead + i] != 1]
    if dims:
        x = ops.sum(x, dims, keepdim=True)
    return ops.view(x, shape) if lead else x


def sum_backward(ops, grad, shape, dim, keepdim):
    """Put the reduced dims back as size 1, then expand to the input's shape."""
    if not keepdim and len(shape) > 0:
        for d in sorted(_reduced_dims(dim, len(shape))):
            grad = ops.unsqueeze(grad, d)
    return ops.expand(grad, shape)


def mean_backward(ops, grad, shape, dim, keepdim):
    count = math.prod(shape[d] for d in _reduced_dims(dim, len(shape)))
    return sum_backward(ops, grad, shape, dim, keepdim) / count


def _reduced_dims(dim, ndim: int) -> list[int]:
    if dim is None or len(dim) == 0:
        return list(range(ndim))
    return [d % ndim for d in dim]


def pow_backward(ops, grad, self, exponent):
    if exponent == 0:
        return ops.zeros_like(self)
    return grad * exponent * self ** (exponent - 1)


def pow_backward_self(ops, grad, self, exponent):
    return ops.where(exponent == 0, 0, grad * exponent * self ** (exponent - 1))


def pow_backward_exponent(ops, grad, self, exponent, result):
    """d(self ** e)/de = result * log(self); torch makes it 0 where self == 0 and e >= 0."""
    if isinstance(self, (int, float)):
        if self == 0:
            return ops.where(exponent >= 0, 0, grad * result * -math.inf)
        return grad * result * math.log(self)
    zero_base = ops.logical_and(self == 0, exponent >= 0)
    return ops.where(zero_base, 0, grad * result * ops.log(self))


def matmul_backward(ops, grad, self, other, mask):
    """Every rank combination: 1-D operands are promoted to matrices, then the promoted dims
    are squeezed away; batch broadcasting is undone by the engine's sum to the input shape."""
    self_vector, other_vector = _ndim(self) == 1, _ndim(other) == 1
    if other_vector:
        grad, other = ops.unsqueeze(grad, -1), ops.unsqueeze(other, -1)
    if self_vector:
        grad, self = ops.unsqueeze(grad, -2), ops.unsqueeze(self, 0)
    grad_self = grad_other = None
    if mask[0]:
        grad_self = ops.matmul(grad, ops.transpose(other, -1, -2))
        grad_self = ops.squeeze(grad_self, -2) if self_vector else grad_self
    if mask[1]:
        grad_other = ops.matmul(ops.transpose(self, -1, -2), grad)
        grad_other = ops.squeeze(grad_other, -1) if other_vector else grad_other
    return grad_self, grad_other


def permute_backwards(ops, grad, dims):
    inverse = [0] * len(dims)
    for position, d in enumerate(dims):
        inverse[d % len(dims)] = position
    return ops.permute(grad, inverse)


def to_copy_backward(ops, grad, dtype, device):
    return ops._to_copy(grad, dtype=dtype, device=device)


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


def _shape(x) -> tuple:
    return tuple(x.shape)  # arrays and Tensors alike


def _ndim(x) -> int:
    return len(_shape(x))


def _numel(x) -> int:
    return math.prod(_shape(x))
