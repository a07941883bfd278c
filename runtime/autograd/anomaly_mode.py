"""Anomaly mode: torch.autograd.detect_anomaly / set_detect_anomaly.

While it is on:

- every node created records the Python stack of the forward call that created it (and, for a
  node created while another node's backward runs, that node as its parent);
- an error raised while the engine runs a node is preceded by a warning naming the node and
  showing that stack ("Error detected in PowBackward0. Traceback of forward call that caused the
  error: ..."), then re-raised unchanged, with the same text added as a note;
- with `check_nan` (the default), a node whose backward returns NaN raises
  "Function 'PowBackward0' returned nan values in its 0th output.".

The mode is per thread, as grad mode is (torch's is process-wide): a thread that turns it on
records and checks its own nodes and backward passes only. While no thread has it on, creating a
node costs one global check (gradspec.node._on_node_created) and the engine reads the thread's
flag once per backward pass. The
state, and the warning that names a failing node's forward call, are the ground floor's
gradspec.anomaly: the core reads them without importing this package.
"""

from __future__ import annotations

import sys
import threading
import traceback
import warnings

from .. import node as _node
from ..anomaly import ANOMALY, AnomalyRecord

ENABLED_WARNING = ("Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
                   "enabled for debugging.")


def is_anomaly_enabled() -> bool:
    return ANOMALY.enabled


def is_anomaly_check_nan_enabled() -> bool:
    return ANOMALY.check_nan


# how many threads have the mode on: the node-creation listener is installed while any has
_THREADS_ON = [0]
_LOCK = threading.Lock()


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """torch.set_anomaly_enabled: switch the mode (for this thread) without the warning."""
    enabled = bool(enabled)
    if enabled != ANOMALY.enabled:
        with _LOCK:
            _THREADS_ON[0] += 1 if enabled else -1
            if _THREADS_ON[0] == (1 if enabled else 0):
                _node.set_creation_listener(_record_forward_stack, enabled)
    ANOMALY.enabled = enabled
    ANOMALY.check_nan = bool(check_nan)


class detect_anomaly:  # noqa: N801 - torch's name
    """Context manager that turns anomaly detection on, warning that it is slow."""

    def __init__(self, check_nan: bool = True) -> None:
        self.prev = ANOMALY.enabled
        self.check_nan = check_nan
        self.prev_check_nan = ANOMALY.check_nan
        warnings.warn(ENABLED_WARNING, UserWarning, stacklevel=2)

    def __enter__(self) -> None:
        set_anomaly_enabled(True, self.check_nan)

    def __exit__(self, *exc) -> None:
        set_anomaly_enabled(self.prev, self.prev_check_nan)


class set_detect_anomaly:  # noqa: N801
    """Set anomaly detection on or off now; as a context manager, restore the previous mode on exit."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = ANOMALY.enabled
        self.prev_check_nan = ANOMALY.check_nan
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        set_anomaly_enabled(self.prev, self.prev_check_nan)


_NODE_INIT = _node.Node.__init__.__code__


def _record_forward_stack(node) -> None:
    """Creation listener, called from Node.__init__: the stack starts at __init__'s caller."""
    if not ANOMALY.enabled:  # another thread has the mode on, not this one
        return
    frame = sys._getframe(1)
    while frame is not None and frame.f_code is not _NODE_INIT:
        frame = frame.f_back
    frame = frame.f_back if frame is not None else sys._getframe(1)
    summary = traceback.StackSummary.extract(traceback.walk_stack(frame), lookup_lines=False)
    summary.reverse()
    try:
        node._anomaly = AnomalyRecord(summary, ANOMALY.current_node)
    except AttributeError:  # a node class without the slot (none of ours)
        pass


__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
           "set_anomaly_enabled"]
