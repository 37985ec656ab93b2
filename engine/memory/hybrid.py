"""What memory to page in for a query: keyword and vector results fused, nudged by time.

Reciprocal rank fusion needs no score calibration between BM25 and cosine similarity; a mild
recency prior and, when the query names a time ("yesterday", "in May 2023"), a boost for hits
from then break ties the way a person would.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Sequence

from engine.memory.archival import ArchivalStore
from engine.memory.embeddings import Embedder
from engine.memory.message_vectors import MessageVectors
from engine.memory.recall import RecallStore
from engine.memory.types import Hit

log = logging.getLogger(__name__)

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
MONTH_RE = re.compile(r"\b(" + "|".join(MONTHS) + r")\b(?:\s+(\d{4}))?", re.IGNORECASE)
YEAR_RE = re.compile(r"\b(19\d{2}|20\d{2})\b")


@dataclass(frozen=True)
class RetrievalWeights:
    """Fusion weights; each list contributes ``weight / (rrf_k + rank)`` per hit."""

    bm25: float = 1.0
    vector: float = 1.0
    archival: float = 0.8
    rrf_k: int = 20
    recency: float = 0.15
    recency_half_life_days: float = 30.0
    date_match: float = 1.0
    candidates: int = 50
    neighbours: float = 0.5


class HybridRetriever:
    """Searches recall (BM25 + vectors) and archival (vectors) and returns one fused ranking."""

    def __init__(self, recall: RecallStore, message_vectors: MessageVectors, archival: ArchivalStore,
                 embedder_provider: Callable[[], Embedder], weights: RetrievalWeights = RetrievalWeights()) -> None:
        self.recall, self.vectors, self.archival = recall, message_vectors, archival
        self._embedder, self.weights = embedder_provider, weights

    def search(self, agent_id: int, query: str, k: int = 10, tiers: Sequence[str] = ("recall", "archival"),
               now: datetime | None = None, exclude_ids: Sequence[int] = ()) -> list[Hit]:
        """The ``k`` best hits; ``exclude_ids`` are recall message ids already in the context."""
        if not query.strip():
            return []
        w, now = self.weights, now or datetime.now()
        vector = self._embedder().embed([query])[0]
        lists: list[tuple[float, list[Hit]]] = []
        if "recall" in tiers:
            lists.append((w.bm25, list(self.recall.search_text(agent_id, query, 1, w.candidates).items)))
            lists.append((w.vector, self._vector_hits(agent_id, vector)))
        if "archival" in tiers:
            lists.append((w.archival, self.archival.similar(agent_id, vector, w.candidates)))
        fused = self._fuse(lists, set(exclude_ids))
        if w.neighbours > 0:
            self._add_neighbours(agent_id, fused, set(exclude_ids))
        window = date_window(query, now)
        scored = [(s + self._time_bonus(hit, now, window), hit) for (s, hit) in fused.values()]
        scored.sort(key=lambda p: (-p[0], -p[1].id))
        return [Hit(h.tier, h.id, h.text, s, h.created_at, h.name, h.role) for s, h in scored[:k]]

    def _vector_hits(self, agent_id: int, vector) -> list[Hit]:
        found = self.vectors.search(agent_id, vector, self.weights.candidates)
        if not found:
            return []
        ids = [i for i, _ in found]
        rows = {r[0]: r for r in self.vectors.db.cursor().execute(
            f"SELECT id, content, created_at, name, role FROM messages WHERE id IN ({', '.join('?' * len(ids))})",
            ids).fetchall()}
        return [Hit("recall", i, rows[i][1], s, rows[i][2], rows[i][3], rows[i][4]) for i, s in found if i in rows]

    def _fuse(self, lists: list[tuple[float, list[Hit]]], exclude: set[int]) -> dict[tuple[str, int], tuple[float, Hit]]:
        fused: dict[tuple[str, int], tuple[float, Hit]] = {}
        for weight, hits in lists:
            for rank, hit in enumerate(hits, 1):
                if hit.tier == "recall" and hit.id in exclude:
                    continue
                key = (hit.tier, hit.id)
                prior = fused.get(key, (0.0, hit))[0]
                fused[key] = (prior + weight / (self.weights.rrf_k + rank), hit)
        return fused

    def _add_neighbours(self, agent_id: int, fused: dict[tuple[str, int], tuple[float, Hit]], exclude: set[int]) -> None:
        """Each recall hit's turns just before and after, from the same day, gain a share of the
        best-scoring neighbour's score: a reply or the question it answers often carries the rest
        of the fact."""
        hits = [(s, h) for s, h in fused.values() if h.tier == "recall"]
        if not hits:
            return
        ids = sorted({h.id + d for _, h in hits for d in (-1, 1)})
        rows = {r[0]: r for r in self.recall.db.cursor().execute(
            f"SELECT id, content, created_at, name, role, agent_id FROM messages WHERE id IN "
            f"({', '.join('?' * len(ids))})", ids).fetchall()}
        extra: dict[int, float] = {}
        for score, hit in hits:
            for nid in (hit.id - 1, hit.id + 1):
                row = rows.get(nid)
                if row is None or nid in exclude or row[5] != agent_id or row[2].date() != hit.created_at.date():
                    continue
                extra[nid] = max(extra.get(nid, 0.0), self.weights.neighbours * score)
        for nid, bonus in extra.items():
            key = ("recall", nid)
            if key in fused:
                fused[key] = (fused[key][0] + bonus, fused[key][1])
            else:
                r = rows[nid]
                fused[key] = (bonus, Hit("recall", nid, r[1], bonus, r[2], r[3], r[4]))

    def _time_bonus(self, hit: Hit, now: datetime, window: tuple[datetime, datetime] | None) -> float:
        w, unit = self.weights, 1.0 / (self.weights.rrf_k + 1)
        if not window:
            return 0.0  # no time in the question: an old memory is as likely the answer as a new one
        age_days = max(0.0, (now - hit.created_at).total_seconds() / 86400)
        bonus = w.recency * unit * math.pow(0.5, age_days / w.recency_half_life_days)
        if window:
            start, end = window
            if start <= hit.created_at < end:
                bonus += w.date_match * unit
            else:
                gap = min(abs((hit.created_at - start).days), abs((hit.created_at - end).days))
                bonus += w.date_match * unit * math.pow(0.5, gap / 7)
        return bonus


def date_window(query: str, now: datetime) -> tuple[datetime, datetime] | None:
    """The time span a query names, if any: relative days, a month (with year) or a year."""
    q, today = query.lower(), now.replace(hour=0, minute=0, second=0, microsecond=0)
    relative = {"yesterday": (today - timedelta(days=1), today), "today": (today, today + timedelta(days=1)),
                "last week": (today - timedelta(days=7), today), "this week": (today - timedelta(days=7), now),
                "last month": (today - timedelta(days=31), today), "last year": (today - timedelta(days=365), today)}
    for phrase, span in relative.items():
        if phrase in q:
            return span
    if match := MONTH_RE.search(query):
        if match.group(1).lower() == "may" and not match.group(2):
            return None  # "may" alone is almost always the verb
        month = MONTHS.index(match.group(1).lower()) + 1
        year = int(match.group(2)) if match.group(2) else (now.year if month <= now.month else now.year - 1)
        start = datetime(year, month, 1)
        return start, datetime(year + month // 12, month % 12 + 1, 1)
    if match := YEAR_RE.search(query):
        return datetime(int(match.group(1)), 1, 1), datetime(int(match.group(1)) + 1, 1, 1)
    return None
