"""A question about one person whose topic only someone else told has no answer for that person."""

from datetime import datetime

import pytest

from engine.memory.told_by import answer_told_by_someone_else, is_reply, named_person, told_by_someone_else
from engine.memory.archival import ArchivalStore
from engine.memory.hybrid import HybridRetriever
from engine.memory.message_vectors import MessageVectors
from engine.memory.message_views import MessageViews
from engine.memory.recall import RecallStore
from engine.memory.types import Hit

NOW = datetime(2023, 6, 1, 12, 0)
TALK = [
    ("Caroline", "I went to an LGBTQ support group yesterday and it was so powerful."),
    ("Melanie", "Wow, what did you take away from the group?"),
    ("Caroline", "The transgender stories were inspiring; I'm looking into counseling as a career."),
    ("Melanie", "My kids loved the pottery workshop we did together."),
    ("Caroline", "That sounds lovely! Your kids must have had a blast with you."),
    ("Melanie", "I ran a charity race for mental health last Saturday. It made me realise how much self-care matters."),
]


@pytest.fixture
def retriever(db, data_dir, embedder, message_embedder, timeline):
    recall = RecallStore(db, timeline)
    for i, (name, text) in enumerate(TALK):
        recall.append(1, "user", text, name=name, created_at=datetime(2023, 5, 8, 13, i))
    found = HybridRetriever(recall, MessageVectors(db, data_dir, lambda: message_embedder),
                            ArchivalStore(db, data_dir, lambda: embedder, timeline), lambda: embedder,
                            MessageViews(db, data_dir, lambda: embedder), lambda: message_embedder)
    found.vectors.embed_pending()
    found.views.embed_pending()
    return found


def _topical(retriever, question):
    return retriever.search(1, question, k=6, tiers=("recall",), now=NOW, prefer_named=False)


def test_a_question_naming_the_wrong_person_finds_who_told_it(retriever):
    assert told_by_someone_else("What did Caroline realize after her charity race?",
                                _topical(retriever, "What did Caroline realize after her charity race?")) == "Melanie"


def test_a_question_naming_the_teller_is_answered(retriever):
    for question in ("What did Melanie realize after her charity race?",
                     "What did Caroline take away from the support group?"):
        assert told_by_someone_else(question, _topical(retriever, question)) is None


def test_ranking_by_topic_alone_does_not_prefer_the_named_persons_turns(retriever):
    question = "What did Caroline realize after her charity race?"
    preferred = retriever.search(1, question, k=1, tiers=("recall",), now=NOW)
    assert preferred[0].name == "Caroline" and _topical(retriever, question)[0].name == "Melanie"


def test_no_check_when_the_question_names_no_one_or_both(retriever):
    hits = _topical(retriever, "Who ran a charity race?")
    assert named_person("Who ran a charity race?", hits) is None
    assert told_by_someone_else("Did Caroline and Melanie talk about a charity race?", hits) is None


def _hit(id_: int, name: str, text: str, score: float) -> Hit:
    return Hit(tier="recall", id=id_, text=text, score=score, created_at=NOW, name=name, role="user")


def test_a_reply_to_someone_elses_news_is_not_a_telling_of_ones_own():
    question = "How did Caroline feel after her charity race?"
    reply = _hit(1, "Caroline", "How was your charity race? You must be so proud of your run!", 1.0)
    telling = _hit(2, "Melanie", "I ran a charity race last Saturday and I felt amazing.", 1.1)
    assert is_reply(reply.text) and not is_reply(telling.text)
    assert told_by_someone_else(question, [reply, telling]) == "Melanie"


def test_someone_elses_reply_does_not_take_the_named_persons_news_away():
    question = "How did Caroline feel after her charity race?"
    telling = _hit(1, "Caroline", "I ran a charity race and I felt so free afterwards.", 1.0)
    reply = _hit(2, "Melanie", "Your charity race sounds great! You must feel so free, you did it!", 1.5)
    assert told_by_someone_else(question, [telling, reply]) is None


PAINTING = [_hit(1, "John", "I painted a castle on a hill to remind me of our trip to France.", 1.0),
            _hit(2, "Maria", "I started a pottery class last week and I love it.", 0.9)]


def test_an_answer_drawn_from_someone_elses_telling_is_traced_to_them():
    question = "What did Maria make to remind her of a trip to France?"
    assert answer_told_by_someone_else(question, "A painting of a castle on a hill", PAINTING) == "John"
    assert answer_told_by_someone_else(question, "A pottery class", PAINTING) is None


def test_an_answer_from_the_named_persons_own_telling_or_a_reply_to_them_stands():
    question = "What did John make to remind him of a trip to France?"
    assert answer_told_by_someone_else(question, "A painting of a castle on a hill", PAINTING) is None
    reply = [_hit(1, "John", "Your castle on a hill looks amazing, Maria! You should be proud of your painting.", 1.0),
             _hit(2, "Maria", "I went to France last year.", 0.9)]
    assert answer_told_by_someone_else("What did Maria paint?", "A castle on a hill", reply) is None


def test_an_answer_that_only_repeats_the_question_is_not_traced():
    question = "What did Maria make to remind her of a trip to France?"
    assert answer_told_by_someone_else(question, "Maria made something to remind her of France", PAINTING) is None
