# matmul of two dtypes was computed in numpy's promoted dtype; torch's dot, mv, mm and bmm each
# refuse it in their own words, and none is built for bool.
import torch
v0 = torch.tensor([[1, 2], [3, 4]]) @ torch.tensor([[1.0, 2.0], [3.0, 4.0]])
# ---
v0 = torch.tensor([1.0, 2.0]) @ torch.tensor([1, 2])
# ---
v0 = torch.tensor([[1.0, 2.0], [3.0, 4.0]]) @ torch.tensor([1, 2])
# ---
v0 = torch.ones(2, 2, 2) @ torch.ones(2, 2, 2, dtype=torch.float64)
# ---
v0 = torch.mm(torch.ones(2, 2, dtype=torch.int8), torch.ones(2, 2, dtype=torch.int16))
# ---
v0 = torch.ones(2, 2, dtype=torch.bool) @ torch.ones(2, 2, dtype=torch.bool)
# ---
v0 = torch.dot(torch.ones(2), torch.ones(2, dtype=torch.float64))
# ---
v0 = torch.ones(2, 3, dtype=torch.int32) @ torch.ones(3, dtype=torch.int32)
