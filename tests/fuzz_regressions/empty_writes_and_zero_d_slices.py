# found by `make fuzz` (seed 2026, programs 995, 3216, 3482, 4211, 4325): a write through an empty
# view (v[1:1] = x, v[None] = x of an empty tensor) was refused at backward as a write to shared
# memory locations (an empty view's strides may be 0); matmul's gradient for a matrix shared by an
# empty batch reshaped to [-1, 0]; a lone slice of a 0-d tensor raised "invalid index" where torch
# checks the step first (ValueError) and says "slice() cannot be applied to a 0-dim tensor".
import torch
import torch.nn.functional as F
v0 = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]], dtype=torch.float32, requires_grad=True)
v1 = torch.tensor(5, dtype=torch.int64)
v2 = v0.clone()
v2[1:1] = v1
v2.sum().backward()
# ---
v0 = torch.zeros((2, 0), dtype=torch.float32, requires_grad=True)
v1 = v0.neg()
v2 = v1.clone()
v2[None] = 1.0
g3 = torch.autograd.grad(v2.sum(), [v0], allow_unused=True)
# ---
v1 = torch.zeros((1, 2, 0), dtype=torch.float32)
v2 = torch.zeros((0,), dtype=torch.float32, requires_grad=True)
v3 = v1 @ v2
v3.sum().backward()
# ---
v0 = torch.tensor(1.0, dtype=torch.float32)
v1 = v0[2:-2:-1]
# ---
v0 = torch.tensor(1.0, dtype=torch.float32)
v1 = v0[::1]
# ---
v0 = torch.tensor(1.0, dtype=torch.float32)
v1 = v0[(0,)]
