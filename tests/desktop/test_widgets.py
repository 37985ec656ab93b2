"""Widgets on their own (no model): the message box, grouping stored steps, the context bar."""

from datetime import datetime

from PySide6.QtCore import Qt

from engine.events import ContextEvent
from engine.memory.types import Message


def _message(id_, role, content, name=None):
    return Message(id_, 1, role, content, datetime(2026, 3, 1, 14, 2), name)


def test_enter_sends_and_shift_enter_breaks_the_line(qtbot):
    from desktop.composer import Composer

    composer = Composer()
    qtbot.addWidget(composer)
    sent = []
    composer.send_requested.connect(sent.append)
    qtbot.keyClicks(composer.edit, "first line")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer.edit, "second line")
    assert sent == []
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert sent == ["first line\nsecond line"] and composer.edit.toPlainText() == ""
    composer.set_generating(True)
    qtbot.keyClicks(composer.edit, "not while a reply runs")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert len(sent) == 1 and composer.button.text() == "Stop"


def test_stored_steps_become_one_reply_bubble_with_its_calls(qtbot):
    from desktop.chat_view import group_messages

    bubbles = group_messages([
        _message(1, "user", "Where does my sister live?"),
        _message(2, "assistant", '{"function": "conversation_search", "arguments": {"query": "sister"}}', "call"),
        _message(3, "function", '{"results": ["My sister lives in Oslo"]}', "conversation_search"),
        _message(4, "assistant", '{"function": "send_message", "arguments": {"message": "In **Oslo**."}}', "call"),
        _message(5, "user", "Thanks"),
    ], "default")
    assert [b.role for b in bubbles] == ["user", "assistant", "user"]
    reply = bubbles[1]
    assert reply.text == "In **Oslo**." and reply.message_ids == {2, 3, 4}
    assert len(reply.steps.steps) == 2 and "Searching the conversation" in reply.steps.steps[0]
    assert reply.steps.toggle.text() == "1 memory step"
    reply.steps.toggle.click()
    assert reply.steps.details.isVisibleTo(reply)


def test_the_context_bar_shows_each_segment_and_the_threshold(qtbot):
    from desktop.context_bar import ContextBar

    bar = ContextBar()
    qtbot.addWidget(bar)
    bar.update_from(ContextEvent((("system", 499), ("core", 80), ("summary", 120), ("recalled", 60),
                                  ("message", 200)), 959, 2048, 1209))
    legend = bar.legend.text()
    for text in ("system 499", "core 80", "summary 120", "recalled 60", "messages 200", "pressure at 1,209"):
        assert text in legend
    assert "959 / 2,048" in bar.title.text()
