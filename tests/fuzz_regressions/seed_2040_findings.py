# found by `make fuzz` (seed 2040, programs 3248, 40575): mm, addmm and matmul save an operand only
# for the other's gradient, as torch's (mm_mat2_backward reads mat2's sizes and strides alone), so
# a weight written in place after a product with an input that needs no gradient is no error;
# prod's second derivative over a zero is exact where torch's is cumprod's inf / inf (the tester
# takes torch's NaN for gradspec's inf there: docs/decisions.md).
import torch
import torch.nn.functional as F
v5 = torch.tensor([[1.0, float('nan')], [1.0, 1.0], [1.0, float('nan')]], dtype=torch.float32)
v6 = torch.tensor([[1.0, 1.0], [1.0, 1.0]], dtype=torch.float32, requires_grad=True)
v7 = torch.mm(v5, v6)
v8 = v6.detach()
v8.sigmoid_()
g12 = torch.autograd.grad(v7.mean(), [v6], allow_unused=True)
# ---
v0 = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float32)
v1 = torch.tensor([[1.0, -1.0], [0.5, 2.0]], dtype=torch.float32, requires_grad=True)
v2 = v0 @ v1
v3 = torch.addmm(torch.zeros(2), v0, v1)
v4 = F.linear(v0, v1)
v5 = v0.unsqueeze(0) @ v1
v6 = torch.tensor([1.0, 2.0], dtype=torch.float32) @ v1
v1.detach().mul_(2)
v7 = (v2 + v3 + v4 + v5[0] + v6).sum()
v7.backward()
# ---
v0 = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float32, requires_grad=True)
v1 = torch.tensor([[1.0, -1.0], [0.5, 2.0]], dtype=torch.float32, requires_grad=True)
v2 = v0 @ v1
v1.detach().mul_(2)
v3 = v2.sum()
v3.backward()
# ---
v1 = torch.tensor([[[1.0, float('inf')], [1.0, float('-inf')], [1.0, 1.0]], [[-0.0, 1.0], [float('inf'), 2.0], [3.0, 1.0]]], dtype=torch.float32, requires_grad=True)
v2 = torch.prod(v1, -1, keepdim=False)
g5 = torch.autograd.grad(v2.sum(), [v1], allow_unused=False, create_graph=True)
g6 = torch.autograd.grad((g5[0] * g5[0]).sum(), [v1], allow_unused=True)
