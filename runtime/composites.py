"""torch functions made of spec ops, with torch's Python signatures.

Each is both `torch.name(tensor, ...)` and the method `tensor.name(...)`. They add no
derivative of their own: the graph records the spec ops they call, as torch records its
composite ops (x.split() gives SliceBackward0 nodes, x.outer(y) a MulBackward0).
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from .generated import functions as F

from .tensor import Tensor, int_list, wrap_dim


def _sizes(args: tuple, op: str) -> tuple[int, ...]:
    """`x.view(2, 3)` and `x.view((2, 3))` alike."""
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        args = args[0]
    return int_list(args, op, "size")


# ---- shapes ------------------------------------------------------------------------------------

def reshape(input, *shape):
    """A view when the strides allow one (recorded as ViewBackward0, as torch), else a copy."""
    shape = _sizes(shape, "reshape")
    try:
        return F.view(input, shape)
    except RuntimeError as error:
        if "view size is not compatible" not in str(error):
            raise
        return F.reshape(input, shape)


def squeeze(input, dim=None):
    if dim is None:
        return F.squeeze_default(input)
    if isinstance(dim, (tuple, list)):
        keep = {wrap_dim(d, input.ndim) for d in dim}
        shape = tuple(s for i, s in enumerate(input._data.shape) if not (i in keep and s == 1))
        return reshape(input, shape)
    return F.squeeze_dim(input, dim)


def flatten(input, start_dim=0, end_dim=-1):
    shape = input._data.shape
    if not shape:
        return reshape(input, (1,))
    start, end = wrap_dim(start_dim, len(shape)), wrap_dim(end_dim, len(shape))
    return reshape(input, shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])


def unflatten(input, dim, sizes):
    shape = input._data.shape
    dim = wrap_dim(dim, len(shape))
    return reshape(input, shape[:dim] + tuple(sizes) + shape[dim + 1:])


def movedim(input, source, destination):
    source = [wrap_dim(d, input.ndim) for d in ([source] if isinstance(source, int) else source)]
    destination = [wrap_dim(d, input.ndim) for d in ([destination] if isinstance(destination, int) else destination)]
    order = [d for d in range(input.ndim) if d not in source]
    for dst, src in sorted(zip(destination, source)):
        order.insert(dst, src)
    return F.permute(input, order)


def narrow(input, dim, start, length):
    size = input.shape[dim]
    start = start + size if start < 0 else start
    return F.slice(input, dim, start, start + length, 1)


def split(tensor, split_size_or_sections, dim=0):
    size = tensor.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        sections = [builtins.min(step, size - start) for start in range(0, size, step)] or [0]
    else:
        sections = list(split_size_or_sections)
        if builtins.sum(sections) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
                               f"size at dimension {dim}), but got split_sizes={sections}")
    pieces, start = [], 0
    for length in sections:
        pieces.append(F.slice(tensor, dim, start, start + length, 1))
        start += length
    return tuple(pieces)


def chunk(input, chunks, dim=0):
    size = input.shape[dim]
    return split(input, builtins.max(-(-size // chunks), 1), dim)


def unbind(input, dim=0):
    return tuple(F.select(input, dim, i) for i in range(input.shape[dim]))


def tile(input, dims):
    dims = tuple(dims)
    return F.repeat(input, (1,) * (input.ndim - len(dims)) + dims)


def repeat(input, *sizes):
    return F.repeat(input, _sizes(sizes, "repeat"))


def flip(input, *dims):
    return F.flip(input, _sizes(dims, "flip"))


# ---- arithmetic and reductions ---------------------------------------------------------------------

def square(input):
    return F.pow_Tensor_Scalar(input, 2)  # torch's square is pow(x, 2): PowBackward0


def outer(input, vec2):
    return F.mul(F.unsqueeze(input, 1), vec2)  # torch's outer is this product: MulBackward0


def matmul(input, other):
    """mm for two matrices (MmBackward0, as torch records it), matmul's general rule otherwise."""
    if input.ndim == 2 and getattr(other, "ndim", 0) == 2:
        return F.mm(input, other)
    return F.matmul(input, other)


def clamp(input, min=None, max=None):  # noqa: A002 - torch's names
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return F.clamp_Tensor(input, min, max)
    return F.clamp_default(input, min, max)


def _extremum(full, along, pairwise):
    def extremum(input, dim=None, keepdim=False):
        if isinstance(dim, Tensor):  # torch.max(a, b)
            return pairwise(input, dim)
        return full(input) if dim is None else along(input, dim, keepdim)

    return extremum


max = _extremum(F.max_default, F.max_dim, F.maximum)  # noqa: A001
min = _extremum(F.min_default, F.min_dim, F.minimum)  # noqa: A001


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):  # var(unbiased)
        dim, unbiased = None, dim
    return F.var(input, dim, correction=_correction(unbiased, correction), keepdim=keepdim)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return F.std(input, dim, correction=_correction(unbiased, correction), keepdim=keepdim)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    if p == "fro" or p is None:
        p = 2
    if isinstance(p, str):
        raise NotImplementedError(f"norm(p={p!r}) is not supported (use p = a number, inf or 'fro')")
    return F.linalg_vector_norm(input, p, dim, keepdim, dtype=dtype)


def prod(input, dim=None, keepdim=False, *, dtype=None):
    return F.prod_default(input, dtype=dtype) if dim is None else F.prod_dim_int(input, dim, keepdim, dtype=dtype)


def reduce_sum(input, dim=None, keepdim=False, *, dtype=None):
    if dim is None:
        return F.sum_default(input, dtype=dtype)
    return F.sum_dim_IntList(input, dim, keepdim, dtype=dtype)


def reduce_mean(input, dim=None, keepdim=False, *, dtype=None):
    if dim is None:
        return F.mean_default(input, dtype=dtype)
    return F.mean_dim(input, dim, keepdim, dtype=dtype)


def softmax(input, dim, dtype=None):
    from .nn import functional

    return functional.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, dtype=None):
    from .nn import functional

    return functional.log_softmax(input, dim, dtype=dtype)


# ---- indexing ------------------------------------------------------------------------------------

def getitem(self, index):
    """torch's indexing: ints, slices, None and ... as select/slice/unsqueeze ops; integer and bool
    tensors (or lists) as one index op over the dims they address."""
    items = index if isinstance(index, tuple) else (index,)
    ellipses = [at for at, i in enumerate(items) if i is Ellipsis]  # `is`: tensors compare elementwise
    if len(ellipses) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = builtins.sum(_dims_taken(i) for i in items if i is not None and i is not Ellipsis)
    if consumed > self.ndim:
        raise IndexError(f"too many indices for tensor of dimension {self.ndim}")
    if ellipses:
        at = ellipses[0]
        items = items[:at] + (builtins.slice(None),) * (self.ndim - consumed) + items[at + 1:]
    out, dim, advanced = self, 0, []
    for item in items:
        if item is None:
            out = F.unsqueeze(out, dim)
            advanced.append(None)
            dim += 1
        elif isinstance(item, builtins.slice):
            if item != builtins.slice(None):
                out = F.slice(out, dim, item.start, item.stop, 1 if item.step is None else item.step)
            advanced.append(None)
            dim += 1
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            out = F.select(out, dim, item)
        else:
            index_array = item._data if isinstance(item, Tensor) else np.asarray(item)
            advanced.append(item)
            dim += index_array.ndim if index_array.dtype == bool else 1
    if all(a is None for a in advanced):
        return out
    while advanced[-1] is None:
        advanced.pop()
    return F.index(out, advanced)


def _dims_taken(item) -> int:
    if isinstance(item, (Tensor, np.ndarray, list)):
        array = item._data if isinstance(item, Tensor) else np.asarray(item)
        return array.ndim if array.dtype == bool else 1
    return 1


# ---- linear algebra --------------------------------------------------------------------------------

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
    for other_term, other in zip(terms[1:], operands[1:]):
        rest = "".join(terms[terms.index(other_term) + 1:]) + output
        term, result = _contract(term, result, other_term, other, rest)
    result = _sum_labels(result, term, output)
    return F.permute(result, [term.index(c) for c in output]) if term != output else result


def _sum_labels(tensor, term: str, keep: str):
    drop = [i for i, c in enumerate(term) if c not in keep]
    return F.sum_dim_IntList(tensor, drop, False) if drop else tensor


def _contract(left_term, left, right_term, right, needed_later):
    left = _sum_labels(left, left_term, right_term + needed_later)
    left_term = "".join(c for c in left_term if c in right_term + needed_later)
    right = _sum_labels(right, right_term, left_term + needed_later)
    right_term = "".join(c for c in right_term if c in left_term + needed_later)
    batch = [c for c in left_term if c in right_term and c in needed_later]
    contracted = [c for c in left_term if c in right_term and c not in needed_later]
    only_left = [c for c in left_term if c not in right_term]
    only_right = [c for c in right_term if c not in left_term]
    sizes = {c: left.shape[left_term.index(c)] for c in left_term}
    sizes.update({c: right.shape[right_term.index(c)] for c in right_term})

    def size(labels):
        return math.prod(sizes[c] for c in labels)

    left = reshape(F.permute(left, [left_term.index(c) for c in batch + only_left + contracted]),
                   (size(batch), size(only_left), size(contracted)))
    right = reshape(F.permute(right, [right_term.index(c) for c in batch + contracted + only_right]),
                    (size(batch), size(contracted), size(only_right)))
    out = F.matmul(left, right)
    labels = batch + only_left + only_right
    return "".join(labels), reshape(out, tuple(sizes[c] for c in labels))


# ---- new tensors like this one ---------------------------------------------------------------------

def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    from .factories import tensor

    return tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def _new(factory_name):
    def new(self, *size, dtype=None, device=None, requires_grad=False):
        from . import factories

        return getattr(factories, factory_name)(*size, dtype=dtype or self.dtype, device=device or self.device,
                                                requires_grad=requires_grad)

    new.__name__ = "new_" + factory_name
    return new


new_zeros, new_ones, new_empty = _new("zeros"), _new("ones"), _new("empty")


def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
    from .factories import full

    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                requires_grad=requires_grad)


def numel(input) -> int:
    return input.numel()


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)

