# all/any of a uint8 tensor are uint8 in torch (its legacy), not bool.
import torch
v0 = torch.tensor([[1, 2], [0, 3]], dtype=torch.uint8)
v1 = v0.all()
v2 = v0.any(0)
v3 = torch.tensor([1, 0]).all()
