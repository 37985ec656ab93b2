"""Text search over the BM25 postings ranks and scores as the fts extension's match_bm25 would over
the agent's messages alone: each agent's statistics are its own."""

import random

import pytest

from engine.memory.db import Database
from engine.memory.migrations import apply_migrations
from engine.memory.recall import RecallStore
from engine.memory.timeline import Timeline

WORDS = ("coffee morning garden piano sister river dinner running marathon tokyo paris book "
         "walked walking walks the a of and to").split()


@pytest.fixture
def recall(db, timeline) -> RecallStore:
    return RecallStore(db, timeline)


def _corpus(recall: RecallStore, n: int = 300) -> None:
    rng = random.Random(3)
    for agent, (words, length) in {1: (WORDS[:8] + WORDS[-5:], 6), 2: (WORDS, 14)}.items():
        recall.append_many(agent, [("user", " ".join(rng.choice(words) for _ in range(rng.randint(1, length))))
                                   for _ in range(n)])  # other words and lengths: other statistics
    recall.fts.wait()
    recall.fts.rebuild()


def _texts(db, agent_id: int) -> list[str]:
    return [r[0] for r in db.cursor().execute("SELECT content FROM messages WHERE agent_id = ? ORDER BY id",
                                              [agent_id]).fetchall()]


def _match_bm25_alone(tmp_path, texts: list[str], query: str) -> list[tuple[str, float]]:
    """match_bm25 over a database holding only these messages, as (text, score), best first."""
    alone = Database.connect(tmp_path / "alone.duckdb")
    try:
        apply_migrations(alone.cursor())
        store = RecallStore(alone, Timeline(alone))
        store.append_many(1, [("user", t) for t in texts])
        store.fts.wait()
        store.fts.rebuild()
        return alone.cursor().execute(
            "SELECT content, score FROM (SELECT id, content, fts_main_messages.match_bm25(id, ?) AS score "
            "FROM messages) WHERE score IS NOT NULL ORDER BY score DESC, id DESC", [query]).fetchall()
    finally:
        alone.close()


def _match_bm25(db, agent_id: int, query: str) -> list[tuple[int, float]]:
    return db.cursor().execute(
        "SELECT id, score FROM (SELECT id, fts_main_messages.match_bm25(id, ?) AS score FROM messages "
        "WHERE agent_id = ?) WHERE score IS NOT NULL ORDER BY score DESC, id DESC", [query, agent_id]).fetchall()


@pytest.mark.parametrize("query", ["coffee", "piano sister", "walking in Tokyo", "marathon river book paris",
                                   "Coffee, coffee! GARDEN"])
def test_ranking_and_scores_match_match_bm25_over_the_agents_own_messages(recall, db, tmp_path, query):
    _corpus(recall)
    expected = _match_bm25_alone(tmp_path, _texts(db, 2), query)
    found = recall.search_text(2, query, page=1, page_size=len(expected) + 5)
    assert found.total == len(expected) > 0
    assert [h.text for h in found.items] == [t for t, _ in expected]
    assert [h.score for h in found.items] == pytest.approx([s for _, s in expected], rel=1e-12)


def test_another_agents_messages_do_not_change_an_agents_scores(recall, db):
    _corpus(recall)
    before = [(h.id, h.score) for h in recall.search_text(1, "coffee garden", page_size=50).items]
    recall.append_many(2, [("user", "coffee coffee coffee and more coffee") for _ in range(200)])
    recall.fts.wait()
    recall.fts.rebuild()
    after = [(h.id, h.score) for h in recall.search_text(1, "coffee garden", page_size=50).items]
    assert after == before and len(before) > 5
    assert [s for _, s in _match_bm25(db, 1, "coffee garden")] != pytest.approx([s for _, s in before])


def test_pages_follow_the_full_ranking_without_gaps_or_repeats(recall, db):
    _corpus(recall)
    expected = [h.id for h in recall.search_text(1, "garden dinner", page=1, page_size=1000).items]
    assert len(expected) > 20
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


def test_an_agent_with_few_messages_among_many_others_scores_as_if_alone(recall, db, tmp_path):
    rng = random.Random(5)
    recall.append(1, "user", "coffee with my sister by the river")
    recall.append_many(2, [("user", " ".join(rng.choice(WORDS) for _ in range(8))) for _ in range(400)])
    recall.append(1, "user", "river walks and coffee")
    recall.fts.rebuild()
    expected = _match_bm25_alone(tmp_path, _texts(db, 1), "coffee river")
    found = recall.search_text(1, "coffee river", page=1, page_size=10)
    assert [h.text for h in found.items] == [t for t, _ in expected] and len(expected) == 2
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


@pytest.mark.parametrize("query", ["coffee", "piano sister", "walking in Tokyo", "Coffee, coffee! GARDEN"])
def test_messages_newer_than_the_index_score_what_an_index_over_them_would_give(recall, db, tmp_path, query):
    rng = random.Random(11)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 9))) for _ in range(200)]
    recall.append_many(1, [("user", t) for t in texts])
    assert recall.fts.covered_max_id() == 0  # below the rebuild threshold: nothing indexed yet
    expected = _match_bm25_alone(tmp_path, texts, query)
    found = recall.search_text(1, query, page=1, page_size=20)
    assert [h.text for h in found.items] == [t for t, _ in expected[:20]] and expected
    assert [h.score for h in found.items] == pytest.approx([s for _, s in expected[:20]], rel=1e-9)


def test_a_fact_outranks_its_newer_longer_echoes_before_the_index_reaches_them(recall, db):
    told = recall.append(1, "user", "my grandmother's village is called Valdemossa")
    recall.append_many(1, [("user", f"note {i} about the weather") for i in range(50)])
    recall.fts.rebuild()
    echoes = [recall.append(1, "assistant", f"you said your grandmother's village is called Valdemossa and "
                            f"then told me about turn {i} and the weather").id for i in range(30)]
    assert min(echoes) > recall.fts.covered_max_id()
    found = recall.search_text(1, "grandmother village Valdemossa", page=1, page_size=5)
    assert found.items[0].id == told.id  # the short original, not the newest of its longer echoes
    assert {h.id for h in found.items[1:]} <= set(echoes)


def test_a_data_folder_that_never_built_its_index_gets_it_with_its_statistics_on_migration(recall, db):
    told = recall.append(1, "user", "the lighthouse keeper retired in May")
    cur = db.cursor()
    cur.execute("PRAGMA drop_fts_index('messages')")
    cur.execute("DROP TABLE recall_bm25_stats")
    cur.execute("UPDATE fts_state SET covered_max_id = 0")
    cur.execute("DELETE FROM migrations WHERE name = 'm008_text_index_always_present'")
    assert apply_migrations(cur) == ["m008_text_index_always_present"]
    assert recall.fts.covered_max_id() == told.id
    assert cur.execute("SELECT num_docs FROM recall_bm25_stats WHERE agent_id = 1").fetchone() == (1,)
    assert [h.id for h in recall.search_text(1, "lighthouse keeper").items] == [told.id]
