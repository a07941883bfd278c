# In-place on outputs of split/unbind/chunk was accepted; torch refuses it where it would be
# recorded (and when their base is written later and they are used), in its own words.
import torch
v0 = torch.tensor([1.0, 2.0, 3.0, 4.0])
v1 = v0.clone().split(2)[0]
v1.add_(1)
# ---
v0 = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
v1 = v0 * 1
v1.split(2)[0].add_(1)
# ---
v0 = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
v1 = v0 * 1
v1.unbind()[2].mul_(2)
# ---
v0 = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
v1 = v0 * 1
v1.chunk(2)[1][0:1].add_(1)
# ---
v0 = torch.tensor([1.0, 2.0, 3.0, 4.0])
v1 = v0.split(2)[1]
v1.add_(torch.tensor(1.0, requires_grad=True))
# ---
v0 = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
v1 = v0 * 1
v2 = v1.split(2)[0]
v1.add_(1)
v3 = v2 * 2
# ---
v0 = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
v1 = v0 * 1
with torch.no_grad(): v2 = v1[0:2]
v2.add_(1)
