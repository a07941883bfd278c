# sign(nan) was nan (torch: 0) and sign(bool) raised (torch: the bool itself).
import torch
v0 = torch.sign(torch.tensor([float('nan'), -0.0, 1.0, -2.0, float('-inf')]))
v1 = torch.sign(torch.tensor([True, False]))
v2 = torch.sign(torch.tensor([-3, 0, 4], dtype=torch.int8))
