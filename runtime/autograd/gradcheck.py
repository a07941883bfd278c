"""gradcheck / gradgradcheck: analytical Jacobians against central differences, as torch's."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, make_tensor


class GradcheckError(RuntimeError):
    """torch.autograd.gradcheck.GradcheckError"""


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, **_ignored) -> bool:
    """Check d(func)/d(inputs) from backward against finite differences, for every input that
    requires grad. Inputs should be float64: float32 differences are too noisy to compare."""
    from . import grad

    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    differentiable = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    outputs = _outputs(func(*inputs))
    for out_index, output in enumerate(outputs):
        if not output.requires_grad:
            continue
        numerical = [_numerical_jacobian(func, inputs, i, out_index, eps) for i in differentiable]
        analytical = [np.zeros_like(n) for n in numerical]
        flat_size = output._data.size
        for k in range(flat_size):
            cotangent = np.zeros(flat_size, dtype=output._data.dtype)
            cotangent[k] = 1
            grads = grad(output, [inputs[i] for i in differentiable],
                         make_tensor(cotangent.reshape(output._data.shape)), retain_graph=True, allow_unused=True)
            for column, g in zip(analytical, grads):
                if g is not None:
                    column[:, k] = g._data.reshape(-1)
        for position, num, ana in zip(differentiable, numerical, analytical):
            if not np.allclose(ana, num, rtol=rtol, atol=atol, equal_nan=True):
                message = _mismatch(out_index, position, num, ana)
                if raise_exception:
                    raise GradcheckError(message)
                return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
                  **_ignored) -> bool:
    """gradcheck of the first derivative (computed with create_graph=True) with respect to the
    inputs and the output gradients: second-order derivatives come from the spec's formulas."""
    from . import grad

    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    outputs = _outputs(func(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(make_tensor(rng.standard_normal(o._data.shape).astype(o._data.dtype)).requires_grad_()
                             for o in outputs if o.requires_grad)
    differentiable = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    count = len(inputs)

    def first_derivative(*args):
        ins, cotangents = args[:count], args[count:]
        outs = [o for o in _outputs(func(*ins)) if o.requires_grad]
        grads = grad(outs, [ins[i] for i in differentiable], cotangents, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None and g.requires_grad)

    return gradcheck(first_derivative, (*inputs, *grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)


def _outputs(value) -> tuple:
    return (value,) if isinstance(value, Tensor) else tuple(v for v in value if isinstance(v, Tensor))


def _numerical_jacobian(func, inputs, index: int, out_index: int, eps: float) -> np.ndarray:
    """Rows: input elements; columns: output elements (torch's layout)."""
    target = inputs[index]._data
    flat = target.reshape(-1)  # a view: perturbing it perturbs the input in place
    if not np.shares_memory(flat, target):
        raise GradcheckError("gradcheck needs contiguous inputs")
    columns = []
    for k in range(flat.size):  # not under no_grad: func may itself differentiate (gradgradcheck)
        original = flat[k]
        flat[k] = original + eps
        plus = _outputs(func(*inputs))[out_index]._data.astype(np.float64).reshape(-1)
        flat[k] = original - eps
        minus = _outputs(func(*inputs))[out_index]._data.astype(np.float64).reshape(-1)
        flat[k] = original
        columns.append((plus - minus) / (2 * eps))
    size = _outputs(func(*inputs))[out_index]._data.size
    return np.stack(columns) if columns else np.zeros((0, size))


def _mismatch(out_index: int, in_index: int, numerical: np.ndarray, analytical: np.ndarray) -> str:
    error = np.abs(numerical - analytical)
    worst = np.unravel_index(np.nanargmax(np.where(np.isnan(error), np.inf, error)), error.shape)
    return (f"Jacobian mismatch for output {out_index} with respect to input {in_index},\n"
            f"numerical:{numerical}\nanalytical:{analytical}\n"
            f"worst element: input element {worst[0]}, output element {worst[1]}: numerical "
            f"{numerical[worst]!r}, analytical {analytical[worst]!r}")
