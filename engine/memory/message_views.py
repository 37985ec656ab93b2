"""More ways to find a message by meaning than its own vector: its sentences, and the message
together with the one it answers.

One vector for a long message blurs its sentences together; a sentence-level vector finds
"I loved 'Becoming Nicole'" inside a message about five things. A reply rarely repeats what it
replies to ("Which one is your favourite?" / "'Becoming Nicole'!"), so the *context* view embeds
the message after the one before it (same agent, same day). Views are stored in
``message_views`` and mirrored in one index file per kind; ``views_state`` records up to which
message id they are done, so they are filled in after a turn, in id order, and a data directory
from before views existed gets them on its next upkeep.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Callable

import numpy as np

from engine.memory.db import Database, rollback
from engine.memory.embeddings import Embedder
from engine.memory.message_vectors import embed_text
from engine.memory.stored_index import StoredIndex
from engine.memory.vector_index import VectorIndex

log = logging.getLogger(__name__)

SENTENCE, CONTEXT = "sentence", "context"
KINDS = (SENTENCE, CONTEXT)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
MAX_SENTENCES = 24        # a pasted essay belongs in archival memory; its first sentences suffice here
MAX_CONTEXT_CHARS = 600   # of the message replied to: its gist, not all of it


def sentences(content: str) -> list[str]:
    """The message's sentences, when it has more than one (a single one is the message itself)."""
    parts = [p.strip() for p in SENTENCE_END.split(content) if len(p.strip()) > 1]
    return parts[:MAX_SENTENCES] if len(parts) > 1 else []


def view_texts(content: str, name: str | None, created_at, previous: tuple[str, str | None] | None
               ) -> list[tuple[str, str]]:
    """(kind, text to embed) for each view of a message; ``previous`` is the (content, name) of
    the agent's message just before it on the same day, if any."""
    views = [(SENTENCE, embed_text(s, name, created_at)) for s in sentences(content)]
    if previous is not None:
        before, before_name = previous
        who = f"{before_name}: " if before_name else ""
        views.append((CONTEXT, f"{who}{before[:MAX_CONTEXT_CHARS]}\n{embed_text(content, name, created_at)}"))
    return views


# Each pending message with its agent's previous message (if from the same day).
_PENDING = """
SELECT m.id, m.agent_id, m.content, m.name, m.created_at, p.content, p.name, p.created_at
FROM (SELECT * FROM messages WHERE id > ? ORDER BY id LIMIT ?) AS m
LEFT JOIN messages AS p ON p.id = (SELECT max(q.id) FROM messages AS q WHERE q.agent_id = m.agent_id AND q.id < m.id)
ORDER BY m.id
"""


class MessageViews:
    """Embeds the views of messages not yet covered and searches them, per agent and kind."""

    def __init__(self, db: Database, index_dir: Path, embedder_provider: Callable[[], Embedder]) -> None:
        self.db = db
        self._embedder = embedder_provider
        self._stored = {kind: StoredIndex(db, Path(index_dir) / f"views-{kind}.hnsw", "message_views",
                                          f"kind = '{kind}'") for kind in KINDS}

    def index(self, kind: str) -> VectorIndex:
        return self._stored[kind].get()

    def covered(self) -> int:
        """The highest message id whose views are done."""
        return self.db.cursor().execute("SELECT covered_max_id FROM views_state").fetchone()[0]

    def embed_pending(self, batch: int = 64) -> int:
        """Embed the views of every message past the covered id, ``batch`` messages at a time;
        return how many messages were done."""
        indexes, done = {kind: self.index(kind) for kind in KINDS}, 0
        while rows := self.db.cursor().execute(_PENDING, [self.covered(), batch]).fetchall():
            views = [(r[0], r[1], kind, text) for r in rows
                     for kind, text in view_texts(r[2], r[3], r[4], _same_day_previous(r))]
            vectors = self._embedder().embed([v[3] for v in views]) if views else np.empty((0, 0), np.float32)
            ids = self._store(views, vectors, rows[-1][0])
            for kind in KINDS:
                chosen = [i for i, v in enumerate(views) if v[2] == kind]
                indexes[kind].add([ids[i] for i in chosen], vectors[chosen])
            done += len(rows)
        if done:
            for index in indexes.values():
                index.save()
            log.info("embedded the views of %d messages", done)
        return done

    def _store(self, views: list[tuple[int, int, str, str]], vectors: np.ndarray, covered: int) -> list[int]:
        """Insert the views and move the covered id, in one transaction; return the view ids."""
        cur = self.db.cursor()
        cur.execute("BEGIN")
        try:
            ids = [r[0] for r in cur.execute("SELECT nextval('message_views_seq') FROM range(?)",
                                             [len(views)]).fetchall()]
            if views:
                cur.executemany("INSERT INTO message_views (id, message_id, agent_id, kind, embedding) "
                                "VALUES (?, ?, ?, ?, ?)",
                                [[i, v[0], v[1], v[2], vec.tolist()] for i, v, vec in zip(ids, views, vectors)])
            cur.execute("UPDATE views_state SET covered_max_id = ?", [covered])
            cur.execute("COMMIT")
        except Exception:
            rollback(cur)
            raise
        return ids

    def search(self, agent_id: int, kind: str, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The agent's ``k`` messages whose best view of ``kind`` is nearest, as (message id, similarity)."""
        index, cur = self.index(kind), self.db.cursor()
        mine = {r[0] for r in cur.execute("SELECT id FROM message_views WHERE agent_id = ? AND kind = ?",
                                          [agent_id, kind]).fetchall()}
        if not mine:
            return []
        allowed = None if len(mine) == index.count else mine.__contains__  # other agents share the index
        found = index.search(query_vector, 3 * k, allowed, len(mine))
        if not found:
            return []
        owner = dict(cur.execute(f"SELECT id, message_id FROM message_views WHERE id IN ({', '.join('?' * len(found))})",
                                 [i for i, _ in found]).fetchall())
        best: dict[int, float] = {}
        for view_id, similarity in found:
            message_id = owner.get(view_id)
            if message_id is not None and message_id not in best:
                best[message_id] = similarity
        return list(best.items())[:k]


def _same_day_previous(row: tuple) -> tuple[str, str | None] | None:
    """The previous message's (content, name) when it was sent the same day as this one."""
    if row[5] is None or row[7] is None or row[4] is None or row[7].date() != row[4].date():
        return None
    return row[5], row[6]
