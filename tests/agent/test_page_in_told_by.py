"""Page-in says when the memories closest to a message's topic were told by someone other than
the person it asks about: otherwise a small model credits that person with the other's news."""

from datetime import datetime

import pytest

from engine.agent.page_in import HEADER, TOLD_BY_NOTE, page_in
from engine.memory.store import MemoryStore
from engine.memory.timeline import PAGE_IN
from tests.memory.test_told_by import TALK


def _words(text: str) -> int:
    return len(text.split())


@pytest.fixture
def store(tmp_path, embedder):
    opened = MemoryStore.open(tmp_path / "data", embedder=embedder)
    yield opened
    opened.close()


@pytest.fixture
def agent_id(store) -> int:
    agent = store.agents.create("friends")
    for i, (name, text) in enumerate(TALK):
        store.recall.append(agent.id, "user", text, name=name, created_at=datetime(2023, 5, 8, 13, i))
    store.embed_pending()
    return agent.id


def test_a_question_about_the_wrong_person_is_paged_in_with_who_told_it(store, agent_id):
    paged = page_in(store, agent_id, "What did Caroline realize after her charity race?", set(), 400, _words)
    lines = paged.text.splitlines()
    assert lines[:2] == [HEADER, TOLD_BY_NOTE.format(teller="Melanie", person="Caroline")]
    assert any("charity race" in line for line in lines[2:])
    assert store.timeline.query(agent_id, (PAGE_IN,), limit=1, newest_first=True)[0].payload["told_by"] == "Melanie"


@pytest.mark.parametrize("question", ["What did Melanie realize after her charity race?",
                                      "What did Caroline take away from the support group?",
                                      "Who ran a charity race?"])
def test_a_question_about_the_teller_or_no_one_gets_no_such_line(store, agent_id, question):
    paged = page_in(store, agent_id, question, set(), 400, _words)
    assert paged.hits and "were told by" not in paged.text
    assert "told_by" not in store.timeline.query(agent_id, (PAGE_IN,), limit=1, newest_first=True)[0].payload
