# In-place on detach() rewired the original: x.grad was [0, 0] instead of [1, 1], and the
# detached tensor started requiring grad.
import torch
v0 = torch.tensor([1.0, -2.0], requires_grad=True)
v1 = v0 * 1
v2 = v1.detach()
v2.relu_()
v1.sum().backward()
# ---
v0 = torch.tensor([[1.0], [1.0], [1.0]], requires_grad=True)
v1 = v0.clone()
v1.detach().zero_()
v1.sum().backward()
