"""Settings: "On this computer" / "On a server" with the server's address, model and key variable,
remembered (never the key); a reply generated on a real inference server, an error line in the
chat when it is away, and a retry that answers the kept message."""

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from desktop.prefs import ModelPrefs, load_model_prefs, save_model_prefs, settings_store
from tests.remote.conftest import free_port, inference_server  # noqa: F401 (the fixture)


@pytest.fixture
def window(open_window, tmp_path):
    return open_window(tmp_path / "data")


def _dialog(qtbot, window, prefs: ModelPrefs, tmp_path):
    from desktop.settings_dialog import SettingsDialog

    dialog = SettingsDialog(window.client, prefs, tmp_path / "models", window)
    qtbot.addWidget(dialog)
    return dialog


def _press_ok(dialog) -> None:
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()


def test_a_server_is_chosen_in_the_settings_and_remembered_without_its_key(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setenv("LLMOS_SERVER_KEY", "k-very-secret")
    dialog = _dialog(qtbot, window, ModelPrefs(n_ctx=1024), tmp_path)
    assert dialog.on_computer.isChecked() and not dialog.server_part.isVisibleTo(dialog)
    dialog.on_server.setChecked(True)
    assert dialog.server_part.isVisibleTo(dialog) and not dialog.local_part.isVisibleTo(dialog)
    dialog.server_url.setText("http://gpu-box:8080/v1")
    dialog.server_model.setText("qwen2.5-32b-instruct")
    dialog.key_env.setText("LLMOS_SERVER_KEY")
    _press_ok(dialog)
    prefs = dialog.prefs
    assert prefs.on_server and prefs.server_url == "http://gpu-box:8080/v1"
    settings = prefs.runtime_settings()
    assert settings.remote and settings.server_model == "qwen2.5-32b-instruct"
    assert settings.api_key_env == "LLMOS_SERVER_KEY" and settings.api_key() == "k-very-secret"

    store = settings_store()
    save_model_prefs(store, prefs)
    store.sync()
    assert all("k-very-secret" not in str(store.value(key)) for key in store.allKeys())
    assert load_model_prefs(store) == prefs
    again = _dialog(qtbot, window, load_model_prefs(store), tmp_path)
    assert again.on_server.isChecked() and again.server_url.text() == "http://gpu-box:8080/v1"
    again.on_computer.setChecked(True)
    _press_ok(again)
    assert not again.prefs.on_server and not again.prefs.runtime_settings().remote
    assert again.prefs.server_url == "http://gpu-box:8080/v1"  # kept for the next time a server is chosen


@pytest.mark.parametrize("url, key_env", [("gpu-box:8080", ""), ("", ""), ("http://gpu-box:8080", "sk-abc 123")])
def test_a_server_address_or_key_variable_that_cannot_be_used_keeps_the_dialog_open(qtbot, window, tmp_path,
                                                                                     url, key_env):
    dialog = _dialog(qtbot, window, ModelPrefs(n_ctx=1024), tmp_path)
    dialog.on_server.setChecked(True)
    dialog.server_url.setText(url)
    dialog.key_env.setText(key_env)
    _press_ok(dialog)
    assert dialog.result() != dialog.DialogCode.Accepted and dialog.server_problem.isVisibleTo(dialog)
    assert dialog.prefs == ModelPrefs(n_ctx=1024)


def _send(qtbot, window, text):
    window.composer.edit.setPlainText(text)
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)


def test_a_reply_comes_from_the_server_and_a_server_away_shows_an_error_and_a_retry_answers(
        qtbot, window, inference_server):  # noqa: F811 (the fixture)
    down = replace(ModelPrefs(n_ctx=2048), on_server=True, server_url=f"http://127.0.0.1:{free_port()}")
    window.apply_prefs(down)
    qtbot.waitUntil(lambda: bool(window.model_error), timeout=60_000)
    _send(qtbot, window, "Hello there, are you awake?")
    with qtbot.waitSignal(window.turns.failed, timeout=60_000) as failed:
        pass
    assert "nothing answers" in failed.args[0] and "message is saved" in failed.args[0]
    assert window.chat.bubbles[-1].text.startswith("**Error:**")

    window.apply_prefs(replace(down, server_url=inference_server.url))
    qtbot.waitUntil(lambda: bool(window.client.model_name), timeout=60_000)
    assert inference_server.url in window.model_label.text()
    qtbot.waitUntil(lambda: not window.client.busy, timeout=60_000)
    users_before = [b.text for b in window.chat.bubbles if b.role == "user"]
    window.retry()
    with qtbot.waitSignal(window.turns.finished, timeout=180_000) as done:
        pass
    assert done.args[0] is not None and done.args[0].reply
    assert window.chat.bubbles[-1].text == done.args[0].reply
    assert [b.text for b in window.chat.bubbles if b.role == "user"] == users_before
