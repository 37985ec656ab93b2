"""One llmos per data directory: a second process gets a clear error, not a corrupt database."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from engine.errors import DataDirError, DataDirLockedError

LOCK_NAME = "llmos.lock"


class DataDirLock:
    """An exclusive advisory lock on ``data_dir/llmos.lock``, released by :meth:`release`
    or when the process dies (the kernel drops flock locks of dead processes)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> "DataDirLock":
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise DataDirError(f"cannot use the data directory {self.path.parent}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirLockedError(
                f"another llmos is already using {self.path.parent}; close it first or use --data-dir")
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
