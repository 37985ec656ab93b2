"""The LLM-OS loop on the real embedded model."""

from dataclasses import replace

from engine.agent.settings import AgentSettings
from engine.events import ContextEvent, DoneEvent, FunctionCallEvent, MemoryEvent, TokenEvent
from tests.agent.conftest import FAST_TURNS


def _run(engine, text, **kwargs):
    return list(engine.send(text, **kwargs))


def test_a_turn_stores_the_message_first_and_ends_with_a_reply(make_engine):
    engine = make_engine()
    events = _run(engine, "Hello! My name is Ana.")
    assert isinstance(events[0], MemoryEvent) and events[0].kind == "message_stored"
    assert isinstance(events[-1], DoneEvent)
    stored = engine.history()
    assert stored[0].role == "user" and stored[0].content == "Hello! My name is Ana."
    calls = [e for e in events if isinstance(e, FunctionCallEvent)]
    assert calls and len(calls) <= FAST_TURNS.max_steps
    if calls[-1].name == "send_message":
        streamed = "".join(e.text for e in events if isinstance(e, TokenEvent))
        assert streamed == calls[-1].arguments["message"] == events[-1].reply


def test_heartbeat_chain_is_bounded_and_always_ends_in_a_message(make_engine):
    engine = make_engine(replace(FAST_TURNS, max_steps=3))
    for text in ("Search your memory for my sister.", "Remember that I like tea.", "What did I say?"):
        events = _run(engine, text)
        calls = [e for e in events if isinstance(e, FunctionCallEvent)]
        assert 1 <= len(calls) <= 3
        assert isinstance(events[-1], DoneEvent)


def test_context_event_reports_segments_within_the_window(make_engine):
    engine = make_engine()
    context = [e for e in _run(engine, "Tell me about memory.") if isinstance(e, ContextEvent)]
    assert context
    kinds = dict(context[0].segments)
    assert kinds["system"] > 0 and kinds["core"] > 0 and kinds["message"] > 0
    assert context[0].total_tokens <= context[0].n_ctx - FAST_TURNS.reply_reserve_tokens


def test_user_core_edit_survives_a_restart(make_engine, tmp_path):
    engine = make_engine()
    engine.edit_core("human", "Name: Ana. Loves mangosteen.")
    engine.close()
    reopened = make_engine()
    assert reopened.core_blocks()[1].value == "Name: Ana. Loves mangosteen."
    assert reopened.core_history("human")[0].author == "user"
