"""The server runtime on its own: grammar, stop strings, cancel, and what it reports."""

from __future__ import annotations

import json

import pytest

from engine.runtime.model import GREEDY, CancelFlag, GenerationStats
from engine.runtime.remote import RemoteModelRuntime
from tests.remote.conftest import remote_settings

SCHEMA = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 20},
                                           "year": {"type": "integer"}},
          "required": ["city", "year"], "additionalProperties": False}


@pytest.fixture(scope="module")
def runtime(inference_server):
    runtime = RemoteModelRuntime(remote_settings(inference_server))
    yield runtime
    runtime.close()


def _prompt(runtime, question: str) -> tuple[list[int], str]:
    fmt = runtime.chat_format
    text = fmt.render("user", question) + fmt.generation_prompt
    return runtime.bos_tokens + runtime.tokenize(text), text


def test_a_schema_constrained_reply_is_json_that_matches_the_schema(runtime):
    tokens, text = _prompt(runtime, "Where and when was the Eiffel tower built? Answer in JSON.")
    reply = runtime.generate_text(tokens, prompt_text=text, max_tokens=60, sampling=GREEDY,
                                  grammar=runtime.grammar_for_schema(SCHEMA))
    value = json.loads(reply)
    assert set(value) == {"city", "year"} and isinstance(value["year"], int)


def test_a_reply_stops_at_a_stop_string_and_reports_its_counts(runtime):
    tokens, text = _prompt(runtime, "Count from one to twenty, one number a line.")
    stats = GenerationStats()
    reply = runtime.generate_text(tokens, prompt_text=text, max_tokens=80, sampling=GREEDY,
                                  stop_strings=("\n",), stats=stats)
    assert "\n" not in reply
    assert stats.stop_reason == "stop" and stats.text == reply
    assert stats.prompt_tokens == len(tokens) and 0 < stats.generated_tokens < 80


def test_max_tokens_bounds_a_reply(runtime):
    tokens, text = _prompt(runtime, "Write a long story about a lighthouse.")
    stats = GenerationStats()
    runtime.generate_text(tokens, prompt_text=text, max_tokens=5, sampling=GREEDY, stats=stats)
    assert stats.stop_reason == "length" and stats.generated_tokens <= 5


def test_cancel_stops_a_reply_and_the_server_answers_the_next_one(runtime):
    tokens, text = _prompt(runtime, "Write a long story about a lighthouse.")
    cancel, stats = CancelFlag(), GenerationStats()
    pieces = []
    for piece in runtime.stream(tokens, prompt_text=text, max_tokens=200, sampling=GREEDY, cancel=cancel,
                                stats=stats):
        pieces.append(piece)
        cancel.set()
    assert stats.stop_reason == "cancelled" and len(pieces) == 1
    assert runtime.generate_text(tokens, prompt_text=text, max_tokens=3, sampling=GREEDY)


def test_a_prompt_that_fills_the_window_is_refused_before_it_is_sent(runtime):
    from engine.errors import ContextTooSmallError

    with pytest.raises(ContextTooSmallError):
        runtime.generate_text([2] * runtime.n_ctx, prompt_text="x", max_tokens=5)


def test_detokenize_reads_back_plain_text(runtime):
    assert runtime.detokenize(runtime.tokenize("Lina plays the cello.")) == "Lina plays the cello."
