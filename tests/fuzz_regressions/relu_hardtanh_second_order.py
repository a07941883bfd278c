# Under create_graph the gradient through relu or hardtanh had no grad_fn, so a second derivative
# raised; torch's depends on the output (threshold_backward), and the second derivative is zeros.
import torch
import torch.nn.functional as F
v0 = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
g1 = torch.autograd.grad(F.relu(v0).sum(), [v0], create_graph=True)
g2 = torch.autograd.grad(g1[0].sum(), [v0])
g3 = torch.autograd.grad(F.hardtanh(v0).sum(), [v0], create_graph=True)
g4 = torch.autograd.grad(g3[0].sum(), [v0])
g5 = torch.autograd.grad(F.relu6(v0 * 4).sum(), [v0], create_graph=True)
g5[0].sum().backward()
