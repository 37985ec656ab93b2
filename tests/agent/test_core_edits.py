"""How the model's core memory edits land: lines of facts, updates replace what they update."""

import pytest

from engine.agent.call_parser import FunctionCall
from engine.agent.core_edits import added_text, append_fact, replace_text, similarity, updated_line
from engine.agent.functions import FunctionContext, dispatch, function_specs
from engine.memory.agents import DEFAULT_HUMAN
from engine.memory.core import CoreMemoryEditError
from engine.memory.store import MemoryStore

FACTS = "Ana lives in Lisbon.\nAna works as a nurse at Santa Maria hospital.\nAna has a cat called Miso."


def test_a_new_fact_is_added_as_its_own_line():
    edit = append_fact(FACTS, "Ana is allergic to peanuts.")
    assert edit.changed and edit.value.endswith("\nAna is allergic to peanuts.")
    assert edit.value.count("\n") == FACTS.count("\n") + 1


def test_an_appended_update_replaces_the_line_it_updates():
    edit = append_fact(FACTS, "Ana works as a nurse at Sao Jose hospital.",
                       updates="Ana works as a nurse at Santa Maria hospital.")
    assert "Santa Maria" not in edit.value and "Sao Jose" in edit.value
    assert edit.value.count("\n") == FACTS.count("\n")
    assert "replaced" in edit.note


@pytest.mark.parametrize("again", ["Ana has a cat called Miso.", "  ana has a cat called miso ",
                                   "Ana actually has a cat, and the cat is called Miso."])
def test_a_fact_already_held_is_refused_so_the_turn_goes_on_to_reply(again):
    with pytest.raises(CoreMemoryEditError, match="already in core memory.*send_message"):
        append_fact(FACTS, again)


def test_the_line_a_fact_updates_is_the_one_clearly_closest():
    new = "Ana moved to Porto."
    assert updated_line([(0.6, "Ana lives in Lisbon."), (0.58, "Ana works in Lisbon.")], new) == "Ana lives in Lisbon."
    assert updated_line([(0.52, "Ana lives in Lisbon."), (0.3, "Ana has a cat.")], new) == "Ana lives in Lisbon."
    assert updated_line([(0.52, "Ana lives in Lisbon."), (0.5, "Ana works in Lisbon.")], new) == ""
    assert updated_line([(0.3, "Ana has a cat.")], new) == ""


def test_a_line_the_fact_repeats_word_for_word_but_one_is_its_update_even_when_none_stands_out():
    scored = [(0.45, "Ana works as a nurse at Santa Maria hospital."), (0.44, "Ana lives in Lisbon.")]
    assert updated_line(scored, "Ana works as a nurse at Sao Jose hospital.") == scored[0][1]


def test_a_question_is_refused_so_the_turn_goes_on_to_answer_it():
    with pytest.raises(CoreMemoryEditError, match="send_message"):
        append_fact(FACTS, "What is the name of Ana's cat?")


def test_the_placeholder_of_a_new_agent_gives_way_to_the_first_fact():
    edit = append_fact("Nothing known about the user yet.", "Name: Ada.")
    assert edit.value == "Name: Ada."


def test_replace_takes_exact_text_or_the_line_it_loosely_copies():
    exact = replace_text(FACTS, "Lisbon", "Porto")
    assert exact is not None and "Ana lives in Porto." in exact.value
    loose = replace_text(FACTS, "Ana lives in Lisbon now", "Ana lives in Porto.")
    assert loose is not None and loose.value.splitlines()[0] == "Ana lives in Porto."
    assert replace_text(FACTS, "The weather is sunny today", "x") is None


def test_deleting_a_line_leaves_no_empty_line():
    edit = replace_text(FACTS, "Ana has a cat called Miso.", "")
    assert edit is not None and edit.value.splitlines() == FACTS.splitlines()[:2]


def test_similarity_is_word_overlap():
    assert similarity("a b c", "a b c") == 1.0
    assert similarity("a b", "c d") == 0.0
    assert 0.3 < similarity("Ana lives in Lisbon", "Ana lives in Porto") < 0.7


def _call(store, agent_id: int, name: str, **arguments):
    """Run one of the model's functions the way the agent loop does."""
    return dispatch(FunctionCall(name, arguments), function_specs(), FunctionContext(store, agent_id))


@pytest.fixture
def facts(tmp_path, embedder):
    """An agent whose "facts" block holds FACTS, and a function that appends through dispatch."""
    store = MemoryStore.open(tmp_path / "data", embedder=embedder)
    agent = store.agents.create("facts")
    store.core.create(agent.id, "facts", FACTS)

    def append(label: str, content: str):
        return _call(store, agent.id, "core_memory_append", label=label, content=content)

    yield store, agent.id, append
    store.close()


def test_an_update_appended_to_another_block_replaces_the_line_where_it_lives(facts):
    store, agent_id, append = facts
    assert append("human", "Ana lives in Porto.").ok
    assert store.core.get(agent_id, "facts").value.splitlines()[0] == "Ana lives in Porto."
    assert "Porto" not in store.core.get(agent_id, "human").value


def test_a_replacement_that_keeps_the_line_and_adds_a_sentence_adds_that_sentence():
    assert added_text("Ana lives in Lisbon.", "Ana lives in Lisbon. Ana works as a nurse at Sao Jose hospital.") \
        == "Ana works as a nurse at Sao Jose hospital."
    assert added_text("Ana lives in Lisbon.", "Ana lives in Lisbon with her partner Rui.") == ""
    assert added_text("Ana lives in Lisbon.", "Ana lives in Porto. She moved in May.") == ""


def test_a_new_fact_about_the_same_person_keeps_every_line(facts):
    store, agent_id, append = facts
    assert append("facts", "Ana is allergic to peanuts.").ok
    assert store.core.get(agent_id, "facts").value == FACTS + "\nAna is allergic to peanuts."
    assert append("facts", "Ana now lives in Porto.").ok
    assert store.core.get(agent_id, "facts").value.splitlines()[0] == "Ana now lives in Porto."


def test_a_sentence_added_after_a_copied_line_updates_the_line_it_restates(tmp_path, embedder):
    store = MemoryStore.open(tmp_path / "data", embedder=embedder)
    try:
        agent = store.agents.create("facts")
        store.core.create(agent.id, "facts", FACTS)
        assert _call(store, agent.id, "core_memory_replace", label="facts", old_content="Ana lives in Lisbon.",
                     new_content="Ana lives in Lisbon. Ana has a cat called Tofu.").ok
        assert store.core.get(agent.id, "facts").value.splitlines() == [
            "Ana lives in Lisbon.", "Ana works as a nurse at Santa Maria hospital.", "Ana has a cat called Tofu."]
    finally:
        store.close()


def test_replacing_the_placeholder_adds_a_fact_that_updates_its_line_in_another_block(facts):
    store, agent_id, _ = facts
    assert store.core.get(agent_id, "human").value == DEFAULT_HUMAN  # as every new agent's

    def replace(new_content: str):
        return _call(store, agent_id, "core_memory_replace", label="human", old_content=DEFAULT_HUMAN,
                     new_content=new_content)

    moved = "Ana no longer lives in Lisbon; she moved to Porto."
    assert replace(moved).ok
    assert store.core.get(agent_id, "facts").value.splitlines()[0] == moved
    assert store.core.get(agent_id, "human").value == DEFAULT_HUMAN
    assert replace("Name: Sam. Plays the cello.").ok
    assert store.core.get(agent_id, "human").value == "Name: Sam. Plays the cello."
