"""The engine decides how a turn goes on: a reply after an edit, no search repeated, a bounded chain."""

import json

from engine.agent.functions import function_specs
from engine.agent.step_plan import SEND_MESSAGE, StepGrammars, allowed_functions
from engine.memory.types import CoreBlock

NAMES = tuple(function_specs())


def test_the_first_step_may_call_any_function():
    assert allowed_functions(NAMES, [], 1, 4) == NAMES


def test_after_a_successful_edit_the_next_step_is_the_reply():
    assert allowed_functions(NAMES, [("core_memory_append", True)], 2, 4) == (SEND_MESSAGE,)
    assert allowed_functions(NAMES, [("archival_memory_insert", True)], 2, 4) == (SEND_MESSAGE,)


def test_a_failed_edit_may_be_tried_again():
    assert "core_memory_replace" in allowed_functions(NAMES, [("core_memory_replace", False)], 2, 4)


def test_after_a_search_the_model_replies_or_edits_but_does_not_search_again():
    allowed = allowed_functions(NAMES, [("conversation_search", True)], 2, 4)
    assert not {"conversation_search", "conversation_search_date", "archival_memory_search"} & set(allowed)
    assert SEND_MESSAGE in allowed and "core_memory_append" in allowed


def test_a_search_that_failed_may_be_tried_again():
    assert "conversation_search_date" in allowed_functions(NAMES, [("conversation_search_date", False)], 2, 4)


def test_the_last_step_admits_only_the_reply():
    assert allowed_functions(NAMES, [("conversation_search", True)], 4, 4) == (SEND_MESSAGE,)


def test_the_grammar_schema_names_existing_blocks_and_lines():
    grammars = StepGrammars(runtime=None, specs=function_specs())
    blocks = [CoreBlock(1, "human", "Name: Ada.\nLives in Lisbon.", 2000, 1),
              CoreBlock(1, "persona", "I am kind.", 2000, 1)]
    schema = json.dumps(grammars.schema(("send_message", "core_memory_replace", "core_memory_append"), blocks))
    assert '"enum": ["Name: Ada.", "Lives in Lisbon."]' in schema
    assert '"enum": ["human", "persona"]' in schema
    assert '"const": "send_message"' in schema


def test_edits_carry_the_reply_and_other_calls_do_not():
    grammars = StepGrammars(runtime=None, specs=function_specs(max_message_chars=300))
    blocks = [CoreBlock(1, "human", "Name: Ada.", 2000, 1)]
    options = grammars.schema(NAMES, blocks)["anyOf"]
    by_name = {o["properties"]["function"]["const"]: o for o in options}
    for name in ("core_memory_append", "core_memory_replace", "archival_memory_insert"):
        assert by_name[name]["required"][-1] == "reply"
        assert by_name[name]["properties"]["reply"]["maxLength"] == 300
    for name in ("send_message", "conversation_search", "archival_memory_search"):
        assert "reply" not in by_name[name]["properties"]



def test_core_lines_with_quotes_or_backslashes_are_left_out_of_the_replaceable_lines():
    grammars = StepGrammars(runtime=None, specs=function_specs())
    blocks = [CoreBlock(1, "human", 'Likes: {"drink": "green tea"}\nKeeps notes in C:\\notes\nLives in Lisbon.', 2000, 1)]
    assert '"enum": ["Lives in Lisbon."]' in json.dumps(grammars.schema(NAMES, blocks))


def test_a_turn_goes_through_when_core_memory_holds_quotes_and_backslashes(make_engine):
    """A line the model once saved with JSON in it made llama.cpp reject the step's grammar."""
    from engine.events import DoneEvent

    engine = make_engine()
    engine.edit_core("human", 'Likes: {"drink": "green tea"}\nKeeps notes in C:\\notes\nLives in Lisbon.')
    done = [e for e in engine.send("I moved to Porto last week.") if isinstance(e, DoneEvent)]
    assert done and done[0].reply
