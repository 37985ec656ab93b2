"""An engine on the real embedded model, real stores and real embeddings, in a temp dir."""

import pytest

from engine.agent.settings import AgentSettings
from engine.api import Engine
from engine.runtime.model import GREEDY
from engine.runtime.settings import RuntimeSettings

SMALL_WINDOW = RuntimeSettings(n_ctx=1024, seed=3)
FAST_TURNS = AgentSettings(max_steps=2, max_message_chars=80, reply_reserve_tokens=128,
                           summarise_with_model=False, sampling=GREEDY)


@pytest.fixture
def make_engine(tmp_path, embedder):
    opened = []

    def make(agent_settings: AgentSettings = FAST_TURNS, settings: RuntimeSettings = SMALL_WINDOW,
             data_dir=None) -> Engine:
        engine = Engine(data_dir or tmp_path / "data", settings, cache_dir=tmp_path / "cache",
                        agent_settings=agent_settings, embedder=embedder)
        opened.append(engine)
        return engine

    yield make
    for engine in opened:
        engine.close()
