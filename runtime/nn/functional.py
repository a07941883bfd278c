"""torch.nn.functional over the generated ops."""

from __future__ import annotations

from generated import functions as F

_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}

relu = F.relu
sigmoid = F.sigmoid
tanh = F.tanh


def _reduction(reduction: str, op: str) -> int:
    try:
        return _REDUCTIONS[reduction]
    except KeyError:
        raise ValueError(f"{op}: {reduction} is not a valid value for reduction "
                         f"(expected one of {', '.join(_REDUCTIONS)})") from None


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    if size_average is not None or reduce is not None:
        raise ValueError("size_average and reduce are deprecated in torch: use reduction=")
    return F.binary_cross_entropy_with_logits(input, target, weight, pos_weight,
                                              _reduction(reduction, "binary_cross_entropy_with_logits"))
