# found by `make fuzz` (seed 2037, programs 22576, 26889, 31998, 35584, 40015): sgn saves self and
# its result as torch's does, so a second backward through it is refused; under create_graph its
# zero gradient runs the formulas it meets (torch's ZeroTensor gets a grad_fn from each), so what
# reaches an input requires grad; retain_grad on a view of a base written since derives the view's
# history first; a slice written into is a view (torch's CopySlices, which runs once) unless its
# start is 0 as written, its stop at or past the end and its step 1.
import torch
import torch.nn.functional as F
v4 = torch.tensor([[1.0, 2.0, 3.0], [1.0, -1.0, 1.0]], dtype=torch.float64, requires_grad=True)
v8 = v4.sgn()
g12 = torch.autograd.grad(v8.mean(), [v4], allow_unused=True)
g13 = torch.autograd.grad(v8.mean(), [v4], allow_unused=True)
# ---
v1 = torch.tensor([[1.0], [2.0], [3.0]], dtype=torch.float32, requires_grad=True)
v2 = F.mse_loss(v1, v1 * 2)
v3 = v2.sgn()
g6 = torch.autograd.grad(v3.sum(), [v1], allow_unused=True, create_graph=True)
# ---
v0 = torch.tensor([[[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]], dtype=torch.float32)
v1 = v0[2:, :-3:3]
v2 = torch.tensor(1.0, dtype=torch.float32, requires_grad=True)
v0.add_(v2)
v1.retain_grad()
# ---
v0 = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float32)
v1 = v0[0:2]
v2 = torch.tensor(1.0, dtype=torch.float32, requires_grad=True)
v0.add_(v2)
v1.retain_grad()
# ---
v1 = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float32, requires_grad=True)
v4 = v1.clone()
v4[-4:4] = 1.0
g9 = torch.autograd.grad(v4.sum(), [v1], allow_unused=True)
v4.mean().backward()
# ---
v1 = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float32, requires_grad=True)
v4 = v1.clone()
v4[0:5] = 1.0
g9 = torch.autograd.grad(v4.sum(), [v1], allow_unused=True)
v4.mean().backward()
