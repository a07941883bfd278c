# found by `make fuzz` (seed 2035, programs 983, 28774, 49433): an in-place op that saved the
# tensor it writes as another argument (v.mul_(v)'s other, through an element view too) keeps its
# version, so backward refuses it as torch's does; cumsum checks its dim before its dtype; prod
# over every element with two zeros has a zero gradient everywhere (torch's shortcut outside
# create_graph), even beside NaN and inf.
import torch
import torch.nn.functional as F
v0 = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float32, requires_grad=True)
v4 = v0 * 1
v5 = v4[0]
v5.mul_(v5)
v7 = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float32)
g8 = torch.autograd.grad(v4, [v0], grad_outputs=v7.clone(), allow_unused=True)
# ---
v0 = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float32, requires_grad=True)
v1 = v0 * 2
v1.mul_(v1)
v1.sum().backward()
# ---
v4 = torch.tensor([-4, 2], dtype=torch.int64)
v8 = torch.cumsum(v4, -2, dtype=torch.bool)
# ---
v3 = torch.tensor([[0.0, 1.0, float('inf')], [1.0, float('nan'), 0.0]], dtype=torch.float32, requires_grad=True)
v4 = v3.prod(dtype=torch.float32)
v4.backward()
# ---
v3 = torch.tensor([[0.0, 1.0, 2.0], [1.0, 3.0, 0.0]], dtype=torch.float32, requires_grad=True)
v4 = v3.prod()
g5 = torch.autograd.grad(v4, [v3], create_graph=True)
g6 = torch.autograd.grad(g5[0].sum(), [v3])
