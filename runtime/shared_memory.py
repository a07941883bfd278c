"""Shared memory for tensors (Tensor.share_memory_, torch.multiprocessing).

A shared tensor's array lives in a segment: an anonymous in-memory file (memfd) mapped with
mmap, so that a child process given the file descriptor maps the same pages and writes one
process makes are seen by the others, as with torch's shared storages (its "file_descriptor"
strategy). No name is created anywhere (nothing to leak when a process dies): the memory goes
when the last process holding the descriptor or a mapping lets go. Fork-started children
inherit the mappings themselves; spawn-started ones receive the descriptor through
gradspec.multiprocessing's pickling (multiprocessing.reduction.DupFd).
"""

from __future__ import annotations

import mmap
import os
import tempfile
import weakref

import numpy as np

_SEGMENTS: dict[int, tuple[weakref.ref, int]] = {}  # id(segment bytes) -> (its weak ref, its descriptor)


def _forget(key: int, fd: int) -> None:
    _SEGMENTS.pop(key, None)
    os.close(fd)


def map_segment(fd: int, nbytes: int) -> np.ndarray:
    """The segment of file descriptor `fd` (owned from here on) as an array of `nbytes` bytes."""
    whole = np.frombuffer(mmap.mmap(fd, max(nbytes, 1)), np.uint8, count=nbytes)  # (mmap has no empty maps)
    _SEGMENTS[id(whole)] = (weakref.ref(whole), fd)
    weakref.finalize(whole, _forget, id(whole), fd)
    return whole


def new_segment(nbytes: int) -> np.ndarray:
    """A fresh zero-filled segment of `nbytes` bytes."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("gradspec-shared", os.MFD_CLOEXEC)
    else:  # an unlinked temporary file where the system has no memfd (macOS)
        with tempfile.TemporaryFile() as handle:
            fd = os.dup(handle.fileno())
    os.ftruncate(fd, max(nbytes, 1))
    return map_segment(fd, nbytes)


def segment_of(array) -> tuple[np.ndarray, int] | None:
    """(segment bytes, descriptor) of the segment `array` lies in, or None if it is not shared."""
    base = array
    while isinstance(getattr(base, "base", None), np.ndarray):
        base = base.base
    entry = _SEGMENTS.get(id(base))
    if entry is None or entry[0]() is not base:
        return None
    return base, entry[1]


def shared_copy(array: np.ndarray) -> np.ndarray:
    """`array`'s values in a new segment, C-ordered."""
    whole = new_segment(array.nbytes)
    shared = whole.view(array.dtype).reshape(array.shape)
    shared[...] = array
    return shared


def byte_offset(array: np.ndarray, whole: np.ndarray) -> int:
    """Where `array`'s first element lies in its segment, in bytes."""
    return array.__array_interface__["data"][0] - whole.__array_interface__["data"][0]
