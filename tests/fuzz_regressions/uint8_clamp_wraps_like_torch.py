# uint8.clamp(-1, 1) raised numpy's OverflowError; torch converts -1 to the uint8 255 (C++'s wrap).
import torch
v0 = torch.tensor([0, 200], dtype=torch.uint8)
v1 = v0.clamp(-1, 1)
v2 = v0.clamp(-1)
v3 = v0.clamp_min(-1)
