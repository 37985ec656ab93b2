"""Recall storage: every message of every conversation, durable on return and searchable.

Text search ranks by BM25 from the fts index (scored over the query's terms only, see bm25.py)
and scores the messages newer than that index the same way at query time, so a search always
sees everything; the index is rebuilt off the hot path once enough rows have piled up outside it.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from typing import Iterable, Sequence

import numpy as np

from engine.crash_points import crash_point
from engine.errors import InputError, NotFoundError
from engine.memory import bm25
from engine.memory.db import Database
from engine.memory.fts_index import FtsIndex
from engine.memory.newer_terms import NewerTerms
from engine.memory.timeline import MESSAGE_STORED, SEARCH, Timeline
from engine.memory.types import ROLES, Hit, Message, Page

log = logging.getLogger(__name__)

MESSAGE_COLUMNS = "id, agent_id, role, content, created_at, name"
REBUILD_CHECK_EVERY = 64
BULK_CHUNK = 20_000
_BULK_SQL = """
INSERT INTO messages (agent_id, role, content, name, created_at)
SELECT ?, r.role, r.content, r.name, r.created_at FROM (SELECT unnest(from_json(?,
    '[{"role": "VARCHAR", "content": "VARCHAR", "name": "VARCHAR", "created_at": "TIMESTAMP"}]')) AS r)
"""
_WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset("""a about above after again against all am an and any are as at be because been before
being below between both but by can did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most my myself
no nor not now of off on once only or other our ours ourselves out over own same she should so some such than
that the their theirs them themselves then there these they this those through to too under until up very was
we were what when where which while who whom why will with would you your yours yourself yourselves""".split())

REBUILD_AFTER = 1000
"""Messages outside the index before a background rebuild starts. Until then searches score
them from terms tokenized once each and kept in memory (newer_terms.py: about 8 ms per thousand,
paid by the first search that sees them); a rebuild takes 17 s at a million messages, so at a
thousand it comes every few days of chat."""

# A date search narrowed by words keeps the rows holding any of them, whole words only ("at"
# must not match "water"). One pattern parameter per word: a constant pattern is compiled once
# per query, one built from a column once per row.
_WHOLE_WORD = "(^|[^a-z0-9_]){}($|[^a-z0-9_])"


def _words_found(words: list[str]) -> tuple[str, list[str]]:
    """SQL counting how many of ``words`` a row's content holds, and its parameters."""
    sql = " + ".join(["regexp_matches(lower(content), ?)::INTEGER"] * len(words))
    return f"({sql})", [_WHOLE_WORD.format(w) for w in words]


class RecallStore:
    """Appends, reads and searches messages; each search is logged on the timeline."""

    def __init__(self, db: Database, timeline: Timeline, rebuild_threshold: int = REBUILD_AFTER) -> None:
        self.db = db
        self.timeline = timeline
        self.fts = FtsIndex(db)
        self.newer_terms = NewerTerms()
        self.rebuild_threshold = rebuild_threshold
        self._since_check = 0

    def append(self, agent_id: int, role: str, content: str, name: str | None = None,
               created_at: datetime | None = None) -> Message:
        """Store one message; it is committed (autocommit) before this returns."""
        _check_role(role)
        created_at = created_at or datetime.now()
        row = self.db.cursor().execute(
            "INSERT INTO messages (agent_id, role, name, content, created_at) VALUES (?, ?, ?, ?, ?) "
            "RETURNING id", [agent_id, role, name, content, created_at]).fetchone()
        message = Message(row[0], agent_id, role, content, created_at, name)
        crash_point("append")
        self.timeline.log(agent_id, MESSAGE_STORED, {"message_id": message.id, "role": role})
        self._maybe_rebuild()
        return message

    def append_many(self, agent_id: int, rows: Iterable[Sequence]) -> int:
        """Bulk insert of ``(role, content, name, created_at)`` rows, in order (imports).

        No timeline events: an import is one act, not thousands of messages arriving.
        """
        batch = bulk_batch(rows)
        self.insert_rows(self.db.cursor(), agent_id, batch)
        self.after_bulk_insert()
        return len(batch)

    def insert_rows(self, cur, agent_id: int, batch: list[dict]) -> None:
        """Bulk insert inside the caller's transaction (an agent import); then :meth:`after_bulk_insert`."""
        for start in range(0, len(batch), BULK_CHUNK):
            # One JSON parameter per chunk: binding Python lists or many placeholders is ~100x slower.
            cur.execute(_BULK_SQL, [agent_id, json.dumps(batch[start:start + BULK_CHUNK])])

    def after_bulk_insert(self) -> None:
        """Let the text index catch up with many new rows (in the background when they are many)."""
        self._since_check = REBUILD_CHECK_EVERY
        self._maybe_rebuild()

    def messages(self, ids: Sequence[int]) -> dict[int, Message]:
        """The stored messages among ``ids``, by id, whichever agent they belong to (a caller checks)."""
        if not ids:
            return {}
        rows = self.db.cursor().execute(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id IN ({', '.join('?' * len(ids))})", list(ids)).fetchall()
        return {row[0]: _message(row) for row in rows}

    def get(self, message_id: int) -> Message:
        row = self.db.cursor().execute(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?", [message_id]).fetchone()
        if row is None:
            raise NotFoundError(f"there is no message {message_id}")
        return _message(row)

    def range(self, agent_id: int, after_id: int | None = None, before_id: int | None = None,
              limit: int = 50) -> list[Message]:
        """Messages in id order, oldest first; with ``before_id`` the ``limit`` just before it.

        ``before_id`` is for loading history lazily upwards, ``after_id`` for reading onwards.
        """
        sql = f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE agent_id = ? AND id > ? AND id < ?"
        params = [agent_id, after_id if after_id is not None else -1,
                  before_id if before_id is not None else 2**62]
        newest_end = before_id is not None and after_id is None
        order = "DESC" if newest_end else "ASC"
        rows = self.db.cursor().execute(f"{sql} ORDER BY id {order} LIMIT ?", [*params, limit]).fetchall()
        messages = [_message(r) for r in rows]
        return messages[::-1] if newest_end else messages

    def latest(self, agent_id: int, role: str) -> Message | None:
        """The agent's newest message of ``role``, or None when it has none."""
        row = self.db.cursor().execute(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE agent_id = ? AND role = ? ORDER BY id DESC LIMIT 1",
            [agent_id, role]).fetchone()
        return _message(row) if row is not None else None

    def count(self, agent_id: int) -> int:
        return self.db.cursor().execute("SELECT count(*) FROM messages WHERE agent_id = ?", [agent_id]).fetchone()[0]

    def search_text(self, agent_id: int, query: str, page: int = 1, page_size: int = 10,
                    before_id: int | None = None) -> Page[Hit]:
        """Messages matching any word of ``query``, best first (BM25, newer rows by word scan);
        ties go to the newer message. With ``before_id``, only messages older than that one."""
        page, page_size = _check_paging(page, page_size)
        words = _words(query)
        if not words:
            return Page((), page, page_size, 0)
        ids, scores = self._text_scores(agent_id, query)
        if before_id is not None:
            older = ids < before_id
            ids, scores = ids[older], scores[older]
        best_ids, best_scores = bm25.top(ids, scores, page * page_size)
        skip = (page - 1) * page_size
        result = Page(self._hits(best_ids[skip:], best_scores[skip:]), page, page_size, len(ids))
        self._log_search(agent_id, "text", query, result)
        return result

    def _text_scores(self, agent_id: int, query: str) -> tuple[np.ndarray, np.ndarray]:
        """Every matching message id with its score, unordered.

        One transaction, so the index and the newer rows scored beside it meet exactly at the
        index's ``covered_max_id`` even while a rebuild commits.
        """
        cur = self.db.cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            covered = self.fts.covered_max_id()
            newer = self.newer_terms.documents(cur, agent_id, covered)
            scores = bm25.score(cur, agent_id, query, covered, newer)
        finally:
            cur.execute("COMMIT")
        return scores.ids, scores.scores

    def _hits(self, ids: np.ndarray, scores: np.ndarray) -> tuple[Hit, ...]:
        """The messages behind ``ids``, in that order, as hits."""
        if len(ids) == 0:
            return ()
        # One IN list: at 100k rows it fetches 50 ids in half the time of one equality per id
        # joined by UNION ALL (bench/storage.py, lookup_50_ids_ms).
        found = self.messages(ids.tolist())
        return tuple(message_hit(m, float(s)) for i, s in zip(ids.tolist(), scores.tolist())
                     if (m := found.get(i)) is not None)

    def search_date(self, agent_id: int, start: datetime, end: datetime, query: str | None = None,
                    page: int = 1, page_size: int = 10, before_id: int | None = None) -> Page[Hit]:
        """Messages with ``start <= created_at < end``, oldest first; optionally only those
        containing a word of ``query`` (score: the share of its words they contain), and with
        ``before_id`` only those older than that message."""
        page, page_size = _check_paging(page, page_size)
        words = _words(query or "")
        if query is not None and not words:
            return Page((), page, page_size, 0)
        found, patterns = _words_found(words) if words else ("1.0", [])
        score = f"{found} / ?" if words else "1.0"
        score_params = [*patterns, float(len(words))] if words else []
        sql = (f"SELECT * FROM (SELECT {MESSAGE_COLUMNS}, {score} AS score FROM messages "
               "WHERE agent_id = ? AND created_at >= ? AND created_at < ? AND id < ?) WHERE score > 0")
        rows = self._paged(sql, "created_at, id", [*score_params, agent_id, start, end,
                                                   2**62 if before_id is None else before_id], page, page_size)
        result = _page(rows, page, page_size)
        self._log_search(agent_id, "date", query, result, start=start.isoformat(), end=end.isoformat())
        return result

    def _paged(self, sql: str, order: str, params: list, page: int, page_size: int) -> list[tuple]:
        """One page of ``sql``'s rows in ``order``, each with the total match count appended."""
        paged = f"SELECT *, count(*) OVER () FROM ({sql}) ORDER BY {order} LIMIT ? OFFSET ?"
        cur = self.db.cursor()
        rows = cur.execute(paged, [*params, page_size, (page - 1) * page_size]).fetchall()
        if not rows and page > 1:  # past the last page: still report how many there are
            total = cur.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
            return [(None,) * 7 + (total,)] if total else []
        return rows

    def _log_search(self, agent_id: int, mode: str, query: str | None, result: Page[Hit], **extra) -> None:
        self.timeline.log(agent_id, SEARCH, {"tier": "recall", "mode": mode, "query": query,
                                             "page": result.page, "total": result.total, **extra})

    def _maybe_rebuild(self) -> None:
        """Every few appends, start a background rebuild if many rows are outside the index."""
        self._since_check += 1
        if self._since_check < REBUILD_CHECK_EVERY:
            return
        self._since_check = 0
        if self.fts.needs_rebuild(self.rebuild_threshold):
            self.fts.rebuild_in_background()


def _words(query: str) -> list[str]:
    """Distinct lower-cased words of a query, in order; punctuation never reaches SQL.

    Stopwords are dropped (as the fts index drops them) unless the query is nothing but.
    """
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(query or "")))
    content = [w for w in words if w not in STOPWORDS]
    return content or words


def bulk_batch(rows: Iterable[Sequence]) -> list[dict]:
    """``(role, content, name, created_at)`` rows as the bulk insert takes them, roles checked."""
    now = datetime.now()
    batch = [{"role": r[0], "content": r[1], "name": r[2] if len(r) > 2 else None,
              "created_at": ((r[3] if len(r) > 3 else None) or now).isoformat()} for r in rows]
    for values in batch:
        _check_role(values["role"])
    return batch


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InputError(f"a message's role must be one of {', '.join(ROLES)}, not {role!r}")


def _check_paging(page: int, page_size: int) -> tuple[int, int]:
    if page < 1 or page_size < 1:
        raise InputError(f"page and page size start at 1 (got page {page}, page size {page_size})")
    return page, page_size


def _message(row: Sequence) -> Message:
    """A row of MESSAGE_COLUMNS as a message: the one place that knows the columns' order."""
    return Message(row[0], row[1], row[2], row[3], row[4], row[5])


def message_hit(message: Message, score: float) -> Hit:
    """A stored message as a recall hit with ``score``."""
    return Hit("recall", message.id, message.content, score, message.created_at, message.name, message.role)


def _page(rows: list[Sequence], page: int, page_size: int) -> Page[Hit]:
    """Rows of MESSAGE_COLUMNS + score + total count, as a page of hits."""
    hits = tuple(message_hit(_message(r), float(r[6])) for r in rows if r[0] is not None)
    return Page(hits, page, page_size, rows[0][7] if rows else 0)
