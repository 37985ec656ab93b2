"""The visible message streams out of a send_message call token by token."""

import json

from hypothesis import given
from hypothesis import strategies as st

from engine.agent.message_stream import MessageStream


@given(st.text(max_size=200), st.integers(1, 7))
def test_streamed_pieces_equal_the_decoded_message(message, chunk):
    raw = json.dumps({"function": "send_message", "arguments": {"message": message}})
    stream, seen = MessageStream(), []
    for i in range(0, len(raw), chunk):
        seen.append(stream.feed(raw[i:i + chunk]))
    assert "".join(seen) == message
    assert stream.done


def test_other_functions_stream_nothing():
    stream = MessageStream()
    assert stream.feed('{"function": "archival_memory_search", "arguments": {"query": "x"}}') == ""
