# found by `make fuzz` (seed 2031, programs 17394, 28518): a hook may be registered on a view whose
# base came to require grad after the view was taken (torch's view requires grad then); autograd.grad
# computes only the gradients that lead to its inputs, as torch's engine does, so a node's failing
# formula for an input nobody asked for (index_add's source, through an empty dim) is not run.
import torch
import torch.nn.functional as F
v2 = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float32)
v3 = v2.reshape([2, 2])
v2.requires_grad_()
h4 = v3.register_hook(lambda g: None if g is None else -g)
v5 = (v3 * 3).sum()
v5.backward()
v6 = (v2 * 1).sum()
v6.backward()
# ---
v6 = torch.zeros((3, 0), dtype=torch.float32, requires_grad=True)
v7 = torch.tensor([6, 0], dtype=torch.int64)
v8 = torch.tensor([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]], dtype=torch.float32, requires_grad=True)
v9 = v6.index_add(1, v7, v8)
g13 = torch.autograd.grad(v9, [v6], grad_outputs=torch.zeros((3, 0)), allow_unused=True)
v10 = v6.index_add(1, v7, v8)
v10.backward(torch.zeros((3, 0)), inputs=[v6])
