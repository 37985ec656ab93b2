"""A 300-turn conversation at a 1024-token window: bounded, evicting, and never forgetting."""

import pytest

from engine.events import ContextEvent, MemoryEvent
from engine.memory.timeline import EVICTED, SUMMARISED

TOPICS = ["the weather", "my job", "a film I saw", "cooking dinner", "my commute", "a book", "the gym",
          "my neighbour", "a podcast", "weekend plans", "a museum visit", "learning piano"]
FACT = "My grandmother's village is called Valdemossa, remember that."


def _script(n: int) -> list[str]:
    lines = [FACT]
    for i in range(1, n - 1):
        lines.append(f"Turn {i}: let me tell you about {TOPICS[i % len(TOPICS)]}, it was {['fine', 'odd', 'great'][i % 3]}.")
    lines.append("What is the name of my grandmother's village?")
    return lines


@pytest.mark.slow
def test_three_hundred_turns_stay_in_the_window_and_remember_turn_one(make_engine):
    engine = make_engine()
    n_ctx, reserve = engine.runtime.n_ctx, engine.agent_settings.reply_reserve_tokens
    script = _script(300)
    last_page_in = None
    for text in script:
        for event in engine.send(text):
            if isinstance(event, ContextEvent):
                assert event.total_tokens <= n_ctx - reserve
            if isinstance(event, MemoryEvent) and event.kind == "page_in":
                last_page_in = event
    agent_id = engine.agent().id
    timeline = engine.store.timeline
    assert timeline.count(agent_id, EVICTED) >= 3 and timeline.count(agent_id, SUMMARISED) >= 3
    users = [m for m in engine.store.recall.range(agent_id, limit=100_000) if m.role == "user"]
    assert [m.content for m in users] == script
    first_id = users[0].id
    in_window = {s for s, _ in engine.context_report().segments}
    assert "message" in in_window
    assert engine.loop.window.states.get(agent_id).queue_start_id > first_id  # turn 1 left the window
    found = engine.store.recall.search_text(agent_id, "grandmother village Valdemossa", 1, 10)
    assert first_id in [h.id for h in found.items]
    assert first_id in [h["id"] for h in last_page_in.payload["hits"] if h["tier"] == "recall"]
