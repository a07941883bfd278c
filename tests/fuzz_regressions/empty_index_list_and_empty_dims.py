# x[[]] raised (numpy's empty list is float); softmax, logsumexp and min over empty dims raised
# numpy's ValueError (torch: empty results, -inf, and its own errors).
import torch
v0 = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
v1 = v0[[]]
v2 = v0[:, []]
v3 = torch.zeros(2, 0).softmax(1)
v4 = torch.zeros(2, 0).logsumexp(1)
v5 = torch.zeros(2, 0).min(0)
v6 = torch.zeros(2, 0).amax(0)
v7 = torch.zeros(0, 3)[:, [1, 0]]
# ---
v0 = torch.zeros(2, 0).min(1)
# ---
v0 = torch.zeros(0).max()
# ---
v0 = torch.zeros(2, 0).amin(1)
# ---
v0 = torch.zeros(0).argmax()
