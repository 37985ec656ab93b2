"""The desktop on the offscreen platform, over a real engine (real model, stores and embeddings).

``LLMOS_TEST_QT_PLATFORM=xcb`` (with DISPLAY set) runs the same tests on a real X server:
tests/launcher does so under Xvfb where it is installed.
"""

import os
import tempfile

os.environ["QT_QPA_PLATFORM"] = os.environ.get("LLMOS_TEST_QT_PLATFORM", "offscreen")  # before Qt is imported
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="llmos-desktop-config-")  # never the user's settings

import shutil  # noqa: E402
from dataclasses import replace  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402

import pytest  # noqa: E402

from engine.api import Engine, RuntimeSettings  # noqa: E402
from tests.agent.conftest import FAST_TURNS  # noqa: E402

SMALL_WINDOW = RuntimeSettings(n_ctx=1024, seed=3)
SISTER = "My sister Ingrid moved to Tromsø last spring and works at the aquarium there."
LONG_TURNS = [
    "Let me tell you about my week in detail. " + "On Monday I repaired the old bicycle, cleaned the chain, "
    "replaced both tyres and rode it along the river to the market where I bought apples and bread. " * 4,
    "Then on Tuesday the rain came. " + "I stayed home, read two chapters of a long novel about sailors, "
    "cooked a lentil soup with carrots and cumin, and called my friend Tomas about the concert. " * 4,
    "Wednesday was busy at work. " + "We moved the whole team to a new office on the fourth floor, "
    "unpacked forty boxes, fixed the printer twice and argued about where the plants should go. " * 4,
]
FILLER = 120
ONE_STEP = replace(FAST_TURNS, max_steps=1, max_message_chars=60)  # a short forced reply: quick turns


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory):
    """One cache directory, so the embedded model is assembled once for all desktop tests."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def conversation_dir(tmp_path_factory, shared_cache, embedder):
    """A data directory with a long history and a short real conversation that overflowed the window.

    The older history is inserted in bulk (it stands for months of talk); the last turns are
    real model turns at a 1024-token window, so messages were evicted and summarised.
    """
    data = tmp_path_factory.mktemp("conversation") / "data"
    engine = Engine(data, SMALL_WINDOW, cache_dir=shared_cache, agent_settings=ONE_STEP, embedder=embedder)
    try:
        agent_id = engine.agent().id
        start = datetime.now() - timedelta(days=30)
        rows = [("user", f"Small talk number {i} about the weather and the garden.", None,
                 start + timedelta(minutes=10 * i)) for i in range(FILLER)]
        rows[5] = ("user", SISTER, None, start + timedelta(minutes=50))
        engine.store.recall.append_many(agent_id, rows)
        for text in LONG_TURNS:
            list(engine.send(text))
    finally:
        engine.close()
    return data


@pytest.fixture
def copy_of_conversation(conversation_dir, tmp_path):
    target = tmp_path / "data"
    shutil.copytree(conversation_dir, target)
    return target


@pytest.fixture
def open_window(qtbot, shared_cache, embedder):
    """Opens the main window on a data dir and waits until history and model are ready."""
    from desktop.main_window import MainWindow
    from desktop.prefs import ModelPrefs
    from desktop.worker import EngineConfig

    opened = []

    def open_(data_dir, agent_settings=FAST_TURNS):
        config = EngineConfig(data_dir, shared_cache, SMALL_WINDOW, agent_settings, extra={"embedder": embedder})
        window = MainWindow(config, prefs=ModelPrefs(n_ctx=1024), remember=False)
        qtbot.addWidget(window)
        window.show()
        window.activateWindow()  # shortcuts (Esc) need an active window; on X no window manager gives focus
        window.start()
        opened.append(window)
        qtbot.waitUntil(lambda: window.history_loaded and bool(window.client.model_name), timeout=120_000)
        qtbot.waitUntil(lambda: not window.client.busy, timeout=60_000)
        return window

    yield open_
    for window in opened:
        window.close()
