# An integer tensor met a float number: numpy computes float64 (or keeps the integer dtype where
# torch promotes); torch's result dtype is float32, or the integer dtype where the number is int.
import torch
import torch.nn.functional as F
v0 = torch.tensor([0, 2, -3])
v1 = v0.clamp(max=0.5)
v2 = v0.clamp(min=1)
v3 = torch.tensor([0, 2], dtype=torch.int8).clamp_max(1.0)
v4 = torch.tensor([0, 2], dtype=torch.int8).clamp_min(True)
v5 = v0 ** 0.5
v6 = torch.tensor([True, False]) ** 2
v7 = 2 ** v0.abs()
v8 = 2.5 ** v0
v9 = 2.5 - v0
v10 = torch.logsumexp(v0, 0)
v11 = F.hardtanh(torch.tensor([1, 2, 5, -7]), -2.7, 3.9)
v12 = F.relu6(torch.tensor([1, -2, 9], dtype=torch.uint8))
v13 = F.mse_loss(torch.tensor([1.0, 2.0]), torch.tensor([1, 3]))
v14 = F.smooth_l1_loss(torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor([1.0, 3.0]))
v15 = torch.tensor([True, False]).clamp(0, 1)
v16 = torch.tensor([0, 2]).clamp(min=torch.tensor(1.5))
# ---
v0 = F.hardtanh(torch.tensor([True]))
# ---
v0 = F.hardtanh(torch.tensor([1, 2], dtype=torch.uint8))
# ---
v0 = torch.tensor([True]).clamp(min=True)
# ---
v0 = torch.tensor([250, 3], dtype=torch.uint8).clamp(max=300)
