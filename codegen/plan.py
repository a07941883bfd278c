"""The plans of a spec's generated code, made once from its frozen entries (codegen/model.py).

For each differentiable entry a NodePlan: what its node saves, each input's gradient in the
array form (numpy/cupy through `xp`, small forward formulas inlined) and in the differentiable
form (Tensor ops, for create_graph=True), and its fused-kernel call. For each entry an OpPlan for
the Tensor op (argument checks, forward computation, recording the node) and one for the array op.
The formula expressions are compiled here (codegen/formula.py); the templates lay out the code.
"""

from __future__ import annotations

import ast

from . import cuda, formula, rows
from .model import (Bindings, Composite, Entry, Form, NodePlan, OpPlan, Record, SavedInput, Spec, TensorArgument)
from .schema import Argument, Schema


def build(path: str, entries: tuple[Entry, ...], composites: tuple[Composite, ...], context: formula.Context,
          by_base, bindings: Bindings) -> Spec:
    # one-overload ops with a `forward:` formula: inlined into array forms (`cos(x)` -> `xp.cos(x)`)
    inline = {base: (overloads[0].schema, overloads[0].forward) for base, overloads in by_base.items()
              if len(overloads) == 1 and overloads[0].forward is not None}
    kernels = cuda.analyze(entries, context, by_base)
    saved = {entry.node_name: _saved_inputs(entry) for entry in entries if entry.differentiable}
    nodes = tuple(_node(entry, saved[entry.node_name], context, inline, kernels.plans.get(entry.node_name))
                  for entry in entries if entry.differentiable)
    fused = {plan.entry.function_name: plan for plan in kernels.forwards}
    ops = tuple(_op(entry, fused.get(entry.function_name), saved.get(entry.node_name)) for entry in entries)
    array_ops = tuple(_op(entry, fused.get(entry.function_name), array=True) for entry in entries)
    row_kernels = rows.analyze(entries, context, by_base, kernels.fallbacks)
    return Spec(path, entries, composites, context, by_base, bindings, nodes, ops, array_ops, kernels, row_kernels)


# ---- nodes -------------------------------------------------------------------------------------

def _saved_inputs(entry: Entry) -> tuple[SavedInput, ...]:
    """The tensor inputs a node saves: those its formulas read by bare name."""
    inputs = entry.schema.tensor_arguments
    differentiable = [a for a in inputs if a.name not in entry.non_differentiable]
    return tuple(SavedInput(a, formula.saved_slot(a.name), formula.local_name(a.name),
                            _saved_if_needed(entry, a.name, differentiable))
                 for a in inputs if a.name in entry.usage.tensors)


def _node(entry: Entry, saved: tuple[SavedInput, ...], context: formula.Context, inline: dict,
          kernel: cuda.KernelPlan | None) -> NodePlan:
    schema, usage = entry.schema, entry.usage
    inputs = schema.tensor_arguments
    several = len(inputs) > 1
    needs = tuple((a.name, index) for index, a in enumerate(inputs)
                  if several and (entry.formula_for(a.name) or a.name in entry.not_implemented))
    fused = cuda.fused_call(kernel, several) if kernel is not None and kernel.computed else None
    return NodePlan(entry, saved, tuple(o for o in schema.returns if o in usage.outputs), tuple(sorted(usage.values)),
                    tuple(sorted(usage.metadata)), needs, _form(entry, context, inline, "array", several),
                    _form(entry, context, inline, "tensor", several), fused)


def _form(entry: Entry, context: formula.Context, inline: dict, form: str, several: bool) -> Form:
    """Each input's gradient as a Python expression of the form, and the statements of shared keys."""
    schema = entry.schema
    results, statements, uses_xp, shared_done = [], [], False, set()
    for argument in schema.tensor_arguments:
        condition = f" if {_need(argument.name, several)} else None" if several else ""
        derivative = entry.formula_for(argument.name)
        if argument.name in entry.not_implemented:
            results.append(f'self.not_implemented("{argument.name}"){condition}')
        elif derivative is None:
            results.append("None")
        elif len(derivative.inputs) > 1:
            if derivative.inputs not in shared_done:  # one statement computes every input of the key
                shared_done.add(derivative.inputs)
                mask = _tuple([_need(name, several) for name in derivative.inputs])
                emitter = formula.Emitter(schema, context, form, inline, mask)
                names = ", ".join(f"grad_{name}" for name in derivative.inputs)
                statements.append(f"{names} = {emitter.emit(derivative.tree)}")
                uses_xp |= emitter.uses_xp
            results.append(f"grad_{argument.name}")
        else:
            emitter = formula.Emitter(schema, context, form, inline)
            tree = emitter.transform(derivative.tree)
            source = ast.unparse(tree)
            uses_xp |= emitter.uses_xp
            if form == "array" and _is_saved_name(derivative.tree, schema):
                source = f"{source}.copy()"  # a gradient must never alias a saved array
            if argument.is_tensor_list:
                results.append(f"*{source}")  # one gradient per tensor of the list
                continue
            if condition and isinstance(tree, ast.IfExp):
                source = f"({source})"
            results.append(f"{source}{condition}")
    return Form(form, tuple(statements), tuple(results), uses_xp)


def _need(name: str, several: bool) -> str:
    return f"need_{name}" if several else "True"


def _is_saved_name(tree: ast.expr, schema: Schema) -> bool:
    if not isinstance(tree, ast.Name):
        return False
    argument = schema.argument(tree.id)
    return tree.id in schema.returns or (argument is not None and argument.is_input)


def _saved_if_needed(entry: Entry, name: str, differentiable: list[Argument]) -> str:
    """As torch: save a tensor only if an input whose formula reads it requires grad (x * 2.0
    saves nothing; x * w saves x only when w requires grad)."""
    readers = [a for a in differentiable if any(name in d.usage.tensors and a.name in d.inputs
                                                 for d in entry.derivatives)]
    if len(readers) == len(differentiable):
        return ""
    return f" if {_requires_grad(readers)} else None"


def _requires_grad(arguments: list[Argument]) -> str:
    return " or ".join(f"any_requires_grad({a.name})" if a.is_tensor_list else f"requires_grad({a.name})"
                       for a in arguments)


def _tuple(sources: list[str]) -> str:
    """A tuple display of the given sources, as a formatter would write it."""
    return f"({sources[0]},)" if len(sources) == 1 else f"({', '.join(sources)})"


# ---- forward ops -------------------------------------------------------------------------------

def _op(entry: Entry, fused: cuda.ForwardPlan | None, saved: tuple[SavedInput, ...] | None = None, array: bool = False) -> OpPlan:
    """The Tensor op (its tensors' arrays named `x_`, checked; the node recorded from `saved`
    for a differentiable entry) or, with `array`, the array op (neither checked nor recorded).
    `fused`: the op's fused forward kernel (codegen/cuda.py), if it has one."""
    schema = entry.schema
    arrays = {a.name: a.name if array else a.name + "_" for a in schema.tensor_arguments}
    tensors = tuple(
        TensorArgument(a, arrays[a.name], "tensor_list_data" if a.is_tensor_list else
                       "optional_tensor_data" if a.optional else "tensor_data", None if a.is_tensor_list else position)
        for position, a in enumerate(schema.arguments, 1) if a.is_input)
    single = tuple(arrays[a.name] for a in schema.tensor_arguments if a.is_tensor)
    promoted = tuple(arrays[a.name] for a in schema.tensor_arguments if a.name not in entry.non_differentiable)
    compute, uses_xp = _compute(entry, arrays, fused)
    first = schema.tensor_arguments[0] if schema.tensor_arguments else None
    first_array = arrays[first.name] + ("[0]" if first.is_tensor_list else "") if first else ""
    record = None if array or not entry.differentiable else _record(entry, arrays, saved)
    # one device per op, made current (cupy runs on its current device): checked once cupy is loaded
    return OpPlan(entry, _signature(schema), () if array else tensors, () if array else single,
                  promoted if entry.promotion and not array else (), compute, uses_xp, first_array, record)


def _signature(schema: Schema) -> str:
    params, star = [], False
    for argument in schema.arguments:
        if argument.keyword_only and not star:
            params.append("*")
            star = True
        params.append(f"{argument.name}={argument.default!r}" if argument.has_default else argument.name)
    return ", ".join(params)


def _compute(entry: Entry, arrays: dict[str, str], fused: cuda.ForwardPlan | None) -> tuple[str, bool]:
    """The forward expression over arrays, and whether it needs `xp`. With a fused forward kernel:
    its one launch where the arrays' backend runs gradspec's kernels, else the formula."""
    schema = entry.schema
    if entry.forward is not None:
        renamed = {a.name: ast.Name(arrays[a.name], ast.Load()) for a in schema.tensor_arguments}
        tree = formula.substitute(entry.forward, renamed)
        uses_xp = any(isinstance(n, ast.Name) and n.id == "xp" for n in ast.walk(tree))
        if fused is None:
            return ast.unparse(tree), uses_xp
        operands = _tuple([arrays[o.name] for o in fused.operands]) if fused.operands else "()"
        values = _tuple(list(fused.values)) if fused.values else "()"
        return (f'fused if (fused := B.fused_forward("{fused.node}", {operands}, {values})) is not None '
                f"else ({ast.unparse(tree)})"), uses_xp
    args = ", ".join(arrays.get(a.name, a.name) for a in schema.arguments)
    if entry.rows is not None:  # its row kernel where that applies, else the array kernel (rows.py)
        return f"R.{entry.function_name}({args})", False
    return f"K.{entry.kernel}({args})", False


def _record(entry: Entry, arrays: dict[str, str], saved: tuple[SavedInput, ...]) -> Record:
    schema, usage = entry.schema, entry.usage
    tensors = schema.tensor_arguments
    differentiable = [a for a in tensors if a.name not in entry.non_differentiable]
    condition = _requires_grad(differentiable)
    edges = tuple("NO_EDGE" if a.name in entry.non_differentiable else
                  f"*map(edge, {a.name})" if a.is_tensor_list else f"edge({a.name})" for a in tensors)
    saved_outputs = tuple(o for o in schema.returns if o in usage.outputs)
    versions = tuple(f"version(node.{s.slot})" for s in saved) + tuple(f"version({o})" for o in saved_outputs)
    lists = {a.name for a in tensors if a.is_tensor_list}
    metadata = tuple((f"{name}_{attr}", f"tuple({_metadata('t', attr)} for t in {arrays[name]})" if name in lists
                      else _metadata(arrays[name], attr)) for name, attr in sorted(usage.metadata))
    outputs = tuple((output, nr) for nr, (output, flag) in enumerate(zip(schema.returns,
                                                                         entry.output_differentiability)) if flag)
    return Record(f"({condition})" if len(differentiable) > 1 else condition, edges,
                  ", ".join(f"{o}._data.shape, {o}._data.dtype" for o in schema.returns), saved, saved_outputs,
                  versions, tuple(sorted(usage.values)), metadata, outputs,
                  () if entry.promotion == "float" else tuple(output for output, _ in outputs))


def _metadata(array: str, attr: str) -> str:
    return f"device_of({array})" if attr == "device" else f"{array}.{attr}"
