"""ResNet (He et al., 2015) with torchvision's architecture, module names and initialisation.

`resnet18()` builds the same modules in the same order as `torchvision.models.resnet18()`, so
state_dict keys, shapes and `print(model)` match torchvision's, and after `manual_seed(s)` the
initial weights are torchvision's bit for bit (each Conv2d draws its default init when built,
then every conv is redrawn with kaiming_normal_(mode="fan_out"), as torchvision does).

Pretrained weights are not bundled and nothing is downloaded. `weights=ResNet18_Weights.DEFAULT`
(torchvision's spelling) uses torchvision's weights file when the user has it in torch's hub
cache, where torchvision keeps it (see `_Weights`); else it raises, saying where to put the file.
Any torch weights file also loads directly: `model.load_state_dict(gradspec.load(path))`
(gradspec.load reads torch's formats without running pickle code).

The residual sum is computed out of place (`out = out + identity`; torchvision writes
`out += identity`): the values are the same.
"""

from __future__ import annotations

import enum
import hashlib
import os

from .. import nn
from ..serialization import load

__all__ = ["ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50", "ResNet18_Weights",
           "ResNet34_Weights", "ResNet50_Weights"]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, groups=groups, bias=False,
                     dilation=dilation)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample=None, groups: int = 1,
                 base_width: int = 64, dilation: int = 1, norm_layer=None) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample=None, groups: int = 1,
                 base_width: int = 64, dilation: int = 1, norm_layer=None) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, block, layers: list, num_classes: int = 1000, zero_init_residual: bool = False,
                 groups: int = 1, width_per_group: int = 64, replace_stride_with_dilation=None,
                 norm_layer=None) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self._norm_layer = norm_layer
        self.inplanes = 64
        self.dilation = 1
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError("replace_stride_with_dilation should be None or a 3-element tuple, got "
                             f"{replace_stride_with_dilation}")
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2, dilate=replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2, dilate=replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2, dilate=replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock) and m.bn2.weight is not None:
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1, dilate: bool = False) -> nn.Sequential:
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       norm_layer(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width, previous_dilation,
                        norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups, base_width=self.base_width,
                                dilation=self.dilation, norm_layer=norm_layer))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.avgpool(x)
        x = x.flatten(1)
        return self.fc(x)


# torchvision's file names (download.pytorch.org/models/<name>); the hex part is the start of the
# file's sha256, which torchvision checks on loading, and so does _Weights.get_state_dict.
WEIGHT_FILES = {
    ("ResNet18_Weights", "IMAGENET1K_V1"): "resnet18-f37072fd.pth",
    ("ResNet34_Weights", "IMAGENET1K_V1"): "resnet34-b627a593.pth",
    ("ResNet50_Weights", "IMAGENET1K_V1"): "resnet50-0676ba61.pth",
    ("ResNet50_Weights", "IMAGENET1K_V2"): "resnet50-11ad3fa6.pth",
}


def hub_checkpoints() -> str:
    """torch.hub's folder for downloaded weights: $TORCH_HOME/hub/checkpoints, TORCH_HOME defaulting to
    $XDG_CACHE_HOME/torch (XDG_CACHE_HOME to ~/.cache), as torch.hub.get_dir() finds it."""
    cache = os.environ.get("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache"))
    return os.path.join(os.path.expanduser(os.environ.get("TORCH_HOME", os.path.join(cache, "torch"))), "hub",
                        "checkpoints")


class _Weights(enum.Enum):
    """torchvision's pretrained weights, by name. None are bundled, and none are downloaded: the
    weights come from torchvision's own file when it is in torch's hub cache (hub_checkpoints()),
    checked against the hash in its name, and read by gradspec.load."""

    @property
    def file_name(self) -> str:
        return WEIGHT_FILES[(type(self).__name__, self.name)]

    @property
    def url(self) -> str:
        return f"https://download.pytorch.org/models/{self.file_name}"

    def get_state_dict(self, progress: bool = True, check_hash: bool = True):
        path = os.path.join(hub_checkpoints(), self.file_name)
        if not os.path.isfile(path):
            raise RuntimeError(f"{type(self).__name__}.{self.name}: pretrained weights are not bundled with gradspec "
                               f"and are never downloaded. Put torchvision's file {self.file_name} (from {self.url}, or "
                               f"torchvision's cache) in {hub_checkpoints()}/, or build the model without weights and "
                               "load converted weights with model.load_state_dict(gradspec.load(path)).")
        if check_hash:
            expected = self.file_name.rsplit("-", 1)[1].split(".")[0]
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            if not digest.startswith(expected):
                raise RuntimeError(f'{path}: invalid hash value (expected "{expected}", got "{digest}"): the file is '
                                   "damaged or not torchvision's")
        return load(path, map_location="cpu")


class ResNet18_Weights(_Weights):  # noqa: N801 - torchvision's name
    IMAGENET1K_V1 = "IMAGENET1K_V1"
    DEFAULT = "IMAGENET1K_V1"


class ResNet34_Weights(_Weights):  # noqa: N801
    IMAGENET1K_V1 = "IMAGENET1K_V1"
    DEFAULT = "IMAGENET1K_V1"


class ResNet50_Weights(_Weights):  # noqa: N801
    IMAGENET1K_V1 = "IMAGENET1K_V1"
    IMAGENET1K_V2 = "IMAGENET1K_V2"
    DEFAULT = "IMAGENET1K_V2"


def _resnet(name: str, block, layers: list, weights, progress: bool, **kwargs) -> ResNet:
    state = None
    if weights is not None:
        if kwargs.setdefault("num_classes", 1000) != 1000:
            raise ValueError(f"The parameter 'num_classes' expected value 1000 but got {kwargs['num_classes']} "
                             "instead.")
        state = weights.get_state_dict(progress=progress, check_hash=True)
    model = ResNet(block, layers, **kwargs)
    if state is not None:
        model.load_state_dict(state)
    return model


def _verify(enum_class, weights):
    """torchvision's Weights.verify: a member, its name as a string, or None."""
    if weights is None or isinstance(weights, enum_class):
        return weights
    if isinstance(weights, str) and weights in enum_class.__members__:
        return enum_class[weights]
    raise TypeError(f"weights must be a {enum_class.__name__} (or its name), not {weights!r}")


def resnet18(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-18: BasicBlock x [2, 2, 2, 2], 11.7M parameters (num_classes=1000 by default)."""
    return _resnet("resnet18", BasicBlock, [2, 2, 2, 2], _verify(ResNet18_Weights, weights), progress, **kwargs)


def resnet34(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-34: BasicBlock x [3, 4, 6, 3]."""
    return _resnet("resnet34", BasicBlock, [3, 4, 6, 3], _verify(ResNet34_Weights, weights), progress, **kwargs)


def resnet50(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-50: Bottleneck x [3, 4, 6, 3]."""
    return _resnet("resnet50", Bottleneck, [3, 4, 6, 3], _verify(ResNet50_Weights, weights), progress, **kwargs)
