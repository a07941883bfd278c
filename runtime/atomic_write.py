"""Atomic file writes that survive SIGKILL, and the removal of the temp files killed writers left.

`write_atomically(path, chunks)` writes to a temp file beside the target, fsyncs it, renames it
over the target (os.replace) and fsyncs the folder: a crash at any point leaves either the old
file or the new one, never a mix. A writer killed before the rename leaves its temp file behind;
the next write into the same folder removes it.

Telling an orphan from a file another process is still writing: the writer holds an exclusive
flock on its temp file from the moment it exists until it is renamed. The kernel drops the locks
of a process that dies, SIGKILL included, so a temp file that no process holds a lock on is an
orphan; a live writer's file (in this process, another one, or on another host sharing the folder
over NFS, where Linux maps flock onto NFS locks) stays. Process ids are not used: they are reused,
and mean nothing across hosts or containers. One race remains to close: a cleaner may lock and
remove a temp file in the instant between its creation and its writer's flock. The writer
therefore checks, once it holds the lock, that its file still has a name (st_nlink > 0), and
starts over under a new name if not.

Only files named like ours (`.TARGET.gradspec-<16 hex>.tmp`) whose first bytes are one of the
caller's signatures (or a prefix of one: a writer killed early) are ever removed. Without fcntl
(Windows), orphans are not cleaned up.
"""

from __future__ import annotations

import errno
import os
import re
import stat

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = ["write_atomically", "remove_orphans"]

_TEMP_NAME = re.compile(r"\..+\.gradspec-[0-9a-f]{16}\.tmp")


def _temp_path(directory: str, base: str) -> str:
    return os.path.join(directory, f".{base}.gradspec-{os.urandom(8).hex()}.tmp")


def _open_locked(directory: str, base: str):
    """A new temp file, created and exclusively locked; (path, file object)."""
    while True:
        path = _temp_path(directory, base)
        handle = open(path, "xb")
        if fcntl is None:
            return path, handle
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            if os.fstat(handle.fileno()).st_nlink > 0:
                return path, handle
        except BaseException:
            handle.close()
            _unlink(path)
            raise
        handle.close()  # a cleaner removed it before we held the lock: take another name


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def remove_orphans(directory: str, signatures: tuple[bytes, ...]) -> list[str]:
    """Remove the temp files in `directory` that dead writers left; returns their paths.

    Best effort: a file that cannot be inspected or removed is left alone, and nothing here raises."""
    if fcntl is None:
        return []
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    for entry in entries:
        if not _TEMP_NAME.fullmatch(entry.name):
            continue
        try:
            if _remove_if_orphan(entry.path, signatures):
                removed.append(entry.path)
        except OSError:
            continue
    return removed


def _remove_if_orphan(path: str, signatures: tuple[bytes, ...]) -> bool:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live writer holds it
        head = os.pread(fd, max(len(s) for s in signatures), 0)
        if not any(s.startswith(head) or head.startswith(s) for s in signatures):
            return False  # not a file we wrote
        now = os.stat(path, follow_symlinks=False)
        if (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):
            return False  # the name now belongs to another file
        os.unlink(path)
        return True
    finally:
        os.close(fd)  # releases the lock


def write_atomically(path, chunks, signatures: tuple[bytes, ...]) -> None:
    """Write the byte chunks to `path` atomically; first remove orphaned temp files in its folder.

    `signatures`: the possible first bytes of the files written this way, which tells an orphan of
    ours from someone else's file that happens to be named like one. An OSError names `path`, never
    the temp file."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "cannot save over a folder", path)
    remove_orphans(directory, signatures)
    tmp = None
    try:
        tmp, out = _open_locked(directory, os.path.basename(path))
        with out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
            os.replace(tmp, path)  # while still locked, so that no cleaner takes it for an orphan
    except BaseException as error:
        if tmp is not None:
            _unlink(tmp)
        if isinstance(error, OSError) and error.errno is not None:
            raise OSError(error.errno, f"cannot save to '{path}': {error.strerror}") from None
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
