"""The Tensor: an array plus the autograd state torch users observe.

Ops are not defined here: they are generated from derivatives.yaml and bound onto Tensor, with
`backward`, by gradspec.api (a layer above). This module holds what every op needs (`make_tensor`,
argument checks) and the non-op behaviour (grad, requires_grad, hooks, printing, conversions).
"""

from __future__ import annotations

import warnings
import weakref

import numpy as np

from . import dtypes, shared_memory
from ._tensor_str import dtype_name, tensor_repr
from .grad_mode import STATE as GRAD_MODE
from .hooks import Hooks, add_hook
from .backends import CPU, MetaArray, array_types, device_of
from .shapes import wrap_dim

SCALARS = (int, float, np.number, np.bool_)
_new = object.__new__
_ndarray = np.ndarray
_generic = np.generic

NON_LEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute "
    "won't be populated during autograd.backward(). If you indeed want the .grad field to be populated "
    "for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor "
    "by mistake, make sure you access the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 "
    "for more information."
)
LEAF_INPLACE_MESSAGE = "a leaf Variable that requires grad is being used in an in-place operation."


class Size(tuple):
    """torch.Size: a tuple that prints as `torch.Size([2, 3])`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    def numel(self) -> int:
        return int(np.prod(self, dtype=np.int64))


class Tensor:
    # _view_meta is set (by view_of) only where _base is: every read of it checks _base first
    __slots__ = ("_data", "_requires_grad", "grad_fn", "_grad", "_vc", "_output_nr", "_base", "_view_meta",
                 "_hooks", "_grad_acc", "_retains_grad", "__weakref__")

    # ---- autograd state ------------------------------------------------------------------

    @property
    def requires_grad(self) -> bool:
        # a view whose base came to require grad since does too (its history is derived on use)
        return self._requires_grad or (self._base is not None and self._base._requires_grad)

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                               "computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to "
                                   "use a computed variable in a subgraph that doesn't require differentiation "
                                   "use var_no_grad = var.detach().")
            return self
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        if self._base is not None:
            refresh_view(self)
        return self.grad_fn is None

    @property
    def grad(self):
        if self.grad_fn is not None and not self._retains_grad and self._grad is None:
            warnings.warn(NON_LEAF_GRAD_WARNING, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(f"attempting to assign a gradient of size '{list(value._data.shape)}' to a tensor "
                                   f"of size '{list(self._data.shape)}'. Please ensure that the gradient and the "
                                   "tensor are the same size")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError("assigned grad has data of a different type")
        self._grad = value

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def retain_grad(self) -> None:
        if self._base is not None:  # a view of a base written since: its history first, as torch's grad_fn
            refresh_view(self)
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self._retains_grad:
            return
        self.grad_fn.hooks().retains[self._output_nr] = weakref.ref(self)
        self._retains_grad = True

    def _set_history(self, grad_fn, output_nr: int) -> None:
        """A new grad_fn after an in-place change. retain_grad moves to the new node (the .grad
        kept is that of the tensor as it is now), as torch's update_tensor_hooks_on_new_gradfn;
        hooks from register_hook stay on the old node, as torch's do."""
        if self._retains_grad and grad_fn is not None and self.grad_fn is not grad_fn:
            self.grad_fn.hooks().retains.pop(self._output_nr, None)
            grad_fn.hooks().retains[output_nr] = weakref.ref(self)
        self.grad_fn, self._output_nr = grad_fn, output_nr

    def register_hook(self, hook):
        """hook(grad) runs when this tensor's gradient is computed; it may return a replacement."""
        if self._base is not None:  # (as retain_grad)
            refresh_view(self)
        if not self.requires_grad:  # (a view whose base came to require grad does)
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            table = self.grad_fn.hooks().tensor_pre.setdefault(self._output_nr, {})
        else:
            table = self._leaf_hooks().tensor_pre.setdefault(0, {})
        return add_hook(table, hook)

    def register_post_accumulate_grad_hook(self, hook):
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        return add_hook(self._leaf_hooks().post_accumulate, hook)

    def _leaf_hooks(self) -> Hooks:
        if self._hooks is None:
            self._hooks = Hooks()
            ref = self._grad_acc
            accumulator = ref() if ref is not None else None
            if accumulator is not None:
                accumulator._hooks = self._hooks
        return self._hooks

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's storage and version counter; not a view for autograd
        (no `_base`, as torch's), so in-place writes to it never rebase this tensor's history."""
        out = make_tensor(self._data)
        out._vc = self._version_counter()
        return out

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self) -> "Tensor":
        out = make_tensor(self._data)
        # torch: .data does not share the version counter (a fresh one is made on first write)
        return out

    @data.setter
    def data(self, value: "Tensor") -> None:
        self._data = value._data

    @property
    def output_nr(self) -> int:
        return self._output_nr

    # ---- metadata ------------------------------------------------------------------------

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        shape = self._data.shape
        return Size(shape) if dim is None else shape[wrap_dim(dim, len(shape), "size")]

    def dim(self) -> int:
        return self._data.ndim

    ndim = property(dim)

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    @property
    def dtype(self) -> dtypes.dtype:
        return dtypes.from_numpy(self._data.dtype)

    @property
    def device(self):
        return device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    # The other device types torch names: scripts test them to pick a code path (dcgan's is_xpu).
    is_cpu = property(lambda self: self.device.type == "cpu")
    is_xpu = property(lambda self: False)
    is_mps = property(lambda self: False)
    is_meta = property(lambda self: False)

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def element_size(self) -> int:
        return self._data.itemsize

    def stride(self, dim: int | None = None):
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[wrap_dim(dim, len(strides), "stride")]

    def _is_view(self) -> bool:
        return self._base is not None

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    # ---- conversions ---------------------------------------------------------------------

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.item()

    def tolist(self):
        return self._host_array().tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                               "instead.")
        if device_of(self._data) != CPU and not force:
            raise TypeError(f"can't convert {device_of(self._data)} device type tensor to numpy. Use "
                            "Tensor.cpu() to copy the tensor to host memory first.")
        return self._host_array()

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        return array if dtype is None else array.astype(dtype, copy=False)

    def _host_array(self) -> np.ndarray:
        data = self._data
        if type(data) is _ndarray:
            return data
        if type(data) is MetaArray:
            raise NotImplementedError("Cannot copy out of meta tensor; no data!")
        return data.get()

    def share_memory_(self) -> "Tensor":
        """Move the data into shared memory (gradspec.shared_memory), where processes it is sent to
        (gradspec.multiprocessing) map the same pages; a no-op where it is shared already and on
        cuda, as torch's. Views made of this tensor before keep the old memory."""
        if type(self._data) is _ndarray and shared_memory.segment_of(self._data) is None:
            if self._base is not None:
                raise RuntimeError("share_memory_ of a view: share the tensor it views instead")
            self._data = shared_memory.shared_copy(self._data)
        return self

    def is_shared(self) -> bool:
        return type(self._data) is not _ndarray or shared_memory.segment_of(self._data) is not None

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        grad_fn = self.grad_fn
        data = self._data if type(self._data) is MetaArray else self._host_array()  # (meta: its shape)
        return tensor_repr(data, requires_grad=self._requires_grad,
                           grad_fn_name=grad_fn.name() if grad_fn is not None else None,
                           device=str(self.device), default_dtype=dtypes.get_default_dtype().numpy)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, protocol):
        raise TypeError("pickling a Tensor is not supported: use gradspec.save/gradspec.load")

    def __deepcopy__(self, memo) -> "Tensor":
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                               "protocol at the moment.  If you were attempting to deepcopy a module, this may be "
                               "because of a torch.nn.utils.weight_norm usage, see "
                               "https://github.com/pytorch/pytorch/pull/103001")
        copied = make_tensor(self._data.copy(), self._requires_grad)
        if self._grad is not None:
            copied._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = copied
        return copied

    # ---- version counter (in-place ops live in runtime/inplace.py) ------------------------

    def _version_counter(self) -> list:
        """The counter, shared with views, created on first need: most tensors never get one."""
        if self._vc is None:
            self._vc = [0]
        return self._vc

    @property
    def _version(self) -> int:
        return 0 if self._vc is None else self._vc[0]

    def _bump(self) -> "Tensor":
        self._version_counter()[0] += 1
        return self


class ViewMeta:
    """What a view remembers of its creation, as torch's view autograd meta.

    creation: "default"; "no_grad" (made with grad mode off); "multi_output" (an output of
    split/chunk/unbind, or a view of one): torch refuses recorded in-place writes to the last
    two. version: the shared version counter's value when the view's history was last derived
    from its base's: an in-place write to the base or any of its views since makes it stale
    (see refresh_view). creator and output_nr name a multi-output op's output in messages
    ("Output 1 of Split")."""

    __slots__ = ("creation", "version", "creator", "output_nr")

    def __init__(self, creation: str, version: int):
        self.creation, self.version, self.creator, self.output_nr = creation, version, None, 0


def view_of(base: Tensor, data) -> Tensor:
    """A tensor over a view of `base`'s array, sharing its version counter (torch's views)."""
    out = make_tensor(data)
    counter = out._vc = base._version_counter()
    if base._base is None:
        out._base, creation = base, "default"
    else:
        out._base, creation = base._base, base._view_meta.creation  # a view of a view inherits
    if creation == "default" and not GRAD_MODE.enabled:
        creation = "no_grad"
    if not GRAD_MODE.enabled:  # torch's no_grad view of a tensor that requires grad: a leaf that does too
        out._requires_grad = out._base._requires_grad
    out._view_meta = ViewMeta(creation, counter[0])
    return out


_view_refresher = [None]


def set_view_refresher(refresher) -> None:
    """Called once by runtime/inplace.py, which derives a stale view's history from its base's."""
    _view_refresher[0] = refresher


def refresh_view(view: Tensor) -> None:
    """A view whose base (or another view of it) was written in place since its history was
    derived gets a fresh one from the base, as torch regenerates a view's grad_fn."""
    if view._view_meta.version != view._vc[0]:
        _view_refresher[0](view)


def make_tensor(data, requires_grad: bool = False, grad_fn=None) -> Tensor:
    """Wrap an array (numpy scalars become 0-d arrays) without copying: the hot constructor."""
    if isinstance(data, _generic):
        data = np.asarray(data)
    t = _new(Tensor)
    t._data = data
    t._requires_grad = requires_grad
    t.grad_fn = grad_fn
    t._grad = None
    t._vc = None
    t._output_nr = 0
    t._base = None
    t._hooks = None
    t._grad_acc = None
    t._retains_grad = False
    return t


def _operand(value):
    return value._data if isinstance(value, Tensor) else value


def array_index(index):
    if isinstance(index, tuple):
        return tuple(_operand(i) for i in index)
    return _operand(index)



def type_description(data) -> str:
    """torch's legacy type string, used in messages: `torch.FloatTensor [3, 4]`."""
    names = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
             "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}
    prefix = "torch.cuda." if device_of(data) != CPU else "torch."
    return f"{prefix}{names[dtype_name(data.dtype)[len('torch.'):]]}Tensor [{', '.join(map(str, data.shape))}]"


def tensor_data(value, op: str, argument: str, position: int):
    """The array behind a Tensor argument, or a Python number passed in its place."""
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, SCALARS):
        return value
    raise TypeError(f"{op}(): argument '{argument}' (position {position}) must be Tensor, "
                    f"not {type(value).__name__}")


def optional_tensor_data(value, op: str, argument: str, position: int):
    return None if value is None else tensor_data(value, op, argument, position)


def tensor_list_data(values, op: str, argument: str) -> list:
    """The arrays of a `Tensor[]` argument."""
    if isinstance(values, Tensor) or not isinstance(values, (list, tuple)):
        raise TypeError(f"{op}(): argument '{argument}' must be tuple of Tensors, not {type(values).__name__}")
    return [tensor_data(v, op, argument, i) for i, v in enumerate(values, 1)]


class IndexArrays(tuple):
    """index_list's arrays, with `sources`: the Tensors they came from (None for the rest), whose
    versions a node that saves the list checks at backward, as torch's SavedVariables are checked
    (the arrays share the tensors' memory: a write since would move the gradient silently)."""

    sources: tuple = ()


def index_list(values, op: str, argument: str) -> tuple:
    """A `Tensor?[]` argument (index tensors, None for a whole dim) as arrays (an IndexArrays):
    accepts Tensors, arrays, and lists of ints or bools."""
    arrays = []
    for value in values:
        if isinstance(value, Tensor):
            value = value._data
        elif value is not None and not isinstance(value, array_types()):
            value = np.asarray(value)
            if value.size == 0:  # `x[[]]`: an empty list indexes nothing, as integers
                value = value.astype(np.int64)
        if value is not None and value.dtype.kind not in "iub":
            raise IndexError(f"{op}(): tensors used as indices must be long, int, byte or bool tensors")
        arrays.append(value)
    found = IndexArrays(arrays)
    found.sources = tuple(value if isinstance(value, Tensor) else None for value in values)
    return found


def data_of(value):
    """A saved input's array, or the wrapped number / None saved in its place."""
    return value._data if isinstance(value, Tensor) else value




def requires_grad(value) -> bool:
    """Whether an op over `value` records: it requires grad, or it is a view whose base came to
    require grad after the view was taken (torch records then, with no path to the base)."""
    if isinstance(value, Tensor):
        return value._requires_grad or (value._base is not None and value._base._requires_grad)
    return False


def any_requires_grad(values) -> bool:
    return any(map(requires_grad, values))


__all__ = ["Tensor", "Size", "make_tensor", "tensor_data", "optional_tensor_data", "data_of", "requires_grad",
           "type_description"]
