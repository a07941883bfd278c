"""The compiler's model of a spec: frozen, built once by spec.load_spec, rendered by emit.py.

A Spec holds the checked entries (schemas, formulas and what each reads, node names), the
composites, the bindings (what is a function and what a Tensor method), and the plans emission
needs: per differentiable entry a NodePlan (saved values, each gradient in the array and the
differentiable form, the fused-kernel call), per entry an OpPlan (argument checks, forward
computation, graph recording) and an array function, per overloaded op a dispatcher, and the
CUDA kernel plans (codegen/cuda.py). Nothing is filled in later: every object is complete and
immutable when made, and emission only renders.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from .formula import Context, Usage
from .schema import Argument, Schema


class SpecText(str):
    """Text copied from the spec (a schema, a formula, the file's name, a message quoting one): the
    templates may print it only through the `doc` or `comment` filter (emit.py), which escape it;
    printing it bare is refused, so no template can paste spec text into code by accident."""

    __slots__ = ()


class SpecError(Exception):
    """A problem in the spec, located as `path:line:col: message`."""

    def __init__(self, path: str, line: int, col: int, message: str, entry: str = ""):
        where = f" (in {entry})" if entry else ""
        super().__init__(f"{path}:{line}:{col}: {message}{where}")


@dataclass(frozen=True)
class Where:
    """Where a YAML scalar starts, so formula columns can be made absolute."""

    path: str
    line: int
    col: int
    entry: str = ""

    def error(self, message: str, col_offset: int = 0, line_offset: int = 0) -> SpecError:
        col = self.col + col_offset if line_offset == 0 else col_offset + 1
        return SpecError(self.path, self.line + line_offset, col, message, self.entry)


@dataclass(frozen=True)
class Derivative:
    inputs: tuple[str, ...]  # the tensor inputs this formula differentiates
    text: str
    tree: ast.expr
    where: Where
    usage: Usage


@dataclass(frozen=True)
class RowStatement:
    """One statement `target = expression` of a `rows:` program."""

    target: str
    tree: ast.expr
    text: str
    where: Where


@dataclass(frozen=True)
class RowsDecl:
    """An entry's `rows:` key: its row kernel on cuda, as written (codegen/rows.py analyzes it)."""

    along: ast.expr  # the dim the rows run along: a formula over arguments and their metadata
    along_where: Where
    when: ast.expr | None  # the condition under which the kernel applies (else the array kernel runs)
    when_where: Where | None
    over: str | None  # the tensor whose shape the rows divide (default: the first tensor argument)
    per_row: tuple[str, ...]  # tensors with one value per row (the shape without the `along` dim)
    per_index: tuple[str, ...]  # tensors with one value per position along the row
    check: str | None  # a kernel-module function run first with the op's arguments: its checks
    statements: tuple[RowStatement, ...]
    where: Where


@dataclass(frozen=True)
class Entry:
    schema: Schema
    where: Where
    node_name: str  # PyTorch's: MulBackward0
    function_name: str  # the Python wrapper's name: the base, or base_overload if overloaded
    forward: ast.expr | None
    forward_text: str
    forward_where: Where | None
    kernel: str
    kernel_where: Where | None
    derivatives: tuple[Derivative, ...]
    non_differentiable: frozenset[str]
    not_implemented: frozenset[str]
    output_differentiability: tuple[bool, ...]
    test: Mapping
    promotion: str  # "common" or "float": the inputs are cast to torch's result dtype first
    inplace: bool  # also emit `base_(self, ...)`: the op in place (runtime/inplace.py)
    variants: tuple[str, ...] | None  # as declared (`variants:`), on the first overload of its base only
    variants_where: Where | None
    usage: Usage  # what all its formulas read together: what its node saves
    rows: RowsDecl | None = None  # its row kernel on cuda (codegen/rows.py)

    @property
    def differentiable(self) -> bool:
        return any(self.output_differentiability) and bool(self.derivatives or self.not_implemented)

    def formula_for(self, name: str) -> Derivative | None:
        return next((d for d in self.derivatives if name in d.inputs), None)


@dataclass(frozen=True)
class Composite:
    """`- composite: NAME`: a function or method written in Python over the spec's ops."""

    name: str
    variants: tuple[str, ...]
    where: Where


@dataclass(frozen=True)
class Bindings:
    """Where each public name is bound: the ops' and the composites' functions and methods."""

    functions: tuple[str, ...]
    methods: tuple[str, ...]
    composite_functions: tuple[str, ...]
    composite_methods: tuple[str, ...]


# ---- plans: what each generated function and class does ------------------------------------------

@dataclass(frozen=True)
class SavedInput:
    """A tensor input a node saves (by bare name in a formula)."""

    argument: Argument
    slot: str  # the node's slot: PyTorch's `other_`
    local: str  # the local it is unpacked into in apply
    condition: str  # where the forward saves it only if a reader needs it: ` if requires_grad(w) else None`


@dataclass(frozen=True)
class Form:
    """One of a node's two backward bodies: `array` (apply) or `tensor` (apply_differentiable)."""

    name: str
    statements: tuple[str, ...]  # shared keys: `grad_self, grad_other = helper(...)`
    results: tuple[str, ...]  # the returned gradients, one per tensor input (`*x` for a Tensor[] input)
    uses_xp: bool


@dataclass(frozen=True)
class FusedCall:
    """An elementwise node's cuda branch in apply: one fused-kernel launch (codegen/cuda.py)."""

    node: str
    arrays: tuple[str, ...]  # operand locals after grad
    values: tuple[str, ...]  # per-call constants
    needs: tuple[str, ...]  # per computed gradient: whether it is needed
    results: tuple[str, ...]  # per tensor input: its gradient from the launch's outputs
    identity: bool  # the launch's outputs are the results as they are


@dataclass(frozen=True)
class NodePlan:
    entry: Entry
    saved_inputs: tuple[SavedInput, ...]
    saved_outputs: tuple[str, ...]
    values: tuple[str, ...]  # non-tensor arguments saved as they are
    metadata: tuple[tuple[str, str], ...]  # (input, attr) saved without the tensor
    needs: tuple[tuple[str, int], ...]  # (input, edge index) whose need_<input> flag apply computes
    array: Form
    tensor: Form
    fused: FusedCall | None

    @property
    def output_slots(self) -> tuple[str, ...]:
        return tuple(output + "_" for output in self.saved_outputs)

    @property
    def saved_slots(self) -> tuple[str, ...]:
        return tuple(s.slot for s in self.saved_inputs) + self.output_slots

    @property
    def saved_names(self) -> tuple[str, ...]:
        return tuple(s.argument.name for s in self.saved_inputs) + self.saved_outputs

    @property
    def value_slots(self) -> tuple[str, ...]:
        return self.values + tuple(f"{name}_{attr}" for name, attr in self.metadata)

    @property
    def slots(self) -> tuple[str, ...]:
        return self.saved_slots + self.value_slots


@dataclass(frozen=True)
class TensorArgument:
    """A tensor argument of a forward op: checked and unwrapped into its array."""

    argument: Argument
    array: str  # the local holding its array (or list of arrays)
    check: str  # tensor_data, optional_tensor_data or tensor_list_data
    position: int | None  # its position, for messages (None for a Tensor[])


@dataclass(frozen=True)
class Record:
    """How a forward op records its node when grad is needed."""

    condition: str  # whether some differentiable input requires grad
    edges: tuple[str, ...]  # next_functions, one per tensor input
    output_meta: str  # shape0, dtype0, shape1, dtype1, ...
    saved: tuple[SavedInput, ...]
    saved_outputs: tuple[str, ...]
    versions: tuple[str, ...]
    values: tuple[str, ...]
    metadata: tuple[tuple[str, str], ...]  # (slot, value)
    outputs: tuple[tuple[str, int], ...]  # (output, output_nr) of the differentiable outputs
    # differentiable outputs that may be integral (an integer tensor can require grad after a
    # fill_ from one that does): torch refuses to record those
    maybe_integral: tuple[str, ...]


@dataclass(frozen=True)
class OpPlan:
    """A forward op over arrays: the Tensor op (functions.py) or the array op (array_ops.py)."""

    entry: Entry
    signature: str
    tensors: tuple[TensorArgument, ...]
    device_check: tuple[str, ...]  # arrays checked to be on one device, once cupy is loaded
    promoted: tuple[str, ...]  # arrays cast to torch's result dtype first
    compute: str  # the forward expression over arrays
    uses_xp: bool
    first_array: str  # what `xp` is taken from
    record: Record | None


@dataclass(frozen=True)
class Spec:
    """The whole model of one spec file."""

    path: str
    entries: tuple[Entry, ...]
    composites: tuple[Composite, ...]
    context: Context  # the ops, helpers and kernels formulas may call
    by_base: Mapping[str, tuple[Entry, ...]]  # the overloads of each op, in order of first appearance
    bindings: Bindings
    nodes: tuple[NodePlan, ...]
    ops: tuple[OpPlan, ...]  # Tensor ops, one per entry
    array_ops: tuple[OpPlan, ...]  # array ops, one per entry
    kernels: object  # codegen.cuda.Analysis: the fused kernels
    rows: object  # codegen.rows.RowsAnalysis: the row kernels

    def overloads(self, base: str) -> tuple[Entry, ...]:
        return self.by_base.get(base, ())

    @property
    def bases(self) -> tuple[str, ...]:
        return tuple(self.by_base)

    @property
    def dispatchers(self) -> tuple[tuple[Entry, ...], ...]:
        """The overloads of each op that has several: one dispatcher each."""
        return tuple(overloads for overloads in self.by_base.values() if len(overloads) > 1)

    @property
    def inplace(self) -> tuple[str, ...]:
        """The ops with an in-place variant `base_`."""
        return tuple(base for base, overloads in self.by_base.items() if any(e.inplace for e in overloads))


def frozen_mapping(mapping: dict) -> Mapping:
    return MappingProxyType(dict(mapping))
