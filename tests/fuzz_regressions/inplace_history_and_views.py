# found by `make fuzz` (seed 2027, programs 11471, 12600, 12944, 22503, 36224, 48278; seed 2028,
# program 2437): a write through a view whose base needed no gradient could run its graph twice
# (torch's CopySlices drops its function after one run); retain_grad stayed with the node a tensor
# had before an in-place op (torch moves it to the new one); autograd.grad's expanded results (sum's
# gradient) were no views, where torch's are views made with grad mode off, refusing a recorded
# in-place write; a clone of an expanded tensor had numpy's order-K layout, whose memory could not
# be aliased for a write through an expand of it (torch's clone lays it out row-major); cat of 1-d
# empty tensors only checked a dim it never uses; a zero slice step was refused before torch counts
# the indices.
import torch
import torch.nn.functional as F
v8 = torch.tensor([1.0, 1.0], dtype=torch.float32)
v9 = v8.clone()
v10 = torch.tensor(1.0, dtype=torch.float32, requires_grad=True)
v9[0:-3] = v10
g11 = torch.autograd.grad(v9.sum(), [v10], allow_unused=True)
g15 = torch.autograd.grad(v9, [v10], grad_outputs=torch.ones(2), allow_unused=True, create_graph=True)
# ---
v8 = torch.tensor([1.0, 1.0], dtype=torch.float32)
v9 = v8.clone()
v10 = torch.tensor(1.0, dtype=torch.float32, requires_grad=True)
v9[0:1] = v10
g11 = torch.autograd.grad(v9.sum(), [v10], allow_unused=True)
g12 = torch.autograd.grad(v9.sum(), [v10], allow_unused=True)
# ---
v1 = torch.tensor([[1.0, 1.0, 1.0, 1.0], [float('-inf'), 1.0, 1.0, 1.0]], dtype=torch.float32, requires_grad=True)
v2 = v1.clamp_max(1.0)
v2.retain_grad()
v2.mul_(-2.0)
v4 = F.relu(v2)
v4.sum().backward(retain_graph=True)
# ---
v0 = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
v1 = v0 * 1
v1.retain_grad()
v1[0:2].mul_(5)
v2 = v1[1:]
v2.retain_grad()
v1.mul_(2)
h3 = v1.register_hook(lambda g: g * 3)
v1.add_(1)
(v2 * 7).sum().backward()
# ---
v2 = torch.tensor([1.0], dtype=torch.float32, requires_grad=True)
g5 = torch.autograd.grad(v2.sum(), [v2], allow_unused=True)
v6 = g5[0][None]
v7 = torch.tensor(1.0, dtype=torch.float32, requires_grad=True)
v6.mul_(v7)
# ---
v2 = torch.tensor([1.0, 2.0], dtype=torch.float32, requires_grad=True)
g5 = torch.autograd.grad((v2 * 3).sum(), [v2])
v7 = torch.tensor(1.0, dtype=torch.float32, requires_grad=True)
g5[0].mul_(v7)
# ---
v0 = torch.tensor([[1, -1, -3], [6, 1, 5], [4, -2, -1]], dtype=torch.int32)
v3 = v0.expand([2, 3, -1]).clone()
v3.expand(2, *(2, 3, 3))[0].masked_fill_(torch.tensor(True), 1.0)
v4 = torch.ones(2, 1, 4).expand(2, 3, 4).permute(1, 2, 0).clone()
v5 = v4.view(-1)
# ---
v2 = torch.zeros((0,), dtype=torch.float32, requires_grad=True)
v3 = torch.zeros((0,), dtype=torch.int64)
v4 = torch.cat([v2, v3], -2)
v4.sum().backward()
# ---
v1 = torch.tensor([1.0, 1.0], dtype=torch.float64)
v2 = v1[:1:0, -2:]
# ---
v1 = torch.ones(3, 4)
v2 = v1[:4:0, [-1, -4, -2], :0:3]
# ---
v1 = torch.ones(3, 4)
v2 = v1[::0, 1]
# ---
# (seed 2028, programs 8520, 20561, 37423) a view taken before its base came to require grad is
# an input autograd.grad takes; an in-place op on a view saves the view with its history derived
# from the base's (torch's SavedVariable for an in-place op on a view), so that a double backward
# reaches the view and its base; masked_fill_ through an expanded tensor writes NaN nowhere the
# mask leaves alone
v0 = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float32)
v1 = v0[-3]
v0.requires_grad_()
g8 = torch.autograd.grad(v0.sum(), [v1, v0], allow_unused=True, create_graph=True)
# ---
v1 = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], dtype=torch.float32, requires_grad=True)
v2 = v1 + 0
v3 = v2[::2]
F.relu(v3, inplace=True)
g5 = torch.autograd.grad(v2, [v3, v1], grad_outputs=torch.ones(3, 3), allow_unused=True, create_graph=True)
g6 = torch.autograd.grad((g5[1] * g5[1]).sum(), [v3, v1], allow_unused=True)
# ---
v1 = torch.tensor([[0.5, 1.0, 1.5], [1.0, -1.0, 2.0], [0.3, 0.2, 0.1]], requires_grad=True)
v2 = v1 * 2
v3 = v2[::2]
v3.sigmoid_()
g5 = torch.autograd.grad(v2, [v3, v1, v2], grad_outputs=torch.ones(3, 3), allow_unused=True, create_graph=True)
g6 = torch.autograd.grad((g5[1] * g5[1]).sum(), [v3, v1, v2], allow_unused=True)
# ---
v0 = torch.tensor([[1.0, 1.0, 1.0], [1.0, float('inf'), 1.0], [1.0, float('nan'), 1.0]], dtype=torch.float32)
v2 = v0.expand(2, *(3, 3))
v3 = torch.tensor([[[False, False, False], [True, False, False], [True, True, True]], [[False, False, True], [True, True, True], [True, False, False]]], dtype=torch.bool)
v2.masked_fill_(v3, 1.0)
