# found by `make fuzz` (seed 2027, programs 10248, 20425, 28023, 36365, 47975, 48485; seed 2028,
# programs 444, 12690, 18287, 32330): derivatives that differed from torch's where a branch, an inf
# or a dtype decides. elu's second derivative at 0 is 0 (torch masks it with self < 0, the first
# derivative takes the negative branch at 0); sigmoid's is one product with 1 - 2y (the product rule
# gave inf - inf for an infinite gradient); norm(p=inf) multiplies the gradient by its mask (an
# infinite one gives NaN off the maximum); prod over a dim of size 1 with a zero returns the
# gradient itself (no graph to self); smooth_l1_loss keeps a bool target, whose double backward
# refuses it; binary_cross_entropy refuses a target outside [0, 1] (NaN too) and its target
# gradient is -logit(self), unclamped.
import torch
import torch.nn.functional as F
v0 = torch.tensor(0.0, dtype=torch.float32, requires_grad=True)
v5 = F.elu(v0)
v9 = torch.tensor(1.0, dtype=torch.float32, requires_grad=True)
g10 = torch.autograd.grad(v5, [v9, v0], allow_unused=True, create_graph=True)
g11 = torch.autograd.grad((g10[1] * g10[1]).sum(), [v9, v0], allow_unused=True)
# ---
v5 = torch.tensor([0.0, 1.0], dtype=torch.float32, requires_grad=True)
v6 = v5 * 1
F.elu(v6[::2], inplace=True)
g8 = torch.autograd.grad(v6, [v5], grad_outputs=torch.ones(2), allow_unused=True, create_graph=True)
g9 = torch.autograd.grad((g8[0] * g8[0]).sum(), [v5], allow_unused=True)
# ---
v0 = torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64, requires_grad=True)
v1 = F.elu(v0, alpha=0.5)
g2 = torch.autograd.grad(v1.sum(), [v0], create_graph=True)
g3 = torch.autograd.grad(g2[0].sum(), [v0])
# ---
v3 = torch.tensor([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]], dtype=torch.float64, requires_grad=True)
v4 = v3.sigmoid()
v5 = torch.tensor([[1.0, 1.0], [1.0, 1.0], [1.0, float('-inf')]], dtype=torch.float64)
g6 = torch.autograd.grad(v4, [v3], grad_outputs=v5.clone(), allow_unused=False, create_graph=True)
g7 = torch.autograd.grad((g6[0] * g6[0]).sum(), [v3], allow_unused=True)
# ---
v0 = torch.tensor([[-2.0, 1.0, 1.0], [1.0, 1.0, 1.0]], dtype=torch.float32, requires_grad=True)
v2 = torch.norm(v0, float('inf'))
v2.backward(torch.tensor(float('inf')))
# ---
v0 = torch.tensor([[0.0, 0.0], [float('nan'), 1.0]], dtype=torch.float32, requires_grad=True)
v1 = torch.norm(v0, 2)
v1.backward(torch.tensor(float('inf')))
v2 = torch.norm(v0, 1.5, dim=0)
g3 = torch.autograd.grad(v2.sum(), [v0])
v4 = torch.norm(v0, float('-inf'), dim=1)
g5 = torch.autograd.grad(v4.sum(), [v0])
# ---
v4 = torch.tensor([[[1.0, 1.0, 1.0]], [[0.0, 1.0, 1.0]]], dtype=torch.float32, requires_grad=True)
v6 = torch.prod(v4, -2)
g8 = torch.autograd.grad(v6.sum(), [v4], allow_unused=True, create_graph=True)
v9 = torch.tensor([0.0], requires_grad=True)
g10 = torch.autograd.grad(v9.prod(), [v9], create_graph=True)
# ---
v0 = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float32, requires_grad=True)
v1 = torch.tensor([False, True, False], dtype=torch.bool)
v2 = F.smooth_l1_loss(v0, v1, reduction='mean', beta=1.0)
g3 = torch.autograd.grad(v2, [v0], allow_unused=True, create_graph=True)
g3[0].sum().backward()
# ---
v0 = torch.tensor([1.0, 3.0, -2.0], dtype=torch.float32, requires_grad=True)
v1 = torch.tensor([1, 2, 3])
v2 = F.smooth_l1_loss(v0, v1, reduction='sum', beta=0.5)
g3 = torch.autograd.grad(v2, [v0], create_graph=True)
g4 = torch.autograd.grad(g3[0].sum(), [v0], allow_unused=True)
# ---
v5 = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float32)
v6 = torch.tensor([1.0, float('nan'), float('inf')], dtype=torch.float32)
v7 = F.binary_cross_entropy(torch.sigmoid(v5), torch.sigmoid(v6), reduction='mean')
# ---
v5 = torch.tensor([0.5], dtype=torch.float32)
v7 = F.binary_cross_entropy(v5, torch.tensor([1.5]))
# ---
v2 = torch.tensor([[1.0, float('-inf'), 1.0], [float('inf'), 1.0, 1.0]], dtype=torch.float32, requires_grad=True)
v7 = F.binary_cross_entropy(torch.sigmoid(v2), torch.sigmoid(v2), reduction='mean')
g9 = torch.autograd.grad(v7, [v2], allow_unused=True)
