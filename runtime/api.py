"""The public API, assembled once: the module above both the core and the generated ops.

What is a function, a Tensor method or an in-place variant is declared in derivatives.yaml
(`variants:`, `inplace:` and the composites section); codegen checks that every name is claimed
once and writes the declarations into gradspec.generated.bindings. `bind` applies them: nothing
else binds ops, so no binding overrides another. Tensor's Python protocol (operators, `T`, `mT`,
indexing) is the one table below, over the same ops. This module also binds `Tensor.backward`
and installs the Tensor ops for the core (gradspec.namespaces), which never imports generated code.

Layers, lowest first (docs/decisions.md; tests/test_layering.py checks them): the ground floor
(dtypes, shapes, hooks, anomaly, ...), the core (tensor, node, engine, kernels, autograd, ...),
gradspec.abi, gradspec.generated, this API layer (this module and composites/), the library (nn,
optim, utils, vision, models, serialization), and gradspec/__init__, which only collects names.
"""

from __future__ import annotations

from types import ModuleType

from . import composites as C
from . import namespaces
from .arguments import numpy_names, torch_function
from .legacy import tensor_new
from .autograd.reverse import tensor_backward
from .generated import bindings
from .generated import functions as F
from .tensor import Tensor

# Tensor's Python protocol: operators and properties, over the ops (+ and * commute: no reflection).
PROTOCOL = dict(
    __add__=F.add, __radd__=F.add, __sub__=F.sub, __rsub__=C.reflected_sub, __mul__=F.mul, __rmul__=F.mul,
    __truediv__=F.div, __rtruediv__=C.reflected_truediv, __pow__=C.power, __rpow__=C.reflected_pow,
    __matmul__=C.matmul, __rmatmul__=C.reflected_matmul, __neg__=F.neg, __abs__=F.abs,
    __eq__=C.equal_operator, __ne__=C.not_equal_operator, __gt__=F.gt, __ge__=F.ge, __lt__=F.lt, __le__=F.le,
    __and__=F.bitwise_and, __or__=F.bitwise_or, __xor__=F.bitwise_xor, __invert__=C.invert,
    __rand__=F.bitwise_and, __ror__=F.bitwise_or, __rxor__=F.bitwise_xor,  # they commute
    __iadd__=C.iadd, __isub__=C.isub, __imul__=C.imul, __itruediv__=C.itruediv,
    __getitem__=C.getitem, __setitem__=C.setitem,
    T=property(C.transpose_all), mT=property(C.transpose_last),
    __new__=staticmethod(tensor_new),  # torch.Tensor(data), torch.Tensor(2, 3): the legacy constructor
)


def bind(declared: ModuleType, ops: ModuleType, composites: ModuleType, namespace: dict) -> list[str]:
    """Bind one generated package's declared API: its ops and composites as functions (into
    `namespace`; their names are returned) and as Tensor methods. A method Tensor already has is
    refused, naming it: one spec cannot replace another's method (or Tensor's own) by accident.
    Each takes the keywords torch's Python binding adds (gradspec.arguments): numpy's names
    (`axis=`, `keepdims=`), and for functions `out=`."""
    for names, source in ((declared.FUNCTIONS, ops), (declared.COMPOSITE_FUNCTIONS, composites)):
        for name in names:
            namespace[name] = torch_function(getattr(source, name))
    for names, source in ((declared.METHODS, ops), (declared.COMPOSITE_METHODS, composites)):
        for name in names:
            if name in Tensor.__dict__:
                raise ImportError(f"{source.__name__}.{name} is declared a Tensor method, but Tensor.{name} is "
                                  f"already bound (by {getattr(Tensor.__dict__[name], '__module__', 'Tensor')})")
            setattr(Tensor, name, numpy_names(getattr(source, name)))
    return [*declared.FUNCTIONS, *declared.COMPOSITE_FUNCTIONS]


for _name, _value in PROTOCOL.items():
    setattr(Tensor, _name, _value)
Tensor.backward = tensor_backward
__all__ = bind(bindings, F, C, globals())  # gradspec/__init__ collects these and the rest of torch's namespace
namespaces.install(F)
