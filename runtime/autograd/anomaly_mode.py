"""Anomaly mode: torch.autograd.detect_anomaly / set_detect_anomaly.

While it is on:

- every node created records the Python stack of the forward call that created it (and, for a
  node created while another node's backward runs, that node as its parent);
- an error raised while the engine runs a node is preceded by a warning naming the node and
  showing that stack ("Error detected in PowBackward0. Traceback of forward call that caused the
  error: ..."), then re-raised unchanged, with the same text added as a note;
- with `check_nan` (the default), a node whose backward returns NaN raises
  "Function 'PowBackward0' returned nan values in its 0th output.".

The mode is global, not per thread, as in torch. When it is off, creating a node costs one global
check (gradspec.node._on_node_created) and the engine reads the flag once per backward pass.
"""

from __future__ import annotations

import sys
import traceback
import warnings

from .. import node as _node

ANOMALY = _node.ANOMALY

ENABLED_WARNING = ("Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
                   "enabled for debugging.")


def is_anomaly_enabled() -> bool:
    return ANOMALY.enabled


def is_anomaly_check_nan_enabled() -> bool:
    return ANOMALY.check_nan


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """torch.set_anomaly_enabled: switch the mode without the warning."""
    enabled = bool(enabled)
    if enabled != ANOMALY.enabled:
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


class _AnomalyRecord:
    """What a node remembers of its creation: the forward stack and the node whose backward was
    running at the time (for nodes made by a backward with create_graph=True)."""

    __slots__ = ("stack", "parent")

    def __init__(self, stack, parent):
        self.stack = stack
        self.parent = parent


_NODE_INIT = _node.Node.__init__.__code__


def _record_forward_stack(node) -> None:
    """Creation listener, called from Node.__init__: the stack starts at __init__'s caller."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code is not _NODE_INIT:
        frame = frame.f_back
    frame = frame.f_back if frame is not None else sys._getframe(1)
    summary = traceback.StackSummary.extract(traceback.walk_stack(frame), lookup_lines=False)
    summary.reverse()
    try:
        node._anomaly = _AnomalyRecord(summary, ANOMALY.current_node)
    except AttributeError:  # a node class without the slot (none of ours)
        pass


def forward_trace(node) -> str | None:
    """The recorded forward stack of `node`, formatted as torch prints it, or None."""
    record = getattr(node, "_anomaly", None)
    if record is None:
        return None
    return "".join(traceback.format_list(record.stack))


def report_error(node, error: BaseException) -> None:
    """Before the engine re-raises `error` from `node`: warn with the forward stack, as torch.
    An error passing through nested backward passes is reported once, by the innermost."""
    if getattr(error, "_gradspec_anomaly_noted", False):
        return
    messages = []
    current = node
    trace = forward_trace(current)
    if trace is None:
        messages.append(f"Error detected in {current.name()}. No forward pass information available. Enable "
                        "detect anomaly during forward pass for more information.")
    else:
        messages.append(f"Error detected in {current.name()}. Traceback of forward call that caused the error:\n"
                        f"{trace}")
        record = getattr(current, "_anomaly", None)
        while record is not None and record.parent is not None:
            parent = record.parent
            parent_trace = forward_trace(parent)
            if parent_trace is None:
                messages.append(f"Error detected in {parent.name()}. No forward pass information available. "
                                "Enable detect anomaly during forward pass for more information.")
                break
            messages.append(f"\n\nPrevious calculation was induced by {parent.name()}. Traceback of forward call "
                            f"that induced the previous calculation:\n{parent_trace}")
            record = getattr(parent, "_anomaly", None)
    for message in messages:
        warnings.warn(message, UserWarning, stacklevel=4)
    if hasattr(error, "add_note"):  # Python 3.11+: the notes print with the traceback
        for message in messages:
            error.add_note(message.strip("\n"))
    try:
        error._gradspec_anomaly_noted = True
    except AttributeError:  # an exception type with __slots__
        pass


def nan_message(node, index: int) -> str:
    return f"Function '{node.name()}' returned nan values in its {index}th output."


__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
           "set_anomaly_enabled"]
