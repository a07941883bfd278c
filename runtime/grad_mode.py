"""Gradient mode: whether ops record the graph. Thread-local, as in torch."""

from __future__ import annotations

import functools
import threading


class _State(threading.local):
    enabled = True
    # An op computing an in-place write into an integral tensor that requires grad (as a fill_ from
    # one that does leaves it): torch rebases its history, where an out-of-place op refuses it
    integral_in_place = False


STATE = _State()


def is_grad_enabled() -> bool:
    return STATE.enabled


class set_grad_enabled:  # noqa: N801 - torch's name; a function, context manager and decorator
    """Set grad mode now; as a context manager, restore the previous mode on exit."""

    def __init__(self, mode: bool):
        self.previous = STATE.enabled
        self.mode = bool(mode)
        STATE.enabled = self.mode

    def __enter__(self):
        return None

    def __exit__(self, *exc) -> None:
        STATE.enabled = self.previous

    def __call__(self, fn):
        mode = self.mode
        STATE.enabled = self.previous  # used as a decorator: decorating changes nothing now

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class _Mode:
    """Base of no_grad / enable_grad: a context manager and decorator (`@no_grad()` or `@no_grad`)."""

    mode = True

    def __new__(cls, function=None):
        mode = super().__new__(cls)
        return mode(function) if callable(function) else mode

    def __init__(self, function=None):
        pass

    def __enter__(self):
        self.previous = STATE.enabled
        STATE.enabled = self.mode

    def __exit__(self, *exc) -> None:
        STATE.enabled = self.previous

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_Mode):  # noqa: N801
    mode = False


class enable_grad(_Mode):  # noqa: N801
    mode = True
