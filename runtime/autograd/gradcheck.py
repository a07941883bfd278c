"""gradcheck / gradgradcheck: analytical Jacobians against central differences, as torch's.

gradcheck(func, inputs) checks, for every output that requires grad and every input that
requires grad, the Jacobian from backward (one backward pass per output element) against
finite differences (func evaluated at x +- eps, one input element at a time). As in torch it
also checks that:

- backward is reentrant: a second computation of the analytical Jacobian gives the same values
  (within `nondet_tol`), "Backward is not reentrant ...";
- the gradients have the inputs' sizes ("Analytical gradient has incorrect size") and, with
  `check_grad_dtypes`, dtypes ("Gradient has dtype mismatch");
- zero output gradients give zero input gradients ("backward not multiplied by grad_output");
- with `check_undefined_grad` (default), undefined (None) output gradients, all at once and one
  at a time, are handled and give undefined or zero input gradients;
- a function with no differentiable output has a zero numerical gradient.

Indices in messages follow torch: "output i" counts the outputs that require grad, "input j"
the inputs that require grad. The mismatch message is torch's ("Jacobian mismatch for output 0
with respect to input 0,\\nnumerical:...\\nanalytical:...\\n", Jacobians with one row per input
element and one column per output element) followed by the worst element, named by its input
and output element indices.

`fast_mode=True` compares v^T J u for random vectors u, v (drawn as torch draws them) instead of
whole Jacobians, and on a mismatch recomputes the Jacobians in slow mode for the message.
One difference from torch, kept from gradspec's first checker: NaN in the same place of both
Jacobians counts as agreement, and NaN is not "nonzero" in the zero-gradient checks (the
spec's generated tests check ops at points where the true derivative is NaN, such as var of a
single element); torch's allclose and eq(0) would fail there.

Forward-mode and batched (vmap) checks need features gradspec does not have: asking for them
raises NotImplementedError. Inputs should be float64: float32 differences are too noisy.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..backends import array_module
from ..node import Node, edge
from ..random import Generator, uniform
from ..tensor import Tensor, make_tensor
from .reverse import grad


class GradcheckError(RuntimeError):
    """torch.autograd.gradcheck.GradcheckError"""


FAILED_NONDET_MSG = """

NOTE: If your op relies on non-deterministic operations i.e., it is listed here:
https://pytorch.org/docs/stable/generated/torch.use_deterministic_algorithms.html
this failure might be expected.

If you are adding a new operator, please file an issue and then use one of the
workarounds. The workaround depends on how your test invokes gradcheck/gradgradcheck.
If the test
- manually invokes gradcheck/gradgradcheck, then call gradcheck/gradgradcheck
  with `nondet_tol=<tol>` as a keyword argument.
- is OpInfo-based (e.g., in test_ops_gradients.py), then modify the OpInfo for the test
  to have `gradcheck_nondet_tol=<tol>`.
- is a Module test (e.g., in common_nn.py), then modify the corresponding
  module_test entry to have `gradcheck_nondet_tol=<tol>`
"""

FAST_FAIL_SLOW_OK_MSG = """
Fast gradcheck failed but element-wise differences are small. This means that the
test might've passed in slow_mode!

If you are adding a new operator, please file an issue and then use one of the
workarounds. The workaround depends on how your test invokes gradcheck/gradgradcheck:

If the test
- manually invokes gradcheck/gradgradcheck, then call gradcheck/gradgradcheck
  with `fast_mode=False` as a keyword argument.
- is OpInfo-based (e.g., in test_ops_gradients.py), then modify the OpInfo for the test
  to have `gradcheck_fast_mode=False`
- is a Module test (e.g., in common_nn.py), then modify the corresponding
  module_test entry to have `gradcheck_fast_mode=False`
""".strip()

UNDEFINED_GRAD_NOTE = 'Please look at "Notes about undefined output gradients" in "tools/autograd/derivatives.yaml"'


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0,
              check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
              check_batched_forward_grad=False, check_forward_ad=False, check_backward_ad=True, fast_mode=False,
              masked=None) -> bool:
    """True if the gradients of `func` at `inputs` match finite differences; else raise
    GradcheckError (or return False with raise_exception=False)."""
    if not (check_forward_ad or check_backward_ad):
        raise AssertionError("Expected at least one of check_forward_ad or check_backward_ad to be True")
    if check_batched_grad and not check_backward_ad:
        raise AssertionError("Setting check_batched_grad=True requires check_backward_ad to be True")
    if check_batched_forward_grad and not check_forward_ad:
        raise AssertionError("Setting check_batched_forward_grad=True requires check_forward_ad to be True")
    if check_forward_ad or check_batched_forward_grad:
        raise NotImplementedError("gradcheck(check_forward_ad=True): gradspec has no forward-mode AD")
    if check_batched_grad:
        raise NotImplementedError("gradcheck(check_batched_grad=True): gradspec has no vmap (batched gradients)")
    try:
        return _gradcheck(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad, check_grad_dtypes,
                          fast_mode)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0, check_undefined_grad=True,
                  check_grad_dtypes=False, check_batched_grad=False, check_fwd_over_rev=False,
                  check_rev_over_rev=True, fast_mode=False, masked=False) -> bool:
    """gradcheck of the first derivative (computed with create_graph=True) with respect to the
    inputs and the output gradients: second derivatives come from the spec's differentiable
    formulas."""
    if not (check_fwd_over_rev or check_rev_over_rev):
        raise AssertionError("Expected at least one of check_fwd_over_rev or check_rev_over_rev to be True")
    if check_undefined_grad and not check_rev_over_rev:
        raise AssertionError("Setting check_undefined_grad=True requires check_rev_over_rev to be True")
    if check_batched_grad and not check_rev_over_rev:
        raise AssertionError("Setting check_batched_grad=True requires check_rev_over_rev to be True")
    tupled_inputs = _as_tuple(inputs)
    if grad_outputs is None:
        # random output gradients in [-1, 1), from a generator of our own (the user's stream is
        # left alone), requiring grad so that the check covers them too
        generator = Generator().manual_seed(0)
        outputs = _differentiable_outputs(func(*tupled_inputs))
        tupled_grad_outputs = tuple(_random_grad_output(o, generator, uniform, gen_non_contig_grad_outputs)
                                    for o in outputs)
    else:
        tupled_grad_outputs = _as_tuple(grad_outputs)
    num_outputs = len(tupled_grad_outputs)
    diff_input_indices = {i for i, x in enumerate(tupled_inputs) if isinstance(x, Tensor) and x.requires_grad}
    diff_grad_output_indices = {i for i, x in enumerate(tupled_grad_outputs) if x.requires_grad}

    def new_func(*args):
        input_args = tuple(x.requires_grad_() if i in diff_input_indices else x
                           for i, x in enumerate(args[:-num_outputs]))
        outputs = _differentiable_outputs(func(*input_args))
        cotangents = tuple(x.requires_grad_() if i in diff_grad_output_indices else x
                           for i, x in enumerate(args[-num_outputs:]))
        diff_input_args = tuple(x for i, x in enumerate(input_args) if i in diff_input_indices)
        grad_inputs = grad(outputs, diff_input_args, cotangents, create_graph=True, allow_unused=True)
        return tuple(g for g in grad_inputs if g is not None)

    return gradcheck(new_func, tupled_inputs + tupled_grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol, check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes, check_batched_grad=check_batched_grad, fast_mode=fast_mode,
                     check_forward_ad=check_fwd_over_rev, check_backward_ad=check_rev_over_rev, masked=masked)


def _random_grad_output(output, generator, uniform, non_contiguous: bool) -> Tensor:
    data = output._data
    dtype = data.dtype if data.dtype.kind == "f" else np.dtype(np.float64)
    values = uniform(data.shape, dtype, low=-1.0, high=1.0, generator=generator)
    if non_contiguous and values.size > 1:
        spread = np.zeros(values.shape + (2,), dtype)
        spread[..., 0] = values
        values = spread[..., 0]
    values = array_module(data).asarray(values) if array_module(data) is not np else values
    return make_tensor(values).requires_grad_()


# ---- the checks -------------------------------------------------------------------------------------


def _as_tuple(value) -> tuple:
    if isinstance(value, tuple):
        return value
    if isinstance(value, list):
        return tuple(value)
    return (value,)


def _differentiable_outputs(value) -> tuple:
    return tuple(o for o in _as_tuple(value) if isinstance(o, Tensor) and o.requires_grad)


def _all_tensor_outputs(value) -> tuple:
    return tuple(o for o in _as_tuple(value) if isinstance(o, Tensor))


def _check_inputs(inputs) -> None:
    found = False
    for idx, inp in enumerate(inputs):
        if isinstance(inp, Tensor) and inp.requires_grad:
            if inp._data.dtype != np.float64:
                warnings.warn(f"Input #{idx} requires gradient and is not a double precision floating point or "
                              "complex. This check will likely fail if all the inputs are not of double precision "
                              "floating point or complex. ", stacklevel=4)
            data = inp._data
            if not all(st > 0 or sz <= 1 for st, sz in zip(data.strides, data.shape)):
                raise RuntimeError(f"The {idx}th input has a dimension with stride 0. gradcheck only supports inputs "
                                   "that are non-overlapping to be able to compute the numerical gradients correctly. "
                                   "You should call .contiguous on the input before passing it to gradcheck.")
            found = True
    if not found:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of them "
                         "have requires_grad=True.")


def _gradcheck(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad, check_grad_dtypes, fast_mode):
    inputs = _as_tuple(inputs)
    _check_inputs(inputs)
    func_out = func(*inputs)
    outputs = _differentiable_outputs(func_out)
    diff_inputs = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    if not outputs:
        _check_no_differentiable_outputs(func, inputs, diff_inputs, eps)
    elif fast_mode:
        _fast_check(func, inputs, diff_inputs, outputs, eps, atol, rtol, nondet_tol, check_grad_dtypes)
    else:
        _slow_check(func, inputs, diff_inputs, func_out, outputs, eps, atol, rtol, nondet_tol, check_grad_dtypes)
    if outputs:
        _test_backward_mul_by_grad_output(outputs, diff_inputs)
        if check_undefined_grad:
            _test_undefined_backward_mode(func, inputs, diff_inputs)
    return True


def _numerical_jacobians(func, inputs, diff_inputs, eps) -> list:
    """numerical[j][i]: d output i / d input j (every Tensor output, so indices match the
    function's outputs), as a float64 array with one row per input element."""
    result = []
    for target in diff_inputs:
        array = target._data
        columns = None
        for index in np.ndindex(array.shape):  # perturbed in place, in C order; any strides
            original = array[index].copy()
            array[index] = original + eps
            # copies at once: an output may be the very array being perturbed (an identity backward)
            plus = [np.array(_host(o._data), dtype=np.float64) for o in _all_tensor_outputs(func(*inputs))]
            array[index] = original - eps
            minus = [np.array(_host(o._data), dtype=np.float64) for o in _all_tensor_outputs(func(*inputs))]
            array[index] = original
            derivative = [((p - m) / (2 * eps)).reshape(-1) for p, m in zip(plus, minus)]
            if columns is None:
                columns = [[] for _ in derivative]
            for column, d in zip(columns, derivative):
                column.append(d)
        if columns is None:  # an input with no elements
            sizes = [o._data.size for o in _all_tensor_outputs(func(*inputs))]
            result.append([np.zeros((0, s)) for s in sizes])
        else:
            result.append([np.stack(c) for c in columns])
    return result


def _host(array) -> np.ndarray:
    return array if isinstance(array, (np.ndarray, np.generic)) else array.get()


def _analytical_jacobian(output, diff_inputs, check_grad_dtypes: bool, nondet_tol: float) -> list:
    """One (input numel, output numel) array per input, from one backward pass per output
    element, computed twice to check that backward is reentrant."""
    first, types_ok, sizes_ok = _analytical_once(output, diff_inputs)
    second, _, _ = _analytical_once(output, diff_inputs)
    reentrant = all(np.allclose(a, b, rtol=0, atol=nondet_tol, equal_nan=True) if nondet_tol else
                    np.array_equal(a, b, equal_nan=True) for a, b in zip(first, second))
    if not types_ok and check_grad_dtypes:
        raise GradcheckError("Gradient has dtype mismatch")
    if not sizes_ok:
        raise GradcheckError("Analytical gradient has incorrect size")
    if not reentrant:
        raise GradcheckError("Backward is not reentrant, i.e., running backward with same input and grad_output "
                             "multiple times gives different values, although analytical gradient matches numerical "
                             f"gradient.The tolerance for nondeterminism was {nondet_tol}." + FAILED_NONDET_MSG)
    return first


def _analytical_once(output, diff_inputs):
    size = output._data.size
    jacobians = [np.zeros((x._data.size, size)) for x in diff_inputs]
    types_ok = sizes_ok = True
    for k in range(size):
        grads = grad(output, diff_inputs, _one_hot(output, k), retain_graph=True, allow_unused=True)
        for jacobian, g, x in zip(jacobians, grads, diff_inputs):
            if g is None:
                continue
            if g._data.size != x._data.size:
                sizes_ok = False
                continue
            if g._data.dtype != x._data.dtype:
                types_ok = False
            jacobian[:, k] = _host(g._data).astype(np.float64).reshape(-1)
    return jacobians, types_ok, sizes_ok


def _one_hot(output, k: int) -> Tensor:
    data = output._data
    onehot = array_module(data).zeros(data.size, data.dtype)
    onehot[k] = 1
    return make_tensor(onehot.reshape(data.shape))


def _slow_check(func, inputs, diff_inputs, func_out, outputs, eps, atol, rtol, nondet_tol, check_grad_dtypes):
    numerical = _numerical_jacobians(func, inputs, diff_inputs, eps)
    all_outputs = _all_tensor_outputs(func_out)
    differentiable_positions = [k for k, o in enumerate(all_outputs) if o.requires_grad]
    for i, output in enumerate(outputs):
        analytical = _analytical_jacobian(output, diff_inputs, check_grad_dtypes, nondet_tol)
        for j, (a, per_input) in enumerate(zip(analytical, numerical)):
            n = per_input[differentiable_positions[i]]
            if not np.allclose(a, n, rtol=rtol, atol=atol, equal_nan=True):
                raise GradcheckError(_mismatch(i, j, n, a, diff_inputs[j], output))


def _mismatch(out_index: int, in_index: int, numerical: np.ndarray, analytical: np.ndarray, inp=None,
              output=None) -> str:
    """torch's message, then the worst element: its index in the input and in the output."""
    message = (f"Jacobian mismatch for output {out_index:d} with respect to input {in_index:d},\n"
               f"numerical:{_as_text(numerical)}\nanalytical:{_as_text(analytical)}\n")
    if numerical.size == 0:
        return message
    error = np.abs(numerical - analytical)
    worst = np.unravel_index(np.argmax(np.where(np.isnan(error), np.inf, error)), error.shape)
    in_element, out_element = (int(w) for w in worst)
    where_in = _element_name(inp, in_element)
    where_out = _element_name(output, out_element)
    return message + (f"worst element: input {in_index} element {where_in}, output {out_index} element {where_out}: "
                      f"numerical {float(numerical[worst])!r}, analytical {float(analytical[worst])!r}, "
                      f"difference {float(error[worst])!r}\n")


def _element_name(tensor, flat: int) -> str:
    """`3` for a 1-d tensor; `5 (index (1, 2))` when the tensor has several dims."""
    if tensor is None or tensor._data.ndim <= 1:
        return str(flat)
    return f"{flat} (index {tuple(int(i) for i in np.unravel_index(flat, tensor._data.shape))})"


def _as_text(jacobian: np.ndarray) -> str:
    """A Jacobian printed as torch prints the tensor (`tensor([[...]], dtype=torch.float64)`)."""
    return repr(make_tensor(np.asarray(jacobian, dtype=np.float64)))


def _check_no_differentiable_outputs(func, inputs, diff_inputs, eps) -> None:
    for per_input in _numerical_jacobians(func, inputs, diff_inputs, eps):
        for jacobian in per_input:
            if np.count_nonzero(jacobian) > 0:
                raise GradcheckError("Numerical gradient for function expected to be zero")


def _nonzero(grad: Tensor) -> bool:
    """Whether a gradient computed from zero output gradients has a nonzero entry; NaN entries
    do not count (0 * a NaN derivative is NaN: the derivative's fault, not the backward's)."""
    values = _host(grad._data)
    return bool(np.any((values != 0) & ~np.isnan(values)))


def _test_backward_mul_by_grad_output(outputs, diff_inputs) -> None:
    zeros = [make_tensor(array_module(o._data).zeros(o._data.shape, o._data.dtype)) for o in outputs]
    grads = grad(outputs, diff_inputs, zeros, allow_unused=True)
    for gi, di in zip(grads, diff_inputs):
        if gi is None:
            continue
        if _nonzero(gi):
            raise GradcheckError("backward not multiplied by grad_output")
        if gi._data.dtype != di._data.dtype:
            raise GradcheckError("grad is incorrect type")
        if gi.device != di.device:
            raise GradcheckError("grad is incorrect device")
        if gi._data.shape != di._data.shape:
            raise GradcheckError("grad is incorrect size")


class _UndefinedGrad(Node):
    """An identity whose backward passes an undefined (None) gradient on: torch's UndefinedGrad."""

    __slots__ = ()
    passes_known_zeros = False  # (undefined, whatever it is given)

    def apply(self, grads):
        return (None,)

    apply_differentiable = apply


def _undefined_grad(tensor: Tensor) -> Tensor:
    node = _UndefinedGrad()
    node.next_functions = (edge(tensor),)
    node.output_meta = (tensor._data.shape, tensor._data.dtype)
    return make_tensor(tensor._data, True, node)


def _test_undefined_backward_mode(func, inputs, diff_inputs) -> None:
    def warn_bc_breaking():
        warnings.warn("Backwards compatibility: New undefined gradient support checking feature is enabled by "
                      "default, but it may break existing callers of this function. If this is true for you, you can "
                      'call this function with "check_undefined_grad=False" to disable the feature', stacklevel=4)

    def check(outputs):
        zeros = [make_tensor(array_module(o._data).zeros(o._data.shape, o._data.dtype)) for o in outputs]
        try:
            grads = grad(outputs, diff_inputs, zeros, allow_unused=True)
        except RuntimeError as error:
            warn_bc_breaking()
            raise GradcheckError(f"Expected backward function to handle undefined output grads. "
                                 f"{UNDEFINED_GRAD_NOTE}") from error
        for g in grads:
            if g is not None and _nonzero(g):
                warn_bc_breaking()
                raise GradcheckError("Expected all input grads to be undefined or zero when all output grads are "
                                     f"undefined or zero. {UNDEFINED_GRAD_NOTE}")

    check([_undefined_grad(o) for o in _differentiable_outputs(func(*inputs))])
    count = len(_differentiable_outputs(func(*inputs)))
    if count > 1:  # one undefined at a time
        for undefined in range(count):
            outputs = _differentiable_outputs(func(*inputs))
            check([_undefined_grad(o) if k == undefined else o for k, o in enumerate(outputs)])


# ---- fast mode --------------------------------------------------------------------------------------


def _fast_check(func, inputs, diff_inputs, outputs, eps, atol, rtol, nondet_tol, check_grad_dtypes):
    """v^T J u, numerically (one directional difference per input) and analytically (one
    backward per output), for u, v drawn as torch draws them (torch.rand from a fresh
    Generator, normalised)."""
    generator = Generator()
    all_u = [_random_unit(x, generator, uniform) for x in diff_inputs]
    all_v = [_random_unit(o, generator, uniform) for o in outputs]
    all_outputs_positions = [k for k, o in enumerate(_all_tensor_outputs(func(*inputs))) if o.requires_grad]
    for j, (target, u) in enumerate(zip(diff_inputs, all_u)):
        # numerical J u for every output: a central difference along u
        array = target._data
        original = array.copy()
        step = array_module(array).asarray(u.reshape(array.shape)).astype(array.dtype) * eps
        array[...] = original + step
        plus = [np.array(_host(o._data), dtype=np.float64).reshape(-1) for o in _all_tensor_outputs(func(*inputs))]
        array[...] = original - step
        minus = [np.array(_host(o._data), dtype=np.float64).reshape(-1) for o in _all_tensor_outputs(func(*inputs))]
        array[...] = original
        for i, (output, v) in enumerate(zip(outputs, all_v)):
            position = all_outputs_positions[i]
            numerical = float(v @ ((plus[position] - minus[position]) / (2 * eps)))
            cotangent = make_tensor(array_module(output._data).asarray(v.reshape(output._data.shape))
                                    .astype(output._data.dtype))
            results = []
            for _ in range(2):  # twice: backward must be reentrant
                (g,) = grad(output, [target], cotangent, retain_graph=True, allow_unused=True)
                results.append(0.0 if g is None else float(_host(g._data).astype(np.float64).reshape(-1) @ u))
            if abs(results[0] - results[1]) > nondet_tol:
                raise GradcheckError("Backward is not reentrant, i.e., running backward with same input and "
                                     "grad_output multiple times gives different values, although analytical "
                                     "gradient matches numerical gradient.The tolerance for nondeterminism was "
                                     f"{nondet_tol}." + FAILED_NONDET_MSG)
            analytical = results[0]
            adjusted_atol = atol * float(u.sum()) * float(v.sum())
            if not np.isclose(analytical, numerical, rtol=rtol, atol=adjusted_atol, equal_nan=True):
                raise GradcheckError(_fast_mismatch(func, inputs, diff_inputs, output, i, j, numerical, analytical,
                                                    eps, atol, rtol))


def _random_unit(tensor: Tensor, generator, uniform) -> np.ndarray:
    values = uniform((tensor._data.size,), np.dtype(np.float32), generator=generator).astype(np.float64)
    norm = np.linalg.norm(values)
    return values / norm if norm else values


def _fast_mismatch(func, inputs, diff_inputs, output, i, j, numerical, analytical, eps, atol, rtol) -> str:
    slow_numerical = _numerical_jacobians(func, inputs, [diff_inputs[j]], eps)[0]
    position = [k for k, o in enumerate(_all_tensor_outputs(func(*inputs))) if o.requires_grad][i]
    slow_numerical = slow_numerical[position]
    slow_analytical = _analytical_once(output, [diff_inputs[j]])[0][0]
    message = (f"Jacobian mismatch for output {i:d} with respect to input {j:d},\n"
               f"numerical:{float(numerical)!r}\nanalytical:{float(analytical)!r}\n"
               "\nThe above quantities relating the numerical and analytical jacobians are computed \n"
               "in fast mode. See: https://github.com/pytorch/pytorch/issues/53876 for more background \n"
               "about fast mode. Below, we recompute numerical and analytical jacobians in slow mode:\n\n"
               f"Numerical:\n {_as_text(slow_numerical)}\n"
               f"Analytical:\n{_as_text(slow_analytical)}\n\n"
               f"The max per-element difference (slow mode) is: "
               f"{float(np.abs(slow_numerical - slow_analytical).max(initial=0.0))!r}.\n")
    if np.allclose(slow_analytical, slow_numerical, rtol=rtol, atol=atol, equal_nan=True):
        return message + FAST_FAIL_SLOW_OK_MSG
    return message + _mismatch(i, j, slow_numerical, slow_analytical, diff_inputs[j], output).split("\n")[-2] + "\n"


__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]
