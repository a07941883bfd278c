"""torch.utils.checkpoint: trade compute for memory by recomputing a region's forward in backward.

    from gradspec.utils.checkpoint import checkpoint
    h = checkpoint(block, x, use_reentrant=False)

The graph keeps only the region's inputs (and whatever the function itself holds, such as its
parameters); the values the region's nodes saved for backward are dropped after the forward
and recomputed, by running the function again, when backward first reaches the region.

Two variants, as in torch:

- `use_reentrant=False` (recommended). The forward records the region's graph as usual while
  collecting the nodes it creates (a node-creation listener, see gradspec.node); then every
  value those nodes saved is dropped. The first region node that backward reaches runs a
  pre-hook that re-runs the function (grad enabled, same RNG state) and moves the recomputed
  nodes' saved values into the original nodes, which then run as if nothing happened. So
  autograd.grad, backward(inputs=...), parameters captured by the function, keyword arguments,
  nested checkpoints and double backward (create_graph=True) all work. The recomputation
  must create the same nodes and save tensors of the same shapes and dtypes (checked unless
  `determinism_check="none"`; CheckpointError otherwise).
- `use_reentrant=True`: a custom Function that runs the function under no_grad in forward,
  and in backward recomputes it on detached inputs and runs a nested backward. Gradients reach
  the function's inputs and, through that nested backward, the leaves it uses (parameters);
  it refuses autograd.grad and backward(inputs=...) with torch's message.

The non-reentrant variant's node collection is process-wide: a graph built by another thread
while a checkpointed function runs (forward or recomputation) would be collected too, and the
recomputation would then refuse to match. As in torch 2.13, leaving out `use_reentrant` warns
and uses the reentrant variant.
`preserve_rng_state` (default True) restores the CPU generator's state for the recomputation,
so random ops (dropout) draw the same numbers. `debug=True` is not supported; `early_stop`
is accepted and ignored (the whole function is always recomputed).
"""

from __future__ import annotations

import warnings
import weakref
from contextlib import nullcontext

from .. import random as _random
from ..grad_mode import enable_grad, no_grad
from ..anomaly import version_hint
from ..node import current_version, set_creation_listener
from ..tensor import Tensor, type_description
from ..autograd.function import BackwardCFunction, Function

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "detach_variable", "check_backward_validity",
           "noop_context_fn"]

USE_REENTRANT_WARNING = (
    "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting in PyTorch 2.9, "
    "calling checkpoint without use_reentrant will raise an exception. use_reentrant=False is recommended, but if "
    "you need to preserve the current default behavior, you can pass use_reentrant=True. Refer to docs for more "
    "details on the differences between the two variants."
)


class CheckpointError(RuntimeError):
    """torch.utils.checkpoint.CheckpointError: the recomputation did not match the forward."""


def noop_context_fn():
    return nullcontext(), nullcontext()


def detach_variable(inputs):
    if not isinstance(inputs, tuple):
        raise RuntimeError(f"Only tuple of tensors is supported. Got Unsupported input type: {type(inputs).__name__}")
    out = []
    for inp in inputs:
        if not isinstance(inp, Tensor):
            out.append(inp)
            continue
        x = inp.detach()
        x.requires_grad = inp.requires_grad
        out.append(x)
    return tuple(out)


def check_backward_validity(inputs) -> None:
    if not any(inp.requires_grad for inp in inputs if isinstance(inp, Tensor)):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)


def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn, determinism_check="default",
               debug=False, early_stop=True, **kwargs):
    """function(*args, **kwargs), keeping only the inputs for backward and recomputing the rest."""
    if use_reentrant is None:
        warnings.warn(USE_REENTRANT_WARNING, stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        return CheckpointFunction.apply(function, preserve, *args)
    if debug:
        raise NotImplementedError("checkpoint(debug=True) is not supported by gradspec")
    if determinism_check not in ("default", "none"):
        raise ValueError(f"determinism_check should be one of ['default', 'none'], but got {determinism_check}")
    return _checkpoint_without_reentrant(function, preserve, context_fn, determinism_check, args, kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):  # noqa: A002
    """Run `functions` (a list or an nn.Sequential) in `segments` checkpointed chunks; the last
    chunk runs normally, as in torch."""
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed "
                      "explicitly. In version 2.9 we will raise an exception if use_reentrant is not passed. "
                      "use_reentrant=False is recommended, but if you need to preserve the current default behavior, "
                      "you can pass use_reentrant=True. Refer to docs for more details on the differences between the "
                      "two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))

    def run_function(start, end, functions):
        def forward(value):
            for j in range(start, end + 1):
                value = functions[j](value)
            return value

        return forward

    if hasattr(functions, "children") and not isinstance(functions, (list, tuple)):
        functions = list(functions.children())
    segment_size = len(functions) // segments
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(run_function(start, end, functions), input, use_reentrant=use_reentrant,  # noqa: A001
                           preserve_rng_state=preserve)
    return run_function(end + 1, len(functions) - 1, functions)(input)


# ---- use_reentrant=True: a custom Function -----------------------------------------------------

class CheckpointFunction(Function):
    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        check_backward_validity(args)
        ctx.run_function = run_function
        ctx.preserve_rng_state = preserve_rng_state
        if preserve_rng_state:
            ctx.fwd_cpu_state = _random.default_generator.get_state()
        ctx.inputs = []
        ctx.tensor_indices = []
        tensor_inputs = []
        for i, arg in enumerate(args):
            if isinstance(arg, Tensor):
                tensor_inputs.append(arg)
                ctx.tensor_indices.append(i)
                ctx.inputs.append(None)
            else:
                ctx.inputs.append(arg)
        ctx.save_for_backward(*tensor_inputs)
        with no_grad():
            outputs = run_function(*args)
        return outputs

    @staticmethod
    def backward(ctx, *args):
        from .. import autograd

        if not autograd._is_checkpoint_valid():
            raise RuntimeError("When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() or "
                               "passing an `inputs` parameter to .backward(). To resolve this error, you can either "
                               "set use_reentrant=False, or call .backward() without passing the `inputs` argument.")
        inputs = list(ctx.inputs)
        for i, idx in enumerate(ctx.tensor_indices):
            inputs[idx] = ctx.saved_tensors[i]
        with _rng_state(ctx.fwd_cpu_state if ctx.preserve_rng_state else None):
            detached_inputs = detach_variable(tuple(inputs))
            with enable_grad():
                outputs = ctx.run_function(*detached_inputs)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        outputs_with_grad, args_with_grad = [], []
        for i in range(len(outputs)):
            if isinstance(outputs[i], Tensor) and outputs[i].requires_grad:
                outputs_with_grad.append(outputs[i])
                args_with_grad.append(args[i])
        if not outputs_with_grad:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        autograd.backward(outputs_with_grad, args_with_grad)
        grads = tuple(inp._grad if isinstance(inp, Tensor) else None for inp in detached_inputs)
        return (None, None) + grads


class _rng_state:
    """Run with the CPU generator in `state` (None: leave it), restoring the caller's after."""

    def __init__(self, state):
        self.state = state

    def __enter__(self):
        if self.state is not None:
            self.saved = _random.default_generator.get_state()
            _random.default_generator.set_state(self.state)

    def __exit__(self, *exc):
        if self.state is not None:
            _random.default_generator.set_state(self.saved)


# ---- use_reentrant=False: drop the region's saved values, recompute them on first use ----------

_REGIONS: list = []  # the regions being recorded, innermost last


def _record_node(node) -> None:
    """Creation listener: a node belongs to the innermost region being recorded."""
    _REGIONS[-1].append(node)


class _recording:
    """Collect the nodes created inside the `with` block (not those of nested regions)."""

    def __enter__(self) -> list:
        self.nodes = []
        if not _REGIONS:
            set_creation_listener(_record_node, True)
        _REGIONS.append(self.nodes)
        return self.nodes

    def __exit__(self, *exc) -> None:
        _REGIONS.pop()
        if not _REGIONS:
            set_creation_listener(_record_node, False)


def _checkpoint_without_reentrant(function, preserve, context_fn, determinism_check, args, kwargs):
    rng_state = _random.default_generator.get_state() if preserve else None
    forward_context, recompute_context = context_fn()
    inputs = [a for a in list(args) + list(kwargs.values()) if isinstance(a, Tensor)]
    input_versions = [(t, current_version(t)) for t in inputs]
    with _recording() as nodes, forward_context:
        output = function(*args, **kwargs)
    if nodes:
        _Region(function, args, kwargs, rng_state, recompute_context, determinism_check, input_versions, nodes)
    return output


def _is_custom(node) -> bool:
    return isinstance(node, BackwardCFunction)


def _saved_state(node) -> dict:
    """The attributes that hold what `node` saved for its backward (tensors and values)."""
    if _is_custom(node):
        state = {k: v for k, v in node.__dict__.items() if k != "_metadata"}
    else:
        state = {name: getattr(node, name, None) for name in node.saved_slots + node.value_slots}
    state["saved_versions"] = node.saved_versions
    return state


def _saved_tensor_metadata(node) -> list:
    """(shape, dtype, device) of every tensor `node` saved, in order: what the determinism check compares."""
    if _is_custom(node):
        values = [entry[1] for entry in node.__dict__.get("_stash") or () if entry is not None]
    else:
        values = [getattr(node, name, None) for name in node.saved_slots]
    metadata = []
    for value in values:
        data = getattr(value, "_data", None)
        if data is not None and hasattr(data, "shape"):
            metadata.append({"shape": tuple(data.shape), "dtype": type_description(data).split(" [")[0]})
    return metadata


def _drop_saved(node) -> None:
    if _is_custom(node):
        stash = node.__dict__.get("_stash")
        if stash:
            node._stash = tuple(None for _ in stash)
    else:
        for name in node.saved_slots:
            setattr(node, name, None)


def _has_saved(node) -> bool:
    if _is_custom(node):
        return True  # its ctx may hold anything the forward stored on it
    return bool(node.saved_slots)


class _Region:
    """One checkpointed call: its inputs, how to recompute it, and weak references to its nodes,
    which hold this object through their pre-hooks until the recomputation has run."""

    def __init__(self, function, args, kwargs, rng_state, recompute_context, determinism_check, input_versions,
                 nodes):
        self.function = function
        self.args = args
        self.kwargs = kwargs
        self.rng_state = rng_state
        self.recompute_context = recompute_context
        self.determinism_check = determinism_check
        self.input_versions = input_versions
        self.count = len(nodes)
        self.types = [type(n) for n in nodes]
        self.metadata = [_saved_tensor_metadata(n) for n in nodes]
        self.nodes = [weakref.ref(n) for n in nodes]
        self.handles = []
        self.done = False
        for node in nodes:
            if _has_saved(node):
                _drop_saved(node)
                self.handles.append(node.register_prehook(self._recompute_hook))

    def _recompute_hook(self, grad_outputs):
        if not self.done:
            self.recompute()
        return None

    def recompute(self) -> None:
        self.done = True
        for handle in self.handles:
            handle.remove()
        self.handles = []
        for tensor, expected in self.input_versions:
            if current_version(tensor) != expected:
                what = f"[{type_description(tensor._data)}]"
                raise RuntimeError("one of the variables needed for gradient computation has been modified by an "
                                   f"inplace operation: {what} is at version {current_version(tensor)}; expected "
                                   f"version {expected} instead. " + version_hint())
        with _rng_state(self.rng_state), enable_grad(), _recording() as fresh, self.recompute_context:
            self.function(*self.args, **self.kwargs)
        self._check(fresh)
        for ref, new in zip(self.nodes, fresh):
            old = ref()
            if old is None or not _has_saved(new):
                continue
            for name, value in _saved_state(new).items():
                setattr(old, name, value)
        self.args = self.kwargs = self.function = None  # the region's inputs are no longer needed

    def _check(self, fresh: list) -> None:
        saved_before = sum(len(m) for m in self.metadata)
        fresh_metadata = [_saved_tensor_metadata(n) for n in fresh]
        saved_now = sum(len(m) for m in fresh_metadata)
        if len(fresh) != self.count or [type(n) for n in fresh] != self.types or (
                self.determinism_check != "none" and saved_now != saved_before):
            raise CheckpointError("torch.utils.checkpoint: A different number of tensors was saved during the "
                                  "original forward and recomputation.\n"
                                  f"Number of tensors saved during forward: {saved_before}\n"
                                  f"Number of tensors saved during recomputation: {saved_now}.\n")
        if self.determinism_check == "none":
            return
        mismatched, position = [], 0
        for before, now in zip(self.metadata, fresh_metadata):
            for a, b in zip(before, now):
                if a != b:
                    mismatched.append(f"tensor at position {position}:\nsaved metadata: {a}\n"
                                      f"recomputed metadata: {b}\n")
                position += 1
        if mismatched:
            raise CheckpointError("torch.utils.checkpoint: Recomputed values for the following tensors have "
                                  f"different metadata than during the forward pass.\n{''.join(mismatched)}.\n")
