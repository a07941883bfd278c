"""Compare what a program did under gradspec with what it did under torch."""

from __future__ import annotations

import re

import numpy as np

from .execute import NotObserved, Outcome, TensorView, run

# rtol, atol per dtype: float32 sums and transcendental functions differ in the last bits
# between numpy and torch's kernels, and the programs' values are of order 1 to 100; float64
# values may have been float32 once (a cast, softmax's dtype=, a product with a float64), so they
# get float32's last bits, relative and absolute: about 16 float32 ulps of 1 (gelu's 1 + erf
# cancels for negative inputs, where float32 erf's last bits differ: docs/decisions.md).
TOLERANCE = {"torch.float16": (1e-2, 1e-3), "torch.float32": (2e-4, 2e-5), "torch.float64": (2e-6, 2e-6)}

# torch's refusal to write into the zeros its formulas return as an efficient ZeroTensor
ZERO_TENSOR_MESSAGE = "ZeroTensors are immutable"


def disagreements(program, gradspec, torch) -> list[str]:
    """Run the program under both libraries; what differs, one line each (empty: they agree)."""
    return compare(run(program, gradspec), run(program, torch), program)


# a double backward through prod (cumprod's quotient under torch): docs/decisions.md
PROD_SECOND_ORDER = re.compile(r"\bprod\(.*create_graph=True", re.S)


def compare(ours: Outcome, theirs: Outcome, program=None) -> list[str]:
    if theirs.failure is not None and theirs.failure.message.startswith(ZERO_TENSOR_MESSAGE):
        return []  # gradspec has no ZeroTensor: its zeros may be written (docs/decisions.md)
    found = _compare_failures(ours, theirs, program)
    unspecified = _written_by_failure(ours, theirs, program)
    exact_where_torch_divides = program is not None and PROD_SECOND_ORDER.search(program.source()) is not None
    for name, expected in theirs.values.items():
        if name in unspecified:
            continue
        if name not in ours.values:
            found.append(f"{name}: missing under gradspec")
            continue
        mine = ours.values[name]
        if unspecified and isinstance(expected, TensorView) and isinstance(mine, TensorView):
            mine, expected = _without_grad(mine), _without_grad(expected)  # which leaves a failed backward reached
        if exact_where_torch_divides:
            expected = _infinite_where_nan(expected, mine)
        found.extend(_compare_values(name, mine, expected))
    return found


def _infinite_where_nan(expected, mine):
    """torch's values with a NaN taken for gradspec's inf or -inf in the same place: prod's second
    derivative over a slice with a zero, exact here (inf beside an infinite element), is inf / inf
    under torch, whose product of the others is cumprod's (docs/decisions.md)."""
    if isinstance(expected, tuple) and isinstance(mine, tuple) and len(expected) == len(mine):
        return tuple(_infinite_where_nan(e, m) for e, m in zip(expected, mine))
    if not (isinstance(expected, TensorView) and isinstance(mine, TensorView)) or expected.shape != mine.shape \
            or expected.values.dtype.kind != "f" or mine.values.dtype != expected.values.dtype:
        return expected
    values = np.where(np.isnan(expected.values) & np.isinf(mine.values), mine.values, expected.values)
    return TensorView(expected.dtype, expected.shape, values, expected.requires_grad, expected.is_leaf,
                      _infinite_where_nan(expected.grad, mine.grad))


def _without_grad(view: TensorView) -> TensorView:
    return TensorView(view.dtype, view.shape, view.values, view.requires_grad, view.is_leaf, None)


def _written_by_failure(ours: Outcome, theirs: Outcome, program) -> set:
    """Names in a statement that raised under both: an in-place op that fails may have written
    part of its output first (torch's kernels write in order, ours check first), and a backward
    that fails may have reached some leaves first (the .grad of all is unspecified then);
    docs/decisions.md."""
    a, b = ours.failure, theirs.failure
    if program is None or a is None or b is None or (a.line, a.kind) != (b.line, b.kind):
        return set()
    named = set(re.findall(r"\b[A-Za-z_]\w*\b", program.lines[a.line]))
    written = frozenset().union(*(theirs.storages[name] for name in named if name in theirs.storages))
    return named | {name for name, where in theirs.storages.items() if where & written}  # and their aliases


def _compare_failures(ours: Outcome, theirs: Outcome, program) -> list[str]:
    a, b = ours.failure, theirs.failure
    if a is None and b is None:
        return []

    def where(failure) -> str:
        line = program.lines[failure.line] if program is not None else ""
        return f"line {failure.line} `{line}`"

    if a is None:
        return [f"torch raised {b.kind} at {where(b)} ({_first_line(b.message)}); gradspec did not"]
    if b is None:
        return [f"gradspec raised {a.kind} at {where(a)} ({_first_line(a.message)}); torch did not"]
    if a.line != b.line:
        return [f"gradspec raised {a.kind} at {where(a)} ({_first_line(a.message)}); torch raised {b.kind} at "
                f"{where(b)}"]
    if a.kind != b.kind:
        return [f"at {where(a)} gradspec raised {a.kind} ({_first_line(a.message)}); torch raised {b.kind} "
                f"({_first_line(b.message)})"]
    return []


def message_differs(ours: Outcome, theirs: Outcome) -> bool:
    """Both raised the same class at the same statement, with different messages (reported, not failed)."""
    a, b = ours.failure, theirs.failure
    return a is not None and b is not None and a.kind == b.kind and a.message.strip() != b.message.strip()


def _first_line(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else ""
    return line[:160]


def _compare_values(name: str, ours, theirs) -> list[str]:
    if isinstance(theirs, TensorView):
        if not isinstance(ours, TensorView):
            return [f"{name}: a tensor under torch, {_kind(ours)} under gradspec"]
        return _compare_tensors(name, ours, theirs)
    if isinstance(theirs, tuple):
        if not isinstance(ours, tuple) or len(ours) != len(theirs):
            return [f"{name}: {_kind(theirs)} of {len(theirs)} under torch, {_kind(ours)} under gradspec"]
        found = []
        for i, (a, b) in enumerate(zip(ours, theirs)):
            found.extend(_compare_values(f"{name}[{i}]", a, b))
        return found
    if isinstance(theirs, float) and isinstance(ours, float):
        if np.isclose(ours, theirs, rtol=2e-4, atol=2e-5, equal_nan=True):
            return []
    elif isinstance(theirs, NotObserved) or type(ours) is type(theirs) and ours == theirs:
        return []
    return [f"{name}: {ours!r} under gradspec, {theirs!r} under torch"]


def _kind(value) -> str:
    return "a tensor" if isinstance(value, TensorView) else type(value).__name__


def _compare_tensors(name: str, ours: TensorView, theirs: TensorView) -> list[str]:
    found = []
    if ours.dtype != theirs.dtype:
        found.append(f"{name}: dtype {ours.dtype} under gradspec, {theirs.dtype} under torch")
    if ours.shape != theirs.shape:
        found.append(f"{name}: shape {list(ours.shape)} under gradspec, {list(theirs.shape)} under torch")
    elif not found and not _close(ours.values, theirs.values, theirs.dtype):
        found.append(f"{name}: values differ: gradspec {_show(ours.values)}, torch {_show(theirs.values)}"
                     f"{_first_difference(ours.values, theirs.values, theirs.dtype)}")
    if ours.requires_grad != theirs.requires_grad:
        found.append(f"{name}: requires_grad {ours.requires_grad} under gradspec, {theirs.requires_grad} under torch")
    if ours.is_leaf != theirs.is_leaf:
        found.append(f"{name}: is_leaf {ours.is_leaf} under gradspec, {theirs.is_leaf} under torch")
    if isinstance(theirs.grad, TensorView) and isinstance(ours.grad, TensorView):
        found.extend(_compare_tensors(f"{name}.grad", ours.grad, theirs.grad))
    elif _grad_kind(ours.grad) != _grad_kind(theirs.grad):
        found.append(f"{name}.grad: {_grad_kind(ours.grad)} under gradspec, {_grad_kind(theirs.grad)} under torch")
    return found


def _grad_kind(grad) -> str:
    return "None" if grad is None else "set" if isinstance(grad, TensorView) else f"raises {grad.kind}"


def _close(a: np.ndarray, b: np.ndarray, dtype: str) -> bool:
    if dtype not in TOLERANCE:
        return np.array_equal(a, b)
    rtol, atol = TOLERANCE[dtype]
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if not np.array_equal(np.isnan(a64), np.isnan(b64)):
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.isclose(a64, b64, rtol=rtol, atol=atol, equal_nan=True)))


def _first_difference(a: np.ndarray, b: np.ndarray, dtype: str) -> str:
    if a.size <= 12:
        return ""
    for position in np.ndindex(a.shape):
        if not _close(a[position], b[position], dtype):
            return f" (first at {list(position)}: {a[position]!r} against {b[position]!r})"
    return ""


def _show(values: np.ndarray) -> str:
    text = np.array2string(values, precision=6, threshold=12, separator=", ")
    return " ".join(text.split())
