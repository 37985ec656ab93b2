"""The visible message streams out of a send_message call token by token."""

import json

from hypothesis import given
from hypothesis import strategies as st

from engine.agent.message_stream import MessageStream, drawable


@given(st.text(max_size=200), st.text(max_size=80), st.integers(1, 7))
def test_streamed_pieces_equal_the_decoded_drawable_message_and_never_the_thought(message, thought, chunk):
    raw = json.dumps({"thought": thought, "function": "send_message", "arguments": {"message": message}})
    stream, seen = MessageStream(), []
    for i in range(0, len(raw), chunk):
        seen.append(stream.feed(raw[i:i + chunk]))
    assert "".join(seen) == drawable(message)
    assert stream.done


def test_other_functions_stream_nothing():
    stream = MessageStream()
    assert stream.feed('{"function": "archival_memory_search", "arguments": {"query": "x"}}') == ""


def test_code_points_no_font_draws_are_dropped_and_emoji_and_rtl_kept():
    stream = MessageStream()
    raw = '{"function": "send_message", "arguments": {"message": "Hi \\udbff\\udffd\\ud800 there \U000F0001\U0001F600 שלום"}}'
    shown = "".join(stream.feed(ch) for ch in raw)
    assert shown == "Hi  there \U0001F600 שלום"
    assert drawable("a\ue000b\U0010FFFDc") == "abc"


@given(st.text(max_size=120), st.text(max_size=80), st.integers(1, 7))
def test_the_reply_an_edit_carries_streams_and_its_content_does_not(reply, content, chunk):
    raw = json.dumps({"thought": "x", "function": "core_memory_append",
                      "arguments": {"label": "human", "content": content}, "reply": reply})
    stream, seen = MessageStream(), []
    for i in range(0, len(raw), chunk):
        seen.append(stream.feed(raw[i:i + chunk]))
    assert "".join(seen) == drawable(reply)
