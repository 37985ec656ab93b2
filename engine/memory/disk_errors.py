"""Disk trouble while writing memory (a full disk, a read-only or vanished directory) as one
clear :class:`DataDirError`, never a DuckDB or OS traceback.

DuckDB refuses a commit it cannot write to its log and leaves the database as it was before
that commit, so the message is simply not stored; the error says so and what to do.
"""

from __future__ import annotations

import errno
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from engine.errors import DataDirError

_FULL = ("No space left on device", "Disk quota exceeded")
_DENIED = ("Read-only file system", "Permission denied")


@contextmanager
def storage_errors(data_dir: Path) -> Iterator[None]:
    """Turn a failed write under ``data_dir`` into a :class:`DataDirError` naming the cause."""
    try:
        yield
    except duckdb.Error as exc:
        reason = _reason(str(exc))
        if reason is None:
            raise
        raise DataDirError(_message(data_dir, reason)) from exc
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
            raise
        raise DataDirError(_message(data_dir, exc.strerror or str(exc))) from exc


def _reason(text: str) -> str | None:
    for fragment in (*_FULL, *_DENIED):
        if fragment in text:
            return fragment
    return None


def _message(data_dir: Path, reason: str) -> str:
    if reason in _FULL or "space" in reason.lower() or "quota" in reason.lower():
        return (f"the disk holding {data_dir} is full ({reason}); what was being saved was not stored, "
                "everything saved before is intact: free some space and try again")
    return f"cannot write to {data_dir} ({reason}); what was being saved was not stored"
