"""Text search over the BM25 postings ranks and scores exactly as the fts extension's match_bm25."""

import random

import pytest

from engine.memory.migrations import apply_migrations
from engine.memory.recall import RecallStore

WORDS = ("coffee morning garden piano sister river dinner running marathon tokyo paris book "
         "walked walking walks the a of and to").split()


@pytest.fixture
def recall(db, timeline) -> RecallStore:
    return RecallStore(db, timeline)


def _corpus(recall: RecallStore, n: int = 300) -> None:
    rng = random.Random(3)
    for agent in (1, 2):
        recall.append_many(agent, [("user", " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 14))))
                                   for _ in range(n)])
    recall.fts.wait()
    recall.fts.rebuild()


def _match_bm25(db, agent_id: int, query: str) -> list[tuple[int, float]]:
    return db.cursor().execute(
        "SELECT id, score FROM (SELECT id, fts_main_messages.match_bm25(id, ?) AS score FROM messages "
        "WHERE agent_id = ?) WHERE score IS NOT NULL ORDER BY score DESC, id DESC", [query, agent_id]).fetchall()


@pytest.mark.parametrize("query", ["coffee", "piano sister", "walking in Tokyo", "marathon river book paris",
                                   "Coffee, coffee! GARDEN"])
def test_ranking_and_scores_match_match_bm25(recall, db, query):
    _corpus(recall)
    expected = _match_bm25(db, 2, query)
    found = recall.search_text(2, query, page=1, page_size=len(expected) + 5)
    assert found.total == len(expected) > 0
    assert [h.id for h in found.items] == [i for i, _ in expected]
    assert [h.score for h in found.items] == pytest.approx([s for _, s in expected], rel=1e-12)


def test_pages_follow_the_full_ranking_without_gaps_or_repeats(recall, db):
    _corpus(recall)
    expected = [i for i, _ in _match_bm25(db, 1, "garden dinner")]
    pages = [recall.search_text(1, "garden dinner", page=p, page_size=7) for p in range(1, len(expected) // 7 + 2)]
    assert [h.id for p in pages for h in p.items] == expected
    assert {p.total for p in pages} == {len(expected)}


def test_a_word_only_in_another_agents_messages_finds_nothing(recall):
    recall.append(1, "user", "my cello lesson")
    recall.append(2, "user", "the violin is tuned")
    recall.fts.rebuild()
    assert recall.search_text(1, "violin").total == 0
    assert recall.search_text(1, "violin tuned").total == 0
    assert [h.text for h in recall.search_text(2, "violin").items] == ["the violin is tuned"]


def test_an_agent_with_few_messages_among_many_others_still_scores_as_match_bm25(recall, db):
    rng = random.Random(5)
    recall.append(1, "user", "coffee with my sister by the river")
    recall.append_many(2, [("user", " ".join(rng.choice(WORDS) for _ in range(8))) for _ in range(400)])
    recall.append(1, "user", "river walks and coffee")
    recall.fts.rebuild()
    expected = _match_bm25(db, 1, "coffee river")
    found = recall.search_text(1, "coffee river", page=1, page_size=10)
    assert [h.id for h in found.items] == [i for i, _ in expected] and len(expected) == 2
    assert [h.score for h in found.items] == pytest.approx([s for _, s in expected], rel=1e-12)


def test_an_index_built_before_postings_existed_gets_them_on_migration(recall, db):
    old = recall.append(1, "user", "an old note about the lighthouse")
    cur = db.cursor()
    cur.execute("PRAGMA create_fts_index('messages', 'id', 'content', overwrite=1)")
    cur.execute("UPDATE fts_state SET covered_max_id = ?", [old.id])
    cur.execute("DROP TABLE recall_postings")
    cur.execute("DELETE FROM migrations WHERE name = 'm004_recall_postings'")
    assert apply_migrations(cur) == ["m004_recall_postings"]
    assert [h.id for h in recall.search_text(1, "lighthouse").items] == [old.id]
