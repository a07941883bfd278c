"""Run a program under one library and record what a user could observe of it."""

from __future__ import annotations

import builtins
import warnings
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Failure:
    line: int  # index of the statement that raised
    kind: str  # the builtin exception class it is (torch's own classes map to their builtin base)
    message: str


@dataclass
class Outcome:
    failure: Failure | None
    # name -> observation, in assignment order, taken after the last statement that ran
    values: dict = field(default_factory=dict)
    # name -> the memory its tensors live in (names that share one alias each other's elements)
    storages: dict = field(default_factory=dict)


def builtin_kind(error: BaseException) -> str:
    """torch raises its own subclasses (torch.OutOfMemoryError, ...): compare their builtin base."""
    for cls in type(error).__mro__:
        if cls.__module__ == "builtins":
            return cls.__name__
    return type(error).__name__


def namespace(module) -> dict:
    return {"torch": module, "F": module.nn.functional}


def run(program, module) -> Outcome:
    """Execute the statements in order, stopping at the first that raises."""
    scope = namespace(module)
    failure = None
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for index, line in enumerate(program.lines):
            try:
                exec(compile(line, f"<statement {index}>", "exec"), scope)  # noqa: S102 - the program under test
            except Exception as error:  # noqa: BLE001 - any error is an observation
                failure = Failure(index, builtin_kind(error), str(error))
                break
        values = {name: observe(value, module) for name, value in scope.items()
                  if name not in ("torch", "F") and not name.startswith("__")}
        storages = {name: storages_of(value, module) for name, value in scope.items()}
    return Outcome(failure, values, {name: where for name, where in storages.items() if where})


def storages_of(value, module) -> frozenset:
    """The memory a tensor, or the tensors of a tuple or list (autograd.grad's result), live in."""
    if isinstance(value, module.Tensor):
        return frozenset((storage(value, module),))
    if isinstance(value, (tuple, list)):
        return frozenset(storage(t, module) for t in value if isinstance(t, module.Tensor))
    return frozenset()


def storage(tensor, module):
    """Where a tensor's elements live: torch's storage, or the array gradspec's view chain ends in."""
    if hasattr(tensor, "untyped_storage"):
        # a ZeroTensor (a gradient torch knows is zero) has no memory: it aliases nothing
        return ("zero", id(tensor)) if tensor._is_zerotensor() else tensor.untyped_storage().data_ptr()
    array = tensor._data
    while getattr(array, "base", None) is not None:
        array = array.base
    return id(array)


@dataclass(frozen=True)
class TensorView:
    """What is compared of a tensor."""
    dtype: str
    shape: tuple
    values: np.ndarray
    requires_grad: bool
    is_leaf: bool
    grad: object  # TensorView or None


def observe(value, module):
    if isinstance(value, module.Tensor):
        grad = _attempt(lambda: value.grad)
        # force: torch's ZeroTensors (gradients it knows are zero) refuse a plain numpy()
        return TensorView(str(value.dtype), tuple(value.shape), value.detach().cpu().numpy(force=True).copy(),
                          _attempt(lambda: bool(value.requires_grad)), _attempt(lambda: bool(value.is_leaf)),
                          grad if grad is None or isinstance(grad, Raises) else observe(grad, module))
    if isinstance(value, (tuple, list)):  # torch.Size and named tuples included
        return tuple(observe(v, module) for v in value)
    if value is None or isinstance(value, (builtins.bool, int, float, str)):
        return value
    if isinstance(value, module.dtype):
        return str(value)
    return NotObserved(type(value).__name__)


@dataclass(frozen=True)
class Raises:
    """Reading an attribute raised (torch refuses to say whether some views are leaves)."""
    kind: str


def _attempt(read):
    try:
        return read()
    except Exception as error:  # noqa: BLE001 - the refusal is what is observed
        return Raises(builtin_kind(error))


@dataclass(frozen=True)
class NotObserved:
    """A value compared by nothing but its existence (hook handles, functions)."""
    type_name: str

    def __eq__(self, other) -> bool:
        return isinstance(other, NotObserved)

    def __hash__(self) -> int:
        return 0
