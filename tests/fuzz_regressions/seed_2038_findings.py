# found by `make fuzz` (seed 2038, program 3900): pow's gradient for self is grouped as torch's,
# grad * (exponent * self ** (exponent - 1)): the inner product may overflow to inf (here a uint8
# exponent of 0 less 1 is 255), and a second derivative's zero times it is NaN, as torch's.
import torch
import torch.nn.functional as F
v0 = torch.tensor([[1.4, 1.0], [1.0, 1.0]], dtype=torch.float32, requires_grad=True)
v3 = torch.tensor([[0, 1]], dtype=torch.uint8)
v4 = v0 ** v3
g5 = torch.autograd.grad(v4.sum(), [v0], allow_unused=True, create_graph=True)
g6 = torch.autograd.grad((g5[0] * g5[0]).sum(), [v0], allow_unused=True)
