"""torch.nn: modules, layers, losses, Parameter, init and utils."""

from . import functional, init, parallel, utils
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from .parallel import DataParallel
from .parameter import Buffer, Parameter

__all__ = ["functional", "init", "parallel", "utils", "DataParallel", "Parameter", "Buffer", *_modules_all]
