# dim=0/-1 reductions on 0-d tensors raised, while invalid dims (max(dim=1) on a 0-d tensor) were
# accepted; backward of max(x, 0), min(x, 0), scatter and cumsum on 0-d tensors raised.
import torch
v0 = torch.tensor(2.0, requires_grad=True)
v1 = v0.sum(0) + v0.sum(-1) + v0.mean([0]) + v0.amax(0) + v0.logsumexp(0) + v0.prod(0) + v0.norm(dim=0)
v2 = v0.max(0)
v3 = v0.min(-1, keepdim=True)
v4 = v0.scatter(0, torch.tensor(0), 1.0) + v0.cumsum(0) + v0.softmax(0)
(v1 + v2.values + v3.values + v4).backward()
v5 = v0.argmax(0)
v6 = v0.flip(0)
v7 = v0.transpose(0, -1)
v8 = v0.movedim(0, 0)
# ---
v0 = torch.tensor(1.0).max(1)
# ---
v0 = torch.tensor(1.0).sum(1)
# ---
v0 = torch.tensor(1.0).squeeze(-2)
# ---
v0 = torch.tensor(1.0).roll(1, 0)
# ---
v0 = torch.tensor(1.0).unbind(0)
# ---
v0 = torch.tensor(1.0).split(1)
# ---
v0 = torch.tensor(1.0).narrow(0, 0, 1)
