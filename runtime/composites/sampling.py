"""Sampling into tensors: torch.multinomial and Tensor.exponential_, drawing torch's numbers
after the same seed (gradspec.random)."""

from __future__ import annotations

from .. import random
from ..backends import CPU, to_device
from ..grad_mode import no_grad
from ..tensor import Tensor, make_tensor


def multinomial(input, num_samples, replacement=False, *, generator=None) -> Tensor:
    """Indices drawn from each row of `input`'s weights: the same indices as torch's after the same
    seed (gradspec.random.multinomial)."""
    drawn = random.multinomial(input._host_array(), int(num_samples), replacement, generator=generator)
    return make_tensor(to_device(drawn, input.device) if input.device != CPU else drawn)


def exponential_(self, lambd=1.0, *, generator=None) -> Tensor:
    """Fill `self` in place with Exp(lambd) draws, as torch's CPU kernel draws them."""
    with no_grad():
        return self.copy_(make_tensor(random.exponential(self._data.shape, self._data.dtype, lambd, generator)))


__all__ = ["multinomial", "exponential_"]
