# torch's kernels are compiled for some dtypes only: int or bool inputs to float-only ops were
# accepted (and computed in float64 or float16); torch refuses them, naming the kernel.
import torch
import torch.nn.functional as F
v0 = torch.tensor([[1, 2], [3, 4]])
v1 = torch.softmax(v0, 0)
# ---
v1 = torch.log_softmax(torch.tensor([1, 2]), 0)
# ---
v1 = F.gelu(torch.tensor([1, 2], dtype=torch.int8))
# ---
v1 = F.elu(torch.tensor([True, False]))
# ---
v1 = F.leaky_relu(torch.tensor([1, 2], dtype=torch.uint8))
# ---
v1 = F.silu(torch.tensor([1, 2], dtype=torch.int16))
# ---
v1 = F.softplus(torch.tensor([1, 2], dtype=torch.int32))
# ---
v1 = F.mse_loss(torch.tensor([1, 2]), torch.tensor([1, 3]))
# ---
v1 = F.smooth_l1_loss(torch.tensor([1, 2]), torch.tensor([1, 3]))
# ---
v1 = F.binary_cross_entropy_with_logits(torch.tensor([1, 2]), torch.tensor([1, 3]))
# ---
v1 = F.binary_cross_entropy_with_logits(torch.tensor([1.0, 2.0]), torch.tensor([1, 3]))
# ---
v1 = torch.tensor([1, 2]).var()
# ---
v1 = torch.tensor([1, 2]).std(0)
# ---
v1 = torch.tensor([1, 2]).norm()
# ---
v1 = torch.abs(torch.tensor([True, False]))
# ---
v1 = torch.relu(torch.tensor(True))
# ---
v1 = -torch.tensor([True, False])
# ---
v1 = torch.tensor([True, False]) - torch.tensor([True, True])
# ---
v1 = 1 - torch.tensor([True, False])
# ---
v1 = torch.tensor([1, 2]) - True
# ---
v1 = torch.tensor([True, False]).argmax()
# ---
v1 = torch.tensor([True, False]) ** torch.tensor([True, True])
