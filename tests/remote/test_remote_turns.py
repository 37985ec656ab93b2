"""Full turns through the Engine with generation on a real inference server on loopback."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

import httpx
import pytest

from engine.agent.settings import AgentSettings
from engine.api import Engine
from engine.events import ContextEvent, DoneEvent, FunctionCallEvent, FunctionResultEvent, MemoryEvent, MemoryKind
from engine.runtime.remote import RemoteModelRuntime
from tests.remote.conftest import remote_settings

SHORT = replace(AgentSettings(), max_steps=2, max_message_chars=160, reply_reserve_tokens=200)
WHEN = datetime(2025, 3, 14, 9, 30)


@pytest.fixture
def engine(tmp_path, inference_server, embedder):
    engine = Engine(tmp_path / "data", remote_settings(inference_server), cache_dir=tmp_path / "cache",
                    agent_settings=SHORT, embedder=embedder)
    yield engine
    engine.close()


def test_the_engine_generates_on_the_server_without_a_kv_pager(engine):
    runtime = engine.load_model()
    assert isinstance(runtime, RemoteModelRuntime)
    assert runtime.server_kind == "llama_cpp.server"
    assert engine._pager is None
    assert runtime.n_ctx == 2048 and runtime.chat_format.name == "gemma"


def test_a_turn_on_the_server_saves_a_fact_to_core_memory_and_replies(engine):
    events = list(engine.send("Hi, my name is Ada and I live in Lyon.", created_at=WHEN))
    calls = [e for e in events if isinstance(e, FunctionCallEvent)]
    results = [e for e in events if isinstance(e, FunctionResultEvent)]
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.reply
    assert calls and all(r.ok for r in results), results  # every step a valid call: the grammar held
    assert calls[0].name == "core_memory_append"
    assert any("Ada" in b.value for b in engine.core_blocks())
    assert done.changes.core
    roles = [m.role for m in engine.history()]
    assert roles[0] == "user" and "assistant" in roles


def test_page_in_finds_an_archival_passage_for_a_turn_on_the_server(engine):
    engine.insert_passage("Ada's cat is a grey tabby called Miso.")
    engine.catch_up_indexes()
    events = list(engine.send("What is my cat called?", created_at=WHEN))
    page_in = next(e for e in events if isinstance(e, MemoryEvent) and e.kind == MemoryKind.PAGE_IN)
    assert any("Miso" in hit["text"] for hit in page_in.payload["hits"])
    context = next(e for e in events if isinstance(e, ContextEvent))
    assert dict(context.segments)["recalled"] > 0
    assert isinstance(events[-1], DoneEvent) and events[-1].reply


def test_the_window_is_counted_as_the_server_counts_its_prompt(engine, inference_server):
    list(engine.send("Remember that my sister Lina plays the cello.", created_at=WHEN))
    agent_id = engine.agent().id
    window = engine.loop.window
    segments = [*window.compile(agent_id), window.generation_segment()]
    prompt_text = "".join(s.text for s in segments)
    served = httpx.post(f"{inference_server.url}/extras/tokenize", json={"input": prompt_text}).json()["tokens"]
    assert sum(s.n_tokens for s in segments) == len(served)
    runtime = engine.runtime
    for text in ("Lina plays the cello.", "<start_of_turn>user\nhi", "naïve café — 東京"):
        served = httpx.post(f"{inference_server.url}/extras/tokenize", json={"input": text}).json()["tokens"]
        assert runtime.tokenize(text) == served[1:]  # the server adds a BOS; a count leaves it out
        assert runtime.count_tokens(text) == len(served) - 1


def test_the_json_turn_report_names_the_calls_made_on_the_server(engine):
    from engine.cli.chat_cmd import turn_report

    report = turn_report(engine.send("Say hello.", created_at=WHEN))
    assert report["reply"] and report["steps"]
    assert json.dumps(report)
