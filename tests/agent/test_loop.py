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
    assert calls and len(calls) <= FAST_TURNS.max_steps and calls[-1].name == "send_message"
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


def test_a_summary_too_large_for_a_small_window_is_cut_so_the_window_fits(make_engine):
    """At 1024 tokens with a 128-token reply reserve, the system prompt, core memory and a full
    summary alone exceed the budget; the oldest part of the summary gives way."""
    from dataclasses import replace as replaced

    from engine.agent.settings import AgentSettings
    from engine.context.segments import total_tokens

    engine = make_engine(AgentSettings(max_steps=1, reply_reserve_tokens=128, summarise_with_model=False))
    loop, agent_id = engine.loop, engine.agent().id
    first = loop.observe(agent_id, "Hello there.")
    long_summary = " ".join(f"The user mentioned topic number {i} at length." for i in range(60))
    loop.window.states.set(agent_id, replaced(loop.window.states.get(agent_id), summary=long_summary))
    loop.observe(agent_id, "Another message to fill the window a little more.")
    segments = loop.window.compile(agent_id)
    assert total_tokens(segments) + loop.window.generation_segment().n_tokens <= loop.window.budget
    summary = loop.window.states.get(agent_id).summary
    assert summary and len(summary) < len(long_summary)
    assert engine.store.recall.get(first.id).content == "Hello there."


def test_a_turn_whose_every_call_is_cut_off_still_ends_with_a_reply_and_keeps_the_message(make_engine):
    """Eight tokens cannot hold a whole call: every step is garbage to the parser."""
    engine = make_engine(replace(FAST_TURNS, max_steps=3, reply_reserve_tokens=8))
    events = _run(engine, "My cat is called Miso.")
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.reply.startswith("Sorry, I could not put a reply together")
    stored = engine.history()
    assert stored[0].content == "My cat is called Miso."
    assert [m.name for m in stored if m.role == "function"] == ["error", "error", "error"]
    from engine.api import read_call
    assert read_call(stored[-1]) == ("send_message", {"message": done.reply})


def test_the_turn_says_what_it_changed_and_a_plain_reply_changes_no_memory(make_engine):
    engine = make_engine(replace(FAST_TURNS, max_steps=1))
    events = _run(engine, "Tell me about the sea.")
    done = events[-1]
    assert isinstance(done, DoneEvent)
    assert done.changes.messages and done.changes.timeline
    assert not done.changes.core and not done.changes.archival
