# In-place on a 0-d element view was lost (numpy returns a copy for an all-int index), and with a
# graph it raised an IndexError with a garbage index (positions from memory addresses).
import torch
v0 = torch.tensor([1.0, 2.0])
v0[0].add_(1.5)
v0.select(0, 1).mul_(10)
v1 = torch.tensor([1.0, 2.0, 3.0]).clone()
v2 = v1.unbind()[0]
v2.neg_()
# ---
v0 = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
v1 = v0 * 1
v1[0].mul_(3)
v1.select(0, 2).add_(v0[1])
v1.sum().backward()
# ---
v0 = torch.tensor(2.0, requires_grad=True)
v1 = v0 * 1
v1.view(-1).div_(4.0)
v1.transpose(0, -1).neg_()
v2 = v1.expand(2)[0]
v2.sigmoid_()
v1.backward()
