"""The context window on its own: its parts persist, pressure warns, a full window evicts and fits.

A real model tokenises (the small embedded one), the stores are real; summaries are extractive.
"""

import pytest

from engine.context.eviction import Summariser
from engine.context.queue import WARN_FRACTION
from engine.context.segments import MESSAGE, PRESSURE, RECALLED, total_tokens
from engine.context.window import ContextWindow, WindowLimits
from engine.events import MemoryEvent, MemoryKind
from engine.memory.store import MemoryStore
from engine.runtime.model import ModelRuntime
from engine.runtime.settings import RuntimeSettings

LIMITS = WindowLimits(reply_reserve_tokens=128, message_fraction=0.25)


@pytest.fixture(scope="module")
def runtime():
    model = ModelRuntime(RuntimeSettings(n_ctx=1024, seed=1))
    yield model
    model.close()


@pytest.fixture
def open_store(tmp_path, embedder):
    opened = []

    def open_() -> MemoryStore:
        store = MemoryStore.open(tmp_path / "data", embedder=embedder)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


def _window(runtime, store) -> ContextWindow:
    summarise = Summariser(runtime, None, max_chars=400, max_tokens=100, use_model=False)
    return ContextWindow(runtime, store, LIMITS, lambda name: f"You are {name}, a helpful assistant.", summarise)


def _say(window: ContextWindow, store: MemoryStore, agent_id: int, text: str) -> int:
    message = store.recall.append(agent_id, "user", text)
    window.start_queue(agent_id, message.id)
    return message.id


def _prepare(window: ContextWindow, agent_id: int):
    events, steps = [], window.prepare(agent_id)
    while True:
        try:
            events.append(next(steps))
        except StopIteration as done:
            return done.value, events


def _fits(window: ContextWindow, segments) -> bool:
    return total_tokens(segments) + window.generation_segment().n_tokens <= window.budget


def test_a_reopened_store_compiles_the_same_window_recalled_part_included(runtime, open_store):
    store = open_store()
    window, agent_id = _window(runtime, store), store.agents.ensure_default().id
    for text in ("Hello, I am Ana.", "My sister lives in Porto."):
        _say(window, store, agent_id, text)
    window.set_recalled(agent_id, "archival: The spare key is under the blue pot.")
    before = [(s.key, s.tokens) for s in window.compile(agent_id)]
    store.close()

    reopened = open_store()
    after = [(s.key, s.tokens) for s in _window(runtime, reopened).compile(agent_id)]
    assert after == before and any(key == RECALLED for key, _ in after)


def test_a_window_past_the_warning_level_tells_the_model_and_evicts_nothing(runtime, open_store):
    store = open_store()
    window, agent_id = _window(runtime, store), store.agents.ensure_default().id
    while total_tokens(window.compile(agent_id)) < 0.75 * window.budget:
        _say(window, store, agent_id, "Today I walked along the river and counted the boats going past. " * 2)
    segments, events = _prepare(window, agent_id)
    assert events == [] and segments[-1].kind == PRESSURE and _fits(window, segments)


def test_a_full_window_evicts_its_oldest_messages_into_a_summary_and_keeps_them_in_recall(runtime, open_store):
    store = open_store()
    window, agent_id = _window(runtime, store), store.agents.ensure_default().id
    ids = []
    while total_tokens(window.compile(agent_id)) < window.budget:
        ids.append(_say(window, store, agent_id, f"Note {len(ids)}: the heron stood by the mill pond again. " * 3))
    segments, events = _prepare(window, agent_id)
    assert [e.kind for e in events] == [MemoryKind.EVICTED, MemoryKind.SUMMARISED]
    evicted = events[0].payload["message_ids"]
    assert evicted == ids[:len(evicted)] and window.queue(agent_id)[0].id == ids[len(evicted)]
    assert all(store.recall.get(i) for i in evicted)
    assert f"Note {len(evicted) - 1}:" in window.states.get(agent_id).summary  # the newest evicted, at least
    assert total_tokens(segments) < WARN_FRACTION * window.budget  # room again, the summary included
    assert all(isinstance(e, MemoryEvent) for e in events)


def test_recalled_hits_give_way_weakest_first_when_an_eviction_is_not_enough(runtime, open_store):
    store = open_store()
    window, agent_id = _window(runtime, store), store.agents.ensure_default().id
    _say(window, store, agent_id, "What do you remember about the garden?")
    lines = [f"recall: In spring number {i} the garden had tulips, roses and a plum tree by the wall." for i in range(40)]
    window.set_recalled(agent_id, "\n".join(lines))
    assert not _fits(window, window.compile(agent_id))
    segments, _ = _prepare(window, agent_id)
    kept = window.recalled(agent_id).split("\n")
    assert 0 < len(kept) < len(lines) and kept == lines[:len(kept)]
    assert _fits(window, segments) and [s.kind for s in segments].count(MESSAGE) == 1
