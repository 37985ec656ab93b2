"""Paging-in for core memory: a long block's lines closest to the message are pointed out."""

import json

import pytest

from engine.agent.page_in import CORE_HEADER, core_lines_for, quoted_core_lines
from engine.memory.store import MemoryStore

FACTS = [
    "Roland Watley is an accomplished landscape photographer.",
    "Rebeka Andress is a marine biologist specializing in coral reef ecosystems.",
    "Roland Watley and Rebeka Andress collaborated on a documentary about coastal environments.",
    "Rebeka Andress received an award for her research on ocean conservation.",
    "Roland Watley has exhibited his photography in galleries across Europe.",
    "Rebeka Andress published a book on sustainable marine practices.",
    "Roland Watley is known for his environmental activism.",
]


@pytest.fixture
def store(tmp_path, embedder):
    opened = MemoryStore.open(tmp_path / "data", embedder=embedder)
    yield opened
    opened.close()


def test_a_line_that_stands_out_is_quoted_alone_with_its_block(store):
    agent = store.agents.create("facts-agent")
    store.core.create(agent.id, "facts", "\n".join(FACTS))
    text = core_lines_for(store, agent.id, "Which field does Rebeka Andress specialize in as a biologist?")
    assert text.splitlines() == [CORE_HEADER, '- facts: "Rebeka Andress is a marine biologist specializing in coral reef ecosystems."']


def test_lines_about_as_close_are_quoted_together_the_closest_last(store):
    agent = store.agents.create("facts-agent")
    store.core.create(agent.id, "facts", "\n".join(FACTS))
    quoted = core_lines_for(store, agent.id, "What has Rebeka Andress done?").splitlines()[1:]
    assert len(quoted) == 3
    assert all("Rebeka Andress" in line for line in quoted)


def test_a_short_core_memory_is_read_whole_and_gets_no_pointer(store):
    agent = store.agents.create("short")
    store.core.set(agent.id, "human", "Name: Ada.\nLives in Lisbon.", author="user")
    assert core_lines_for(store, agent.id, "Where do I live?") == ""


def test_a_search_that_finds_nothing_quotes_the_closest_core_lines_back(store):
    from engine.agent.call_parser import FunctionCall
    from engine.agent.functions import FunctionContext, dispatch, function_specs
    from engine.agent.page_in import quoted_core_lines

    agent = store.agents.create("facts-agent")
    store.core.create(agent.id, "facts", "\n".join(FACTS))
    pointed = core_lines_for(store, agent.id, "Which award did Rebeka Andress receive?")
    closest = quoted_core_lines(pointed)
    assert closest and closest[-1].startswith("facts: ") and "award" in closest[-1]
    call = FunctionCall("conversation_search_date", {"start_date": "2021-01-01", "end_date": "2021-12-31"})
    result = json.loads(dispatch(call, function_specs(), FunctionContext(store, agent.id, closest_core_lines=closest)).text)
    assert result["total"] == 0
    assert result["results"][0] == {"from": "core memory (facts)", "text": FACTS[3]}
    assert len(result["results"]) == len(closest)


def test_a_search_in_a_turn_leaves_out_the_question_it_echoes(store):
    from engine.agent.call_parser import FunctionCall
    from engine.agent.functions import FunctionContext, dispatch, function_specs

    agent = store.agents.create("facts-agent")
    store.core.create(agent.id, "facts", "\n".join(FACTS))
    question = store.recall.append(agent.id, "user", "Which award did Rebeka Andress receive?")
    closest = quoted_core_lines(core_lines_for(store, agent.id, question.content))
    call = FunctionCall("conversation_search", {"query": "Rebeka Andress award"})

    def search(turn_message_id):
        context = FunctionContext(store, agent.id, closest_core_lines=closest, turn_message_id=turn_message_id)
        return json.loads(dispatch(call, function_specs(), context).text)

    assert [r["id"] for r in search(None)["results"]] == [question.id]
    in_turn = search(question.id)
    assert in_turn["total"] == 0 and [r["text"] for r in in_turn["results"]][0] == FACTS[3]
