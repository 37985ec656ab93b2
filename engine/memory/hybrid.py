"""What memory to page in for a query: keyword and vector results fused, nudged by who and when.

Reciprocal rank fusion needs no score calibration between BM25 and cosine similarity. Vectors
come in three views: the message, its sentences, and the message after the one it replies to
(engine/memory/message_views.py). On top of the fusion, conversation structure: a reply carries
part of the keyword score of the turn it answers ("Which marathon?" / "Berlin!"), neighbouring
turns share a strong hit's score, a day with a strong hit lifts its other hits, a query naming a
speaker prefers that speaker's turns (the name itself is left to that bonus rather than matched
as a word or in the message vector, since names are said mostly *to* someone), and a message
that ends in a question counts for less: it asks for the fact more often than it holds it. When the query names a time
("yesterday", "on 7 July, 2023"), hits from then get a boost; when it asks when, turns that say
when go first, and when it asks for a name, turns that name something. A speaker's first turn
of a talk gains a little: people open with their news.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Callable, Sequence

from engine.memory.archival import ArchivalStore
from engine.memory.embeddings import Embedder
from engine.memory.message_vectors import MessageVectors
from engine.memory.message_views import CONTEXT, SENTENCE, MessageViews
from engine.memory.named_things import asks_for_a_name, names_something
from engine.memory.recall import RecallStore, message_hit
from engine.memory.time_phrases import TimeWindow, asks_when, date_window, tells_time
from engine.memory.types import Hit, Message

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class RetrievalWeights:
    """Fusion weights; each list contributes ``weight / (rrf_k + rank)`` per hit."""

    bm25: float = 1.0
    vector: float = 0.75
    sentence: float = 0.5        # the message's best sentence
    context: float = 0.5         # the message read after the one it replies to
    archival: float = 0.8
    rrf_k: int = 10
    recency: float = 0.15
    recency_half_life_days: float = 30.0
    date_match: float = 1.0
    candidates: int = 100
    neighbours: float = 0.4
    reply_carry: float = 0.5     # share of a turn's BM25 score its same-day reply inherits
    same_day: float = 0.2        # share of the day's best score every hit of that day gains
    speaker: float = 2.0         # bonus (in top-rank units) for turns by a speaker the query names
    question: float = 0.25       # share of its score a message ending in a question gives up
    names_ttl_s: float = 60.0
    tells_when: float = 0.4      # share of its score a hit that says when gains, for a "when" question
    names_thing: float = 0.3     # share of its score a hit naming something gains, for a question asking for a name
    opener: float = 0.05         # share of its score a speaker's first turn of a talk gains
    talk_gap_hours: float = 2.0  # a pause this long between two messages starts a new talk


class HybridRetriever:
    """Searches recall (BM25 + vectors) and archival (vectors) and returns one fused ranking."""

    def __init__(self, recall: RecallStore, message_vectors: MessageVectors, archival: ArchivalStore,
                 embedder_provider: Callable[[], Embedder], views: MessageViews | None = None,
                 message_embedder_provider: Callable[[], Embedder] | None = None,
                 weights: RetrievalWeights = RetrievalWeights()) -> None:
        self.recall, self.vectors, self.archival, self.views = recall, message_vectors, archival, views
        self._embedder, self.weights = embedder_provider, weights
        self._message_embedder = message_embedder_provider or embedder_provider
        self._names: dict[int, tuple[float, frozenset[str]]] = {}

    def search(self, agent_id: int, query: str, k: int = 10, tiers: Sequence[str] = ("recall", "archival"),
               now: datetime | None = None, exclude_ids: Sequence[int] = (), prefer_named: bool = True) -> list[Hit]:
        """The ``k`` best hits; ``exclude_ids`` are recall message ids already in the context.
        ``prefer_named`` False ranks by topic alone, whoever the query names: who told it then shows."""
        if not query.strip():
            return []
        w, now = self.weights, now or datetime.now()
        vector = self._embedder().embed([query])[0]
        lists: list[tuple[float, list[Hit]]] = []
        if "recall" in tiers:
            # Names leave the keyword and message-vector queries: otherwise a turn that greets
            # the person ("Hey Anna! ...") looks like one about them.
            nameless = self._without_names(agent_id, query)
            lists.append((w.bm25, self._keyword_hits(agent_id, nameless)))
            message_vector = self._message_embedder().embed([nameless])[0]
            lists.append((w.vector, self._vector_hits(agent_id, message_vector)))
            if self.views is not None:
                for kind, weight in ((SENTENCE, w.sentence), (CONTEXT, w.context)):
                    if weight > 0:
                        lists.append((weight, self._hits(self.views.search(agent_id, kind, vector, w.candidates))))
        if "archival" in tiers:
            lists.append((w.archival, self.archival.similar(agent_id, vector, w.candidates)))
        fused = self._fuse(lists, set(exclude_ids))
        nearby: dict[int, Message] = {}  # messages around the hits, read once for both steps below
        if prefer_named:
            self._add_speaker(agent_id, query, fused)
        if w.neighbours > 0:
            self._add_neighbours(agent_id, fused, set(exclude_ids), nearby)
        self._demote_questions(fused)
        self._add_same_day(fused)
        self._prefer_told_times(query, fused)
        self._prefer_named_things(agent_id, query, fused)
        window = date_window(query, now)
        scored = [(s + self._time_bonus(hit, now, window), hit) for (s, hit) in fused.values()]
        scored.sort(key=lambda p: (-p[0], -p[1].id))
        scored = self._prefer_openers(agent_id, scored[:max(k, w.candidates)], nearby)
        return [replace(h, score=s) for s, h in scored[:k]]

    def _prefer_openers(self, agent_id: int, scored: list[tuple[float, Hit]],
                        nearby: dict[int, Message]) -> list[tuple[float, Hit]]:
        """A speaker's first turn of a talk gains a share of its score, then the ranking is sorted
        again. People open a conversation with their news ("Since we last spoke, I took my kids to
        the park"): on the dev conversations 20 % of the multi-hop and 40 % of the temporal evidence
        turns open their speaker's part of a talk, against 9 % of all turns."""
        if self.weights.opener <= 0:
            return scored
        openers = self._talk_openers(agent_id, [h for _, h in scored if h.tier == "recall"], nearby)
        rescored = [(s * (1 + self.weights.opener) if h.tier == "recall" and h.id in openers else s, h)
                    for s, h in scored]
        rescored.sort(key=lambda p: (-p[0], -p[1].id))
        return rescored

    def _talk_openers(self, agent_id: int, hits: list[Hit], nearby: dict[int, Message]) -> set[int]:
        """Ids of the hits that open their speaker's part of a talk: the talk's first message, or
        its second when someone else said the first (the reply to a greeting)."""
        gap = self.weights.talk_gap_hours * 3600
        before = self._around(sorted({h.id - d for h in hits for d in (1, 2)}), nearby)

        def previous(message_id: int, at: datetime):
            """The agent's message just before, if it belongs to the same talk."""
            found = before.get(message_id - 1)
            if found is None or found.agent_id != agent_id or (at - found.created_at).total_seconds() > gap:
                return None
            return found

        openers = set()
        for hit in hits:
            first = previous(hit.id, hit.created_at)
            if first is None or (previous(first.id, first.created_at) is None
                                 and (first.name or first.role) != (hit.name or hit.role)):
                openers.add(hit.id)
        return openers

    def _keyword_hits(self, agent_id: int, query: str) -> list[Hit]:
        """BM25 hits for ``query`` (names already left out), re-ranked after each same-day reply
        inherits part of the score of the turn before it: an answer rarely repeats the words of
        the question it answers."""
        hits = list(self.recall.search_text(agent_id, query, 1,
                                            self.weights.candidates).items)
        if not hits or self.weights.reply_carry <= 0:
            return hits
        score = {h.id: h.score for h in hits}
        by_id = {h.id: h for h in hits}
        for message in self.recall.messages([h.id + 1 for h in hits if h.id + 1 not in by_id]).values():
            if message.agent_id == agent_id:
                by_id[message.id] = message_hit(message, 0.0)
        combined = {}
        for mid, hit in by_id.items():
            before = by_id.get(mid - 1)
            carried = score.get(mid - 1, 0.0) if before and before.created_at.date() == hit.created_at.date() else 0.0
            combined[mid] = score.get(mid, 0.0) + self.weights.reply_carry * carried
        ranked = sorted(combined, key=lambda i: (-combined[i], -i))[: self.weights.candidates]
        return [by_id[i] for i in ranked if combined[i] > 0]

    def _add_same_day(self, fused: dict[tuple[str, int], tuple[float, Hit]]) -> None:
        """Every recall hit gains a share of its day's best score: one conversation's turns
        about a topic come together, and a strong hit vouches for the rest of that talk."""
        if self.weights.same_day <= 0:
            return
        best: dict = {}
        for score, hit in fused.values():
            if hit.tier == "recall":
                day = hit.created_at.date()
                best[day] = max(best.get(day, 0.0), score)
        for key, (score, hit) in list(fused.items()):
            if hit.tier == "recall":
                fused[key] = (score + self.weights.same_day * best[hit.created_at.date()], hit)

    def _add_speaker(self, agent_id: int, query: str, fused: dict[tuple[str, int], tuple[float, Hit]]) -> None:
        """A query that names a speaker ("What did Anna say about...") prefers that speaker's turns."""
        if self.weights.speaker <= 0:
            return
        named = {n for n in self._speaker_names(agent_id)
                 if re.search(r"\b" + re.escape(n.lower()) + r"\b", query.lower())}
        if not named:
            return
        bonus = self.weights.speaker / (self.weights.rrf_k + 1)
        for key, (score, hit) in list(fused.items()):
            if hit.tier == "recall" and hit.name in named:
                fused[key] = (score + bonus, hit)

    def _without_names(self, agent_id: int, query: str) -> str:
        """The query without speakers' names (and their "'s"), unless nothing else is left."""
        stripped = query
        for name in self._speaker_names(agent_id):
            stripped = re.sub(r"\b" + re.escape(name) + r"(?:'s)?\b", " ", stripped, flags=re.IGNORECASE)
        return stripped if stripped.strip(" ?!.,'\"") else query

    def _prefer_told_times(self, query: str, fused: dict[tuple[str, int], tuple[float, Hit]]) -> None:
        """A question about when is answered by a turn that says when ("yesterday", "in May",
        "for three years"); among a talk's turns about the thing, that one goes first."""
        if self.weights.tells_when <= 0 or not asks_when(query):
            return
        for key, (score, hit) in list(fused.items()):
            if tells_time(hit.text):
                fused[key] = (score * (1 + self.weights.tells_when), hit)

    def _prefer_named_things(self, agent_id: int, query: str, fused: dict[tuple[str, int], tuple[float, Hit]]) -> None:
        """A question asking for a name ("Which cities has Jon visited?") is answered by a turn
        that names something ("a short trip to Rome"), even one sharing few of its words."""
        if self.weights.names_thing <= 0 or not asks_for_a_name(query):
            return
        speakers = self._speaker_names(agent_id)
        for key, (score, hit) in list(fused.items()):
            if hit.tier == "recall" and names_something(hit.text, speakers):
                fused[key] = (score * (1 + self.weights.names_thing), hit)

    def _demote_questions(self, fused: dict[tuple[str, int], tuple[float, Hit]]) -> None:
        if self.weights.question <= 0:
            return
        for key, (score, hit) in list(fused.items()):
            if hit.tier == "recall" and hit.text.rstrip().endswith("?"):
                fused[key] = (score * (1 - self.weights.question), hit)

    def _speaker_names(self, agent_id: int) -> frozenset[str]:
        """Names of the agent's speakers; cached for a while since new speakers are rare."""
        cached = self._names.get(agent_id)
        if cached and time.monotonic() - cached[0] < self.weights.names_ttl_s:
            return cached[1]
        names = frozenset(r[0] for r in self.recall.db.cursor().execute(
            "SELECT DISTINCT name FROM messages WHERE agent_id = ? AND name IS NOT NULL AND name <> ''",
            [agent_id]).fetchall())
        self._names[agent_id] = (time.monotonic(), names)
        return names

    def _vector_hits(self, agent_id: int, vector) -> list[Hit]:
        return self._hits(self.vectors.search(agent_id, vector, self.weights.candidates))

    def _hits(self, found: list[tuple[int, float]]) -> list[Hit]:
        """Recall hits for (message id, similarity) pairs, in their order."""
        messages = self.recall.messages([i for i, _ in found])
        return [message_hit(messages[i], s) for i, s in found if i in messages]

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

    def _around(self, ids: list[int], nearby: dict[int, Message]) -> dict[int, Message]:
        """The messages with these ids, reading only those ``nearby`` does not hold yet."""
        missing = [i for i in ids if i not in nearby]
        if missing:
            nearby.update(self.recall.messages(missing))
        return nearby

    def _add_neighbours(self, agent_id: int, fused: dict[tuple[str, int], tuple[float, Hit]], exclude: set[int],
                        nearby: dict[int, Message]) -> None:
        """Each recall hit's turns just before and after, from the same day, gain a share of the
        best-scoring neighbour's score: a reply or the question it answers often carries the rest
        of the fact."""
        hits = [(s, h) for s, h in fused.values() if h.tier == "recall"]
        if not hits:
            return
        messages = self._around(sorted({h.id + d for _, h in hits for d in (-1, 1)}), nearby)
        extra: dict[int, float] = {}
        for score, hit in hits:
            for nid in (hit.id - 1, hit.id + 1):
                message = messages.get(nid)
                if (message is None or nid in exclude or message.agent_id != agent_id
                        or message.created_at.date() != hit.created_at.date()):
                    continue
                extra[nid] = max(extra.get(nid, 0.0), self.weights.neighbours * score)
        for nid, bonus in extra.items():
            key = ("recall", nid)
            if key in fused:
                fused[key] = (fused[key][0] + bonus, fused[key][1])
            else:
                fused[key] = (bonus, message_hit(messages[nid], bonus))

    def _time_bonus(self, hit: Hit, now: datetime, window: TimeWindow | None) -> float:
        w, unit = self.weights, 1.0 / (self.weights.rrf_k + 1)
        if not window:
            return 0.0  # no time in the question: an old memory is as likely the answer as a new one
        age_days = max(0.0, (now - hit.created_at).total_seconds() / 86400)
        bonus = w.recency * unit * math.pow(0.5, age_days / w.recency_half_life_days)
        if window.start <= hit.created_at < window.end:
            return bonus + w.date_match * unit
        gap = min(abs((hit.created_at - window.start).total_seconds()),
                  abs((hit.created_at - window.end).total_seconds())) / 86400
        return bonus + w.date_match * unit * math.pow(0.5, gap / window.half_life_days)
