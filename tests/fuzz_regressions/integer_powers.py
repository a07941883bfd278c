# numpy refuses integers to negative integer powers; torch gives 1 for base 1, +-1 for base -1,
# 0 otherwise, and refuses only a negative Python int exponent.
import torch
v0 = torch.tensor([0, 2, -2, 1, -1])
v1 = v0 ** torch.tensor(-1)
v2 = v0 ** torch.tensor([-1, -2, -3, -1, -2])
v3 = 2 ** torch.tensor([-1, 2])
v4 = torch.pow(-1, torch.tensor([-1, -2]))
v5 = v0 ** torch.tensor([True, False, True, True, False])
# ---
v0 = torch.tensor([0, 2]) ** -1
