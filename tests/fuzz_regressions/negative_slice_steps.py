# Negative slice steps were accepted (numpy reverses); torch refuses them.
import torch
v0 = torch.tensor([1.0, 2.0, 3.0])[::-1]
# ---
v0 = torch.tensor([1.0, 2.0, 3.0])
v0[::-1] = 1.0
# ---
v0 = torch.tensor(1.0)[::0]
