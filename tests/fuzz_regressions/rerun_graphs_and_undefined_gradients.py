# found by `make fuzz` (seed 2026, programs 8194, 10014, 12023, 12331; seed 2027, program 2229): a
# graph through copy_ could not run twice, as its node saved a tensor torch's CopyBackwards does
# not, and x[:] = v wrote through a view where torch skips a slice that takes its dim whole (a
# write through a view, torch's CopySlices, refuses to run twice: it drops its function); x[[], [0]] of an empty tensor checked bounds though it reads nothing; a
# tensor hook on an output of a node of several outputs was not called for an undefined gradient
# (torch calls it with None).
import torch
import torch.nn.functional as F
v0 = torch.tensor([[1.0, 1.0, 1.0]], dtype=torch.float32, requires_grad=True)
v1 = v0.clone()
v1.copy_(1.0)
g2 = torch.autograd.grad(v1.sum(), [v0], allow_unused=True)
g3 = torch.autograd.grad(v1.sum(), [v0], allow_unused=True)
# ---
v0 = torch.tensor([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]], dtype=torch.float32, requires_grad=True)
v1 = v0.clone()
v2 = torch.tensor([1.0], dtype=torch.float32, requires_grad=True)
v1[:] = v2
v7 = v1 - torch.tensor([[2, 0]], dtype=torch.uint8)
g9 = torch.autograd.grad(v1, [v2, v0], grad_outputs=torch.ones(3, 2), allow_unused=True)
g10 = torch.autograd.grad(v7.mean(), [v0, v2], allow_unused=True, create_graph=True)
# ---
v0 = torch.zeros((3, 0), dtype=torch.float32)
v1 = v0[[], torch.tensor([0])]
# ---
v0 = torch.tensor([1.0, 4.0, 2.0], requires_grad=True)
v1 = torch.var_mean(v0)
h2 = v1[0].register_hook(lambda g: g * 2)
v1[1].backward()
# ---
v2 = torch.tensor([[1.0, 1.0]], dtype=torch.float32, requires_grad=True)
v3 = v2.clone()
v4 = v3.t()
v5 = torch.tensor(1.0, dtype=torch.float32, requires_grad=True)
v4.sub_(v5)
g6 = torch.autograd.grad(v3.sum(), [v2], allow_unused=True)
g8 = torch.autograd.grad(v3.mean(), [v5, v2], allow_unused=True, create_graph=True)
# ---
# (seed 2027, program 31144) copy_ of another dtype gives each input its gradient in its own dtype
v1 = torch.tensor([-1], dtype=torch.int64)
v7 = v1 / torch.tensor([False])
v10 = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
v7[:] = v10
g11 = torch.autograd.grad(v7.sum(), [v7, v10], allow_unused=True, create_graph=True)
# ---
v0 = torch.zeros(3, 2, requires_grad=True)
v1 = v0 * 1
v1.copy_(torch.ones(3, 1, 2, requires_grad=True))
