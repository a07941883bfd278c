# found by `make fuzz` (seed 2028, programs 36555, 43929; seed 2029, programs 9012, 11669, 25682):
# x ** -0.5 is torch's rsqrt (NaN for -inf and -inf for -0.0, where pow gives 0 and inf);
# index_add's out-of-range index is an IndexError along a middle dim (torch's loop over slices)
# and a RuntimeError along the first or last (its scatter); matmul checks shapes before it refuses
# bool (dot compares differing dtypes first); elu of a zero is that zero (its sign kept, whatever
# alpha's).
import torch
import torch.nn.functional as F
v1 = torch.tensor([float('-inf'), -0.0, 0.0, 4.0, float('inf'), -1.0], dtype=torch.float32)
v2 = v1 ** -0.5
v3 = v1.double() ** -0.5
v4 = torch.tensor([4, 1]) ** -0.5
# ---
v1 = torch.ones(2, 2, 4)
v8 = torch.tensor([0, 1, -1], dtype=torch.int64)
v9 = torch.ones(2, 3, 4)
v10 = v1.index_add(-2, v8, v9)
# ---
v1 = torch.ones(2, 3, 4)
v10 = v1.index_add(0, torch.tensor([2]), torch.ones(1, 3, 4))
# ---
v1 = torch.ones(2, 3, 4)
v10 = v1.index_add(2, torch.tensor([4]), torch.ones(2, 3, 1))
# ---
v1 = torch.ones(2, 3, 4, 5)
v10 = v1.index_add(2, torch.tensor([-1]), torch.ones(2, 3, 1, 5))
# ---
v2 = torch.ones((3, 2), dtype=torch.bool)
v3 = torch.zeros((3, 3), dtype=torch.bool)
v4 = v2 @ v3
# ---
v2 = torch.ones((3,), dtype=torch.bool)
v4 = v2 @ torch.ones((4,), dtype=torch.bool)
# ---
v2 = torch.ones((3,), dtype=torch.float32)
v4 = v2 @ torch.ones((4,), dtype=torch.float64)
# ---
v2 = torch.ones((2, 2, 3), dtype=torch.bool)
v4 = v2 @ torch.ones((4,), dtype=torch.bool)
# ---
v6 = torch.tensor([[[1.0], [0.0]], [[-0.0], [-1.0]]], dtype=torch.float32)
v7 = F.elu(v6, alpha=-0.5)
v8 = v7.rsqrt()
