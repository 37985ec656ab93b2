"""More ways to find a message by meaning than its own vector: its sentences, and the message
together with the one it answers.

One vector for a long message blurs its sentences together; a sentence-level vector finds
"I loved 'Becoming Nicole'" inside a message about five things. A reply rarely repeats what it
replies to ("Which one is your favourite?" / "'Becoming Nicole'!"), so the *context* view embeds
the message after the one before it (same agent, same day), each turn's "I" written as its
speaker's name (engine/memory/first_person.py). Views are stored in
``message_views`` and mirrored in one index file per kind; ``views_state`` records up to which
message id they are done, so they are filled in after a turn, in id order, and a data directory
from before views existed gets them on its next upkeep.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Callable

import numpy as np

from engine.memory.db import Database, rollback
from engine.memory.embeddings import Embedder
from engine.memory.first_person import named_first_person
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
        before = named_first_person(before, before_name)[:MAX_CONTEXT_CHARS]
        views.append((CONTEXT, f"{who}{before}\n{embed_text(named_first_person(content, name), name, created_at)}"))
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
        return self._embed(KINDS, "covered_max_id", None, batch, None)

    def redo_context(self, batch: int = 64, seconds: float | None = None) -> int:
        """Embed again the context views a migration dropped (m009: each turn's "I" now named),
        oldest first up to the messages covered then; with ``seconds``, stop after the batch that
        uses that time up, so a long history is redone over several upkeeps."""
        up_to = self.db.cursor().execute("SELECT context_redo_to FROM views_state").fetchone()[0]
        return self._embed((CONTEXT,), "context_redone_to", up_to, batch, seconds)

    def _embed(self, kinds: tuple[str, ...], progress: str, up_to: int | None, batch: int,
               seconds: float | None) -> int:
        """Embed the ``kinds`` views of the messages past the id in ``views_state.<progress>``
        (up to ``up_to``), moving it on with each batch; return how many messages were done."""
        indexes, done, started = {kind: self.index(kind) for kind in kinds}, 0, time.monotonic()
        start = self.db.cursor().execute(f"SELECT {progress} FROM views_state").fetchone()[0]
        while up_to is None or start < up_to:
            rows = [r for r in self.db.cursor().execute(_PENDING, [start, batch]).fetchall()
                    if up_to is None or r[0] <= up_to]
            if not rows:
                if up_to is not None:
                    self._store([], np.empty((0, 0), np.float32), progress, up_to)
                break
            views = [(r[0], r[1], kind, text) for r in rows
                     for kind, text in view_texts(r[2], r[3], r[4], _same_day_previous(r)) if kind in kinds]
            vectors = self._embedder().embed([v[3] for v in views]) if views else np.empty((0, 0), np.float32)
            start = rows[-1][0]
            ids = self._store(views, vectors, progress, start)
            for kind in kinds:
                chosen = [i for i, v in enumerate(views) if v[2] == kind]
                indexes[kind].add([ids[i] for i in chosen], vectors[chosen])
            done += len(rows)
            if seconds is not None and time.monotonic() - started >= seconds:
                break
        if done:
            for index in indexes.values():
                index.save()
            log.info("embedded the %s views of %d messages", "/".join(kinds), done)
        return done

    def _store(self, views: list[tuple[int, int, str, str]], vectors: np.ndarray, progress: str,
               covered: int) -> list[int]:
        """Insert the views and move ``views_state.<progress>`` on, in one transaction; return the view ids."""
        cur = self.db.cursor()
        cur.execute("BEGIN")
        try:
            ids = [r[0] for r in cur.execute("SELECT nextval('message_views_seq') FROM range(?)",
                                             [len(views)]).fetchall()]
            if views:
                cur.executemany("INSERT INTO message_views (id, message_id, agent_id, kind, embedding) "
                                "VALUES (?, ?, ?, ?, ?)",
                                [[i, v[0], v[1], v[2], vec.tolist()] for i, v, vec in zip(ids, views, vectors)])
            cur.execute(f"UPDATE views_state SET {progress} = ?", [covered])
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
