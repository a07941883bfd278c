"""Names a spec may not give its ops, arguments and outputs, because the generated code uses them.

An op becomes a function of the generated modules, a tensor input a parameter of the op's
function and a local of its node's methods, another argument a parameter and a slot of its node,
an output a local: a spec name equal to one the generated code reads would shadow it (an op named
`edge` would make every op call itself while recording its graph; an argument named `node` would
be overwritten by the node being recorded). So these are refused, each located at the name:

* Python's keywords, and dunder names;
* IN_OPS and IN_NODES: the names the templates themselves bind or read in the op functions
  (functions.py, array_ops.py) and in the node classes (nodes.py): their imports, globals,
  locals and the builtins they call; and the formula language's own names. tests/test_spec_names.py
  checks, on the generated code of the real spec and on the templates' imports, that these lists
  are complete;
* for arguments other than tensors, the attributes of runtime/node.py's Node and of the
  generated node classes (the argument is saved on the node as a slot of its name);
* for arguments and outputs, names ending in `_`, which generated code derives from theirs
  (`other_` holds other's array).
"""

from __future__ import annotations

import ast
import keyword
from pathlib import Path

IN_OPS = frozenset({
    "B", "K", "R", "NO_EDGE", "STATE", "SavedOutput", "Tensor", "DIFFERENTIABLE", "any_requires_grad", "array_module",
    "array_types", "as_device", "device_of", "dispatch", "dtypes", "edge", "factories", "gradspec_kernels",
    "index_list", "inplace",
    "int_arg", "int_list", "make_tensor", "new_zeros", "optional_tensor_data", "promote", "requires_grad",
    "return_type", "tensor_data", "tensor_list_data", "version", "view_of", "zeros_like",
    "args", "kwargs", "node", "result", "xp", "RuntimeError", "map", "tuple", "type",
    "broadcast_error", "error", "ValueError", "fused",
})
IN_NODES = frozenset({
    "A", "H", "R", "T", "Node", "array_module", "data_of", "fused", "launch", "grad", "grads", "xp", "tuple", "type",
})
LANGUAGE = frozenset({"grad", "grads", "grad_input_mask", "result", "xp"})
# Attributes the generated node classes define beside Node's.
NODE_CLASS_ATTRIBUTES = frozenset({"num_outputs", "saved_slots", "saved_names", "value_slots", "output_slots",
                                   "saved_values", "apply", "apply_fused", "apply_differentiable",
                                   "release_variables"})
_TAKEN = {"op": IN_OPS | IN_NODES, "tensor input": IN_OPS | IN_NODES | LANGUAGE, "argument": IN_OPS | LANGUAGE,
          "output": (IN_OPS | IN_NODES | LANGUAGE) - {"result"}}


def problem(name: str, kind: str) -> str | None:
    """Why `name` cannot name an op, tensor input, argument or output (`kind`), or None."""
    if keyword.iskeyword(name):
        return f"{kind} {name!r} is a Python keyword"
    if name.startswith("__") and name.endswith("__"):
        return f"{kind} {name!r} is a dunder name, which Python reserves"
    if name in _TAKEN[kind]:
        return f"{kind} {name!r} is a name the generated code uses itself (see codegen/reserved.py)"
    if name.endswith("_") and kind != "op":
        return f"{kind} {name!r} ends with '_', as the names generated code derives from arguments do"
    return None


# gradspec's node.py: runtime/node.py in a source checkout, gradspec/node.py once installed.
_HERE = Path(__file__).resolve().parent
NODE_MODULE = _HERE.parent / "runtime" / "node.py" if (_HERE.parent / "runtime").is_dir() else _HERE.parent / "node.py"


def node_attributes(path: Path = NODE_MODULE) -> frozenset[str]:
    """The attributes of gradspec's class Node (node.py, read as text) and of the generated node
    classes: an argument saved on a node is a slot of its own name and may not shadow them."""
    names = set(NODE_CLASS_ATTRIBUTES)
    for statement in ast.parse(path.read_text()).body:
        if isinstance(statement, ast.ClassDef) and statement.name == "Node":
            for member in statement.body:
                if isinstance(member, ast.FunctionDef):
                    names.add(member.name)
                elif isinstance(member, ast.Assign):
                    for target in member.targets:
                        if isinstance(target, ast.Name):
                            names.add(target.id)
                        if isinstance(target, ast.Name) and target.id == "__slots__":
                            names.update(ast.literal_eval(member.value))
    return frozenset(names)
