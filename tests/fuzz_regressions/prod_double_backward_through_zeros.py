# prod's gradient where the input has zeros is the product of the others; under create_graph it
# raised NotImplementedError (a double backward through zeros) where torch differentiates it.
import torch
import torch.nn.functional as F
v0 = torch.tensor([[0.0, 2.0, 3.0], [4.0, 5.0, 0.5], [1.0, 2.0, 3.0]], requires_grad=True)
v1 = torch.autograd.grad(v0.prod(), v0, create_graph=True)[0]
v2 = (v1 * torch.arange(9.0).reshape(3, 3)).sum()
v2.backward()
# ---
v0 = torch.tensor([[0.0, 2.0, 3.0], [4.0, 0.0, 0.0], [1.0, 2.0, 3.0]], requires_grad=True)
v1 = torch.autograd.grad(v0.prod(1, keepdim=True).sum(), v0, create_graph=True)[0]
v2 = (v1 * torch.arange(9.0).reshape(3, 3)).sum()
v2.backward()
# ---
v0 = torch.tensor([[0.0, 2.0], [4.0, 5.0], [1.0, 0.0]], requires_grad=True)
v1 = torch.autograd.grad(v0.prod(0).sum(), v0, create_graph=True)[0]
v2 = (v1 * v1).sum()
v2.backward()
