"""The memory of one data directory: opens the database safely and wires the stores together."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import duckdb

from engine.errors import DataDirError
from engine.memory.data_lock import DataDirLock
from engine.memory.db import Database
from engine.memory.embeddings import Embedder, shared_message_embedder
from engine.memory.migrations import apply_migrations
from engine.memory.timeline import Timeline

log = logging.getLogger(__name__)

DB_NAME = "llmos.duckdb"


class MemoryStore:
    """Recall, archival and core memory, agents and the timeline of one data directory.

    Holds the directory's lock for its lifetime; close it (or use ``with``) to let another
    llmos in. The embedding model is loaded on first use unless one is passed in.
    """

    def __init__(self, data_dir: Path, db: Database, lock: DataDirLock, embedder: Embedder | None) -> None:
        from engine.memory.agents import AgentStore
        from engine.memory.archival import ArchivalStore
        from engine.memory.core import CoreMemory
        from engine.memory.hybrid import HybridRetriever
        from engine.memory.message_vectors import MessageVectors
        from engine.memory.message_views import MessageViews
        from engine.memory.recall import RecallStore

        self.data_dir, self.db, self._lock = data_dir, db, lock
        self._embedder, self._embedder_lock = embedder, threading.Lock()
        self.timeline = Timeline(db)
        self.recall = RecallStore(db, self.timeline)
        self.core = CoreMemory(db, self.timeline)
        self.agents = AgentStore(db, self.core)
        index_dir = data_dir / "index"
        index_dir.mkdir(exist_ok=True)
        self.archival = ArchivalStore(db, index_dir, self.embedder, self.timeline)
        self.message_vectors = MessageVectors(db, index_dir, self.message_embedder)
        self.message_views = MessageViews(db, index_dir, self.embedder)
        self.retriever = HybridRetriever(self.recall, self.message_vectors, self.archival, self.embedder,
                                         self.message_views, self.message_embedder)

    @classmethod
    def open(cls, data_dir: Path, embedder: Embedder | None = None) -> "MemoryStore":
        data_dir = Path(data_dir)
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataDirError(f"cannot create the data directory {data_dir}: {exc.strerror}") from exc
        lock = DataDirLock(data_dir).acquire()
        try:
            db = _connect(data_dir / DB_NAME)
            return cls(data_dir, db, lock, embedder)
        except BaseException:
            lock.release()
            raise

    def embedder(self) -> Embedder:
        """The embedding model, loaded on first call (it takes a second or two)."""
        with self._embedder_lock:
            if self._embedder is None:
                self._embedder = Embedder()
            return self._embedder

    def message_embedder(self) -> Embedder:
        """The larger model a message's own vector comes from (shared by every store in the process)."""
        return shared_message_embedder()

    def embed_pending(self, seconds: float | None = None) -> int:
        """Embed messages stored since the last upkeep, then their views; return how many messages.
        ``seconds`` bounds the catching up of an old backlog of message vectors."""
        done = self.message_vectors.embed_pending(seconds=seconds)
        self.message_views.embed_pending()
        self.message_views.redo_context(seconds=seconds)
        return done

    def close(self) -> None:
        self.recall.fts.wait()
        self.db.close()
        self._lock.release()

    def __enter__(self) -> "MemoryStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _refuse_cut_short(db: Database, path: Path) -> None:
    """Raise when the file is shorter than the blocks in use that its header lists (a copy cut
    off, a full disk): DuckDB opens such a file and fails only when a query reaches a missing
    block, which may be mid-turn. A block in use was written, so a whole file always holds them
    all (free blocks at its end may be missing after a crash, and are not counted). With a
    write-ahead log still to replay, the check waits for the next open."""
    if path.with_name(path.name + ".wal").exists():
        return
    row = db.cursor().execute(
        "SELECT block_size, used_blocks FROM pragma_database_size() WHERE database_name = current_database()"
    ).fetchone()
    block_size, used = row or (0, 0)
    if path.stat().st_size < block_size * used:
        db.close()
        raise duckdb.IOException(f"the file is {path.stat().st_size} bytes, shorter than the {used} blocks "
                                 f"of {block_size} bytes it uses: it was cut short")


def _connect(path: Path) -> Database:
    """Open and migrate; a file DuckDB cannot read is reported, never overwritten."""
    try:
        db = Database.connect(path)
        _refuse_cut_short(db, path)
        apply_migrations(db.cursor())
        return db
    except duckdb.Error as exc:
        backup = path.with_name(path.name + ".broken")
        raise DataDirError(
            f"the memory database {path} cannot be opened ({str(exc).splitlines()[0][:160]}); it was "
            f"left untouched: move it aside (e.g. to {backup}) to start fresh, or restore a backup") from exc
