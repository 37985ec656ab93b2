from datetime import datetime, timedelta

import pytest

from engine.memory.archival import ArchivalStore
from engine.memory.hybrid import HybridRetriever
from engine.memory.message_vectors import MessageVectors
from engine.memory.recall import RecallStore

NOW = datetime(2024, 6, 15, 12, 0)


@pytest.fixture
def parts(db, data_dir, embedder, timeline):
    recall = RecallStore(db, timeline)
    vectors = MessageVectors(db, data_dir, lambda: embedder)
    archival = ArchivalStore(db, data_dir, lambda: embedder, timeline)
    return recall, vectors, archival, HybridRetriever(recall, vectors, archival, lambda: embedder)


def test_hybrid_finds_a_paraphrase_that_bm25_alone_misses(parts):
    recall, vectors, _, retriever = parts
    target = recall.append(1, "user", "I adopted a puppy from the shelter last weekend.")
    recall.append(1, "user", "The quarterly report is due on Friday.")
    recall.append(1, "assistant", "Remember to water the tomatoes.")
    assert vectors.embed_pending() == 3
    query = "Any new pets?"
    assert target.id not in [h.id for h in recall.search_text(1, query).items]
    assert retriever.search(1, query, k=1, now=NOW)[0].id == target.id


def test_hybrid_mixes_tiers_and_skips_excluded_messages(parts):
    recall, vectors, archival, retriever = parts
    message = recall.append(1, "user", "My sister Anna moved to Lisbon.")
    passage = archival.insert(1, "Anna works as a marine biologist in Lisbon.")
    vectors.embed_pending()
    hits = retriever.search(1, "where does Anna live?", k=5, now=NOW)
    assert {(h.tier, h.id) for h in hits} >= {("recall", message.id), ("archival", passage.id)}
    excluded = retriever.search(1, "where does Anna live?", k=5, now=NOW, exclude_ids=[message.id])
    assert ("recall", message.id) not in {(h.tier, h.id) for h in excluded}


def test_query_naming_a_month_prefers_messages_from_that_month(parts):
    recall, vectors, _, retriever = parts
    march = recall.append(1, "user", "We went hiking in the mountains.", created_at=datetime(2024, 3, 10))
    recall.append(1, "user", "We went hiking in the mountains.", created_at=datetime(2024, 5, 20))
    vectors.embed_pending()
    assert retriever.search(1, "what did we do in March 2024?", k=1, now=NOW)[0].id == march.id


def test_word_scan_matches_whole_words_and_skips_stopwords(parts):
    recall, _, _, _ = parts
    recall.fts.rebuild()
    water = recall.append(1, "user", "Remember to water the tomatoes.")
    cafe = recall.append(1, "user", "Meet me at the cafe.")
    found = [h.id for h in recall.search_text(1, "what is at the cafe").items]
    assert cafe.id in found and water.id not in found


def test_neighbouring_turn_of_a_strong_hit_is_paged_in(parts):
    recall, vectors, _, retriever = parts
    day = datetime(2024, 5, 2, 10, 0)
    recall.append(1, "user", "The quarterly report is due on Friday.", created_at=day - timedelta(days=30))
    question = recall.append(1, "user", "Which instrument did you pick up for the concert?", created_at=day)
    answer = recall.append(1, "assistant", "The cello, finally.", created_at=day + timedelta(seconds=1))
    vectors.embed_pending()
    ids = [h.id for h in retriever.search(1, "instrument for the concert", k=3, now=NOW)]
    assert question.id in ids and answer.id in ids


def test_a_reply_inherits_part_of_the_keyword_score_of_the_turn_it_answers(parts):
    recall, _, _, retriever = parts
    day = datetime(2024, 5, 2, 10, 0)
    recall.append(1, "user", "Which marathon are you training for this spring?", created_at=day)
    reply = recall.append(1, "assistant", "Berlin, in April.", created_at=day + timedelta(seconds=1))
    recall.append(1, "user", "A marathon of films tonight.", created_at=day + timedelta(days=3))
    hits = retriever._keyword_hits(1, "marathon training")
    assert reply.id in [h.id for h in hits]
    assert [h.id for h in recall.search_text(1, "marathon training").items].count(reply.id) == 0


def test_a_query_naming_a_speaker_prefers_that_speakers_turns(parts):
    recall, vectors, _, retriever = parts
    day = datetime(2024, 5, 2, 10, 0)
    ben = recall.append(1, "user", "I painted a sunset over the lake.", name="Ben", created_at=day)
    ana = recall.append(1, "user", "I painted a sunset over the lake.", name="Ana", created_at=day + timedelta(days=9))
    vectors.embed_pending()
    assert retriever.search(1, "What did Ana paint?", k=1, now=NOW)[0].id == ana.id
    assert retriever.search(1, "What did Ben paint?", k=1, now=NOW)[0].id == ben.id
