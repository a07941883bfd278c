# In-place on a slice of an expand() view raised (numpy's broadcast views are read-only); torch
# writes through it, refuses a write where elements share memory (fill_, zero_ and masked_fill_
# excepted), and writes a masked_fill_ only where its mask is set.
import torch
v0 = torch.tensor([1.0, 2.0, 3.0])
v1 = v0 * 1
v1.expand(2, 3)[0].add_(1)
v2 = v0.clone()
v2.expand(2, 3).fill_(5)
v3 = v0.clone()
v3.expand(2, 3).masked_fill_(torch.tensor([[True, False, False], [False, False, True]]), -1.0)
# ---
v0 = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
v1 = v0 * 1
v1.expand(2, 3)[1].mul_(4)
v1.sum().backward()
# ---
v0 = torch.tensor([1.0, 2.0, 3.0])
v0.expand(2, 3).add_(1)
# ---
v0 = torch.arange(4.0)
v0.add_(v0[0])
