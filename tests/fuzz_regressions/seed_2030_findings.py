# found by `make fuzz` (seed 2030, programs 3854, 17378, 22128, 22473, 23492, 31891): gelu's second
# derivative is one factor computed from x (the product rule gave inf - inf for an infinite
# gradient); a .grad kept under create_graph is a clone (it aliased a read-only expanded gradient,
# which a later backward added into), and a retained non-leaf's .grad is replaced, not added into;
# flatten of a 0-d tensor checks its dims; the views of an integral tensor written from a tensor
# that requires grad derive their history from it; cat's gradient for a 1-d empty input is a new
# empty tensor (no graph under create_graph); bmm refuses a bool self before comparing dtypes; a
# gradient that reaches an integral tensor's history fails the backward, as torch's engine's
# assert does (programs 39402, 41378).
import torch
import torch.nn.functional as F
v0 = torch.tensor([1.0, 1.0, 1.0, -2.0], dtype=torch.float32, requires_grad=True)
v2 = F.leaky_relu(v0, 1.0)
v6 = F.gelu(v2, approximate='none')
v7 = torch.tensor([float('nan'), float('-inf'), 1.0, float('inf')], dtype=torch.float32)
g8 = torch.autograd.grad(v6, [v0], grad_outputs=v7.clone(), allow_unused=True, create_graph=True)
g9 = torch.autograd.grad((g8[0] * g8[0]).sum(), [v0], allow_unused=True)
# ---
v0 = torch.tensor([0.5, -1.0, 3.0], dtype=torch.float64, requires_grad=True)
v1 = F.gelu(v0, approximate='tanh')
g2 = torch.autograd.grad(v1.sum(), [v0], create_graph=True)
g3 = torch.autograd.grad((g2[0] * g2[0]).sum(), [v0])
# ---
v1 = torch.tensor([[1.0, 2.0], [3.0, 1.0]], dtype=torch.float32, requires_grad=True)
v2 = torch.softmax(v1, 0)
v2.retain_grad()
g8 = torch.autograd.grad(v2.sum(), [v1], allow_unused=True, create_graph=True)
v3 = v2.grad
g9 = torch.autograd.grad((g8[0] * g8[0]).sum(), [v1], allow_unused=True)
# ---
v1 = torch.tensor([1.0, 2.0], requires_grad=True)
v1.sum().backward(create_graph=True)
v2 = v1.grad
v1.sum().backward()
# ---
v0 = torch.tensor(1.0, dtype=torch.float32)
v1 = v0.flatten(-1, -2)
# ---
v0 = torch.tensor(1.0, dtype=torch.float32)
v1 = v0.flatten(0, -1)
# ---
v0 = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
v2 = torch.tensor([[[6, -4, 0, 0], [-4, 1, 5, 5], [-1, 1, -1, 1]]], dtype=torch.int8)
v3 = v2.expand([1, -1, 3, 4])
v4 = v2
v4[0] = v0
# ---
v0 = torch.tensor([1, -1], dtype=torch.int32)
v1 = torch.zeros((0,), dtype=torch.float32, requires_grad=True)
v2 = torch.cat([v0, v1], -1)
v3 = F.mse_loss(v2, v0)
g5 = torch.autograd.grad(v3, [v1], grad_outputs=torch.tensor(1.0), allow_unused=False, create_graph=True)
# ---
v1 = torch.tensor([False, True], dtype=torch.bool)
v2 = torch.tensor([[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]], dtype=torch.float64)
v3 = v1 @ v2
# ---
v1 = torch.tensor([[1.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
v3 = v1 @ torch.ones((1, 2, 3), dtype=torch.bool)
# ---
v1 = torch.tensor([1, 3, 2], dtype=torch.uint8)
v2 = v1
v3 = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
v2[-2:-2:3] = v3
v4 = torch.log_softmax(v2, -1, dtype=torch.float32)
v4.mean().backward(retain_graph=True)
# ---
v0 = torch.tensor([[[6, 0]], [[-3, 2]]], dtype=torch.int32)
v2 = v0.clone()
v3 = torch.tensor(1.0, dtype=torch.float32, requires_grad=True)
v2[2::3] = v3
v5 = F.binary_cross_entropy(torch.sigmoid(v0), torch.sigmoid(v2))
v5.backward(torch.tensor(1.0))
