"""Array kernels: the forward computation of spec entries that name a `kernel:`.

Each takes the entry's arguments in schema order, with Tensors as arrays (numpy or cupy),
and returns an array (or a tuple of arrays for several outputs). They implement torch's
semantics (dims, -1 sizes, error messages) on the array module; gradients are the spec's
business, not theirs. codegen reads the public functions of these modules as text.
"""

from .core import *  # noqa: F401,F403
from .indexing import *  # noqa: F401,F403
from .nn import *  # noqa: F401,F403
from .reductions import *  # noqa: F401,F403
