# found by `make fuzz` (seed 2032, programs 26595, 32527, 49566): float32 gelu(+inf) is inf for a
# lone element or a strided tensor (torch's scalar loop) and NaN where torch's vectorized loop runs
# (a contiguous tensor of two elements or more); matmul routes an N-D operand by a 1-D or 2-D one
# through mv or mm where torch folds it (the N-D one views as a matrix without a copy), else bmm,
# which refuses a bool self before comparing dtypes once the batches broadcast.
import torch
import torch.nn.functional as F
v3 = torch.tensor(float('inf'), dtype=torch.float32)
v4 = F.gelu(v3)
v5 = F.gelu(torch.tensor([float('inf')], dtype=torch.float32))
v6 = F.gelu(torch.tensor([float('inf'), 1.0, float('inf')], dtype=torch.float32))
v7 = F.gelu(torch.tensor([float('inf'), 1.0, float('inf'), 2.0], dtype=torch.float32)[::2])
# ---
v0 = torch.tensor([False], dtype=torch.bool)
v4 = torch.tensor([[[1.0]], [[1.0]]], dtype=torch.float32)
v5 = v0 @ v4
# ---
v0 = torch.tensor([False, True], dtype=torch.bool)
v4 = torch.ones((1, 2, 3), dtype=torch.float64)
v5 = v0 @ v4
# ---
v0 = torch.ones((3, 2, 2), dtype=torch.bool)
v5 = v0 @ torch.ones((2, 2, 1), dtype=torch.bool)
# ---
v0 = torch.ones((2, 1, 2), dtype=torch.bool)
v5 = v0 @ torch.ones((2,), dtype=torch.float64)
