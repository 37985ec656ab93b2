"""The model runtime on the real embedded Gemma 3 270M."""

import json

import pytest

from engine.runtime.chat_format import GEMMA_FORMAT
from engine.runtime.model import GREEDY, CancelFlag, GenerationStats, SamplingParams


def _prompt(runtime, text: str) -> list[int]:
    fmt = runtime.chat_format
    return runtime.bos_tokens + runtime.tokenize(fmt.render("user", text) + fmt.generation_prompt)


def test_embedded_model_loads_with_gemma_turn_format(runtime):
    assert runtime.model_file.embedded
    assert runtime.model_file.header.architecture == "gemma3"
    assert runtime.chat_format == GEMMA_FORMAT
    assert runtime.tokenize("<end_of_turn>") and len(runtime.tokenize("<end_of_turn>")) == 1


def test_token_count_is_the_tokenizers_own(runtime):
    text = "Memory is paged between the context window and disk."
    assert runtime.count_tokens(text) == len(runtime.tokenize(text))
    assert runtime.detokenize(runtime.tokenize(text)) == text


def test_greedy_generation_is_deterministic(runtime):
    prompt = _prompt(runtime, "Name a colour.")
    first = runtime.generate_text(prompt, max_tokens=12, sampling=GREEDY)
    second = runtime.generate_text(prompt, max_tokens=12, sampling=GREEDY)
    assert first and first == second


def test_stream_pieces_add_up_to_the_reply_and_respect_max_tokens(runtime):
    stats = GenerationStats()
    pieces = list(runtime.stream(_prompt(runtime, "Tell me a story."), max_tokens=20,
                                 sampling=SamplingParams(), stats=stats))
    assert "".join(pieces) == stats.text
    assert 0 < stats.generated_tokens <= 20
    assert stats.stop_reason in ("stop", "length")


def test_cancel_stops_generation_at_the_next_token(runtime):
    cancel, stats, seen = CancelFlag(), GenerationStats(), []
    for piece in runtime.stream(_prompt(runtime, "Count to one hundred."), max_tokens=200,
                                sampling=GREEDY, cancel=cancel, stats=stats):
        seen.append(piece)
        if len(seen) == 3:
            cancel.set()
    assert stats.stop_reason == "cancelled"
    assert stats.generated_tokens <= 4


SCHEMAS = [
    {"type": "object", "properties": {"name": {"type": "string", "maxLength": 40},
                                      "age": {"type": "integer"}},
     "required": ["name", "age"], "additionalProperties": False},
    {"type": "object", "properties": {"function": {"enum": ["send_message", "archival_memory_search"]},
                                      "arguments": {"type": "object", "properties": {
                                          "text": {"type": "string", "maxLength": 60}},
                                          "required": ["text"], "additionalProperties": False}},
     "required": ["function", "arguments"], "additionalProperties": False},
]


@pytest.mark.parametrize("schema", SCHEMAS, ids=["person", "function_call"])
@pytest.mark.parametrize("seed_prompt", ["Who is the user?", "Search your memory for cats.", "???"])
def test_grammar_output_always_parses_as_json_matching_its_schema(runtime, schema, seed_prompt):
    grammar = runtime.grammar_for_schema(schema)
    text = runtime.generate_text(_prompt(runtime, seed_prompt), max_tokens=400,
                                 sampling=SamplingParams(temperature=1.0), grammar=grammar)
    value = json.loads(text, strict=False)  # lenient strings, as the call parser reads them
    assert set(value) == set(schema["required"])
    for key, spec in schema["properties"].items():
        _assert_matches(value[key], spec)


def _assert_matches(value, spec: dict) -> None:
    if "enum" in spec:
        assert value in spec["enum"]
    elif spec["type"] == "string":
        assert isinstance(value, str) and len(value) <= spec["maxLength"]
    elif spec["type"] == "integer":
        assert isinstance(value, int) and not isinstance(value, bool)
    elif spec["type"] == "object":
        assert set(value) == set(spec["required"])
        for key, sub in spec["properties"].items():
            _assert_matches(value[key], sub)


def test_stop_string_ends_the_reply_before_it(runtime):
    stats = GenerationStats()
    text = runtime.generate_text(_prompt(runtime, "Write three lines of a poem."), max_tokens=80,
                                 sampling=GREEDY, stats=stats, stop_strings=("\n",))
    assert "\n" not in text
    assert text == stats.text
