"""Archival memory: passages with their embeddings in DuckDB, searched through a vector index.

Embeddings are stored with each row so the index (a cache on disk) can always be rebuilt
without running the model again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from engine.crash_points import crash_point
from engine.errors import InputError, NotFoundError
from engine.memory.db import Database, rollback
from engine.memory.embeddings import Embedder, content_hash
from engine.memory.timeline import ARCHIVAL_INSERT, SEARCH, Timeline
from engine.memory.stored_index import StoredIndex
from engine.memory.types import Hit, Page, Passage
from engine.memory.vector_index import Progress, VectorIndex

log = logging.getLogger(__name__)

INDEX_FILE = "archival.hnsw"
BATCH = 64


class ArchivalStore:
    """Insert, search, dedupe and delete passages; one index covers every agent's passages."""

    def __init__(self, db: Database, index_dir: Path, embedder_provider: Callable[[], Embedder],
                 timeline: Timeline) -> None:
        self.db, self.timeline = db, timeline
        self._embedder = embedder_provider
        self._stored = StoredIndex(db, Path(index_dir) / INDEX_FILE, "archival_passages")

    def index(self, progress: Progress | None = None) -> VectorIndex:
        """The index, loaded or rebuilt on first use."""
        return self._stored.get(progress)

    def insert(self, agent_id: int, text: str, source: str | None = None,
               created_at: datetime | None = None) -> Passage:
        return self._insert_batch(agent_id, [text], source, created_at)[0]

    def insert_many(self, agent_id: int, texts: Sequence[str], source: str | None = None,
                    progress: Progress | None = None) -> list[Passage]:
        """Insert many passages, embedding in batches; the index is saved once at the end."""
        out: list[Passage] = []
        for start in range(0, len(texts), BATCH):
            out.extend(self._insert_batch(agent_id, texts[start:start + BATCH], source, None, save=False))
            if progress:
                progress(len(out), len(texts))
        if out:
            self.index().save()
        return out

    def _insert_batch(self, agent_id: int, texts: Sequence[str], source: str | None,
                      created_at: datetime | None, save: bool = True) -> list[Passage]:
        if any(not t.strip() for t in texts):
            raise InputError("an archival passage cannot be empty")
        index = self.index()
        vectors = self._embedder().embed(list(texts))
        at = created_at or datetime.now()
        cur = self.db.cursor()
        cur.execute("BEGIN")
        try:
            ids = [cur.execute(
                "INSERT INTO archival_passages (agent_id, text, source, created_at, content_hash, embedding) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                [agent_id, t, source, at, content_hash(t), v.tolist()]).fetchone()[0] for t, v in zip(texts, vectors)]
            cur.execute("COMMIT")
        except Exception:
            rollback(cur)
            raise
        crash_point("archival_insert")
        index.add(ids, vectors)
        if save:
            index.save()
        for id_, t in zip(ids, texts):
            self.timeline.log(agent_id, ARCHIVAL_INSERT, {"passage_id": id_, "source": source, "chars": len(t)}, at)
        return [Passage(id_, agent_id, t, at, source) for id_, t in zip(ids, texts)]

    def search(self, agent_id: int, query: str, page: int = 1, page_size: int = 10) -> Page[Hit]:
        """Passages ranked by meaning; ``total`` is the agent's passage count (all are ranked)."""
        page, page_size = max(1, page), max(1, page_size)
        total = self.count(agent_id)
        hits = self.similar(agent_id, self._embedder().embed([query])[0], page * page_size) if query.strip() else []
        items = tuple(hits[(page - 1) * page_size: page * page_size])
        self.timeline.log(agent_id, SEARCH, {"tier": "archival", "query": query, "page": page,
                                             "results": len(items)})
        return Page(items, page, page_size, total)

    def similar(self, agent_id: int, vector: np.ndarray, k: int) -> list[Hit]:
        """The agent's ``k`` passages nearest ``vector``, without logging (used by page-in)."""
        allowed, n = self._agent_filter(agent_id)
        found = self.index().search(vector, k, allowed, n)
        rows = self._rows([i for i, _ in found])
        return [Hit("archival", i, rows[i][1], s, rows[i][2], name=rows[i][3]) for i, s in found if i in rows]

    def _agent_filter(self, agent_id: int) -> tuple[Callable[[int], bool] | None, int]:
        ids = {r[0] for r in self.db.cursor().execute(
            "SELECT id FROM archival_passages WHERE agent_id = ?", [agent_id]).fetchall()}
        if len(ids) == self.index().count:
            return None, len(ids)
        return ids.__contains__, len(ids)

    def _rows(self, ids: list[int]) -> dict[int, tuple]:
        if not ids:
            return {}
        rows = self.db.cursor().execute(
            f"SELECT id, text, created_at, source, agent_id FROM archival_passages "
            f"WHERE id IN ({', '.join('?' * len(ids))})", ids).fetchall()
        return {r[0]: r for r in rows}

    def all(self, agent_id: int) -> list[Passage]:
        """Every passage of the agent, oldest first (exports)."""
        rows = self.db.cursor().execute(
            "SELECT id, text, created_at, source, agent_id FROM archival_passages WHERE agent_id = ? ORDER BY id",
            [agent_id]).fetchall()
        return [Passage(r[0], r[4], r[1], r[2], r[3]) for r in rows]

    def insert_rows(self, cur, agent_id: int, rows: Sequence[tuple[str, datetime | None, str | None]],
                    vectors: np.ndarray) -> list[int]:
        """Insert already embedded passages inside the caller's transaction; the caller adds them to
        the index with :meth:`index_rows` once it has committed (an import is one transaction)."""
        now = datetime.now()
        return [cur.execute(
            "INSERT INTO archival_passages (agent_id, text, source, created_at, content_hash, embedding) "
            "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            [agent_id, text, source, at or now, content_hash(text), vector.tolist()]).fetchone()[0]
            for (text, at, source), vector in zip(rows, vectors)]

    def index_rows(self, ids: list[int], vectors: np.ndarray) -> None:
        if ids:
            index = self.index()
            index.add(ids, vectors)
            index.save()

    def get(self, id_: int) -> Passage:
        row = self._rows([id_]).get(id_)
        if row is None:
            raise NotFoundError(f"archival passage #{id_} does not exist")
        return Passage(row[0], row[4], row[1], row[2], row[3])

    def delete(self, id_: int) -> None:
        self.get(id_)
        index = self.index()
        self.db.cursor().execute("DELETE FROM archival_passages WHERE id = ?", [id_])
        index.remove(id_)
        index.save()

    def find_near_duplicate(self, agent_id: int, text: str, threshold: float = 0.95) -> Passage | None:
        """An existing passage of this agent saying (almost) the same thing, if any."""
        row = self.db.cursor().execute(
            "SELECT id FROM archival_passages WHERE agent_id = ? AND content_hash = ? LIMIT 1",
            [agent_id, content_hash(text)]).fetchone()
        if row:
            return self.get(row[0])
        hits = self.similar(agent_id, self._embedder().embed([text])[0], 1)
        return self.get(hits[0].id) if hits and hits[0].score >= threshold else None

    def count(self, agent_id: int) -> int:
        return self.db.cursor().execute(
            "SELECT count(*) FROM archival_passages WHERE agent_id = ?", [agent_id]).fetchone()[0]
