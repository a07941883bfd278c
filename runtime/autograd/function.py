"""Custom differentiable operations: torch.autograd.Function.

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):
            result = x.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad):
            (result,) = ctx.saved_tensors
            return grad * result

    y = Exp.apply(x)          # y.grad_fn is an ExpBackward node; its ctx is the node itself

As in torch, each subclass gets a node class `<Name>Backward` (a Node and the `ctx`):

- `forward` runs under no_grad; `apply` then attaches the node to the outputs that are
  differentiable (floating point, not marked with `ctx.mark_non_differentiable`).
- The node's edges are those of the Tensor arguments, in order; other arguments (numbers,
  strings, lists) pass through and get no gradient. `backward` returns one value per forward
  argument (None for the non-Tensors; extra trailing Nones are allowed).
- A forward may return a tuple with Tensors and other values: the node has one output per
  element (`num_outputs`, `output_meta` = shape0, dtype0, shape1, dtype1, ... with None for the
  non-Tensors), and `backward` receives one gradient per element (None for non-Tensors).
  Outputs that no gradient reached arrive as zeros, or as None after
  `ctx.set_materialize_grads(False)`.
- `ctx.save_for_backward(*tensors)` keeps tensors for backward; `ctx.saved_tensors` returns them,
  refusing (with torch's messages) tensors modified in place since and tensors already freed by
  a backward without retain_graph. A saved output comes back with this node as its grad_fn, so a
  backward written with differentiable ops supports double backward (create_graph=True).
- `ctx.mark_dirty(t)` for an input modified in place by forward (and returned): its version is
  bumped; when the call is recorded the returned tensor is the input itself, its history
  rewritten to this node (a leaf that requires grad is refused), otherwise an alias of it.
- Returning an input unchanged returns an alias (a new tensor sharing its storage), as torch.
- The "setup_context" style (`forward(*args)` plus `setup_context(ctx, inputs, output)`) works too.
  Keyword arguments to `apply` are bound to forward's parameters (so they count as inputs).
- `once_differentiable` marks a backward that is not itself differentiable: a double backward
  through its results raises instead of silently giving wrong gradients.

Forward-mode AD (`jvp`, `save_for_forward`'s use) and vmap are not supported: gradspec has no
forward mode.
"""

from __future__ import annotations

import functools
import inspect
import warnings


from ..backends import array_module
from ..grad_mode import STATE, no_grad
from ..anomaly import version_hint
from ..node import FREED_MESSAGE, NO_EDGE, Node, SavedOutput, current_version, edge, version
from ..tensor import Tensor, make_tensor, type_description, view_of


class FunctionCtx:
    """What `forward` (or `setup_context`) may tell `backward` through `ctx`."""

    def save_for_backward(self, *tensors) -> None:
        for index, tensor in enumerate(tensors):
            if tensor is not None and not isinstance(tensor, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {index} is of type "
                                f"{type(tensor).__name__}")
        self.to_save = tensors

    def save_for_forward(self, *tensors) -> None:
        """Kept for a jvp; gradspec has no forward mode, so nothing reads them."""
        for index, tensor in enumerate(tensors):
            if tensor is not None and not isinstance(tensor, Tensor):
                raise TypeError(f"save_for_forward expects all arguments to be tensors; but got {index}th "
                                f"argument of type {type(tensor).__name__}")
        self.saved_for_forward = tensors

    def mark_dirty(self, *args) -> None:
        self.dirty_tensors = args

    def mark_shared_storage(self, *pairs) -> None:
        raise RuntimeError("mark_shared_storage is deprecated. Tensors with shared storages are automatically "
                           "tracked. Note that calls to `set_()` are not tracked")

    def mark_non_differentiable(self, *args) -> None:
        self.non_differentiable = args

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class BackwardCFunction(Node, FunctionCtx):
    """The node of one call to a custom Function; also its `ctx`. Subclassed per Function."""

    _forward_cls = None
    # The engine leaves unreached outputs as None: backward materializes them per ctx.
    # ctx.needs_input_grad is per forward argument (set by apply), not Node's per-edge property.
    needs_input_grad = ()
    materialize_grads = True
    passes_known_zeros = False  # the user's backward runs, with zeros
    to_save = ()
    dirty_tensors = ()
    non_differentiable = ()

    def name(self) -> str:
        return type(self).__name__

    @property
    def metadata(self) -> dict:
        """A dict for the user's own annotations of this node (torch's Node.metadata)."""
        return self.__dict__.setdefault("_metadata", {})

    # ---- saved tensors ------------------------------------------------------------------

    @property
    def saved_tensors(self) -> tuple:
        stash = self.__dict__.get("_stash", ())
        if stash is None:
            raise RuntimeError(FREED_MESSAGE)
        tensors = []
        for entry in stash:
            if entry is None:
                tensors.append(None)
                continue
            kind, value, expected, nr = entry
            if kind == "output":
                tensor = make_tensor(value._data, True, self)
                tensor._vc = value._vc
                tensor._output_nr = nr
            else:
                tensor = value
            if expected is not None and current_version(tensor) != expected:
                raise RuntimeError(self._saved_version_message(tensor, expected))
            tensors.append(tensor)
        return tuple(tensors)

    @property
    def saved_variables(self) -> tuple:
        warnings.warn("'saved_variables' is deprecated; use 'saved_tensors'", DeprecationWarning, stacklevel=2)
        return self.saved_tensors

    def _saved_version_message(self, tensor: Tensor, expected: int) -> str:
        what = f"[{type_description(tensor._data)}]"
        if tensor.grad_fn is not None:
            what += f", which is output {tensor._output_nr} of {tensor.grad_fn.name()},"
        return ("one of the variables needed for gradient computation has been modified by an inplace "
                f"operation: {what} is at version {current_version(tensor)}; expected version {expected} instead. "
                + version_hint())

    def release_variables(self) -> None:
        self._stash = None
        self.saved_versions = None

    # ---- backward, as the engine calls it ------------------------------------------------

    def apply(self, grads):
        return self._call_backward(grads, differentiable=False)

    def apply_differentiable(self, grads):
        return self._call_backward(grads, differentiable=True)

    def _call_backward(self, grads, differentiable: bool) -> tuple:
        arguments = []
        for grad, info in zip(grads, self._outputs):
            if info is None:  # a non-Tensor output
                arguments.append(None)
            elif grad is None:
                if self.materialize_grads:
                    shape, dtype, xp = info
                    zeros = make_tensor(xp.zeros(shape, dtype))
                    arguments.append(zeros)
                else:
                    arguments.append(None)
            else:
                arguments.append(grad if differentiable else make_tensor(grad))
        result = self._forward_cls._backward_function()(self, *arguments)
        if not isinstance(result, tuple):
            result = (result,)
        expected = len(self.needs_input_grad)
        if len(result) != expected:
            if len(result) > expected and all(g is None for g in result[expected:]):
                result = result[:expected]
            else:
                raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients (expected "
                                   f"{expected}, got {len(result)})")
        outputs = []
        for position, grad in enumerate(result):
            is_tensor_argument = position in self._tensor_positions
            if grad is None:
                if is_tensor_argument:
                    outputs.append(None)
                continue
            if not is_tensor_argument:
                raise RuntimeError(f"function {self.name()} returned a gradient different than None at position "
                                   f"{position + 1}, but the corresponding forward input was not a Variable")
            if not isinstance(grad, Tensor):
                raise RuntimeError(f"expected Variable or None (got {type(grad).__name__})")
            outputs.append(grad if differentiable else grad._data)
        return tuple(outputs)


class FunctionMeta(type):
    """Gives each Function subclass its node class, `<Name>Backward`."""

    def __init__(cls, name, bases, attrs):
        cls._backward_cls = type(name + "Backward", (BackwardCFunction,),
                                 {"_forward_cls": cls, "__module__": cls.__module__})
        super().__init__(name, bases, attrs)


class Function(metaclass=FunctionMeta):
    """Base class of custom differentiable operations: subclass, define `forward` and `backward`
    as staticmethods, call `apply`."""

    def __init__(self, *args, **kwargs):
        warnings.warn(f"{self.__class__} should not be instantiated. Methods on autograd functions are all static, "
                      "so you should invoke them on the class itself. Instantiating an autograd function will "
                      "raise an error in a future version of PyTorch.", DeprecationWarning, stacklevel=2)

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is deprecated. Please use "
                           "new-style autograd function with static forward method. (Example: "
                           "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @staticmethod
    def forward(*args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use it "
                                  "with forward mode AD.")

    @classmethod
    def _backward_function(cls):
        backward_overridden = cls.backward is not Function.backward
        vjp_overridden = cls.vjp is not Function.vjp
        if backward_overridden and vjp_overridden:
            raise RuntimeError("Implementing both 'backward' and 'vjp' for a custom Function is not allowed. You "
                               "should only implement one of them.")
        return cls.vjp if vjp_overridden else cls.backward

    @classmethod
    def apply(cls, *args, **kwargs):
        setup_context = cls.setup_context is not Function.setup_context
        if setup_context or kwargs:
            args, kwargs = _bind(cls.forward, args, kwargs, with_ctx=not setup_context, defaults=setup_context)
        ctx = cls._backward_cls()
        tensor_positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        recording = STATE.enabled and any(ctx.needs_input_grad)
        # Edges before forward: an input that forward modifies in place (mark_dirty) gets this
        # node as its grad_fn, while the node itself must point at the input's history.
        edges = tuple(edge(args[i]) for i in tensor_positions) if recording else ()
        with no_grad():
            if setup_context:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        return _wrap_outputs(ctx, args, tensor_positions, edges, output, recording)


def _bind(forward, args: tuple, kwargs: dict, with_ctx: bool, defaults: bool):
    """Keyword arguments bound to forward's parameters, so that each counts as an input."""
    try:
        signature = inspect.signature(forward)
    except (TypeError, ValueError):
        return args, kwargs
    bound = signature.bind(None, *args, **kwargs) if with_ctx else signature.bind(*args, **kwargs)
    if defaults:
        bound.apply_defaults()
    positional = bound.args[1:] if with_ctx else bound.args
    return tuple(positional), dict(bound.kwargs)


def _wrap_outputs(ctx, args, tensor_positions, edges, output, recording: bool):
    is_tuple = isinstance(output, tuple)
    raw = output if is_tuple else (output,)
    dirty = {id(t) for t in ctx.dirty_tensors}
    non_differentiable = {id(t) for t in ctx.non_differentiable}
    inputs = {id(args[i]) for i in tensor_positions}
    if dirty - {id(o) for o in raw if isinstance(o, Tensor)}:
        raise RuntimeError("Some elements marked as dirty during the forward method were not returned as output. "
                           "The inputs that are modified inplace must all be outputs of the Function.")
    results, meta, infos, output_of = [], [], [], {}
    for nr, value in enumerate(raw):
        if not isinstance(value, Tensor):
            results.append(value)
            meta += [None, None]
            infos.append(None)
            continue
        if id(value) in dirty:
            if recording and value.grad_fn is None and value._requires_grad:
                raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
            value._bump()
            # recorded: the input itself, its history rewritten below; otherwise an alias (torch)
            result = value if recording else view_of(value, value._data)
        elif id(value) in inputs or value.grad_fn is not None or value._requires_grad:
            # an input (or a tensor with a history of its own) returned as is: an alias, so that
            # attaching this node does not rewrite the caller's tensor
            result = view_of(value, value._data)
        else:
            result = value
        if recording and id(value) not in non_differentiable and result._data.dtype.kind == "f":
            result.grad_fn = ctx
            result._requires_grad = True
            result._output_nr = nr
            output_of[id(value)] = result
        elif recording and id(value) in dirty:  # modified in place, and not differentiable
            result.grad_fn = None
            result._requires_grad = False
        results.append(result)
        data = result._data
        meta += [data.shape, data.dtype]
        infos.append((data.shape, data.dtype, array_module(data)))
    ctx.num_outputs = len(raw)
    ctx.output_meta = tuple(meta)
    ctx._outputs = tuple(infos)
    ctx._tensor_positions = frozenset(tensor_positions)
    ctx.next_functions = edges if recording else tuple(NO_EDGE for _ in tensor_positions)
    ctx._stash = tuple(_stash_entry(t, output_of) for t in ctx.to_save)
    ctx.saved_versions = ()  # not None: saved values alive (release_variables sets None)
    for name in ("to_save", "dirty_tensors", "non_differentiable"):
        ctx.__dict__.pop(name, None)
    return tuple(results) if is_tuple else results[0]


def _stash_entry(tensor, output_of: dict):
    """How a saved tensor is kept: an output of this node without the tensor (and so without a
    node -> tensor -> node cycle), anything else as the tensor itself, with its version."""
    if tensor is None:
        return None
    result = output_of.get(id(tensor))
    if result is not None:
        return ("output", SavedOutput(result), current_version(result), result._output_nr)
    return ("tensor", tensor, version(tensor), 0)


class InplaceFunction(Function):
    """torch.autograd.function.InplaceFunction: kept for backward compatibility."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace


# ---- once_differentiable -----------------------------------------------------------------------

ONCE_DIFFERENTIABLE_MESSAGE = "trying to differentiate twice a function that was marked with @once_differentiable"


class DelayedError(Node):
    """The grad_fn of a once_differentiable backward's results: differentiating them raises."""

    __slots__ = ("message", "num_outputs")
    passes_known_zeros = False  # it raises when run, a gradient of zeros or not

    def __init__(self, message: str, num_outputs: int):
        super().__init__()
        self.message = message
        self.num_outputs = num_outputs
        self.next_functions = ()

    def apply(self, grads):
        raise RuntimeError(self.message)

    apply_differentiable = apply


def once_differentiable(fn):
    """Decorate a backward that is not itself differentiable: it runs under no_grad, and a double
    backward through its results raises instead of silently giving wrong gradients."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            outputs = fn(ctx, *args)
        if not STATE.enabled:
            return outputs
        if not any(isinstance(a, Tensor) and a._requires_grad for a in args):
            return outputs
        values = outputs if isinstance(outputs, tuple) else (outputs,)
        node = DelayedError(ONCE_DIFFERENTIABLE_MESSAGE, len(values))
        meta, wrapped = [], []
        for nr, value in enumerate(values):
            if isinstance(value, Tensor):
                value = make_tensor(value._data, True, node)
                value._output_nr = nr
                meta += [value._data.shape, value._data.dtype]
            else:
                meta += [None, None]
            wrapped.append(value)
        node.output_meta = tuple(meta)
        return tuple(wrapped) if isinstance(outputs, tuple) else wrapped[0]

    return wrapper


__all__ = ["Function", "FunctionCtx", "BackwardCFunction", "FunctionMeta", "InplaceFunction", "once_differentiable"]
