"""The terms of messages newer than the fts index, each message tokenized once.

Text search scores these messages by BM25 at query time (bm25.py). Tokenizing and stemming up to
a thousand of them for every query cost about 8 ms; messages never change once stored, so each
one's terms are kept here from the first search that sees it until a rebuild takes it into the
index. Which messages are newer is asked of the database every time (ids only): a message whose
insert committed late, after a higher id was already seen, is still picked up.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

import duckdb

from engine.memory.bm25 import FTS_SCHEMA

_NEWER_IDS = "SELECT id FROM messages WHERE agent_id = ? AND id > ?"
# The index's own tokens: its tokenizer, stopwords dropped, Porter stems.
_TERMS_OF = f"""
SELECT id, list_transform(list_filter({FTS_SCHEMA}.tokenize(content), w -> w <> '' AND NOT list_contains($stop, w)),
                          w -> stem(w, 'porter'))
FROM messages WHERE list_contains($ids, id)
"""
_STOPWORDS = f"SELECT list(sw) FROM {FTS_SCHEMA}.stopwords"


@dataclass(frozen=True)
class NewerDocuments:
    """The newer messages of one agent: each one's term counts and length, and their totals."""

    terms: dict[int, Counter]
    lengths: dict[int, int]

    @property
    def count(self) -> int:
        return len(self.lengths)

    @property
    def total_length(self) -> int:
        return sum(self.lengths.values())


class NewerTerms:
    """Per agent, the terms of its messages newer than the index, kept between searches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._terms: dict[int, dict[int, Counter]] = {}
        self._lengths: dict[int, dict[int, int]] = {}
        self._stopwords: list[str] | None = None

    def documents(self, cur: duckdb.DuckDBPyConnection, agent_id: int, after_id: int) -> NewerDocuments:
        """The agent's messages with ids above ``after_id`` (the index's last), as ``cur`` sees them."""
        ids = [row[0] for row in cur.execute(_NEWER_IDS, [agent_id, after_id]).fetchall()]
        with self._lock:
            terms, lengths = self._terms.setdefault(agent_id, {}), self._lengths.setdefault(agent_id, {})
            for old in [i for i in terms if i <= after_id]:  # the index holds these now
                del terms[old], lengths[old]
            missing = [i for i in ids if i not in terms]
        if missing:
            found = cur.execute(_TERMS_OF, {"ids": missing, "stop": self._stopword_list(cur)}).fetchall()
            with self._lock:
                for message_id, stems in found:
                    terms[message_id], lengths[message_id] = Counter(stems), len(stems)
        wanted = set(ids)
        with self._lock:
            return NewerDocuments({i: terms[i] for i in wanted if i in terms},
                                  {i: lengths[i] for i in wanted if i in lengths})

    def _stopword_list(self, cur: duckdb.DuckDBPyConnection) -> list[str]:
        if self._stopwords is None:
            self._stopwords = cur.execute(_STOPWORDS).fetchone()[0] or []
        return self._stopwords
