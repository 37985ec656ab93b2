"""Sentence embeddings (see :mod:`engine.memory.embedding_models`), loaded from the installed packages (or the bundle), offline."""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from typing import Sequence

import engine.offline  # noqa: F401  (must precede sentence_transformers)
import numpy as np

from engine.lru import LruCache
from engine.memory.embedding_models import MESSAGE, SMALL, EmbeddingModel

log = logging.getLogger(__name__)

MODEL_ID, DIM = SMALL.id, SMALL.dim
"""The model of sentence views and archival passages (MESSAGE embeds a message's own vector)."""


@functools.cache
def shared_message_embedder() -> "Embedder":
    """The message model, loaded once per process: it is large, read-only and safe to share."""
    return Embedder(model=MESSAGE)


def content_hash(text: str) -> str:
    """The key embeddings are stored and cached under."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Embedder:
    """Turns texts into L2-normalised float32 vectors; repeats are served from a small cache.

    Loading takes a second or two, so stores create it only when vector work first needs it.
    """

    def __init__(self, batch_size: int = 64, cache_size: int = 4096, model: EmbeddingModel = SMALL) -> None:
        from sentence_transformers import SentenceTransformer

        from engine.resources import embedding_model_dir, message_embedding_model_dir

        self.model_id, self.dim = model.id, model.dim
        path = str(message_embedding_model_dir() if model == MESSAGE else embedding_model_dir())
        self._model = SentenceTransformer(path, device="cpu")
        self.batch_size = batch_size
        self._cache: LruCache[str, np.ndarray] = LruCache(cache_size)
        self._lock = threading.Lock()
        log.info("loaded embedding model from %s", path)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return an (n, dim) float32 array, rows L2-normalised, in the order of ``texts``."""
        keys = [content_hash(t) for t in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        missing = [i for i, k in enumerate(keys) if not self._cached(k, out, i)]
        if missing:
            fresh = self._encode([texts[i] for i in missing])
            for row, i in zip(fresh, missing):
                out[i] = row
                self._remember(keys[i], row)
        return out

    def count_tokens(self, texts: Sequence[str]) -> int:
        """Tokens the model reads for ``texts`` (each cut at its sequence limit, as it embeds)."""
        limit = self._model.max_seq_length
        with self._lock:
            ids = self._model.tokenizer(list(texts), add_special_tokens=True)["input_ids"]
        return sum(min(len(row), limit) for row in ids)

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            vecs = self._model.encode(
                texts, batch_size=self.batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            )
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)

    def _cached(self, key: str, out: np.ndarray, i: int) -> bool:
        with self._lock:
            vec = self._cache.get(key)
        if vec is None:
            return False
        out[i] = vec
        return True

    def _remember(self, key: str, vec: np.ndarray) -> None:
        with self._lock:
            self._cache.put(key, vec)
