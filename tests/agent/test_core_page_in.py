"""Paging-in for core memory: a long block's lines closest to the message are pointed out."""

import pytest

from engine.agent.page_in import CORE_HEADER, core_lines_for
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


def test_the_lines_closest_to_the_message_are_quoted_with_their_block(store):
    agent = store.agents.create("facts-agent")
    store.core.create(agent.id, "facts", "\n".join(FACTS))
    text = core_lines_for(store, agent.id, "Which field does Rebeka Andress specialize in as a biologist?")
    assert text.startswith(CORE_HEADER)
    assert 'facts: "Rebeka Andress is a marine biologist specializing in coral reef ecosystems."' in text
    assert len(text.splitlines()) == 4


def test_a_short_core_memory_is_read_whole_and_gets_no_pointer(store):
    agent = store.agents.create("short")
    store.core.set(agent.id, "human", "Name: Ada.\nLives in Lisbon.", author="user")
    assert core_lines_for(store, agent.id, "Where do I live?") == ""
