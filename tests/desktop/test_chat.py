"""The conversation view: replies stream in, the UI thread stays free, older messages load on scroll-up."""

import time

from PySide6.QtCore import Qt, QTimer


def _send(qtbot, window, text):
    window.composer.edit.setPlainText(text)
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)


def test_a_sent_message_streams_a_reply_into_the_view(qtbot, open_window, tmp_path):
    window = open_window(tmp_path / "data")
    _send(qtbot, window, "Hello! My name is Ana and I grow tomatoes.")
    live = window.chat.live
    assert live is not None and window.composer.button.text() == "Stop"
    pieces = []
    original = live.append_text
    live.append_text = lambda piece: (pieces.append(piece), original(piece))
    with qtbot.waitSignal(window.turns.finished, timeout=120_000) as done:
        pass
    reply = done.args[0].reply
    users = [b for b in window.chat.bubbles if b.role == "user"]
    assert users[-1].text == "Hello! My name is Ana and I grow tomatoes."
    assert window.chat.bubbles[-1].role == "assistant"
    assert reply and "".join(pieces).endswith(reply)  # an edit that failed may have streamed a reply first
    assert window.chat.bubbles[-1].text == reply
    assert window.composer.button.text() == "Send"
    assert "tokens/s" in window.speed_label.text()
    assert "1 messages" not in window.stats_label.text()


def test_the_ui_thread_keeps_running_while_a_reply_is_generated(qtbot, open_window, tmp_path):
    window = open_window(tmp_path / "data")
    ticks = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    _send(qtbot, window, "Tell me something about gardens.")
    with qtbot.waitSignal(window.turns.finished, timeout=120_000):
        pass
    timer.stop()
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(ticks) > 10
    assert max(gaps) < 0.5


def test_stop_ends_the_reply_and_the_conversation_goes_on(qtbot, open_window, tmp_path):
    window = open_window(tmp_path / "data")
    _send(qtbot, window, "Write me a long story about the sea.")
    live = window.chat.live
    qtbot.waitUntil(lambda: bool(live.text), timeout=120_000)
    qtbot.waitUntil(window.isActiveWindow, timeout=10_000)
    with qtbot.waitSignal(window.turns.finished, timeout=120_000) as stopped:
        qtbot.keyClick(window.composer.edit, Qt.Key.Key_Escape)
    assert stopped.args[0].stop_reason == "cancelled" and live.text.endswith("*(stopped)*")
    assert window.composer.button.text() == "Send"
    _send(qtbot, window, "Hello again.")
    with qtbot.waitSignal(window.turns.finished, timeout=120_000) as done:
        pass
    assert done.args[0].stop_reason != "cancelled"
    assert [b.text for b in window.chat.bubbles if b.role == "user"][-2:] == [
        "Write me a long story about the sea.", "Hello again."]


def test_scrolling_up_loads_older_messages_from_recall(qtbot, open_window, copy_of_conversation):
    window = open_window(copy_of_conversation)
    oldest = window.chat.oldest_id()
    assert window.chat.has_older
    qtbot.waitUntil(lambda: window.chat.verticalScrollBar().maximum() > 0, timeout=10_000)
    window.chat.verticalScrollBar().setValue(0)
    qtbot.waitUntil(lambda: window.chat.oldest_id() < oldest, timeout=30_000)


def test_a_plain_reply_redraws_neither_core_nor_archival_memory(qtbot, open_window, tmp_path):
    from tests.desktop.conftest import ONE_STEP

    window = open_window(tmp_path / "data", agent_settings=ONE_STEP)
    redraws = {"core": 0, "archival": 0, "timeline": 0}
    for name in redraws:
        view = getattr(window.memory, name)
        original = view.refresh
        view.refresh = lambda *a, _name=name, _original=original: (redraws.__setitem__(_name, redraws[_name] + 1),
                                                                  _original(*a))
    _send(qtbot, window, "Tell me something about gardens.")
    with qtbot.waitSignal(window.turns.finished, timeout=120_000) as done:
        pass
    changes = done.args[0].changes
    assert not changes.core and not changes.archival and changes.messages
    qtbot.waitUntil(lambda: redraws["timeline"] > 0, timeout=10_000)
    assert redraws["core"] == 0 and redraws["archival"] == 0
