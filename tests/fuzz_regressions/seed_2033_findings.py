# found by `make fuzz` (seed 2033, programs 17074, 22269, 25757, 30098): index tensors saved for
# backward (index, index_put) are version-checked as torch's SavedVariables are (they were saved
# as arrays sharing the tensors' memory: a write since moved the gradient silently); a node that
# no gradient reaches still checks its saved tensors, as torch runs it; torch's batched matmul
# returns an empty product in its second operand's dtype without comparing dtypes; a tensor exponent of
# 0.5 is pow's (inf at -inf, 0 at -0.0), not numpy's sqrt.
import torch
import torch.nn.functional as F
v1 = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float32, requires_grad=True)
v2 = torch.tensor([True, False, True], dtype=torch.bool)
v3 = v1[v2]
v4 = v2.narrow(0, 0, 1)
v4.zero_()
v5 = v3.sum()
v5.backward()
# ---
v1 = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float32, requires_grad=True)
v2 = torch.tensor([0, 2])
v3 = v1[v2]
v2.zero_()
v5 = v3.sum()
v5.backward()
# ---
v1 = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float32, requires_grad=True)
v2 = torch.tensor([True, False, True], dtype=torch.bool)
v3 = v1[v2]
v4 = v2.narrow(0, 0, 1)
v4.zero_()
v6 = v3.norm(0, dim=-1)
v6.backward(torch.tensor(1.0))
# ---
v0 = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
v1 = v0 * 1
v2 = torch.tensor([1, 0])
v1[v2] = torch.tensor([5.0, 6.0])
v2.add_(0)
v3 = v1.sum()
v3.backward()
# ---
v3 = torch.zeros((1, 0), dtype=torch.float32)
v4 = torch.zeros((1, 0, 2), dtype=torch.float64)
v5 = v3 @ v4
v6 = torch.zeros((2, 0, 3), dtype=torch.float32) @ torch.zeros((2, 3, 2), dtype=torch.float64)
# ---
v2 = torch.tensor([[float('inf'), 1.0, -0.0], [1.0, 4.0, 1.0], [float('-inf'), 1.0, 1.0]], dtype=torch.float32)
v3 = torch.tensor(0.5, dtype=torch.float32)
v4 = v2 ** v3
v5 = v2 ** torch.tensor([0.5, 2.0, 0.5])
