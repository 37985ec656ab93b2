"""BM25 for a query's terms only, from a postings table derived from DuckDB's fts index.

The fts extension's ``match_bm25`` scores every row of the table for every query: about a
second at a million messages. The index's own tables already hold what BM25 needs (per document
and term the term frequency, per document its length), so each rebuild turns them into
``recall_postings``: one row per (agent, term, message) holding that term's share of the
message's score, its *impact*, sorted so one agent's rows for one term lie together. A query
reads only its terms' rows and sums impacts per message. Tokenizer, stemmer, stopwords and
formula (k1 = 1.2, b = 0.75, the macro's base-10 log) are the extension's own; the statistics
(document count, average length, document frequency) are each agent's own, because each agent's
memory is its own corpus: a name one agent's user says daily is a rare, telling word to another
agent, and one agent's conversations must not change how another's are ranked. For an agent
alone in its database the scores are ``match_bm25``'s, with one difference: a query's stopwords
are dropped before stemming, as the index drops them from messages (``match_bm25`` stems them
too, so "thanks", a stopword, would match "thanked").

Messages newer than the index are scored the same way at query time from their terms
(newer_terms.py), with the index's statistics and theirs together: a new user's first messages,
and the latest ones of anybody, rank by BM25 rather than by how many query words they hold, ties
to the newest (a small model that echoes a fact in every reply buried the fact itself).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import numpy as np

if TYPE_CHECKING:
    from engine.memory.newer_terms import NewerDocuments

FTS_SCHEMA = "fts_main_messages"

# The subscore expression of the fts extension's match_bm25 macro, written the same way (the
# literals' DECIMAL types included), over each agent's own document count, length and frequencies.
BUILD_POSTINGS = f"""
CREATE OR REPLACE TABLE recall_postings AS
WITH term_tf AS (SELECT docid, termid, count(*) AS tf FROM {FTS_SCHEMA}.terms GROUP BY docid, termid),
doc AS (SELECT docs.docid, docs.len, m.agent_id, m.id AS message_id
        FROM {FTS_SCHEMA}.docs AS docs JOIN messages AS m ON m.id = docs.name),
agent_stats AS (SELECT agent_id, count(*) AS num_docs, avg(len) AS avgdl FROM doc GROUP BY agent_id),
agent_df AS (SELECT doc.agent_id, termid, count(*) AS df FROM term_tf JOIN doc USING (docid)
             GROUP BY doc.agent_id, termid)
SELECT doc.agent_id, term_tf.termid, doc.message_id,
       log((((agent_stats.num_docs - agent_df.df) + 0.5) / (agent_df.df + 0.5)) + 1)
       * ((tf * (1.2 + 1)) / (tf + (1.2 * ((1 - 0.75) + (0.75 * (doc.len / agent_stats.avgdl)))))) AS impact
FROM term_tf
JOIN doc USING (docid)
JOIN agent_stats USING (agent_id)
JOIN agent_df USING (agent_id, termid)
ORDER BY doc.agent_id, term_tf.termid, doc.message_id
"""

# Each agent's document count and average length, saved with the postings: messages newer than
# the index are scored against the same statistics, with theirs added.
BUILD_STATS = f"""
CREATE OR REPLACE TABLE recall_bm25_stats AS
SELECT m.agent_id, count(*) AS num_docs, avg(docs.len) AS avgdl
FROM {FTS_SCHEMA}.docs AS docs JOIN messages AS m ON m.id = docs.name
GROUP BY m.agent_id
"""

# The query's terms as the index makes them: its tokenizer, stopwords dropped, Porter stems.
_QUERY_STEMS = (f"SELECT DISTINCT stem(w, 'porter') AS term FROM (SELECT unnest({FTS_SCHEMA}.tokenize(?)) AS w) "
                f"WHERE w <> '' AND w NOT IN (SELECT sw FROM {FTS_SCHEMA}.stopwords) ORDER BY term")
_TERM_IDS = f"SELECT term, termid FROM {FTS_SCHEMA}.dict WHERE list_contains(?, term) ORDER BY termid"
_POSTINGS = "SELECT message_id, impact FROM recall_postings WHERE agent_id = ? AND termid = ?"
_INDEX_STATS = "SELECT num_docs, avgdl FROM recall_bm25_stats WHERE agent_id = ?"
K1, B = 1.2, 0.75


@dataclass(frozen=True)
class Scores:
    """Every message matching at least one query term, with its BM25 score (unordered)."""

    ids: np.ndarray
    scores: np.ndarray

    @classmethod
    def empty(cls) -> "Scores":
        return cls(np.empty(0, np.int64), np.empty(0, np.float64))


def score(cur: duckdb.DuckDBPyConnection, agent_id: int, query: str, indexed_up_to: int,
          newer: "NewerDocuments") -> Scores:
    """BM25 of ``agent_id``'s messages for ``query``: from the postings for those the index holds
    (ids up to ``indexed_up_to``), computed now for the ``newer`` ones.

    Terms are read one at a time: an equality on the sort key lets DuckDB skip every other
    row group, which an ``IN`` list or a join does not.
    """
    stems = [row[0] for row in cur.execute(_QUERY_STEMS, [query]).fetchall()]
    if not stems:
        return Scores.empty()
    postings = {term: cur.execute(_POSTINGS, [agent_id, termid]).fetchnumpy()
                for term, termid in cur.execute(_TERM_IDS, [stems]).fetchall()} if indexed_up_to > 0 else {}
    indexed = _summed(list(postings.values()))
    frequency = {term: len(postings[term]["message_id"]) if term in postings else 0 for term in stems}
    return _merged(indexed, _score_newer(cur, agent_id, stems, indexed_up_to, frequency, newer))


def _summed(lists: list[dict]) -> Scores:
    """Each message's score: the sum of its terms' impacts."""
    lists = [p for p in lists if len(p["message_id"])]
    if not lists:
        return Scores.empty()
    if len(lists) == 1:  # one term: each message appears once, its impact is its score
        return Scores(lists[0]["message_id"].astype(np.int64, copy=False),
                      lists[0]["impact"].astype(np.float64, copy=False))
    ids = np.concatenate([p["message_id"] for p in lists]).astype(np.int64, copy=False)
    impacts = np.concatenate([p["impact"] for p in lists]).astype(np.float64, copy=False)
    return _sum_per_message(ids, impacts)


def _score_newer(cur: duckdb.DuckDBPyConnection, agent_id: int, stems: list[str], after_id: int,
                 indexed_frequency: dict[str, int], newer: "NewerDocuments") -> Scores:
    """BM25 of the agent's messages newer than ``after_id``, from their terms.

    Document count, average length and each term's document frequency are the index's and the
    newer messages' together, so a word said in every new message weighs as little as one said
    in every old one. With nothing indexed these are exactly the scores an index would give.
    """
    holding = {term: [i for i, counts in newer.terms.items() if term in counts] for term in stems}
    if not any(holding.values()):
        return Scores.empty()
    stats = cur.execute(_INDEX_STATS, [agent_id]).fetchone() if after_id > 0 else None
    indexed_docs, indexed_avgdl = (int(stats[0]), float(stats[1])) if stats else (0, 0.0)
    docs = indexed_docs + newer.count
    avgdl = (indexed_docs * indexed_avgdl + newer.total_length) / docs
    totals: dict[int, float] = {}
    for term in sorted(stems):  # one order for every message, so equal term patterns tie exactly
        frequency = indexed_frequency[term] + len(holding[term])
        idf = math.log10((docs - frequency + 0.5) / (frequency + 0.5) + 1)
        for message_id in sorted(holding[term]):
            tf, length = newer.terms[message_id][term], newer.lengths[message_id]
            impact = idf * (tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * length / avgdl))
            totals[message_id] = totals.get(message_id, 0.0) + impact
    return Scores(np.fromiter(totals, np.int64, len(totals)), np.fromiter(totals.values(), np.float64, len(totals)))


def _merged(first: Scores, second: Scores) -> Scores:
    """Both sets of scores as one (their ids do not overlap)."""
    return Scores(np.concatenate([first.ids, second.ids]), np.concatenate([first.scores, second.scores]))


# A dense accumulator over the id range costs one float per id in it; above this many ids per
# posting the range is too sparse for that to pay and the merge sorts instead.
DENSE_RANGE_PER_POSTING = 16


def _sum_per_message(ids: np.ndarray, impacts: np.ndarray) -> Scores:
    """Sum impacts per message, adding each message's impacts in term order.

    Term order keeps equal term patterns at exactly equal sums, so ties stay ties. Message ids
    of one agent are dense, so a bincount over their range merges ~370,000 postings in a few
    milliseconds where sorting them took ~15.
    """
    low, high = int(ids.min()), int(ids.max())
    if high - low + 1 <= DENSE_RANGE_PER_POSTING * len(ids):
        offsets = ids - low
        totals = np.bincount(offsets, weights=impacts, minlength=high - low + 1)
        seen = np.bincount(offsets, minlength=high - low + 1)
        present = np.flatnonzero(seen)
        return Scores(present + low, totals[present])
    order = np.argsort(ids, kind="stable")
    ids, impacts = ids[order], impacts[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    return Scores(ids[starts], np.add.reduceat(impacts, starts))


def top(ids: np.ndarray, scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` best (id, score) pairs ordered by score then id, both descending.

    Every row tied with the n-th score is sorted too, so the cut is the same as a full sort's.
    """
    if n <= 0 or len(ids) == 0:
        return ids[:0], scores[:0]
    if len(ids) > n:
        threshold = np.partition(scores, len(scores) - n)[len(scores) - n]
        keep = np.flatnonzero(scores >= threshold)
        ids, scores = ids[keep], scores[keep]
    order = np.lexsort((-ids, -scores))[:n]
    return ids[order], scores[order]
