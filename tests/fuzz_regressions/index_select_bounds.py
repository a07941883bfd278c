# index_select wrapped negative indices (torch refuses them), and raised on 0-d inputs.
import torch
v0 = torch.tensor(1.5, requires_grad=True)
v1 = v0.index_select(0, torch.tensor([0]))
v2 = torch.index_select(v0, -1, torch.tensor(0))
(v1 + v2).backward()
# ---
v0 = torch.tensor([1.0, 2.0, 3.0]).index_select(0, torch.tensor([-1]))
# ---
v0 = torch.ones(2, 3).index_select(1, torch.tensor([-1]))
# ---
v0 = torch.tensor(1.0).index_select(-1, torch.tensor([0, 0]))
