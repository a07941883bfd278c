"""torchvision.utils: images are not written by the corpus (see the package docstring)."""

import math

import torch


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False, pad_value=0.0):
    """torchvision's grid of a batch of images, (B, C, H, W) -> (3, rows, columns), padded as it pads
    (normalize is not done: the corpus only shows the grid)."""
    if tensor.dim() == 3:
        tensor = tensor.unsqueeze(0)
    if tensor.size(1) == 1:
        tensor = torch.cat((tensor, tensor, tensor), 1)
    count = tensor.size(0)
    across = min(nrow, count)
    down = int(math.ceil(count / across))
    height, width = tensor.size(2) + padding, tensor.size(3) + padding
    grid = tensor.new_full((tensor.size(1), height * down + padding, width * across + padding), pad_value)
    for k in range(count):
        y, x = divmod(k, across)
        grid.narrow(1, y * height + padding, height - padding).narrow(2, x * width + padding,
                                                                      width - padding).copy_(tensor[k])
    return grid


def save_image(tensor, fp, *args, **kwargs):
    """Nothing is written: the corpus compares what scripts print."""
