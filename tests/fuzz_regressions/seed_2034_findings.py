# found by `make fuzz` (seed 2034, programs 6853, 27968, 30640, 42653, 45337) and seed 2031's
# program 27017: var, std and vector_norm refuse a repeated dim at the first repeat (sum and amax
# check every dim's range first); a gradient that reached two inputs untouched is one tensor
# twice in autograd.grad's result; an empty batched product is in the second operand's dtype;
# relu, clamp and hardtanh keep -0.0 (self unless strictly outside), cumsum starts from +0.0;
# sgn's derivative is a known zero (torch's ZeroTensor) that no inf turns into NaN.
import torch
import torch.nn.functional as F
v2 = torch.ones((3, 4, 4), dtype=torch.float32)
v3 = torch.std(v2, dim=[0, -3, -4])
# ---
v2 = torch.ones((2, 3), dtype=torch.float32)
v3 = v2.sum(dim=[0, 0, 5])
# ---
v2 = torch.ones((2, 3), dtype=torch.float32)
v3 = v2.permute(1, -1)
# ---
v0 = torch.tensor([1.0, 1.0, 1.0, 1.0], dtype=torch.float32, requires_grad=True)
v1 = v0.clone()
g2 = torch.autograd.grad(v1.sum(), [v0, v1], allow_unused=True)
g2[1].requires_grad_()
# ---
v0 = torch.tensor([[1.0], [1.0], [1.0]], dtype=torch.float32, requires_grad=True)
g1 = torch.autograd.grad(v0.sum(), [v0], allow_unused=True)
v3 = g1[0]
v3[torch.tensor([1, 3])] = 1.58
# ---
v2 = torch.zeros((2, 0), dtype=torch.float32)
v3 = torch.zeros((2, 0, 3), dtype=torch.int64)
v4 = v2 @ v3
v5 = v3.transpose(1, 2) @ torch.zeros((2, 0, 1), dtype=torch.float64)
# ---
v0 = torch.tensor([[1.0, -0.0, 1.0, -2.0]], dtype=torch.float32)
v1 = torch.tensor([3], dtype=torch.int64) / torch.relu(v0)
v2 = 3 / torch.clamp(v0, min=0.0)
v3 = 3 / torch.clamp(v0, -1.0, 0.0)
v4 = 3 / F.hardtanh(v0, 0.0, 1.0)
v5 = 3 / F.relu6(v0)
v6 = 3 / torch.clamp(-v0, max=0.0)
v7 = 3 / v0.cumsum(1)
# ---
v3 = torch.tensor([[1.0, float('inf'), 1.0], [1.0, 1.0, 1.0]], dtype=torch.float32, requires_grad=True)
v4 = v3 * v3
v5 = v4.norm(float('inf'))
g6 = torch.autograd.grad(v5, [v3], allow_unused=True, create_graph=True)
g7 = torch.autograd.grad((g6[0] * g6[0]).sum(), [v3], allow_unused=True)
# ---
v0 = torch.tensor([1.0, float('inf'), -2.0], requires_grad=True)
g1 = torch.autograd.grad((v0 * v0).abs().sum(), [v0], create_graph=True)
g2 = torch.autograd.grad(g1[0].sum(), [v0])
# ---
v0 = torch.tensor([1.0, float('inf'), -2.0], requires_grad=True)
v1 = v0 * v0
v1.retain_grad()
v2 = (v1.sgn() * 3 + v0 * 2).sum()
v2.backward()
