"""Graph nodes: the base class of every generated `...Backward` node, and AccumulateGrad.

A node is created by a forward op and holds, in slots: its `next_functions` (one edge
`(node, input_nr)` per tensor input, `(None, 0)` where no gradient flows), the shape and
dtype of each of its outputs (`output_meta`: shape0, dtype0, shape1, dtype1, ...), used by the
engine to validate the gradients it receives, and whatever its formulas saved. Saved tensors
carry the version they had when saved, so backward can refuse a tensor modified in place since.
"""

from __future__ import annotations

import weakref

from .anomaly import version_hint
from .hooks import Hooks, RemovableHandle, add_hook
from .tensor import make_tensor, refresh_view, type_description

NO_EDGE = (None, 0)


class KnownZero:
    """A gradient known to be zero: torch's efficient ZeroTensor, which sgn's derivative returns
    (so abs's and norm's second derivatives). The engine adds it as nothing and passes it through
    the formula nodes it reaches without running them, as torch's ZeroTensor passes through the
    products most formulas are (zero times an inf elsewhere stays zero, not NaN). Whoever sees a
    gradient (a .grad, autograd.grad's result, a hook, a custom Function) gets zeros."""

    __slots__ = ("xp", "shape", "dtype")
    __array_ufunc__ = None  # numpy never takes it for an array

    def __init__(self, xp, shape: tuple, dtype):
        self.xp = xp  # the array module (numpy or cupy) of the zeros it stands for
        self.shape = shape
        self.dtype = dtype

    def shaped(self, shape: tuple, dtype) -> KnownZero:
        """The same zeros as the gradient of an input of that shape and dtype."""
        return self if (shape, dtype) == (self.shape, self.dtype) else KnownZero(self.xp, shape, dtype)

    def materialize(self, as_tensor: bool):
        zeros = self.xp.zeros(self.shape, self.dtype)
        return make_tensor(zeros) if as_tensor else zeros


# Called with every new node (from Node.__init__), or None: set by anomaly mode, which records the
# forward stack, and by checkpoint regions, which collect their nodes. When neither is on, the only
# cost a node pays is this one global check. See set_creation_listener.
_on_node_created = None
_creation_listeners: list = []


def set_creation_listener(listener, active: bool) -> None:
    """Add (active=True) or remove a function called with every node created from now on."""
    global _on_node_created
    if active:
        _creation_listeners.append(listener)
    elif listener in _creation_listeners:
        _creation_listeners.remove(listener)
    listeners = tuple(_creation_listeners)
    if not listeners:
        _on_node_created = None
    elif len(listeners) == 1:
        _on_node_created = listeners[0]
    else:
        def _all(node):
            for call in listeners:
                call(node)

        _on_node_created = _all


FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after they "
    "have already been freed). Saved intermediate values of the graph are freed when you call .backward() "
    "or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time "
    "or if you need to access saved tensors after calling backward."
)


class SavedOutput:
    """An op's own output saved for its backward: the array and its version counter, but no
    grad_fn, so that node -> output -> node is not a reference cycle. `history`: for an in-place
    op on a view, a weak reference to the view's grad_fn (derived from its base's), which the
    output has when unpacked, as torch's SavedVariable keeps it for an in-place op on a view."""

    __slots__ = ("_data", "_vc", "history")

    def __init__(self, tensor):
        self._data = tensor._data
        self._vc = tensor._version_counter()
        self.history = None


class Node:
    __slots__ = ("next_functions", "output_meta", "saved_versions", "_hooks", "_anomaly", "__weakref__")

    # Set by each generated class: the slots of saved tensors (aligned with saved_versions),
    # their names in the spec, and the slots of saved values and metadata.
    num_outputs = 1
    saved_slots: tuple[str, ...] = ()
    saved_names: tuple[str, ...] = ()
    value_slots: tuple[str, ...] = ()
    output_slots: tuple[str, ...] = ()  # saved outputs among saved_slots
    saved_values: tuple[str, ...] = ()  # value slots holding index lists: saved tensors too
    # An output of a node of several that no gradient reached gets None, torch's "undefined"
    # gradient: a formula tells it from zeros with `defined(grads[i])`; a custom Function's backward
    # materializes it per its ctx (set_materialize_grads).
    # An elementwise node's fused kernel (generated: apply_fused(grads, launch)), None for the rest:
    # called by the backends that launch fused kernels (gradspec.backends.Backend.backward).
    apply_fused = None
    # Whether its backward is formulas alone, so that the engine may pass KnownZero gradients
    # through it without running it (not so for a leaf's accumulator or a user's Function).
    passes_known_zeros = True

    def __init__(self):
        self._hooks = None
        if _on_node_created is not None:
            _on_node_created(self)

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    def apply(self, grads):
        """Gradients of the inputs from gradients of the outputs, as arrays."""
        raise NotImplementedError

    def apply_differentiable(self, grads):
        """The same over Tensors, recording the graph (create_graph=True)."""
        raise NotImplementedError

    @property
    def needs_input_grad(self) -> tuple[bool, ...]:
        return tuple(fn is not None for fn, _ in self.next_functions)

    def release_variables(self) -> None:
        """Free the saved tensors; a node that saved none (its readers did not require grad) can
        run again, as torch's. Generated nodes spell this out for their own slots (the engine calls
        it after every node): this loop serves the rest."""
        released = False
        for slot in self.saved_slots + self.saved_values:
            if getattr(self, slot) is not None:
                setattr(self, slot, None)
                released = True
        if released:
            self.saved_versions = None

    def check_saved(self) -> None:
        """Refuse freed or modified saved tensors with PyTorch's messages."""
        versions = self.saved_versions
        if versions is None:
            raise RuntimeError(FREED_MESSAGE)
        for slot, expected in zip(self.saved_slots, versions):
            if expected is not None:
                saved = getattr(self, slot)
                if current_version(saved) != expected:
                    raise RuntimeError(self._version_message(slot, saved, expected))
        if len(versions) > len(self.saved_slots):  # then the versions of the saved index lists' tensors
            entries = [t for slot in self.saved_values for t in getattr(self, slot).sources]  # (tensor.IndexArrays)
            for saved, expected in zip(entries, versions[len(self.saved_slots):]):
                if expected is not None and current_version(saved) != expected:
                    raise RuntimeError(self._version_message("", saved, expected))

    def _version_message(self, slot: str, saved, expected: int) -> str:
        what = f"[{type_description(saved._data)}]"
        if slot in self.output_slots:
            what += f", which is output 0 of {self.name()},"
        return (
            "one of the variables needed for gradient computation has been modified by an inplace "
            f"operation: {what} is at version {current_version(saved)}; expected version {expected} instead. "
            + version_hint()
        )

    def saved_output(self, saved: SavedOutput):
        """A saved output as a Tensor whose grad_fn is this node (or the view's it was written
        into), for the differentiable form (an integral one, as max's indices, is no
        differentiable output: it has none)."""
        if saved._data.dtype.kind != "f":
            tensor = make_tensor(saved._data)
        else:
            history = saved.history() if saved.history is not None else None
            tensor = make_tensor(saved._data, True, history or self)
        tensor._vc = saved._vc
        return tensor

    def not_implemented(self, input_name: str):
        raise NotImplementedError(f"the derivative of {self.name()} with respect to '{input_name}' is not "
                                  "implemented (marked not_implemented in derivatives.yaml)")

    def hooks(self) -> Hooks:
        if self._hooks is None:
            self._hooks = Hooks()
        return self._hooks

    def register_hook(self, fn) -> RemovableHandle:
        """fn(grad_inputs, grad_outputs) runs after the node; may return replacement grad_inputs."""
        return add_hook(self.hooks().post, fn)

    def register_prehook(self, fn) -> RemovableHandle:
        """fn(grad_outputs) runs before the node; may return replacement grad_outputs."""
        return add_hook(self.hooks().pre, fn)

    def __getattr__(self, attr: str):
        # grad_fn._saved_self, _saved_other, _saved_result, _saved_alpha, ... as in torch.
        if attr.startswith("_saved_"):
            return self._saved(attr[len("_saved_"):])
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{attr}'")

    def __dir__(self):
        """With the `_saved_<name>` attributes, which tools find by listing (torchviz's make_dot)."""
        saved = [f"_saved_{name}" for name in (*self.saved_names, *self.value_slots)]
        return sorted({*super().__dir__(), *saved})

    def _saved(self, name: str):
        if name in self.saved_names:
            slot = self.saved_slots[self.saved_names.index(name)]
            if self.saved_versions is None:
                raise RuntimeError(FREED_MESSAGE)
            saved = getattr(self, slot)
            if slot in self.output_slots:
                return make_tensor(saved._data)
            return saved
        if name in self.value_slots:
            return getattr(self, name)
        raise AttributeError(f"'{self.name()}' object has no attribute '_saved_{name}'")


class AccumulateGrad(Node):
    """The sink of a leaf tensor that requires grad: adds incoming gradients into `.grad`."""

    __slots__ = ("variable",)
    passes_known_zeros = False

    def __init__(self, variable):
        self.variable = variable
        self.next_functions = ()
        self._hooks = variable._hooks
        # as torch's: the leaf's metadata when the graph was built, whatever `.data =` does later
        self.output_meta = (variable._data.shape, variable._data.dtype)

    def hooks(self) -> Hooks:
        # One table for the leaf and its accumulator, so that hooks registered on either survive
        # the other registering first (torch keeps both on the accumulator node).
        if self._hooks is None:
            self._hooks = self.variable._leaf_hooks()
        return self._hooks


def grad_accumulator(tensor) -> AccumulateGrad:
    """The tensor's AccumulateGrad node; the tensor holds it weakly, the graph strongly."""
    ref = tensor._grad_acc
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(tensor)
        tensor._grad_acc = weakref.ref(node)
    return node


def edge(value):
    """The graph edge a forward op records for one of its inputs (a Tensor or a wrapped number)."""
    if getattr(value, "_base", None) is not None:
        refresh_view(value)
    grad_fn = getattr(value, "grad_fn", None)
    if grad_fn is not None:
        return (grad_fn, value._output_nr)
    if getattr(value, "_requires_grad", False):
        return (grad_accumulator(value), 0)
    return NO_EDGE


def version(value):
    """The version a saved tensor is checked against; None for a wrapped number or nothing saved."""
    # getattr with a default: no AttributeError (and its formatted message) for each number or None
    counter = getattr(value, "_vc", False)
    if counter is False:
        return None
    return 0 if counter is None else counter[0]


def current_version(saved) -> int:
    counter = saved._vc  # created on the first in-place write or view: None means version 0
    return 0 if counter is None else counter[0]
