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


def test_the_embedding_models_loading_show_in_the_status_bar_until_they_are_ready(qtbot, open_window, tmp_path):
    """Reloading the model loads the embedding models again beside it: a permanent label says so
    while they load and goes away once both are ready."""
    from desktop.prefs import ModelPrefs

    window = open_window(tmp_path / "data")
    seen = []
    window.client.warm_progress.connect(
        lambda stage, done, total: seen.append((done, total, window.warm_label.isVisible(), window.warm_label.text())))
    window.apply_prefs(ModelPrefs(n_ctx=1024))
    qtbot.waitUntil(lambda: bool(seen) and seen[-1][0] == seen[-1][1], timeout=120_000)
    assert any(visible and "embedding" in text for done, total, visible, text in seen if done < total)
    assert not window.warm_label.isVisible()


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


def test_agent_files_are_imported_and_exported_from_the_file_menu(qtbot, open_window, tmp_path):
    from pathlib import Path

    letta = Path(__file__).resolve().parents[1] / "agentfile" / "letta_files" / "customer_service.af"
    window = open_window(tmp_path / "data")
    menu_texts = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    assert "Import agent…" in menu_texts and "Export agent…" in menu_texts
    names = lambda: [window.agents.list.item(i).text() for i in range(window.agents.list.count())]  # noqa: E731
    window.agent_files.import_from(letta)
    qtbot.waitUntil(lambda: "customer_service" in names() and window.agent == "customer_service", timeout=60_000)
    assert window.agent_files.last_message.startswith("Imported “customer_service”: 2 core blocks")
    window.agent_files.export_to("customer_service", tmp_path / "cs.af")
    qtbot.waitUntil(lambda: window.agent_files.last_message.startswith("Exported"), timeout=60_000)
    assert (tmp_path / "cs.af").is_file()
    bad = tmp_path / "bad.af"
    bad.write_text("not an agent file", encoding="utf-8")
    window.agent_files.import_from(bad)
    qtbot.waitUntil(lambda: window.agent_files.last_message.startswith("Import failed"), timeout=60_000)
    assert "not JSON" in window.agent_files.last_message
    assert sorted(names()) == ["customer_service", "default"]


def test_the_api_server_runs_inside_the_app_and_its_turns_show_in_the_conversation(qtbot, open_window, tmp_path):
    import socket

    import httpx
    from openai import OpenAI

    from desktop.api_server import ServerPrefs
    from engine.server.access import load_or_create_token

    window = open_window(tmp_path / "data")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    window.apply_server_prefs(ServerPrefs(True, port))
    assert window.api.url == f"http://127.0.0.1:{port}/v1"
    client = OpenAI(base_url=window.api.url, api_key=load_or_create_token(tmp_path / "data"), max_retries=0,
                    timeout=300)
    assert [m.id for m in client.models.list().data] == ["default"]
    reply = client.chat.completions.create(model="default",
                                           messages=[{"role": "user", "content": "Hello from a script."}])
    assert reply.choices[0].message.content.strip()
    qtbot.waitUntil(lambda: any("Hello from a script." in b.text for b in window.chat.bubbles), timeout=60_000)
    window.apply_server_prefs(ServerPrefs(False, port))
    assert window.api.url is None
    try:
        httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=5)
        refused = False
    except httpx.ConnectError:
        refused = True
    assert refused
