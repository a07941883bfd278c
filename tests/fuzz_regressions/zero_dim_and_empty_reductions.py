# 0-d and empty inputs: cumsum of a 0-d tensor was 1-d; softmax and logsumexp over an empty dim
# raised numpy's ValueError (torch: an empty result, and -inf).
import torch
v0 = torch.tensor(1.5, requires_grad=True)
v1 = torch.cumsum(v0, 0)
v2 = torch.softmax(v0, 0)
v3 = torch.log_softmax(v0, -1)
v4 = torch.zeros(2, 0).softmax(1)
v5 = torch.zeros(2, 0).log_softmax(0)
v6 = torch.zeros(2, 0).logsumexp(1)
v7 = torch.tensor(3).cumsum(0)
(v1 + v2 + v3).backward()
