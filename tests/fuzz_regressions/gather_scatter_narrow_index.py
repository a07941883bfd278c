# gather with an index narrower than the input returned [[3, 4]] where torch gives [[3]], and
# scatter_add's gradient for src was wrong; gather/scatter check bounds, ranks and dtypes as torch.
import torch
v0 = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
v1 = torch.gather(v0, 0, torch.tensor([[1]]))
v2 = torch.zeros(3, 4, requires_grad=True)
v3 = torch.arange(4.0).reshape(2, 2).requires_grad_()
v4 = v2.scatter_add(0, torch.tensor([[0, 1], [2, 0]]), v3)
(v1.sum() + (v4 * torch.arange(12.0).reshape(3, 4)).sum()).backward()
v5 = torch.tensor(2.0).gather(0, torch.tensor(0))
v6 = torch.tensor(2.0).scatter(0, torch.tensor([0]), 1.5)
# ---
v0 = torch.ones(2, 2).gather(0, torch.tensor([[2]]))
# ---
v0 = torch.ones(2, 2).gather(0, torch.tensor([[-1]]))
# ---
v0 = torch.ones(2, 2).scatter(0, torch.tensor([[1]]), torch.ones(1, 1, dtype=torch.float64))
# ---
v0 = torch.ones(2, 2).scatter_add(0, torch.tensor([[1, 0]]), torch.ones(1, 1))
# ---
v0 = torch.ones(2, 2).gather(0, torch.tensor([[1, 1, 1]]))
