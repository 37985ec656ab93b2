"""The DuckDB connection shared by the memory stores, with one cursor per thread.

A DuckDB connection object must not be used from two threads at once; cursors made from it
share the same database and see each other's commits, so each thread gets its own.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
from pathlib import Path

import duckdb

from engine.resources import fts_extension_file

log = logging.getLogger(__name__)


def fts_extension_path() -> Path:
    """The fts extension shipped in the ``duckdb_extension_fts`` wheel or the bundle (never downloaded)."""
    return fts_extension_file(duckdb.__version__)


def skip_pandas_probe() -> None:
    """Make DuckDB's per-parameter ``import pandas`` attempt instant where pandas is absent.

    The Python client tries the import for every bound parameter (to accept DataFrames); a
    failed import walks all of sys.path each time, about a fifth of a millisecond, which was a
    fifth of a text search. Recording pandas as absent in ``sys.modules`` changes nothing else:
    the import still fails and ``importlib.util.find_spec`` still answers None.
    """
    if "pandas" not in sys.modules and importlib.util.find_spec("pandas") is None:
        sys.modules["pandas"] = None  # type: ignore[assignment]


class Database:
    """Owns the connection; hands each thread its own cursor."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path) -> None:
        self.con = con
        self.path = path
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._lock = threading.Lock()

    @classmethod
    def connect(cls, path: Path) -> "Database":
        skip_pandas_probe()
        con = duckdb.connect(str(path), config={"autoinstall_known_extensions": "false"})
        con.execute(f"LOAD '{fts_extension_path()}'")
        return cls(con, path)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self.con.cursor()
            self._local.cursor = cur
            with self._lock:
                self._cursors.append(cur)
        return cur

    def close(self) -> None:
        with self._lock:
            for cur in self._cursors:
                cur.close()
            self._cursors.clear()
        self.con.close()


def rollback(cur: duckdb.DuckDBPyConnection) -> None:
    """Roll back after a failed write; a commit that failed (a full disk) has already ended it."""
    try:
        cur.execute("ROLLBACK")
    except duckdb.TransactionException:
        pass
