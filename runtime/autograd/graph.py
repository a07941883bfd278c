"""The autograd graph as a picture: Graphviz DOT text, without graphviz or torchviz installed.

    dot = gradspec.autograd.graph.to_dot(loss, params=dict(model.named_parameters()))
    open("graph.dot", "w").write(dot)        # then: dot -Tsvg graph.dot -o graph.svg

It draws what torchviz's `make_dot` draws (and `make_dot` itself also works on gradspec
tensors): the outputs (green), the backward nodes (grey, named as torch names them), the
leaves that will receive .grad (blue, with their names from `params` and their sizes) and
the tensors saved by custom Functions (orange); `show_saved=True` adds those the spec's nodes
saved, `show_attrs=True` the non-tensor values they saved (dims, alpha, ...). Node ids follow
the walk order, so the same graph gives the same text.
"""

from __future__ import annotations

from ..tensor import Tensor
from .function import BackwardCFunction

SAVED_PREFIX = "_saved_"


class _Dot:
    def __init__(self, params):
        self.names = {id(tensor): name for name, tensor in (params or {}).items()}
        self.ids: dict[int, str] = {}
        self.keep = []  # the objects behind self.ids stay alive, so ids are not reused mid-walk
        self.lines: list[str] = []

    def id(self, obj) -> tuple[str, bool]:
        """The node id of obj, and whether it is new."""
        key = id(obj)
        if key in self.ids:
            return self.ids[key], False
        self.ids[key] = f"n{len(self.ids)}"
        self.keep.append(obj)
        return self.ids[key], True

    def node(self, node_id: str, label: str, color: str) -> None:
        self.lines.append(f'\t{node_id} [label="{_escape(label)}" fillcolor={color}]')

    def edge(self, tail: str, head: str, attributes: str = "") -> None:
        self.lines.append(f"\t{tail} -> {head}{attributes}")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _size(tensor: Tensor) -> str:
    return "(" + ", ".join(str(d) for d in tensor.shape) + ")"


def _tensor_label(dot: _Dot, tensor: Tensor, name: str = "") -> str:
    return f"{name or dot.names.get(id(tensor), '')}\n {_size(tensor)}"


def _saved_values(fn) -> list[tuple[str, object]]:
    found = []
    for attr in dir(fn):
        if attr.startswith(SAVED_PREFIX):
            try:
                found.append((attr[len(SAVED_PREFIX):], getattr(fn, attr)))
            except RuntimeError:  # released by a backward without retain_graph
                continue
    return found


def _fn_label(fn, show_attrs: bool) -> str:
    name = type(fn).__name__
    if not show_attrs:
        return name
    values = [(key, value) for key, value in _saved_values(fn) if not _holds_tensors(value)]
    if not values:
        return name
    width = max(len(key) for key, _ in values)
    return name + "\n" + "\n".join(f"{key:<{width}}: {value}" for key, value in values)


def _holds_tensors(value) -> bool:
    return isinstance(value, Tensor) or (isinstance(value, tuple) and any(isinstance(v, Tensor) for v in value))


def _add_fn(dot: _Dot, fn, show_saved: bool, show_attrs: bool) -> str:
    """Walk the graph from fn (with a stack: graphs may be deep); returns fn's node id."""
    root, _ = dot.id(fn)
    stack = [fn]
    drawn = set()
    while stack:
        fn = stack.pop()
        fn_id, _ = dot.id(fn)
        if fn_id in drawn:
            continue
        drawn.add(fn_id)
        dot.node(fn_id, _fn_label(fn, show_attrs), "lightgrey")
        variable = getattr(fn, "variable", None)
        if variable is not None:
            var_id, _ = dot.id(variable)
            dot.node(var_id, _tensor_label(dot, variable), "lightblue")
            dot.edge(var_id, fn_id)
        saved = list(fn.saved_tensors) if isinstance(fn, BackwardCFunction) and fn.saved_tensors else []
        if show_saved:
            for key, value in _saved_values(fn):
                for index, tensor in enumerate(value if isinstance(value, tuple) else (value,)):
                    if isinstance(tensor, Tensor):
                        label = key if not isinstance(value, tuple) else f"{key}[{index}]"
                        saved_id, _ = dot.id(tensor)
                        dot.node(saved_id, _tensor_label(dot, tensor, label), "orange")
                        dot.edge(fn_id, saved_id, " [dir=none]")
        for tensor in saved:
            saved_id, _ = dot.id(tensor)
            dot.node(saved_id, _tensor_label(dot, tensor), "orange")
            dot.edge(saved_id, fn_id, " [dir=none]")
        for next_fn, _ in getattr(fn, "next_functions", ()):
            if next_fn is not None:
                next_id, _ = dot.id(next_fn)
                dot.edge(next_id, fn_id)
                stack.append(next_fn)
    return root


def to_dot(outputs, params: dict | None = None, show_saved: bool = False, show_attrs: bool = False) -> str:
    """The graph behind `outputs` (a tensor or a tuple of them) as Graphviz DOT text."""
    dot = _Dot(params)
    for output in outputs if isinstance(outputs, (tuple, list)) else (outputs,):
        out_id, new = dot.id(output)
        if not new:
            continue
        dot.node(out_id, _tensor_label(dot, output), "darkolivegreen1")
        if output.grad_fn is not None:
            dot.edge(_add_fn(dot, output.grad_fn, show_saved, show_attrs), out_id)
        if output._base is not None:
            base_id, _ = dot.id(output._base)
            dot.node(base_id, _tensor_label(dot, output._base), "darkolivegreen3")
            dot.edge(base_id, out_id, " [style=dotted]")
    header = ["digraph {", '\tgraph [size="12,12"]',
              '\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]']
    return "\n".join(header + _dedupe(dot.lines) + ["}"]) + "\n"


def _dedupe(lines: list[str]) -> list[str]:
    """Each node and edge once, in first-seen order (a node reached twice is declared once)."""
    return list(dict.fromkeys(lines))
