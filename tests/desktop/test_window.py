"""The window around the views: agents, and settings applied without a restart."""

import os

from PySide6.QtWidgets import QInputDialog


def test_agents_are_created_renamed_and_deleted_from_the_list(qtbot, open_window, tmp_path, monkeypatch):
    window = open_window(tmp_path / "data")
    names = lambda: [window.agents.list.item(i).text() for i in range(window.agents.list.count())]  # noqa: E731
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("work", True)))
    window.agents.create()
    qtbot.waitUntil(lambda: names() == ["default", "work"] and window.agent == "work", timeout=30_000)
    qtbot.waitUntil(lambda: "work" in window.chat.agent_name and window.history_loaded, timeout=30_000)
    assert window.chat.bubbles == []
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("office", True)))
    window.agents.rename()
    qtbot.waitUntil(lambda: names() == ["default", "office"] and window.agent == "office", timeout=30_000)
    monkeypatch.setattr(window.agents, "confirm_delete", lambda name: name == "office")
    window.agents.delete()
    qtbot.waitUntil(lambda: names() == ["default"] and window.agent == "default", timeout=30_000)


def test_new_settings_reload_the_model_in_the_background(qtbot, open_window, tmp_path):
    from desktop.prefs import ModelPrefs

    window = open_window(tmp_path / "data")
    qtbot.waitUntil(lambda: window.context_shown, timeout=30_000)
    assert "1,024 tokens" in window.memory.context_bar.title.text()
    with qtbot.waitSignal(window.client.model_ready, timeout=120_000):
        window.apply_prefs(ModelPrefs(n_ctx=2048, paging_mode="exact"))
    qtbot.waitUntil(lambda: "2,048 tokens" in window.memory.context_bar.title.text(), timeout=60_000)
    assert "n_ctx 2,048" in window.model_label.text()
    assert window.client.engine.settings.paging_mode == "exact"


def test_once_the_model_is_loaded_the_conversation_is_already_in_its_cache(qtbot, open_window, tmp_path):
    """The app puts the window back into the KV cache at start, so the first reply reads only the
    new message: asking again afterwards finds nothing left to evaluate."""
    window = open_window(tmp_path / "data")
    qtbot.waitUntil(lambda: window.context_shown, timeout=120_000)
    again = []
    window.client.op(lambda engine: engine.resume(window.agent), again.append)
    qtbot.waitUntil(lambda: bool(again), timeout=60_000)
    assert again[0].total_tokens > 100
    assert again[0].evaluated_tokens <= 1


def test_the_window_runs_on_the_platform_the_suite_asked_for(qtbot, open_window, tmp_path):
    from PySide6.QtWidgets import QApplication

    window = open_window(tmp_path / "data")
    qtbot.waitUntil(lambda: window.windowHandle() is not None and window.windowHandle().isExposed(), timeout=30_000)
    assert QApplication.instance().platformName() == os.environ["QT_QPA_PLATFORM"]
