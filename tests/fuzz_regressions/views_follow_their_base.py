# A view made before its base (or another view of it) was written in place kept its old history:
# its gradient missed the write (torch derives a view's history again from its base's).
import torch
v0 = torch.ones(4, requires_grad=True)
v1 = v0 * 1
v2 = v1[0:2]
v3 = v1[1:3]
v3.mul_(3)
(v2 * 1).sum().backward()
# ---
v0 = torch.ones(4, requires_grad=True)
v1 = v0 * 1
v2 = v1[0:2]
v1.mul_(2)
(v2 * 1).sum().backward()
# ---
v0 = torch.tensor([1.0, 2.0, 3.0])
v1 = v0.narrow(0, 0, 2)
v1.add_(torch.tensor([1.0, 1.0], requires_grad=True))
v2 = v0 * 2
