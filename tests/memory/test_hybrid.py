from datetime import datetime, timedelta

import pytest

from engine.memory.archival import ArchivalStore
import dataclasses

from engine.memory.hybrid import HybridRetriever, RetrievalWeights
from engine.memory.message_vectors import MessageVectors
from engine.memory.message_views import MessageViews
from engine.memory.recall import RecallStore

NOW = datetime(2024, 6, 15, 12, 0)


@pytest.fixture
def parts(db, data_dir, embedder, message_embedder, timeline):
    recall = RecallStore(db, timeline)
    vectors = MessageVectors(db, data_dir, lambda: message_embedder)
    archival = ArchivalStore(db, data_dir, lambda: embedder, timeline)
    views = MessageViews(db, data_dir, lambda: embedder)
    return recall, vectors, archival, HybridRetriever(recall, vectors, archival, lambda: embedder, views,
                                                           lambda: message_embedder)


def _embed(retriever: HybridRetriever) -> None:
    retriever.vectors.embed_pending()
    retriever.views.embed_pending()


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


def test_a_reply_is_found_through_the_question_it_answers(parts):
    recall, _, _, retriever = parts
    day = datetime(2024, 6, 1, 10, 0)
    recall.append(1, "user", "Books are great! Which one has been your favourite guide?", name="Mel", created_at=day)
    reply = recall.append(1, "user", "'Becoming Nicole', for sure.", name="Caro", created_at=day)
    for i in range(6):
        recall.append(1, "user", f"Note {i}: the bus was late again today.", name="Caro",
                      created_at=day + timedelta(days=i + 1))
    _embed(retriever)
    assert reply.id in [h.id for h in retriever.search(1, "What book did Caro recommend?", k=2, now=NOW)]


def test_a_message_ending_in_a_question_counts_for_less(parts):
    recall, _, _, retriever = parts
    statement = recall.append(1, "user", "We talked about Lisbon in spring.", created_at=datetime(2024, 5, 1))
    question = recall.append(1, "user", "We talked about Lisbon in spring?", created_at=datetime(2024, 5, 1, 0, 1))
    _embed(retriever)
    assert [h.id for h in retriever.search(1, "Lisbon in spring", k=2, now=NOW)] == [statement.id, question.id]
    retriever.weights = dataclasses.replace(retriever.weights, question=0.0)
    assert retriever.search(1, "Lisbon in spring", k=1, now=NOW)[0].id == question.id


def test_a_name_in_the_query_finds_that_speakers_words_not_words_said_to_them(parts):
    recall, _, _, retriever = parts
    day = datetime(2024, 5, 2, 9, 0)
    said_to = recall.append(1, "user", "Wow Anna, Anna, that's so cool Anna!", name="Bob", created_at=day)
    recall.append(1, "user", "Thanks!", name="Anna", created_at=day)
    own = recall.append(1, "user", "My pottery class starts on Monday.", name="Anna", created_at=day)
    _embed(retriever)
    ranked = [h.id for h in retriever.search(1, "What class is Anna taking?", k=3, now=NOW)]
    assert ranked.index(own.id) < ranked.index(said_to.id)


@pytest.mark.parametrize("weight, plain_text, preferred_text, question, other_question", [
    ("tells_when", "Taking a pottery class! Pottery is such fun, I made a bowl.", "I started that class last week.",
     "When did Anna take a pottery class?", "Did Anna take a pottery class?"),
    ("names_thing", "Visiting new cities is my favourite way to travel, I love cities.",
     "Took a short trip last week to visit Lisbon.", "Which cities has Anna visited?", "Has Anna visited cities?"),
], ids=["a when question prefers the turn that says when",
        "a question asking for a name prefers the turn that names something"])
def test_a_question_prefers_the_turn_holding_the_kind_of_answer_it_asks_for(parts, weight, plain_text, preferred_text,
                                                                            question, other_question):
    recall, _, _, retriever = parts
    day = datetime(2024, 5, 2, 9, 0)
    plain = recall.append(1, "user", plain_text, name="Anna", created_at=day)
    preferred = recall.append(1, "user", preferred_text, name="Anna", created_at=day + timedelta(days=2))
    _embed(retriever)

    def ranked(query: str, value: float) -> list[int]:
        retriever.weights = dataclasses.replace(retriever.weights, **{weight: value})
        return [h.id for h in retriever.search(1, query, k=2, now=NOW)]

    assert ranked(question, 0.0) == [plain.id, preferred.id]
    assert ranked(question, 1.0) == [preferred.id, plain.id]
    assert ranked(other_question, 1.0) == ranked(other_question, 0.0)


def test_a_name_in_the_query_does_not_pull_the_message_vectors_toward_greetings_of_that_person(parts):
    recall, _, _, retriever = parts
    day = datetime(2024, 5, 2, 9, 0)
    greeting = recall.append(1, "user", "Anna, you have been so busy lately, Anna!", name="Bob", created_at=day)
    own = recall.append(1, "user", "I have been learning to throw pots at a pottery studio.", name="Anna",
                        created_at=day + timedelta(days=3))
    _embed(retriever)
    vectors_only = dataclasses.replace(retriever.weights, bm25=0.0, sentence=0.0, context=0.0, speaker=0.0,
                                       neighbours=0.0, same_day=0.0)
    retriever.weights = vectors_only
    assert retriever.search(1, "What has Anna been learning lately?", k=1, now=NOW)[0].id == own.id


def _talk(recall, day: datetime, turns: list[tuple[str, str]]) -> list[int]:
    return [recall.append(1, "user", text, name=name, created_at=day + timedelta(minutes=i)).id
            for i, (name, text) in enumerate(turns)]


def test_a_speakers_first_turn_of_a_talk_gains_a_share_of_its_score_and_later_turns_do_not(parts):
    recall, _, _, retriever = parts
    news = "I took my kids to the aquarium and they loved the sharks."
    first = _talk(recall, datetime(2024, 5, 2, 18), [("Mel", news), ("Caro", "The sharks! Which aquarium?"),
                                                    ("Mel", "The city aquarium, the kids loved the sharks.")])
    second = _talk(recall, datetime(2024, 5, 9, 18), [("Caro", "Hey Mel, how was the week?"),
                                                      ("Mel", "Busy, and the kids still talk about the sharks.")])
    _embed(retriever)
    question = "What did Mel's kids love at the aquarium?"
    shipped = {h.id: h.score for h in retriever.search(1, question, k=10, now=NOW)}
    retriever.weights = dataclasses.replace(retriever.weights, opener=0.0)
    plain = {h.id: h.score for h in retriever.search(1, question, k=10, now=NOW)}
    openers = {first[0], first[1], second[0], second[1]}  # each speaker's first turn of each talk
    assert set(shipped) == set(plain) == set(first + second)
    for message_id, score in plain.items():
        gain = 1 + RetrievalWeights().opener if message_id in openers else 1.0
        assert shipped[message_id] == pytest.approx(score * gain, rel=1e-9)
