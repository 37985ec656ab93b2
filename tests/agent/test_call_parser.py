"""The function-call path never crashes on hostile output: it returns an error for the model."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.agent.call_parser import CallError, FunctionCall, parse_call
from engine.agent.function_schema import calls_schema, spec_for


def send_message(message: str) -> None:
    """Send a message to the user.

    Args:
        message: what the user reads
    """


def conversation_search(query: str, page: int = 1) -> None:
    """Search past messages by text.

    Args:
        query: words to look for
        page: result page, from 1
    """


SPECS = {s.name: s for s in (spec_for(send_message, max_lengths={"message": 50}),
                             spec_for(conversation_search))}


def test_schema_comes_from_signature_and_docstring():
    spec = SPECS["conversation_search"]
    assert spec.description == "Search past messages by text."
    assert spec.parameters["properties"]["page"] == {"type": "integer", "description": "result page, from 1"}
    assert spec.required == ("query",)
    assert SPECS["send_message"].parameters["properties"]["message"]["maxLength"] == 50
    assert len(calls_schema(list(SPECS.values()))["anyOf"]) == 2


def test_valid_call_is_accepted():
    call = parse_call('{"function": "conversation_search", "arguments": {"query": "cats"}}', SPECS)
    assert call == FunctionCall("conversation_search", {"query": "cats"})


def test_a_call_keeps_the_reply_it_carries():
    call = parse_call('{"function": "conversation_search", "arguments": {"query": "cats"}, "reply": "On it."}', SPECS)
    assert call == FunctionCall("conversation_search", {"query": "cats"}, "On it.")


def test_errors_name_the_problem():
    cases = {
        '{"function": "format_disk", "arguments": {}}': "unknown function",
        '{"function": "send_message", "arguments": {"message": 5}}': "must be a string",
        '{"function": "send_message", "arguments": {}}': "missing argument",
        '{"function": "send_message", "arguments": {"message": "x", "evil": 1}}': "unknown argument",
        '{"function": "send_message", "arguments": {"message": "' + "x" * 51 + '"}}': "longer than 50",
        '{"function": "conversation_search", "arguments": {"query": "a", "page": true}}': "integer",
        '{"function": "send_mess': "not valid JSON",
        '[1, 2]': "expected an object",
        '{"function": "send_message", "arguments": "hi"}': "must be an object",
        '{"function": "conversation_search", "arguments": {"query": "a"}, "reply": 3}': "reply must be a string",
    }
    for text, fragment in cases.items():
        result = parse_call(text, SPECS)
        assert isinstance(result, CallError) and fragment in result.message, (text, result)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=40)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=300), json_values.map(json.dumps)))
def test_random_text_and_json_never_crash(text):
    assert isinstance(parse_call(text, SPECS), (FunctionCall, CallError))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(list(SPECS)), st.dictionaries(st.text(max_size=12), json_values, max_size=4),
       st.integers(min_value=0, max_value=80))
def test_truncated_and_mangled_calls_never_crash(name, arguments, cut):
    text = json.dumps({"function": name, "arguments": arguments})
    for variant in (text, text[:cut], text[cut:], "[" * 5000 + text):
        assert isinstance(parse_call(variant, SPECS), (FunctionCall, CallError))


def test_deeply_nested_and_oversized_output_is_an_error():
    assert isinstance(parse_call("[" * 100_000 + "]" * 100_000, SPECS), CallError)
    assert isinstance(parse_call('{"function": "send_message", "arguments": {"message": "' + "y" * 300_000 + '"}}', SPECS), CallError)
