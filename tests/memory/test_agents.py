"""Agents: unique names, default blocks, settings, and deletion of everything they remember."""

import pytest

from engine.errors import InputError, NotFoundError
from engine.memory.agents import DEFAULT_HUMAN, DEFAULT_PERSONA, AgentStore
from engine.memory.core import CoreMemory
from engine.memory.recall import RecallStore


@pytest.fixture
def core(db, timeline) -> CoreMemory:
    return CoreMemory(db, timeline)


@pytest.fixture
def agents(db, core) -> AgentStore:
    return AgentStore(db, core)


def test_a_new_agent_has_persona_and_human_blocks(agents, core):
    agent = agents.create("ada")
    assert [(b.label, b.value) for b in core.blocks(agent.id)] == [("persona", DEFAULT_PERSONA), ("human", DEFAULT_HUMAN)]
    assert agents.get(agent.id) == agent == agents.get_by_name("ada")


def test_names_must_be_unique_and_not_blank(agents):
    agents.create("ada")
    with pytest.raises(InputError, match="already exists"):
        agents.create(" ada ")
    with pytest.raises(InputError):
        agents.create("   ")


def test_missing_agents_are_not_found(agents):
    with pytest.raises(NotFoundError):
        agents.get(99)
    with pytest.raises(NotFoundError):
        agents.get_by_name("ghost")


def test_list_rename_and_ensure_default(agents):
    default = agents.ensure_default()
    assert agents.ensure_default() == default and default.name == "default"
    ada = agents.create("ada", persona="A poet.")
    agents.create("bob")
    assert agents.rename(ada.id, "ada lovelace").name == "ada lovelace"
    with pytest.raises(InputError):
        agents.rename(ada.id, "bob")
    assert [a.name for a in agents.list()] == ["default", "ada lovelace", "bob"]


def test_settings_are_merged_and_kept(agents):
    agent = agents.create("ada")
    agents.update_settings(agent.id, {"temperature": 0.5, "model": "x"})
    updated = agents.update_settings(agent.id, {"model": None, "top_k": 20})
    assert updated.settings == {"temperature": 0.5, "top_k": 20} == agents.get(agent.id).settings


def test_deleting_an_agent_removes_its_messages_blocks_and_events(agents, core, db, timeline):
    ada, bob = agents.create("ada"), agents.create("bob")
    recall = RecallStore(db, timeline)
    recall.append(ada.id, "user", "secret")
    recall.append(bob.id, "user", "kept")
    agents.delete(ada.id)
    with pytest.raises(NotFoundError):
        agents.get(ada.id)
    assert recall.count(ada.id) == 0 and core.blocks(ada.id) == [] and timeline.count(ada.id) == 0
    assert recall.count(bob.id) == 1 and len(core.blocks(bob.id)) == 2
    agents.create("ada")
