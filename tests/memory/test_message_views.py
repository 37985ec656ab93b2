"""Sentence and reply-context views of messages: what is embedded, kept, searched and deleted."""

from datetime import datetime

import numpy as np
import pytest

from engine.memory.agents import AgentStore
from engine.memory.core import CoreMemory
from engine.memory.message_views import CONTEXT, SENTENCE, MessageViews, sentences, view_texts
from engine.memory.recall import RecallStore
from engine.memory.store import MemoryStore

DAY = datetime(2023, 7, 7, 14, 0)


@pytest.fixture
def recall(db, timeline) -> RecallStore:
    return RecallStore(db, timeline)


@pytest.fixture
def views(db, data_dir, embedder) -> MessageViews:
    return MessageViews(db, data_dir, lambda: embedder)


def _kinds(db, message_id: int) -> list[str]:
    return sorted(r[0] for r in db.cursor().execute(
        "SELECT kind FROM message_views WHERE message_id = ?", [message_id]).fetchall())


def test_sentences_split_only_messages_with_more_than_one():
    assert sentences("Just one sentence here.") == []
    assert sentences("I loved it! Which one? The blue one.\nAlso this") == ["I loved it!", "Which one?",
                                                                           "The blue one.", "Also this"]
    assert len(sentences("Word. " * 100)) == 24


def test_a_reply_is_viewed_after_the_message_it_answers_each_i_named():
    texts = view_texts("'Becoming Nicole', my favourite!", "Caroline", DAY, ("Which book should I read?", "Melanie"))
    assert texts == [(CONTEXT, "Melanie: Which book should Melanie read?\n"
                               "Caroline (07 July 2023): 'Becoming Nicole', Caroline's favourite!")]
    assert [t for _, t in view_texts("I loved it. My kids too.", "Ana", DAY, None)] == [
        "Ana (07 July 2023): I loved it.", "Ana (07 July 2023): My kids too."]  # one speaker: "I" is clear
    assert view_texts("Just one.", "Caroline", DAY, None) == []


def test_views_cover_every_message_once_and_only_same_day_same_agent_context(recall, views, db):
    first = recall.append(1, "user", "Which book is your favourite?", name="Melanie", created_at=DAY)
    other_agent = recall.append(2, "user", "Unrelated. Two sentences.", name="Bob", created_at=DAY)
    reply = recall.append(1, "user", "'Becoming Nicole'. It taught me a lot.", name="Caroline", created_at=DAY)
    next_day = recall.append(1, "user", "Good morning", name="Melanie", created_at=datetime(2023, 7, 8, 9, 0))
    assert views.embed_pending() == 4
    assert views.embed_pending() == 0 and views.covered() == next_day.id
    assert _kinds(db, first.id) == []
    assert _kinds(db, other_agent.id) == [SENTENCE, SENTENCE]          # agent 1's message is not its context
    assert _kinds(db, reply.id) == [CONTEXT, SENTENCE, SENTENCE]
    assert _kinds(db, next_day.id) == []                               # yesterday's talk is not its context


def test_a_reply_that_never_names_the_topic_is_found_through_its_question(recall, views, embedder):
    recall.append(1, "user", "Books have such power! Which one has been your favourite guide?", name="Melanie",
                  created_at=DAY)
    reply = recall.append(1, "user", "'Becoming Nicole' by Amy Ellis Nutt, for sure.", name="Caroline",
                          created_at=DAY)
    recall.append(1, "user", "My garden is full of tomatoes this year.", name="Caroline", created_at=DAY)
    views.embed_pending()
    query = embedder.embed(["What book did Caroline recommend?"])[0]
    assert views.search(1, CONTEXT, query, 5)[0][0] == reply.id


def test_a_sentence_deep_in_a_long_message_is_found(recall, views, embedder):
    long = recall.append(1, "user", "Work was busy. The weather turned cold. We adopted a grey kitten named Pixel. "
                         "Dinner was pasta. The car needs new tyres.", name="Ana", created_at=DAY)
    recall.append(1, "user", "The quarterly report is due Friday. I must call the bank.", name="Ana", created_at=DAY)
    views.embed_pending()
    found = views.search(1, SENTENCE, embedder.embed(["What is the name of Ana's cat?"])[0], 5)
    assert found[0][0] == long.id and len({m for m, _ in found}) == len(found)


def test_search_keeps_to_the_agent_and_deleting_the_agent_removes_its_views(db, timeline, data_dir, embedder):
    recall, core = RecallStore(db, timeline), CoreMemory(db, timeline)
    agents = AgentStore(db, core)
    a, b = agents.create("a"), agents.create("b")
    recall.append(a.id, "user", "We hiked up the volcano. It was steep.", created_at=DAY)
    mine = recall.append(b.id, "user", "We hiked the glacier. It was icy.", created_at=DAY)
    views = MessageViews(db, data_dir, lambda: embedder)
    views.embed_pending()
    query = embedder.embed(["a volcano hike"])[0]
    assert {m for m, _ in views.search(b.id, SENTENCE, query, 10)} == {mine.id}
    agents.delete(a.id)
    assert db.cursor().execute("SELECT count(*) FROM message_views WHERE agent_id = ?", [a.id]).fetchone()[0] == 0
    assert {m for m, _ in views.search(b.id, SENTENCE, query, 10)} == {mine.id}


def test_views_survive_a_reopen_and_a_lost_index_file(recall, db, data_dir, embedder):
    reply = recall.append(1, "user", "A red bike. It was my birthday present.", created_at=DAY)
    MessageViews(db, data_dir, lambda: embedder).embed_pending()
    for path in data_dir.glob("views-*.hnsw*"):
        path.unlink()
    reopened = MessageViews(db, data_dir, lambda: embedder)
    assert reopened.embed_pending() == 0
    assert reopened.search(1, SENTENCE, embedder.embed(["birthday present"])[0], 3)[0][0] == reply.id


def _data_dir_before_named_context(path, embedder, schema_before) -> list[int]:
    """A data directory whose views were embedded before m009: a talk of three turns, all covered."""
    database = schema_before(path, "m009")
    con = database.cursor()
    con.execute("INSERT INTO agents (name, created_at) VALUES ('default', now())")
    talk = [("Caroline", "How was your weekend?"), ("Melanie", "I went camping with my kids."),
            ("Caroline", "I went camping too, with my brother.")]
    ids = [con.execute("INSERT INTO messages (agent_id, role, name, content, created_at) "
                       "VALUES (1, 'user', ?, ?, ?) RETURNING id", [name, text, DAY]).fetchone()[0]
           for name, text in talk]
    for (before_name, before), (name, text), message_id in zip(talk, talk[1:], ids[1:]):
        vector = embedder.embed([f"{before_name}: {before}\n{name}: {text}"])[0]
        con.execute("INSERT INTO message_views (message_id, agent_id, kind, embedding) VALUES (?, 1, 'context', ?)",
                    [message_id, vector.tolist()])
    con.execute("UPDATE views_state SET covered_max_id = ?", [ids[-1]])
    database.close()
    return ids


def test_old_context_views_are_embedded_again_with_each_i_named(tmp_path, embedder, schema_before):
    data = tmp_path / "data"
    ids = _data_dir_before_named_context(data, embedder, schema_before)
    with MemoryStore.open(data, embedder=embedder) as store:
        views, cur = store.message_views, store.db.cursor()
        assert cur.execute("SELECT count(*) FROM message_views WHERE kind = 'context'").fetchone()[0] == 0
        assert views.redo_context(batch=2, seconds=0.0) == 2        # a bounded upkeep does part of it
        newer = store.recall.append(1, "user", "Sounds fun! Where did you go?", name="Melanie", created_at=DAY)
        store.embed_pending()
        assert views.redo_context() == 0 and views.covered() == newer.id
        assert [_kinds(store.db, i) for i in ids + [newer.id]] == [[], [CONTEXT], [CONTEXT],
                                                                   [CONTEXT, SENTENCE, SENTENCE]]
        stored = cur.execute("SELECT embedding FROM message_views WHERE message_id = ?", [ids[2]]).fetchone()[0]
        named = embedder.embed([view_texts("I went camping too, with my brother.", "Caroline", DAY,
                                           ("I went camping with my kids.", "Melanie"))[0][1]])[0]
        assert float(np.dot(stored, named)) > 0.99                # the new text, not the old one
