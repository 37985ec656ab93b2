"""The real embedded default (Qwen2.5-Coder 1.5B Instruct) through whole turns of the product path.

The rest of the suite runs on a small model for speed; this suite is what a new user meets.
"""

import pytest

from engine.api import Engine
from engine.events import DoneEvent, FunctionCallEvent
from engine.runtime.embedded_models import DEFAULT_EMBEDDED, MODEL_ENV
from engine.runtime.settings import RuntimeSettings


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder):
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(MODEL_ENV, raising=False)
        root = tmp_path_factory.mktemp("default-model")
        opened = Engine(root / "data", RuntimeSettings(n_ctx=2048, seed=1), embedder=embedder)
        opened.load_model()
    yield opened
    opened.close()


def _turn(engine, text):
    events = list(engine.send(text))
    done = events[-1]
    assert isinstance(done, DoneEvent)
    return done.reply, [e.name for e in events if isinstance(e, FunctionCallEvent)]


def test_the_default_is_the_embedded_instruct_model(engine):
    assert engine.runtime.model_file.embedded
    assert engine.runtime.model_file.size == DEFAULT_EMBEDDED.size_bytes
    assert "Qwen2.5 Coder 1.5B Instruct" in engine.runtime.name


def test_it_saves_what_it_is_told_and_answers_from_memory(engine):
    reply, calls = _turn(engine, "Hi! My name is Ada and I live in Lisbon. I'm allergic to peanuts.")
    assert reply.strip() and len(calls) <= 2  # the edit carries the reply, or a reply step follows it
    human = next(b for b in engine.core_blocks() if b.label == "human").value
    assert "Ada" in human
    reply, calls = _turn(engine, "What is my name and what am I allergic to?")
    assert "Ada" in reply and "peanut" in reply.lower()
    assert len(calls) <= 2
