"""Core memory: limited blocks, every edit a version with author and reason, reverts."""

import pytest

from engine.errors import CoreMemoryLimitError, InputError, NotFoundError
from engine.memory.core import CoreMemory, CoreMemoryEditError
from engine.memory.timeline import CORE_EDIT


@pytest.fixture
def core(db, timeline) -> CoreMemory:
    memory = CoreMemory(db, timeline)
    memory.create(1, "human", "Name: Ana.", limit=100)
    return memory


def test_blocks_list_persona_first_then_human_then_the_rest(core):
    core.create(1, "goals", "Learn piano.")
    core.create(1, "persona", "A kind helper.")
    assert [b.label for b in core.blocks(1)] == ["persona", "human", "goals"]
    assert core.blocks(2) == []


def test_append_replace_and_set_each_add_a_version(core):
    core.append(1, "human", " Likes tea.", author="model", reason="said so")
    core.replace(1, "human", "tea", "coffee", author="model", reason="changed mind")
    block = core.set(1, "human", "Name: Ana. Lives in Lyon.", author="user", reason="edited")
    assert block.version == 4 and core.get(1, "human") == block
    history = core.history(1, "human")
    assert [v.version for v in history] == [4, 3, 2, 1]
    assert [v.author for v in history] == ["user", "model", "model", "system"]
    assert history[1].value == "Name: Ana. Likes coffee." and history[1].reason == "changed mind"


def test_revert_brings_back_an_old_value_as_a_new_version(core):
    core.set(1, "human", "Wrong facts.", author="model", reason="confused")
    block = core.revert(1, "human", 1)
    assert block.value == "Name: Ana." and block.version == 3
    newest = core.history(1, "human")[0]
    assert newest.reason == "revert to v1" and newest.author == "user"
    with pytest.raises(NotFoundError):
        core.revert(1, "human", 9)


def test_an_edit_over_the_limit_is_refused_and_names_block_limit_and_size(core):
    with pytest.raises(CoreMemoryLimitError) as err:
        core.append(1, "human", "x" * 95, author="model", reason="too much")
    assert "'human'" in str(err.value) and "100" in str(err.value) and "105" in str(err.value)
    assert core.get(1, "human").version == 1


def test_replacing_text_the_block_lacks_is_a_clear_error(core):
    with pytest.raises(CoreMemoryEditError, match="does not contain"):
        core.replace(1, "human", "Bob", "Rob", author="model", reason="typo")


def test_missing_blocks_and_duplicate_labels_are_user_errors(core):
    with pytest.raises(NotFoundError):
        core.get(1, "nope")
    with pytest.raises(InputError):
        core.create(1, "human", "again")
    with pytest.raises(InputError):
        core.set(1, "human", "x", author="somebody", reason=None)


def test_each_edit_logs_a_core_edit_event_with_lengths(core, timeline):
    core.append(1, "human", " Hi.", author="model", reason="greeting")
    event = timeline.query(1, kinds=(CORE_EDIT,))[-1]
    assert event.payload == {"label": "human", "version": 2, "author": "model", "reason": "greeting",
                             "old_len": 10, "new_len": 14}
