"""An hnswlib cosine index kept on disk as a cache of embeddings stored in DuckDB.

The table is the truth. The index file sits beside a manifest (model, dim, count, highest id,
size and checksum of the file); when the manifest disagrees with the table or the file does not
check out, the index is rebuilt from the stored embeddings, never by embedding again.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import hnswlib
import numpy as np

from engine.crash_points import crash_point
from engine.memory.embeddings import DIM, MODEL_ID

log = logging.getLogger(__name__)

# Measured on uniform random 384-d unit vectors (the hardest case): M=32, ef_construction=200 gives
# recall@10 0.76 at ef=160, 0.95 at ef=400, 0.99+ at ef=800. Sentence embeddings cluster and do
# better at the same settings.
M = 32
EF_CONSTRUCTION = 200
EF_SEARCH = 500
INITIAL_CAPACITY = 1024

Batch = tuple[np.ndarray, np.ndarray]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Manifest:
    """What the index file was built from; compared with the table on every open."""

    model_id: str
    dim: int
    count: int
    max_id: int
    size: int
    crc32: int


class VectorIndex:
    """Labels are row ids; ``search`` returns (id, cosine similarity), best first.

    Safe to share between threads: every operation holds one lock.
    """

    def __init__(self, path: Path, dim: int = DIM, model_id: str = MODEL_ID) -> None:
        self.path = Path(path)
        self.manifest_path = self.path.with_name(self.path.name + ".json")
        self.dim, self.model_id = dim, model_id
        self._lock = threading.RLock()
        self._index = self._empty(INITIAL_CAPACITY)
        self._count = 0
        self._max_id = 0
        self.ef_search = EF_SEARCH

    def _empty(self, capacity: int) -> hnswlib.Index:
        index = hnswlib.Index(space="cosine", dim=self.dim)
        index.init_index(max_elements=capacity, ef_construction=EF_CONSTRUCTION, M=M, allow_replace_deleted=False)
        index.set_ef(EF_SEARCH)
        return index

    @property
    def count(self) -> int:
        return self._count

    @property
    def max_id(self) -> int:
        return self._max_id

    def add(self, ids: Iterable[int], vectors: np.ndarray) -> None:
        """Add rows; the index grows as needed. Ids already present are replaced."""
        ids = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64)
        if len(ids) == 0:
            return
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        with self._lock:
            needed = self._index.get_current_count() + len(ids)
            if needed > self._index.get_max_elements():
                self._index.resize_index(max(needed, 2 * self._index.get_max_elements()))
            repeats = [i for i in ids.tolist() if i <= self._max_id and self._has(i)] if ids.min() <= self._max_id else []
            fresh = len(ids) - len(repeats)
            self._index.add_items(vectors, ids)
            self._count += fresh
            self._max_id = max(self._max_id, int(ids.max()))

    def __contains__(self, id_: int) -> bool:
        with self._lock:
            return self._has(int(id_))

    def _has(self, label: int) -> bool:
        try:
            self._index.get_items([label])
        except RuntimeError:
            return False
        return True

    def remove(self, id_: int) -> bool:
        """Mark one row deleted; False if it was not in the index."""
        with self._lock:
            try:
                self._index.mark_deleted(int(id_))
            except RuntimeError:
                return False
            self._count -= 1
            return True

    def search(self, vector: np.ndarray, k: int, allowed: Callable[[int], bool] | None = None,
               allowed_count: int | None = None) -> list[tuple[int, float]]:
        """The ``k`` nearest rows, optionally only those ``allowed`` admits (of ``allowed_count``)."""
        with self._lock:
            k = min(k, self._count if allowed_count is None else min(allowed_count, self._count))
            if k <= 0:
                return []
            self._index.set_ef(max(self.ef_search, k))
            query = np.asarray(vector, dtype=np.float32).reshape(1, self.dim)
            while k > 0:
                try:
                    labels, distances = self._index.knn_query(query, k=k, filter=allowed)
                    break
                except RuntimeError:  # fewer reachable matches than k (filters, deletions)
                    k //= 2
            else:
                return []
        return [(int(i), 1.0 - float(d)) for i, d in zip(labels[0], distances[0])]

    def save(self) -> None:
        """Write the file then the manifest, each via a temp file, so a crash leaves a detectable mismatch."""
        with self._lock:
            tmp = self.path.with_name(self.path.name + ".tmp")
            self._index.save_index(str(tmp))
            os.replace(tmp, self.path)
            crash_point("index_save")
            manifest = Manifest(self.model_id, self.dim, self._count, self._max_id,
                                self.path.stat().st_size, _crc32(self.path))
            tmp_manifest = self.manifest_path.with_name(self.manifest_path.name + ".tmp")
            tmp_manifest.write_text(json.dumps(asdict(manifest)))
            os.replace(tmp_manifest, self.manifest_path)

    def load_or_rebuild(self, fetch_rows: Callable[[], Iterator[Batch]], expected_count: int,
                        expected_max_id: int, progress: Progress | None = None) -> bool:
        """Load the saved index if it matches the table, else rebuild it; True if rebuilt."""
        with self._lock:
            reason = self._try_load(expected_count, expected_max_id)
            if reason is None:
                return False
            log.info("rebuilding vector index %s: %s", self.path.name, reason)
            self._rebuild(fetch_rows, expected_count, progress)
            return True

    def _try_load(self, expected_count: int, expected_max_id: int) -> str | None:
        manifest = self._read_manifest()
        if manifest is None:
            return "no manifest" if expected_count else None
        if (manifest.model_id, manifest.dim) != (self.model_id, self.dim):
            return "built for another model"
        if (manifest.count, manifest.max_id) != (expected_count, expected_max_id):
            return f"stale ({manifest.count} rows indexed, {expected_count} stored)"
        if not self.path.exists() or self.path.stat().st_size != manifest.size or _crc32(self.path) != manifest.crc32:
            return "index file missing or corrupt"
        try:
            index = hnswlib.Index(space="cosine", dim=self.dim)
            index.load_index(str(self.path), max_elements=max(manifest.count, INITIAL_CAPACITY))
        except Exception as exc:  # a cache: any failure to load means rebuild
            return f"unreadable ({exc})"
        index.set_ef(EF_SEARCH)
        self._index, self._count, self._max_id = index, manifest.count, manifest.max_id
        return None

    def _read_manifest(self) -> Manifest | None:
        try:
            return Manifest(**json.loads(self.manifest_path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def _rebuild(self, fetch_rows: Callable[[], Iterator[Batch]], total: int, progress: Progress | None) -> None:
        self._index = self._empty(max(INITIAL_CAPACITY, total))
        self._count, self._max_id = 0, 0
        done = 0
        for ids, vectors in fetch_rows():
            self.add(ids, vectors)
            done += len(ids)
            if progress:
                progress(done, total)
        self.save()


def _crc32(path: Path) -> int:
    crc = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    return crc
