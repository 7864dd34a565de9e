"""The lock an engine holds on its data directory, so two engines never share one.

Two engines on one directory would hand out the same keys and overwrite each other's rows. The engine
takes an exclusive ``flock`` on ``engine.lock`` inside the directory for as long as it runs; the kernel
drops it when the process ends, however it ends, so a killed engine leaves no stale lock behind. ``flock``
belongs to the open file, so a second engine in the same process is refused too.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path
from typing import Self

__all__ = ["LOCK_FILE", "DataDirectoryError", "DataDirectoryInUse", "DataDirectoryLock"]

LOCK_FILE = "engine.lock"


class DataDirectoryError(OSError):
    """The data directory, or the lock file in it, cannot be created or opened."""


class DataDirectoryInUse(DataDirectoryError):
    """Another engine holds the data directory's lock."""


class DataDirectoryLock:
    """An exclusive lock on a data directory: ``acquire()`` or raise, ``release()`` (safe twice)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> Self:
        """Take the lock; raises DataDirectoryInUse when another engine holds it, DataDirectoryError when the
        directory or the lock file cannot be made."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise DataDirectoryError(f"cannot create the lock file {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_holder(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EACCES):
                raise DataDirectoryInUse(
                    f"the data directory {self.path.parent} is in use by another engine{holder}"
                ) from None
            raise DataDirectoryError(f"cannot lock {self.path}: {exc.strerror}") from exc
        # The holder's pid, for the message a second engine prints; the lock itself is the flock.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return f" (pid {text})" if text.isdigit() else ""
