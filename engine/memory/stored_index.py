"""A vector index mirrored from a table's stored embeddings, loaded or rebuilt on first use.

Archival passages and recall messages both keep their embeddings in DuckDB and treat the
hnswlib file as a cache; this is the one place that decides when that cache is trusted.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from engine.memory.db import Database
from engine.memory.embedding_models import SMALL, EmbeddingModel
from engine.memory.vector_index import Batch, Progress, VectorIndex

REBUILD_BATCH = 10_000


def stored_batches(db: Database, table: str, where: str = "1=1") -> Callable[[], Iterator[Batch]]:
    """A function yielding (ids, vectors) batches of a table's stored embeddings, in id order."""

    def fetch() -> Iterator[Batch]:
        last = 0
        while True:
            rows = db.cursor().execute(
                f"SELECT id, embedding FROM {table} WHERE {where} AND id > ? ORDER BY id LIMIT ?",
                [last, REBUILD_BATCH]).fetchnumpy()
            if len(rows["id"]) == 0:
                return
            last = int(rows["id"][-1])
            yield rows["id"].astype(np.int64), np.stack(rows["embedding"]).astype(np.float32)

    return fetch


class StoredIndex:
    """The index file for ``table``'s rows matching ``where``, checked against the table once.

    The first call to :meth:`get` compares the file with the table's row count and highest id
    and rebuilds it from the stored vectors when missing, stale or corrupt; later calls reuse it.
    """

    def __init__(self, db: Database, path: Path, table: str, where: str = "1=1",
                 model: EmbeddingModel = SMALL) -> None:
        self.db, self.table, self.where = db, table, where
        self._index = VectorIndex(path, model.dim, model.id)
        self._ready = False
        self._lock = threading.Lock()

    def get(self, progress: Progress | None = None) -> VectorIndex:
        with self._lock:
            if not self._ready:
                count, max_id = self.db.cursor().execute(
                    f"SELECT count(*), coalesce(max(id), 0) FROM {self.table} WHERE {self.where}").fetchone()
                self._index.load_or_rebuild(stored_batches(self.db, self.table, self.where),
                                            count, max_id, progress)
                self._ready = True
        return self._index
