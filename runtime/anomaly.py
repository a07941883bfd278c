"""Anomaly mode's state and reports: ground floor, read by nodes and the engine.

The mode itself (torch.autograd.detect_anomaly, set_detect_anomaly, recording each node's forward
stack) is gradspec.autograd.anomaly_mode; this module holds what the core reads: whether the mode
is on, the node whose backward is running, and the warning that names a failing node's forward call.
"""

from __future__ import annotations

import threading
import traceback
import warnings


class _AnomalyState(threading.local):
    """Anomaly mode, per thread as grad mode (torch's is process-wide: docs/decisions.md); set by
    gradspec.autograd.anomaly_mode."""

    enabled = False
    check_nan = True
    current_node = None  # the node whose backward is running, when anomaly mode is on


ANOMALY = _AnomalyState()


class AnomalyRecord:
    """What a node remembers of its creation: the forward stack and the node whose backward was
    running at the time (for nodes made by a backward with create_graph=True)."""

    __slots__ = ("stack", "parent")

    def __init__(self, stack, parent):
        self.stack = stack
        self.parent = parent


def version_hint() -> str:
    """The end of torch's "modified by an inplace operation" message: with anomaly mode on, the
    warning printed before the error already shows the forward call of the failing node."""
    if ANOMALY.enabled:
        return ("Hint: the backtrace further above shows the operation that failed to compute its gradient. "
                "The variable in question was changed in there or anywhere later. Good luck!")
    return ("Hint: enable anomaly detection to find the operation that failed to compute its gradient, "
            "with torch.autograd.set_detect_anomaly(True).")


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
