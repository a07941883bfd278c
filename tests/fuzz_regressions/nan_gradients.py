# Gradients at NaN follow torch's formulas: abs'(nan) = sgn(nan) = 0; max()/min() send the
# gradient to the NaN elements; elu, relu and hardtanh take their positive branch; amax is NaN
# everywhere; prod is the exact product of the others where the input has a zero.
import torch
import torch.nn.functional as F
v0 = torch.tensor([1.0, float('nan'), -2.0, 0.0], requires_grad=True)
v1 = torch.abs(v0).sum() + v0.max() + v0.min() + F.elu(v0).sum() + F.relu(v0).sum() + F.hardtanh(v0).sum()
v1.backward()
# ---
v0 = torch.tensor([1.0, float('nan'), -2.0, 0.0], requires_grad=True)
v1 = v0.amax(0)
v1.backward()
# ---
v0 = torch.tensor([[1.0, float('nan')], [-2.0, 0.5]], requires_grad=True)
v1 = v0.amin(1).sum()
v1.backward()
# ---
v0 = torch.tensor([1.0, float('nan'), -2.0, 0.0], requires_grad=True)
v1 = v0.prod()
v1.backward()
# ---
v0 = torch.tensor([[float('nan'), 0.0, 2.0], [3.0, 0.0, 0.0]], requires_grad=True)
v1 = v0.prod(1).sum()
v1.backward()
# ---
v0 = torch.tensor([float('nan'), float('nan'), 2.0], requires_grad=True)
v1 = v0.max()
v1.backward()
# ---
v0 = torch.tensor([1.0, float('nan'), -2.0, 0.0], requires_grad=True)
v1 = torch.tensor([0.0, 0.0, 0.0, 0.0], requires_grad=True)
v2 = (torch.maximum(v0, v1) + torch.minimum(v0, v1)).sum()
v2.backward()
