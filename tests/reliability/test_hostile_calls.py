"""Hostile model output never crashes the call path: the model gets an error result instead."""

import json
import os

import pytest

from engine.agent.call_parser import CallError, parse_call
from engine.agent.functions import FunctionContext, dispatch
from engine.memory.store import MemoryStore
from tests.reliability.fuzz_calls import SPECS, run_fuzz

EXAMPLES = int(os.environ.get("LLMOS_FUZZ_EXAMPLES", "300"))


@pytest.fixture(scope="module")
def store(tmp_path_factory, embedder):
    with MemoryStore.open(tmp_path_factory.mktemp("fuzz") / "data", embedder=embedder) as opened:
        yield opened


def test_random_truncated_nested_and_oversized_calls_never_crash(store):
    agent = store.agents.ensure_default()
    counts = run_fuzz(store, agent.id, EXAMPLES)
    assert sum(counts.values()) >= EXAMPLES // 2
    assert counts["parse_error"] and counts["call_ok"] + counts["call_error"]


def _call(store, text: str):
    call = parse_call(text, SPECS)
    if isinstance(call, CallError):
        return call
    return dispatch(call, SPECS, FunctionContext(store, store.agents.ensure_default().id))


def test_unknown_function_is_an_error_naming_the_known_ones(store):
    error = _call(store, '{"function": "rm_rf", "arguments": {"path": "/"}}')
    assert isinstance(error, CallError) and "unknown function 'rm_rf'" in error.message
    assert "send_message" in error.message


def test_core_memory_write_past_the_limit_is_an_error_result_and_changes_nothing(store):
    agent_id = store.agents.ensure_default().id
    before = store.core.get(agent_id, "human")
    room = before.limit - len(before.value)
    results = []
    for i in range(room // 900 + 2):  # each append is within the argument limit; together they overflow
        fact = chr(ord("a") + i) * 900  # facts with no word in common, so none updates another
        call = json.dumps({"function": "core_memory_append", "arguments": {"label": "human", "content": fact}})
        results.append(_call(store, call))
    assert results[-1].ok is False and "over its limit" in json.loads(results[-1].text)["error"]
    after = store.core.get(agent_id, "human")
    assert len(after.value) <= after.limit
    assert [v.version for v in store.core.history(agent_id, "human")] == list(range(after.version, 0, -1))


def test_calls_on_missing_blocks_and_bad_dates_are_error_results(store):
    for text, fragment in (
            ('{"function": "core_memory_append", "arguments": {"label": "secrets", "content": "x"}}', "no core memory block"),
            ('{"function": "core_memory_replace", "arguments": {"label": "human", "old_content": "not there", '
             '"new_content": "x"}}', "no line like"),
            ('{"function": "conversation_search_date", "arguments": {"start_date": "yesterday", '
             '"end_date": "2024-13-45"}}', "dates must look like"),
            ('{"function": "archival_memory_insert", "arguments": {"content": "   "}}', "cannot be empty")):
        result = _call(store, text)
        assert result.ok is False and fragment in json.loads(result.text)["error"], (text, result)
