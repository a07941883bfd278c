"""torchvision.utils: images are not written by the corpus (see the package docstring)."""


def make_grid(tensor, *args, **kwargs):
    return tensor


def save_image(tensor, fp, *args, **kwargs):
    """Nothing is written: the corpus compares what scripts print."""
