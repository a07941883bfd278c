# |, &, ^ and ~ on integer tensors were logical (bool results); torch's are bitwise, and refuse floats.
import torch
v0 = torch.tensor([1, -3, 6])
v1 = torch.tensor([0, 1, 3])
v2 = torch.bitwise_or(v0, v1)
v3 = torch.bitwise_and(v0, v1)
v4 = torch.bitwise_xor(v0, v1)
v5 = torch.bitwise_not(v0)
v6 = torch.bitwise_and(torch.tensor([True, False]), 2)
v7 = torch.bitwise_xor(torch.tensor([True, False]), True)
v8 = torch.bitwise_or(v0.to(torch.uint8), torch.tensor(2, dtype=torch.uint8))
# ---
v0 = torch.bitwise_and(torch.tensor([1.0]), torch.tensor([1]))
# ---
v0 = torch.bitwise_not(torch.tensor([1.0]))
# ---
v0 = torch.bitwise_or(torch.tensor([1]), 2.5)
# ---
v0 = torch.tensor([1, -3, 6])
v1 = v0 | torch.tensor([0, 1, 3])
v2 = v0 & 5
v3 = 6 ^ v0
v4 = ~v0
v5 = ~torch.tensor([True, False])
v6 = torch.tensor([True]) | 2
v7 = torch.tensor(3, dtype=torch.uint8) ^ 1
# ---
v0 = ~torch.tensor([1.0])
# ---
v0 = torch.tensor([1.0]) | torch.tensor([1])
