"""Turn checked spec entries into the source of generated/ through the jinja2 templates."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import jinja2

from . import cuda, formula
from .schema import Argument, Schema
from .spec import Entry, Spec

TEMPLATES = Path(__file__).parent / "templates"
OUTPUTS = ("__init__.py", "nodes.py", "functions.py", "array_ops.py", "bindings.py")


@dataclass
class Node:
    """What the nodes.py template needs for one class."""

    entry: Entry
    slots: list[str]
    saved_slots: list[str]
    saved_names: list[str]
    value_slots: list[str]
    output_slots: list[str]
    array_body: list[str]
    tensor_body: list[str]


def render(spec: Spec, spec_label: str) -> dict[str, str]:
    """File name -> source text, deterministic for a given spec."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["strings"] = _string_tuple
    env.filters["names"] = _wrapped_names
    context = spec.context
    inline = {base: (spec.overloads(base)[0].schema, spec.overloads(base)[0].forward)
              for base in spec.bases
              if len(spec.overloads(base)) == 1 and spec.overloads(base)[0].forward is not None}
    kernels = cuda.analyze(spec)  # elementwise nodes get a fused CUDA kernel
    nodes = [_node(entry, context, inline, kernels.plans.get(entry.node_name))
             for entry in spec.entries if entry.differentiable]
    data = dict(
        spec=spec_label,
        entries=spec.entries,
        nodes=nodes,
        wrappers=[_wrapper(entry) for entry in spec.entries],
        array_functions=[_array_function(entry) for entry in spec.entries],
        dispatchers=[_dispatcher(base, spec.overloads(base)) for base in spec.bases if len(spec.overloads(base)) > 1],
        bases=spec.bases,
        inplace=[base for base in spec.bases if any(e.inplace for e in spec.overloads(base))],
        bindings=spec.bindings,
    )
    files = {name: _tidy_imports(env.get_template(name + ".j2").render(**data)) for name in OUTPUTS}
    files.update(cuda.render(env, spec_label, kernels))
    return files


def _tidy_imports(source: str) -> str:
    """Drop imported names the module does not use and wrap long import lines: the templates
    import everything an op might need, each generated module keeps what its ops do need."""
    tree = ast.parse(source)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    used |= {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}  # __all__
    used |= {n.value.id for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}
    lines = source.split("\n")
    for statement in reversed([s for s in tree.body if isinstance(s, ast.ImportFrom)]):
        kept = [a for a in statement.names if (a.asname or a.name) in used]
        names = [f"{a.name} as {a.asname}" if a.asname else a.name for a in kept]
        text = f"from {'.' * statement.level}{statement.module or ''} import {', '.join(names)}"
        if len(text) > 110:
            text = "\n".join([f"from {'.' * statement.level}{statement.module or ''} import ("]
                             + [f"    {n}," for n in names] + [")"])
        lines[statement.lineno - 1:statement.end_lineno] = [text] if kept else []
    return "\n".join(lines)


def _wrapped_names(names) -> str:
    """A tuple of name strings, wrapped at 110 columns with a hanging indent."""
    if not names:
        return "()"
    lines, line = [], "("
    for name in names:
        item = f'"{name}",'
        if len(line) + len(item) + 1 > 110:
            lines.append(line.rstrip())
            line = "    "
        line += item if line in ("(", "    ") else f" {item}"
    last = line if len(names) == 1 else line.removesuffix(",")
    return "\n".join(lines + [last + ")"])


def _string_tuple(items) -> str:
    return _tuple([f'"{item}"' for item in items])


def _tuple(sources: list[str]) -> str:
    """A tuple display of the given sources, as a formatter would write it."""
    return f"({sources[0]},)" if len(sources) == 1 else f"({', '.join(sources)})"


# ---- nodes -------------------------------------------------------------------------------

def _node(entry: Entry, context: formula.Context, inline: dict, kernel: cuda.KernelPlan | None = None) -> Node:
    schema = entry.schema
    usage = _merged_usage(entry)
    tensors = [a for a in schema.tensor_arguments if a.name in usage.tensors]
    outputs = [o for o in schema.returns if o in usage.outputs]
    saved_slots = [formula.saved_slot(a.name) for a in tensors] + [formula.saved_slot(o) for o in outputs]
    value_slots = sorted(usage.values) + [f"{name}_{attr}" for name, attr in sorted(usage.metadata)]
    body = {form: _apply_body(entry, context, inline, form, tensors, outputs, kernel if form == "array" else None)
            for form in ("array", "tensor")}
    return Node(entry, saved_slots + value_slots, saved_slots,
                [a.name for a in tensors] + outputs, value_slots,
                [formula.saved_slot(o) for o in outputs], body["array"], body["tensor"])


def _merged_usage(entry: Entry) -> formula.Usage:
    merged = formula.Usage()
    for derivative in entry.derivatives:
        usage = derivative.usage
        merged.grads |= usage.grads
        merged.tensors |= usage.tensors
        merged.metadata |= usage.metadata
        merged.values |= usage.values
        merged.outputs |= usage.outputs
    return merged


def _apply_body(entry: Entry, context, inline, form: str, tensors: list[Argument], outputs: list[str],
                kernel: cuda.KernelPlan | None = None) -> list[str]:
    schema = entry.schema
    inputs = schema.tensor_arguments
    lines = []
    if tensors or outputs:
        lines.append("self.check_saved()")
    if len(schema.returns) == 1:
        lines.append("grad = grads[0]")
    for argument in tensors:
        lines.append(f"{formula.local_name(argument.name)} = {_unpack(argument, form)}")
    for output in outputs:
        source = f"self.{formula.saved_slot(output)}"
        unpacked = f"{source}._data" if form == "array" else f"self.saved_output({source})"
        lines.append(f"{formula.local_name(output)} = {unpacked}")
    several = len(inputs) > 1
    if several:
        for index, argument in enumerate(inputs):
            if entry.formula_for(argument.name) or argument.name in entry.not_implemented:
                lines.append(f"need_{argument.name} = self.next_functions[{index}][0] is not None")
    if kernel is not None:  # a cupy gradient: one fused kernel launch computes every needed gradient
        lines.extend(cuda.apply_branch(kernel, several))
    results, statements, uses_xp = [], [], False
    for index, argument in enumerate(inputs):
        condition = f" if {_need(argument.name, several)} else None" if several else ""
        derivative = entry.formula_for(argument.name)
        if argument.name in entry.not_implemented:
            results.append(f'self.not_implemented("{argument.name}"){condition}')
        elif derivative is None:
            results.append("None")
        elif len(derivative.inputs) > 1:
            names = [f"grad_{name}" for name in derivative.inputs]
            if names[0] not in " ".join(statements):
                mask = _tuple([_need(name, several) for name in derivative.inputs])
                emitter = formula.Emitter(schema, context, form, inline, mask)
                statements.append(f"{', '.join(names)} = {emitter.emit(derivative.tree)}")
                uses_xp |= emitter.uses_xp
            results.append(f"grad_{argument.name}")
        else:
            emitter = formula.Emitter(schema, context, form, inline)
            source = emitter.emit(derivative.tree)
            uses_xp |= emitter.uses_xp
            if form == "array" and _is_saved_name(derivative.tree, schema):
                source = f"{source}.copy()"  # a gradient must never alias a saved array
            if argument.is_tensor_list:
                results.append(f"*{source}")  # one gradient per tensor of the list
                continue
            if condition and isinstance(ast.parse(source, mode="eval").body, ast.IfExp):
                source = f"({source})"
            results.append(f"{source}{condition}")
    if uses_xp:
        lines.append("xp = array_module(grad)" if len(schema.returns) == 1 else "xp = array_module(grads[0])")
    lines.extend(statements)
    if len(results) == 1 and results[0].startswith("*"):
        lines.append(f"return tuple({results[0][1:]})")
    elif len(results) == 1:
        lines.append(f"return ({results[0]},)")
    else:
        lines.append("return (")
        lines.extend(f"    {r}," for r in results)
        lines.append(")")
    return lines


def _need(name: str, several: bool) -> str:
    if not several:
        return "True"
    return f"need_{name}"


def _unpack(argument: Argument, form: str) -> str:
    """A saved input in the form's terms: Tensors as they are, or their arrays (a wrapped number
    or None stays itself)."""
    source = f"self.{formula.saved_slot(argument.name)}"
    if form == "tensor":
        return source
    return f"[t._data for t in {source}]" if argument.is_tensor_list else f"data_of({source})"


def _is_saved_name(tree: ast.expr, schema: Schema) -> bool:
    if not isinstance(tree, ast.Name):
        return False
    argument = schema.argument(tree.id)
    return tree.id in schema.returns or (argument is not None and argument.is_input)


# ---- forward wrappers and array functions ------------------------------------------------

def _signature(schema: Schema) -> str:
    params, star = [], False
    for argument in schema.arguments:
        if argument.keyword_only and not star:
            params.append("*")
            star = True
        params.append(f"{argument.name}={argument.default!r}" if argument.has_default else argument.name)
    return ", ".join(params)


def _normalize(schema: Schema) -> list[str]:
    """Argument conversions done once in the wrapper: int lists, dtypes, devices."""
    lines = []
    for argument in schema.arguments:
        name, op = argument.name, schema.base
        if argument.type == "int":
            lines.append(f'{name} = int_arg({name}, "{op}", "{name}")' if not argument.optional else
                         f'{name} = None if {name} is None else int_arg({name}, "{op}", "{name}")')
        elif argument.type == "int[]":
            size = f", {argument.size}" if argument.size else ""
            convert = f'int_list({name}, "{op}", "{name}"{size})'
            lines.append(f"{name} = {convert}" if not argument.optional else
                         f"{name} = None if {name} is None else {convert}")
        elif argument.type == "Tensor?[]":
            lines.append(f'{name} = index_list({name}, "{op}", "{name}")')
        elif argument.type == "ScalarType":
            lines.append(f"{name} = None if {name} is None else dtypes.to_numpy({name})")
        elif argument.type == "Device":
            lines.append(f"{name} = None if {name} is None else as_device({name})")
    return lines


def _compute(entry: Entry, array_names: dict[str, str]) -> tuple[str, bool]:
    """The forward expression over arrays, and whether it needs `xp`."""
    schema = entry.schema
    if entry.forward is not None:
        renamed = {a.name: ast.Name(array_names[a.name], ast.Load()) for a in schema.tensor_arguments}
        tree = formula.substitute(entry.forward, renamed)
        uses_xp = any(isinstance(n, ast.Name) and n.id == "xp" for n in ast.walk(tree))
        return ast.unparse(tree), uses_xp
    args = ", ".join(array_names.get(a.name, a.name) for a in schema.arguments)
    return f"K.{entry.kernel}({args})", False


def _first_array(schema: Schema, array_names: dict[str, str]) -> str:
    first = schema.tensor_arguments[0]
    return array_names[first.name] + ("[0]" if first.is_tensor_list else "")


def _wrapper(entry: Entry) -> dict:
    schema = entry.schema
    tensors = schema.tensor_arguments
    arrays = {a.name: a.name + "_" for a in tensors}
    lines = []
    for position, argument in enumerate(schema.arguments, 1):
        if argument.is_input:
            check = ("tensor_list_data" if argument.is_tensor_list else
                     "optional_tensor_data" if argument.optional else "tensor_data")
            where = "" if argument.is_tensor_list else f", {position}"
            lines.append(f'{arrays[argument.name]} = {check}({argument.name}, "{schema.base}", '
                         f'"{argument.name}"{where})')
    single = [arrays[a.name] for a in tensors if a.is_tensor]
    if len(single) > 1:  # one device per op; before cupy is loaded every array is a numpy array
        lines.append("if B.cuda_loaded:")
        lines.append(f"    B.check_devices({', '.join(single)})")
    lines.extend(_normalize(schema))
    if entry.promotion:
        promoted = [arrays[a.name] for a in tensors if a.name not in entry.non_differentiable]
        to_float = ", to_float=True" if entry.promotion == "float" else ""
        targets = f"{', '.join(promoted)}{',' if len(promoted) == 1 else ''}"
        lines.append(f"{targets} = promote({', '.join(promoted)}{to_float})")
    compute, uses_xp = _compute(entry, arrays)
    if uses_xp:
        lines.append(f"xp = array_module({_first_array(schema, arrays)})")
    outputs = schema.returns
    if schema.view_of:  # shares storage: also the version counter, so in-place writes are seen
        computed = [f"result = view_of({schema.view_of}, {compute})"]
    elif len(outputs) == 1:
        computed = [f"result = make_tensor({compute})"]
    else:
        computed = [f"{', '.join(o + '_' for o in outputs)} = {compute}"]
    if len(single) > 1:  # numpy's error for shapes that do not broadcast, in torch's words
        computed = ["try:", *(f"    {line}" for line in computed), "except ValueError as error:",
                    f"    raise broadcast_error(error, {', '.join(single)}) from None"]
    lines.extend(computed)
    if len(outputs) > 1:
        lines.extend(f"{o} = make_tensor({o}_)" for o in outputs)
    undifferentiable = [a for a in tensors if entry.formula_for(a.name) is None
                        and a.name not in entry.non_differentiable | entry.not_implemented]
    if entry.differentiable:
        for argument in undifferentiable:
            lines.append(f"if requires_grad({argument.name}):")
            lines.append(f'    raise RuntimeError("the derivative for \'{argument.name}\' is not implemented.")')
        lines.extend(_record(entry, arrays))
    if len(outputs) == 1:
        lines.append("return result")
    else:
        lines.append(f'return return_type("{schema.base}", {_string_tuple(outputs)}, {_tuple(list(outputs))})')
    return dict(entry=entry, signature=_signature(schema), lines=lines)


def _record(entry: Entry, arrays: dict[str, str]) -> list[str]:
    schema = entry.schema
    tensors = schema.tensor_arguments
    differentiable = [a for a in tensors if a.name not in entry.non_differentiable]
    condition = " or ".join(f"any_requires_grad({a.name})" if a.is_tensor_list else f"requires_grad({a.name})"
                            for a in differentiable)
    if len(differentiable) > 1:
        condition = f"({condition})"
    usage = _merged_usage(entry)
    lines = [f"if STATE.enabled and {condition}:"]
    if any(a.type == "ScalarType" for a in schema.arguments):  # a dtype= that may make the result integral
        lines.append("    if result._data.dtype.kind != \"f\":")
        lines.append("        raise RuntimeError(f\"Autograd not support dtype: "
                     "{dtypes.scalar_type_name(result._data.dtype)}\")")
    lines.append(f"    node = {entry.node_name}()")
    edges = ["NO_EDGE" if a.name in entry.non_differentiable else
             f"*map(edge, {a.name})" if a.is_tensor_list else f"edge({a.name})" for a in tensors]
    lines.append(f"    node.next_functions = {_tuple(edges)}")
    meta = ", ".join(f"{o}._data.shape, {o}._data.dtype" for o in schema.returns)
    lines.append(f"    node.output_meta = ({meta})")
    saved = [a.name for a in tensors if a.name in usage.tensors]
    saved_outputs = [o for o in schema.returns if o in usage.outputs]
    for name in saved:
        lines.append(f"    node.{formula.saved_slot(name)} = {name}{_saved_if_needed(entry, name, differentiable)}")
    for output in saved_outputs:
        lines.append(f"    node.{formula.saved_slot(output)} = SavedOutput({output})")
    versions = [f"version(node.{formula.saved_slot(name)})" for name in saved]
    versions += [f"version({output})" for output in saved_outputs]
    if versions:
        lines.append(f"    node.saved_versions = {_tuple(versions)}")
    for value in sorted(usage.values):
        lines.append(f"    node.{value} = {value}")
    lists = {a.name for a in tensors if a.is_tensor_list}
    for name, attr in sorted(usage.metadata):
        metadata = _metadata("t", attr)
        value = f"tuple({metadata} for t in {arrays[name]})" if name in lists else _metadata(arrays[name], attr)
        lines.append(f"    node.{name}_{attr} = {value}")
    for nr, (output, flag) in enumerate(zip(schema.returns, entry.output_differentiability)):
        if flag:
            lines.append(f"    {output}.grad_fn = node")
            lines.append(f"    {output}._requires_grad = True")
            if nr:
                lines.append(f"    {output}._output_nr = {nr}")
    return lines


def _saved_if_needed(entry: Entry, name: str, differentiable: list[Argument]) -> str:
    """As torch: save a tensor only if an input whose formula reads it requires grad (x * 2.0
    saves nothing; x * w saves x only when w requires grad)."""
    readers = [a for a in differentiable if any(name in d.usage.tensors and a.name in d.inputs
                                                 for d in entry.derivatives)]
    if len(readers) == len(differentiable):
        return ""
    condition = " or ".join(f"any_requires_grad({a.name})" if a.is_tensor_list else f"requires_grad({a.name})"
                            for a in readers)
    return f" if {condition} else None"


def _metadata(array: str, attr: str) -> str:
    return f"device_of({array})" if attr == "device" else f"{array}.{attr}"


def _array_function(entry: Entry) -> dict:
    schema = entry.schema
    arrays = {a.name: a.name for a in schema.tensor_arguments}
    lines = _normalize(schema)
    compute, uses_xp = _compute(entry, arrays)
    if uses_xp:
        lines.append(f"xp = array_module({_first_array(schema, arrays)})")
    lines.append(f"return {compute}")
    return dict(entry=entry, signature=_signature(schema), lines=lines)


def _dispatcher(base: str, entries: list[Entry]) -> dict:
    table = []
    for entry in entries:
        params = [f'("{a.name}", "{a.type}{"?" if a.optional else ""}", {a.has_default}, {a.keyword_only})'
                  for a in entry.schema.arguments]
        table.append((entry.function_name, params))
    return dict(base=base, table=table, schemas=[e.schema.text for e in entries])
