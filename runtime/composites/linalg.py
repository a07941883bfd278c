"""Products: matmul as torch records it, outer, and einsum as a chain of matmuls."""

from __future__ import annotations

import math

from ..generated import functions as F

from .shapes import reshape


def matmul(input, other):
    """mm for two matrices (MmBackward0, as torch records it), matmul's general rule otherwise."""
    if input.ndim == 2 and getattr(other, "ndim", 0) == 2:
        return F.mm(input, other)
    return F.matmul(input, other)


def reflected_matmul(self, other):
    return matmul(other, self)


def outer(input, vec2):
    for name, vector in (("self", input), ("vec2", vec2)):
        if vector.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {vector.ndim}-D")
    return F.mul(F.unsqueeze(input, 1), vec2)  # torch's outer is this product: MulBackward0


def einsum(equation, *operands):
    """torch.einsum for one or two operands per step (more fold left), without repeated labels in
    one operand: contractions become one matmul over (batch, left, contracted) x (batch, contracted,
    right), so they run as BLAS calls and record ordinary matmul nodes."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(operands):
        raise RuntimeError(f"einsum(): {len(terms)} operands in the equation but {len(operands)} tensors given")
    if "." in equation:
        raise NotImplementedError("einsum with '...' is not supported")
    for term, operand in zip(terms, operands):
        if len(set(term)) != len(term):
            raise NotImplementedError(f"einsum: repeated subscript in one operand ({term!r}) is not supported")
        if len(term) != operand.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(term)}) does not match "
                               f"the number of dimensions ({operand.ndim}) for operand {terms.index(term)}")
    if not arrow:
        counts = {c: inputs.count(c) for c in inputs if c != ","}
        output = "".join(sorted(c for c, n in counts.items() if n == 1))
    term, result = terms[0], operands[0]
    for position, (other_term, other) in enumerate(zip(terms[1:], operands[1:]), 2):
        rest = "".join(terms[position:]) + output
        term, result = _contract(term, result, other_term, other, rest)
    result = _sum_labels(result, term, output)
    return F.permute(result, [term.index(c) for c in output]) if term != output else result


def _sum_labels(tensor, term: str, keep: str):
    drop = [i for i, c in enumerate(term) if c not in keep]
    return F.sum_dim_IntList(tensor, drop, False) if drop else tensor


def _expanded(tensor, term: str, sizes: dict):
    shape = [sizes[c] for c in term]
    return tensor if list(tensor.shape) == shape else F.expand(tensor, shape)


def _contract(left_term, left, right_term, right, needed_later):
    """One pairwise step, as torch's einsum takes it: labels neither operand needs later are
    summed away; a shared one of size 1 on one side is summed out of the other first; what is
    left to contract is one matmul (one dtype), or, with nothing to contract, a product (mul
    promotes dtypes)."""
    left = _sum_labels(left, left_term, right_term + needed_later)
    left_term = "".join(c for c in left_term if c in right_term + needed_later)
    right = _sum_labels(right, right_term, left_term + needed_later)
    right_term = "".join(c for c in right_term if c in left_term + needed_later)
    for c in [c for c in left_term if c in right_term and c not in needed_later]:
        if 1 in (left.shape[left_term.index(c)], right.shape[right_term.index(c)]):
            left, left_term = _drop_label(left, left_term, c)
            right, right_term = _drop_label(right, right_term, c)
    batch = [c for c in left_term if c in right_term]
    contracted = [c for c in batch if c not in needed_later]
    batch = [c for c in batch if c in needed_later]
    only_left = [c for c in left_term if c not in right_term]
    only_right = [c for c in right_term if c not in left_term]
    sizes = {c: left.shape[left_term.index(c)] for c in left_term}
    for c in right_term:  # a batch label of size 1 on one side broadcasts against the other's
        size = right.shape[right_term.index(c)]
        sizes[c] = size if sizes.get(c, 1) == 1 else sizes[c]
    left, right = _expanded(left, left_term, sizes), _expanded(right, right_term, sizes)

    def size(labels):
        return math.prod(sizes[c] for c in labels)

    left = reshape(F.permute(left, [left_term.index(c) for c in batch + only_left + contracted]),
                   (size(batch), size(only_left), size(contracted)))
    right = reshape(F.permute(right, [right_term.index(c) for c in batch + contracted + only_right]),
                    (size(batch), size(contracted), size(only_right)))
    out = F.matmul(left, right) if contracted else F.mul(left, right)
    labels = batch + only_left + only_right
    return "".join(labels), reshape(out, tuple(sizes[c] for c in labels))


def _drop_label(tensor, term: str, label: str):
    """The tensor without the label's dim: summed over it, or squeezed where it has size 1."""
    dim = term.index(label)
    dropped = F.squeeze_dim(tensor, dim) if tensor.shape[dim] == 1 else F.sum_dim_IntList(tensor, [dim], False)
    return dropped, term.replace(label, "")


__all__ = ["matmul", "reflected_matmul", "outer", "einsum"]
