# Comparisons ran in numpy's promoted dtype (uint8 < -3 was False; torch compares in the common
# dtype, where -3 is 253); in-place and out= writes refused int64 into uint8 and uint8 *= -2
# (numpy's same_kind casting; torch's canCast allows integers of any width); var with no degree
# of freedom left gave a finite gradient (torch: inf, NaN where the input equals its mean); roll
# and binary_cross_entropy checked in another order.
import torch
import torch.nn.functional as F
v0 = torch.tensor([250, 1], dtype=torch.uint8)
v1 = (v0 < torch.tensor(-3), v0 == torch.tensor(-6), v0 >= torch.tensor(300))
# ---
v0 = torch.tensor([1, 200], dtype=torch.uint8)
v0 += torch.tensor([3, 100])
v0.mul_(-2)
v1 = torch.add(torch.tensor([1, 2]), torch.tensor([3, 4]), out=torch.zeros(2, dtype=torch.uint8))
# ---
v0 = torch.tensor([1, 2], dtype=torch.uint8)
v0 += torch.tensor([0.5, 1.5])
# ---
v0 = torch.tensor(2.0, requires_grad=True)
v1 = v0.var()
v1.backward()
# ---
v0 = torch.tensor([3.0], requires_grad=True)
v1 = torch.var(v0, correction=2)
v1.backward()
# ---
v0 = torch.zeros(0, 3)
v1 = torch.roll(v0, [1, 2], [0, 1])
v2 = torch.roll(v0, [1], [0, 1])
# ---
v0 = torch.tensor([0.5, 0.2])
v1 = F.binary_cross_entropy(v0, torch.tensor([1, 0, 1]))
