"""PyTorch-style ``repr`` for numpy arrays.

A port of ``torch/_tensor_str.py`` (PyTorch 2.x) restricted to dense, strided
tensors: the same ``_Formatter`` / ``_tensor_str`` / ``_str_intern`` structure,
the same print options, and byte-for-byte the same output as
``repr(torch.from_numpy(a))`` for bool, integer, floating and complex arrays.
Torch-only concepts (sparse/quantized/nested layouts, meta tensors, functorch
wrappers, forward-mode tangents, neg/conj bits) have no numpy counterpart and
are left out.

Where torch formats a 0-d tensor with ``f"{value:...}"`` it goes through
``Tensor.__format__``, i.e. ``value.item()``: a Python float holding the exact
value of the element in its own dtype. Using ``ndarray.item()`` / ``tolist()``
here reproduces that, which is why float32 ``0.1`` prints as ``0.1000`` and
not as its shortest-decimal double.
"""

import dataclasses
import math

import numpy

__all__ = ["tensor_repr", "set_printoptions", "get_printoptions", "dtype_name"]


@dataclasses.dataclass
class _PrinterOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


_PRINT_OPTS = _PrinterOptions()


def set_printoptions(
    precision=None,
    threshold=None,
    edgeitems=None,
    linewidth=None,
    profile=None,
    sci_mode=None,
):
    """Set printing options; same arguments and semantics as ``torch.set_printoptions``.

    profile: "default", "short" or "full" resets precision/threshold/edgeitems/
    linewidth before the explicit arguments are applied. As in torch,
    ``sci_mode`` is always assigned, so omitting it restores automatic choice.
    """
    if profile is not None:
        if profile == "default":
            _PRINT_OPTS.precision = 4
            _PRINT_OPTS.threshold = 1000
            _PRINT_OPTS.edgeitems = 3
            _PRINT_OPTS.linewidth = 80
        elif profile == "short":
            _PRINT_OPTS.precision = 2
            _PRINT_OPTS.threshold = 1000
            _PRINT_OPTS.edgeitems = 2
            _PRINT_OPTS.linewidth = 80
        elif profile == "full":
            _PRINT_OPTS.precision = 4
            _PRINT_OPTS.threshold = math.inf
            _PRINT_OPTS.edgeitems = 3
            _PRINT_OPTS.linewidth = 80

    if precision is not None:
        _PRINT_OPTS.precision = precision
    if threshold is not None:
        _PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        _PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        _PRINT_OPTS.linewidth = linewidth
    _PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict:
    """Current options as a dict that can be passed back to ``set_printoptions(**d)``."""
    return dataclasses.asdict(_PRINT_OPTS)


_TORCH_DTYPE_NAMES = {
    numpy.dtype(numpy.bool_): "torch.bool",
    numpy.dtype(numpy.uint8): "torch.uint8",
    numpy.dtype(numpy.uint16): "torch.uint16",
    numpy.dtype(numpy.uint32): "torch.uint32",
    numpy.dtype(numpy.uint64): "torch.uint64",
    numpy.dtype(numpy.int8): "torch.int8",
    numpy.dtype(numpy.int16): "torch.int16",
    numpy.dtype(numpy.int32): "torch.int32",
    numpy.dtype(numpy.int64): "torch.int64",
    numpy.dtype(numpy.float16): "torch.float16",
    numpy.dtype(numpy.float32): "torch.float32",
    numpy.dtype(numpy.float64): "torch.float64",
    numpy.dtype(numpy.complex64): "torch.complex64",
    numpy.dtype(numpy.complex128): "torch.complex128",
}


def dtype_name(dtype) -> str:
    """Name of the torch dtype matching a numpy dtype, e.g. float32 -> "torch.float32"."""
    try:
        return _TORCH_DTYPE_NAMES[numpy.dtype(dtype)]
    except KeyError:
        raise TypeError(f"no torch dtype corresponds to numpy dtype {numpy.dtype(dtype)}") from None


class _Formatter:
    """Decides one common width and notation for every element of an array.

    ``array`` is the (possibly summarized) data the decision is based on; it is
    real-valued (complex arrays get one formatter for each of .real and .imag).
    """

    def __init__(self, array):
        self.floating_dtype = numpy.issubdtype(array.dtype, numpy.floating)
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1

        flat = array.reshape(-1)

        if not self.floating_dtype:
            for value in flat.tolist():
                self.max_width = max(self.max_width, len(f"{value}"))
            return

        nonzero_finite_vals = flat[numpy.isfinite(flat) & (flat != 0)]
        if nonzero_finite_vals.size == 0:
            # No informative value: keep int mode and width 1.
            return

        # The range test runs in float64, as torch converts to double here
        # (float16 would overflow on 1e8).
        nonzero_finite_abs = numpy.abs(nonzero_finite_vals).astype(numpy.float64)
        nonzero_finite_min = nonzero_finite_abs.min()
        nonzero_finite_max = nonzero_finite_abs.max()

        # Integrality is checked in the array's own dtype, like torch.ceil.
        self.int_mode = bool(numpy.all(nonzero_finite_vals == numpy.ceil(nonzero_finite_vals)))

        if _PRINT_OPTS.sci_mode is None:
            self.sci_mode = bool(
                nonzero_finite_max / nonzero_finite_min > 1000.0
                or nonzero_finite_max > 1.0e8
                or nonzero_finite_min < 1.0e-4
            )
        else:
            self.sci_mode = _PRINT_OPTS.sci_mode

        precision = _PRINT_OPTS.precision
        for value in nonzero_finite_vals.tolist():
            if self.sci_mode:
                value_width = len(f"{value:.{precision}e}")
            elif self.int_mode:
                # Integral floats print with a trailing "." to mark them as floats.
                value_width = len(f"{value:.0f}") + 1
            else:
                value_width = len(f"{value:.{precision}f}")
            self.max_width = max(self.max_width, value_width)

    def width(self):
        return self.max_width

    def format(self, value):
        if self.floating_dtype:
            if self.sci_mode:
                ret = f"{value:{self.max_width}.{_PRINT_OPTS.precision}e}"
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{value:.{_PRINT_OPTS.precision}f}"
        else:
            ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


def _complex_str(real_str, imag_str):
    # imag_str carries its own sign for negative numbers (and -0.0); otherwise add "+".
    imag_str = (imag_str + "j").lstrip()
    if imag_str[0] in "+-":
        return real_str + imag_str
    return real_str + "+" + imag_str


def _scalar_str(array, formatter1, formatter2=None):
    value = array.item()
    if formatter2 is not None:
        return _complex_str(formatter1.format(value.real), formatter2.format(value.imag))
    return formatter1.format(value)


def _vector_str(array, indent, summarize, formatter1, formatter2=None):
    # Each element takes its width plus ", " between elements.
    element_length = formatter1.width() + 2
    if formatter2 is not None:
        # The imaginary part and its "j".
        element_length += formatter2.width() + 1

    elements_per_line = max(1, math.floor((_PRINT_OPTS.linewidth - indent) / element_length))

    def _val_formatter(val):
        if formatter2 is not None:
            return _complex_str(formatter1.format(val.real), formatter2.format(val.imag))
        return formatter1.format(val)

    edgeitems = _PRINT_OPTS.edgeitems
    if summarize and not edgeitems:
        data = ["..."]
    elif summarize and array.shape[0] > 2 * edgeitems:
        data = (
            [_val_formatter(val) for val in array[:edgeitems].tolist()]
            + [" ..."]
            + [_val_formatter(val) for val in array[-edgeitems:].tolist()]
        )
    else:
        data = [_val_formatter(val) for val in array.tolist()]

    data_lines = [data[i : i + elements_per_line] for i in range(0, len(data), elements_per_line)]
    lines = [", ".join(line) for line in data_lines]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(array, indent, summarize, formatter1, formatter2=None):
    dim = array.ndim

    if dim == 0:
        return _scalar_str(array, formatter1, formatter2)

    if dim == 1:
        return _vector_str(array, indent, summarize, formatter1, formatter2)

    edgeitems = _PRINT_OPTS.edgeitems
    if summarize and array.shape[0] > 2 * edgeitems:
        rows = list(range(edgeitems)) + [None] + list(range(len(array) - edgeitems, len(array)))
    else:
        rows = list(range(array.shape[0]))
    slices = [
        "..." if i is None else _tensor_str_with_formatter(array[i], indent + 1, summarize, formatter1, formatter2)
        for i in rows
    ]

    # Sub-blocks of an n-d array are separated by n-2 blank lines.
    tensor_str = ("," + "\n" * (dim - 1) + " " * (indent + 1)).join(slices)
    return "[" + tensor_str + "]"


def _get_summarized_data(array):
    """The elements a summarized print will show, for the formatter to size."""
    dim = array.ndim
    edgeitems = _PRINT_OPTS.edgeitems
    if dim == 0:
        return array
    if dim == 1:
        if array.shape[0] > 2 * edgeitems:
            # With edgeitems == 0, array[-0:] is the whole array: torch has the
            # same quirk, so the formatter then sizes for every element.
            return numpy.concatenate((array[:edgeitems], array[-edgeitems:]))
        return array
    if not edgeitems:
        return numpy.empty((0,) * dim, dtype=array.dtype)
    if array.shape[0] > 2 * edgeitems:
        rows = list(range(edgeitems)) + list(range(len(array) - edgeitems, len(array)))
    else:
        rows = range(array.shape[0])
    return numpy.stack([_get_summarized_data(array[i]) for i in rows])


def _tensor_str(array, indent):
    if array.size == 0:
        return "[]"

    summarize = array.size > _PRINT_OPTS.threshold
    sized = _get_summarized_data(array) if summarize else array

    if numpy.iscomplexobj(array):
        real_formatter = _Formatter(sized.real)
        imag_formatter = _Formatter(sized.imag)
        return _tensor_str_with_formatter(array, indent, summarize, real_formatter, imag_formatter)
    return _tensor_str_with_formatter(array, indent, summarize, _Formatter(sized))


def _add_suffixes(tensor_str, suffixes, indent):
    tensor_strs = [tensor_str]
    # Torch's own arithmetic, which counts the last line 2 characters longer than
    # it is; kept as is because it decides where the suffixes wrap.
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        suffix_len = len(suffix)
        if last_line_len + suffix_len + 2 > _PRINT_OPTS.linewidth:
            tensor_strs.append(",\n" + " " * indent + suffix)
            last_line_len = indent + suffix_len
        else:
            tensor_strs.append(", " + suffix)
            last_line_len += suffix_len + 2
    tensor_strs.append(")")
    return "".join(tensor_strs)


def _str_intern(array, requires_grad, grad_fn_name, device, default_dtype):
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []

    if device == "meta":  # no data: its shape, and any dtype but the default float one
        suffixes = [f"device='{device}'", "size=" + str(tuple(array.shape))]
        if array.dtype != default_dtype:
            suffixes.append("dtype=" + dtype_name(array.dtype))
        return _add_suffixes(prefix + "...", suffixes + _autograd_suffixes(requires_grad, grad_fn_name), indent)
    if device != "cpu":
        # A torch tensor's device always carries an index ("cuda" -> "cuda:0").
        suffixes.append(f"device='{device if ':' in device else device + ':0'}'")

    default_complex_dtype = numpy.dtype(
        numpy.complex128 if default_dtype == numpy.float64 else numpy.complex64
    )
    has_default_dtype = array.dtype in (
        default_dtype,
        default_complex_dtype,
        numpy.dtype(numpy.int64),
        numpy.dtype(numpy.bool_),
    )

    if array.size == 0:
        # Match numpy: the shape is printed unless it is (0,).
        if array.ndim != 1:
            suffixes.append("size=" + str(tuple(array.shape)))
        # With no elements the dtype can not be inferred from the contents, so
        # even int64/bool are spelled out.
        if array.dtype != default_dtype:
            suffixes.append("dtype=" + dtype_name(array.dtype))
        tensor_str = "[]"
    else:
        if not _PRINT_OPTS.edgeitems:
            suffixes.append("size=" + str(tuple(array.shape)))
        if not has_default_dtype:
            suffixes.append("dtype=" + dtype_name(array.dtype))
        tensor_str = _tensor_str(array, indent)

    return _add_suffixes(prefix + tensor_str, suffixes + _autograd_suffixes(requires_grad, grad_fn_name), indent)


def _autograd_suffixes(requires_grad, grad_fn_name) -> list:
    if grad_fn_name is not None:
        return [f"grad_fn=<{grad_fn_name}>"]
    return ["requires_grad=True"] if requires_grad else []


def tensor_repr(data, *, requires_grad=False, grad_fn_name=None, device="cpu", default_dtype=numpy.float32) -> str:
    """``repr`` of a torch tensor holding ``data``.

    requires_grad / grad_fn_name: autograd state to show (a grad_fn supersedes
    requires_grad=True, as in torch). device: printed unless "cpu".
    default_dtype: the float dtype torch.get_default_dtype() would return; it
    and int64/bool (and the matching complex dtype) are the dtypes left unnamed.
    """
    return _str_intern(
        numpy.asarray(data),
        requires_grad=requires_grad,
        grad_fn_name=grad_fn_name,
        device=device,
        default_dtype=numpy.dtype(default_dtype),
    )
