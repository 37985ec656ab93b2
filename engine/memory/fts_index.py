"""The BM25 full-text index over messages, rebuilt now and then, never on the hot path.

DuckDB's fts index is a snapshot: rows inserted after ``PRAGMA create_fts_index`` are not in it.
``fts_state.covered_max_id`` records the highest message id the index holds, so searches can
score the few newer rows themselves and always see every message. Each rebuild also derives the
BM25 postings table and the per-agent statistics that searches read (see bm25.py).
"""

from __future__ import annotations

import logging
import threading

from engine.memory.bm25 import BUILD_POSTINGS, BUILD_STATS, FTS_SCHEMA
from engine.memory.db import Database

log = logging.getLogger(__name__)


class FtsIndex:
    """Builds the messages index and says how far it reaches."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._building = threading.Lock()
        self._thread: threading.Thread | None = None

    def rebuild(self) -> int:
        """Create or overwrite the index; returns the highest message id it now covers."""
        with self._building:
            cur = self.db.con.cursor()
            try:
                return _build(cur)
            finally:
                cur.close()

    def rebuild_in_background(self) -> bool:
        """Start a rebuild on a daemon thread; False if one is already running."""
        if not self._building.acquire(blocking=False):
            return False
        self._thread = threading.Thread(target=self._run_locked, name="fts-rebuild", daemon=True)
        self._thread.start()
        return True

    def wait(self, timeout: float | None = None) -> None:
        """Block until a background rebuild (if any) has finished; for shutdown and tests."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def exists(self) -> bool:
        return index_exists(self.db.cursor())

    def covered_max_id(self) -> int:
        row = self.db.cursor().execute(
            "SELECT covered_max_id FROM fts_state WHERE table_name = 'messages'").fetchone()
        return row[0] if row else 0

    def pending(self) -> int:
        """How many messages are newer than the index."""
        row = self.db.cursor().execute(
            "SELECT count(*) FROM messages WHERE id > ?", [self.covered_max_id()]).fetchone()
        return row[0]

    def needs_rebuild(self, threshold: int) -> bool:
        """True when at least ``threshold`` messages are outside the index (searches keep their
        terms in memory until a rebuild takes them in)."""
        return self.pending() >= threshold

    def _run_locked(self) -> None:
        cur = self.db.con.cursor()
        try:
            _build(cur)
        except Exception:
            log.exception("background fts rebuild failed; searches keep scanning newer rows")
        finally:
            cur.close()
            self._building.release()


def _build(cur) -> int:
    # One transaction, so covered_max_id matches exactly the rows the index and postings hold.
    cur.execute("BEGIN")
    try:
        max_id = build_index(cur)
        cur.execute("COMMIT")
    except BaseException:
        _rollback(cur)
        raise
    log.info("fts index rebuilt up to message %d", max_id)
    return max_id


def index_exists(cur) -> bool:
    """Whether the fts index (its schema) is there; every data folder has one since m008."""
    return cur.execute("SELECT count(*) FROM duckdb_schemas() WHERE schema_name = ?", [FTS_SCHEMA]).fetchone()[0] > 0


def build_index(cur) -> int:
    """The index, its postings and statistics, and how far they reach, inside the caller's
    transaction; returns the highest message id covered."""
    max_id = cur.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0]
    cur.execute("PRAGMA create_fts_index('messages', 'id', 'content', overwrite=1)")
    cur.execute(BUILD_POSTINGS)
    cur.execute(BUILD_STATS)
    cur.execute("UPDATE fts_state SET covered_max_id = ? WHERE table_name = 'messages'", [max_id])
    return max_id


def _rollback(cur) -> None:
    try:
        cur.execute("ROLLBACK")
    except Exception:  # the failed statement may already have ended the transaction
        log.debug("nothing to roll back")
