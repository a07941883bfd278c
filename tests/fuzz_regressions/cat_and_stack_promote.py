# cat and stack gave float64 for int and float32 inputs (numpy's promotion); torch's is float32,
# and torch refuses 0-d inputs to cat.
import torch
v0 = torch.cat([torch.tensor([1, 2]), torch.tensor([1.5])])
v1 = torch.cat([torch.ones(2, dtype=torch.int32), torch.ones(2, dtype=torch.int8), torch.tensor([True])])
v2 = torch.stack([torch.ones(2), torch.ones(2, dtype=torch.int64)])
v3 = torch.cat([torch.ones(2), torch.zeros(0, dtype=torch.float64)])
# ---
v0 = torch.cat([torch.tensor(1.0), torch.tensor(2.0)])
# ---
v0 = torch.cat([torch.ones(2, 2), torch.zeros(2, 3)])
