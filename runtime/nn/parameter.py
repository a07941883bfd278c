"""torch.nn.Parameter: a leaf Tensor that a Module registers as one of its parameters."""

from __future__ import annotations

from ..tensor import Tensor, make_tensor


def _fill_fields(out: Tensor, data: Tensor) -> Tensor:
    """Initialise a freshly allocated tensor (of any Tensor subclass) as a leaf aliasing `data`."""
    out._data = data._data
    out._requires_grad = False
    out.grad_fn = None
    out._grad = None
    out._vc = data._version_counter()  # shares storage, so shares the version counter
    out._output_nr = 0
    out._base = None
    out._hooks = None
    out._grad_acc = None
    out._retains_grad = False
    return out


class Parameter(Tensor):
    """A Tensor that is a module parameter: assigning one to a Module attribute registers it.

    `Parameter(data, requires_grad=True)` shares `data`'s storage (as torch does) and is always a
    leaf. It prints as torch prints it: `Parameter containing:` followed by the tensor.
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from ..factories import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): expected a Tensor as data, got {type(data).__name__}")
        out = _fill_fields(object.__new__(cls), data)
        if requires_grad:
            out.requires_grad_(True)
        return out

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(make_tensor(self._data.copy()), self._requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol):
        raise TypeError("pickling a Parameter is not supported: use gradspec.save/gradspec.load")


class Buffer:
    """torch.nn.Buffer: marks a tensor to be registered as a buffer when assigned to a Module.

    Unlike torch's (a Tensor subclass) this is a thin marker: assigning `Buffer(t)` registers
    `t` itself.
    """

    def __init__(self, data: Tensor, *, persistent: bool = True):
        if not isinstance(data, Tensor):
            raise TypeError(f"Buffer(): expected a Tensor, got {type(data).__name__}")
        self.data = data
        self.persistent = persistent


__all__ = ["Parameter", "Buffer"]
