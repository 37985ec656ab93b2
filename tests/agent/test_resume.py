"""A restart resumes the conversation from the saved KV state, through the Engine as a program uses it."""

from dataclasses import replace

from engine.events import ContextEvent, MemoryEvent
from tests.agent.conftest import FAST_TURNS

ONE_STEP = replace(FAST_TURNS, max_steps=1)


def _first_context(events) -> ContextEvent:
    return next(e for e in events if isinstance(e, ContextEvent))


def test_a_restart_after_a_turn_that_paged_memory_in_reuses_the_saved_state(make_engine):
    engine = make_engine(agent_settings=ONE_STEP)
    engine.insert_passage("The spare house key is under the blue flowerpot by the back door.")
    events = list(engine.send("Where is the spare house key?"))
    page_in = next(e for e in events if isinstance(e, MemoryEvent) and e.kind == "page_in")
    assert page_in.payload["hits"], "the note should have been paged in"
    engine.close()

    reopened = make_engine(agent_settings=ONE_STEP)
    first = _first_context(reopened.send("Thanks. Is the flowerpot blue or green?"))
    assert first.reused_tokens > 0.8 * first.total_tokens
    assert first.evaluated_tokens < 0.2 * first.total_tokens


def test_a_restart_that_sends_before_loading_the_model_still_restores(make_engine):
    engine = make_engine(agent_settings=ONE_STEP)
    list(engine.send("Hello, my name is Ana and I live in Lisbon."))
    engine.close()

    reopened = make_engine(agent_settings=ONE_STEP)
    assert not reopened.model_loaded
    first = _first_context(reopened.send("Where do I live?"))
    assert first.reused_tokens > 0.8 * first.total_tokens


def test_resume_puts_the_window_back_from_the_saved_state_before_any_message(make_engine, tmp_path):
    engine = make_engine(agent_settings=ONE_STEP)
    engine.insert_passage("The spare house key is under the blue flowerpot by the back door.")
    list(engine.send("Where is the spare house key?"))
    engine.close()

    reopened = make_engine(agent_settings=ONE_STEP)
    resumed = reopened.resume()
    reopened.close()
    assert resumed.total_tokens > 100
    assert resumed.evaluated_tokens <= 2  # the last token again, for its logits

    for state in (tmp_path / "cache" / "kv").glob("*.kvstate"):
        state.unlink()
    reread = make_engine(agent_settings=ONE_STEP).resume()
    assert reread.total_tokens == resumed.total_tokens
    assert reread.evaluated_tokens == reread.total_tokens
