"""Embeddings of recall messages (by the message model), filled in after a turn rather than while the user waits.

Vectors are stored in ``messages.embedding`` and mirrored in their own index file, so the
recall index can be rebuilt from the table like the archival one.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

import numpy as np

from engine.memory.db import Database, rollback
from engine.memory.embedding_models import MESSAGE
from engine.memory.embeddings import Embedder
from engine.memory.stored_index import StoredIndex
from engine.memory.vector_index import Progress, VectorIndex

log = logging.getLogger(__name__)

INDEX_FILE = "recall.hnsw"
EMBEDDED = "embedding IS NOT NULL"


def embed_text(content: str, name: str | None, created_at) -> str:
    """What is embedded for a message: who said it and on what day, then the text, so that
    questions naming a time land near messages from then. (A query's speaker names are left out
    of its vector, engine/memory/hybrid.py: the speaker bonus prefers that person's turns.)"""
    day = f"{created_at:%d %B %Y}" if created_at is not None else ""
    who = f"{name} " if name else ""
    return f"{who}({day}): {content}" if (who or day) else content


class MessageVectors:
    """Embeds messages that lack a vector and searches them by meaning, per agent."""

    def __init__(self, db: Database, index_dir: Path, embedder_provider: Callable[[], Embedder]) -> None:
        self.db = db
        self._embedder = embedder_provider
        self._stored = StoredIndex(db, Path(index_dir) / INDEX_FILE, "messages", EMBEDDED, MESSAGE)

    def index(self, progress: Progress | None = None) -> VectorIndex:
        """The index, loaded or rebuilt from stored embeddings on first use."""
        return self._stored.get(progress)

    def embed_pending(self, batch: int = 64, seconds: float | None = None) -> int:
        """Embed messages without a vector, newest first, ``batch`` at a time; return how many were done.

        With ``seconds``, stop after the batch that uses up that time: a long backlog (a data
        directory from before the message model changed) is caught up over several upkeeps
        instead of holding up the next turn.
        """
        index, done, started = self.index(), 0, time.monotonic()
        while rows := self.db.cursor().execute(
                "SELECT id, content, name, created_at FROM messages WHERE embedding IS NULL ORDER BY id DESC LIMIT ?",
                [batch]).fetchall():
            vectors = self._embedder().embed([embed_text(r[1], r[2], r[3]) for r in rows])
            self._store(rows, vectors)
            index.add([r[0] for r in rows], vectors)
            done += len(rows)
            if seconds is not None and time.monotonic() - started >= seconds:
                break
        if done:
            index.save()
            log.info("embedded %d messages", done)
        return done

    def _store(self, rows: list[tuple], vectors: np.ndarray) -> None:
        cur = self.db.cursor()
        cur.execute("BEGIN")
        try:
            for row, vec in zip(rows, vectors):
                id_ = row[0]
                cur.execute("UPDATE messages SET embedding = ? WHERE id = ?", [vec.tolist(), id_])
            cur.execute("COMMIT")
        except Exception:
            rollback(cur)
            raise

    def search(self, agent_id: int, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The agent's ``k`` embedded messages nearest ``query_vector``, as (message id, similarity)."""
        index = self.index()
        ids = {r[0] for r in self.db.cursor().execute(
            f"SELECT id FROM messages WHERE agent_id = ? AND {EMBEDDED}", [agent_id]).fetchall()}
        allowed = None if len(ids) == index.count else ids.__contains__
        return index.search(query_vector, k, allowed, len(ids))
