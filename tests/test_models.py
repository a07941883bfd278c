"""gradspec.models.resnet18: torchvision's architecture, names, initialisation; seed 002's fine-tuning recipe."""

import hashlib

import numpy as np
import pytest

import gradspec as rt
from gradspec import nn, optim
from gradspec.models import ResNet18_Weights, resnet18, resnet34, resnet50
from gradspec.nn import functional as F
from conftest import DEVICES

needs_conv = pytest.mark.skipif(not all(hasattr(F, n) for n in ("conv2d", "batch_norm", "max_pool2d",
                                                                  "adaptive_avg_pool2d")),
                                reason="gradspec.nn.functional lacks the convolution ops (issue 4)")

# print(torchvision.models.resnet18()) under torchvision 0.28
TORCHVISION_RESNET18_REPR = """ResNet(
  (conv1): Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)
  (bn1): BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
  (relu): ReLU(inplace=True)
  (maxpool): MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)
  (layer1): Sequential(
    (0): BasicBlock(
      (conv1): Conv2d(64, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn1): BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
      (relu): ReLU(inplace=True)
      (conv2): Conv2d(64, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn2): BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    )
    (1): BasicBlock(
      (conv1): Conv2d(64, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn1): BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
      (relu): ReLU(inplace=True)
      (conv2): Conv2d(64, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn2): BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    )
  )
  (layer2): Sequential(
    (0): BasicBlock(
      (conv1): Conv2d(64, 128, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)
      (bn1): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
      (relu): ReLU(inplace=True)
      (conv2): Conv2d(128, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn2): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
      (downsample): Sequential(
        (0): Conv2d(64, 128, kernel_size=(1, 1), stride=(2, 2), bias=False)
        (1): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
      )
    )
    (1): BasicBlock(
      (conv1): Conv2d(128, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn1): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
      (relu): ReLU(inplace=True)
      (conv2): Conv2d(128, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn2): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    )
  )
  (layer3): Sequential(
    (0): BasicBlock(
      (conv1): Conv2d(128, 256, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)
      (bn1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
      (relu): ReLU(inplace=True)
      (conv2): Conv2d(256, 256, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn2): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
      (downsample): Sequential(
        (0): Conv2d(128, 256, kernel_size=(1, 1), stride=(2, 2), bias=False)
        (1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
      )
    )
    (1): BasicBlock(
      (conv1): Conv2d(256, 256, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
      (relu): ReLU(inplace=True)
      (conv2): Conv2d(256, 256, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn2): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    )
  )
  (layer4): Sequential(
    (0): BasicBlock(
      (conv1): Conv2d(256, 512, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)
      (bn1): BatchNorm2d(512, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
      (relu): ReLU(inplace=True)
      (conv2): Conv2d(512, 512, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn2): BatchNorm2d(512, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
      (downsample): Sequential(
        (0): Conv2d(256, 512, kernel_size=(1, 1), stride=(2, 2), bias=False)
        (1): BatchNorm2d(512, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
      )
    )
    (1): BasicBlock(
      (conv1): Conv2d(512, 512, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn1): BatchNorm2d(512, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
      (relu): ReLU(inplace=True)
      (conv2): Conv2d(512, 512, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn2): BatchNorm2d(512, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    )
  )
  (avgpool): AdaptiveAvgPool2d(output_size=(1, 1))
  (fc): Linear(in_features=512, out_features=1000, bias=True)
)"""

# sha256 over (key, bytes) of torchvision.models.resnet18().state_dict() right after torch.manual_seed(0)
TORCHVISION_RESNET18_SEED0_SHA256 = "31c7602f43fb64ce98a024d3c589367bd38ee241f60cd25ea800ff808d0dbf96"


@pytest.fixture
def no_random_init(monkeypatch):
    """Build the architecture only: skip the (slow, emulated) random draws of the initialisation."""
    monkeypatch.setattr(nn.init, "_uniform", lambda tensor, a, b, generator: tensor)
    monkeypatch.setattr(nn.init, "_normal", lambda tensor, mean, std, generator: tensor)


def test_resnet18_prints_as_torchvision(no_random_init):
    assert repr(resnet18()) == TORCHVISION_RESNET18_REPR


def test_resnet18_initial_weights_are_torchvisions_bit_for_bit():
    rt.manual_seed(0)
    digest = hashlib.sha256()
    for key, value in resnet18().state_dict().items():
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(value.numpy()).tobytes())
    assert digest.hexdigest() == TORCHVISION_RESNET18_SEED0_SHA256


def test_parameter_counts_match_torchvision(no_random_init):
    counts = {"resnet18": 11689512, "resnet34": 21797672, "resnet50": 25557032}
    for build in (resnet18, resnet34, resnet50):
        assert sum(p.numel() for p in build().parameters()) == counts[build.__name__]
    model = resnet18(num_classes=10)
    assert model.fc.out_features == 10 and len(model.state_dict()) == 122


def test_pretrained_weights_are_not_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(RuntimeError, match=f"not bundled .* resnet18-f37072fd.pth .* in {tmp_path}/hub/checkpoints/"):
        resnet18(weights=ResNet18_Weights.DEFAULT)
    with pytest.raises(ValueError, match="'num_classes' expected value 1000 but got 10"):
        resnet18(weights="IMAGENET1K_V1", num_classes=10)


def _torch_resnet18(torch):
    """torchvision's ResNet-18, written out (torchvision itself need not be installed)."""
    tnn = torch.nn

    class Block(tnn.Module):
        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(planes)
            self.relu = tnn.ReLU(inplace=True)
            self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x):
            out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    def layer(inplanes, planes, stride):
        down = None
        if stride != 1 or inplanes != planes:
            down = tnn.Sequential(tnn.Conv2d(inplanes, planes, 1, stride, bias=False), tnn.BatchNorm2d(planes))
        return tnn.Sequential(Block(inplanes, planes, stride, down), Block(planes, planes))

    class Net(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = tnn.BatchNorm2d(64)
            self.relu = tnn.ReLU(inplace=True)
            self.maxpool = tnn.MaxPool2d(3, 2, 1)
            self.layer1, self.layer2 = layer(64, 64, 1), layer(64, 128, 2)
            self.layer3, self.layer4 = layer(128, 256, 2), layer(256, 512, 2)
            self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
            self.fc = tnn.Linear(512, 1000)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.avgpool(self.layer4(self.layer3(self.layer2(self.layer1(x)))))
            return self.fc(torch.flatten(x, 1))

    return Net()


def _host(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()


@needs_conv
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_forward_and_gradients_match_torch(mode, device):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = _torch_resnet18(torch)
    ours = resnet18()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: rt.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    ours.to(device)
    getattr(ours, mode)(), getattr(theirs, mode)()
    x = np.random.default_rng(0).random((2, 3, 48, 48), dtype=np.float32)
    out, ref = ours(rt.tensor(x, device=device)), theirs(torch.tensor(x))
    np.testing.assert_allclose(_host(out), ref.detach().numpy(), rtol=1e-4, atol=1e-4)
    out.sum().backward()
    ref.sum().backward()
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        scale = float(np.abs(q.grad.numpy()).max())
        assert p.grad.device.type == device, name
        np.testing.assert_allclose(_host(p.grad), q.grad.numpy(), rtol=1e-3, atol=1e-4 * scale, err_msg=name)
    for (name, b), (_, c) in zip(ours.named_buffers(), theirs.named_buffers()):
        np.testing.assert_allclose(_host(b), c.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)


@needs_conv
@pytest.mark.parametrize("device", DEVICES)
def test_seed_002_training_step(device):
    """Seed 002, first half: a forward pass, a loss, backward, and an SGD step over every parameter."""
    model = resnet18().to(device)
    data = rt.rand(1, 3, 64, 64, device=device)
    labels = rt.rand(1, 1000, device=device)
    prediction = model(data)
    assert prediction.shape == rt.Size([1, 1000])
    loss = (prediction - labels).sum()
    loss.backward()
    assert loss.grad_fn.name() == "SumBackward0"
    assert all(p.grad is not None for p in model.parameters())
    optim_ = optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    before = _host(model.conv1.weight).copy()
    optim_.step()
    assert not np.array_equal(_host(model.conv1.weight), before)


@needs_conv
def test_seed_002_fine_tuning_recipe_changes_only_fc():
    """Seed 002, second half, verbatim: freeze everything, replace fc, SGD over all parameters."""
    model1 = resnet18()

    # Freeze all the parameters in the network
    for param in model1.parameters():
        param.requires_grad = False

    model1.fc = nn.Linear(512, 10)

    # Optimize only the classifier
    optimizer = optim.SGD(model1.parameters(), lr=1e-2, momentum=0.9)

    before = {name: p.detach().numpy().copy() for name, p in model1.named_parameters()}
    data = rt.rand(2, 3, 64, 64)
    loss = rt.nn.functional.cross_entropy(model1(data), rt.tensor([3, 7]))
    loss.backward()
    optimizer.step()
    changed = sorted(name for name, p in model1.named_parameters() if not np.array_equal(p.detach().numpy(), before[name]))
    assert changed == ["fc.bias", "fc.weight"]
    assert [name for name, p in model1.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]
    assert all(p.grad is None for name, p in model1.named_parameters() if not name.startswith("fc."))


@needs_conv
def test_frozen_backbone_state_dict_roundtrip(tmp_path):
    model = resnet18(num_classes=10)
    model.eval()
    x = rt.rand(1, 3, 32, 32)
    with rt.no_grad():
        expected = model(x).numpy()
    rt.save(model.state_dict(), tmp_path / "resnet.ckpt")
    fresh = resnet18(num_classes=10)
    fresh.load_state_dict(rt.load(tmp_path / "resnet.ckpt"))
    fresh.eval()
    with rt.no_grad():
        np.testing.assert_allclose(fresh(x).numpy(), expected, rtol=1e-6, atol=1e-6)
