"""torch functions and Tensor methods written over the spec's ops, with torch's Python signatures.

Each is declared in derivatives.yaml's composites section (`- composite: NAME`, with `variants:`)
and bound by gradspec.api as the function gradspec.NAME and/or the method Tensor.NAME. They add
no derivative of their own: the graph records the spec ops they call, as torch records its
composite ops (x.split() gives SliceBackward0 nodes, x.outer(y) a MulBackward0).
"""

from .arithmetic import *  # noqa: F401,F403
from .comparison import *  # noqa: F401,F403
from .conversions import *  # noqa: F401,F403
from .indexing import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .reductions import *  # noqa: F401,F403
from .sampling import *  # noqa: F401,F403
from .shapes import *  # noqa: F401,F403
