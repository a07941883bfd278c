# setitem with duplicate indices summed when a graph was recorded and took the last value
# otherwise; torch takes the last value either way, and sends the gradient to every duplicate.
import torch
v0 = torch.zeros(4)
v0[[1, 1]] = torch.tensor([7.0, 8.0])
v1 = torch.tensor([7.0, 8.0], requires_grad=True)
v2 = torch.zeros(4, requires_grad=True)
v3 = v2 * 1
v3[[1, 1, 3]] = torch.cat([v1, v1[:1]])
(v3 * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
# ---
v0 = torch.zeros(2, 3, dtype=torch.int64)
v0[torch.tensor([0])] = torch.tensor([1.0, 2.0, 3.0])
