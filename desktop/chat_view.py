"""The conversation: bubbles from recall storage, the reply streaming in, older messages on scroll-up.

Stored messages are grouped for display: a user message is one bubble; the model's steps after
it (function calls, their results, and the final ``send_message``) form one assistant bubble
whose body is the reply and whose folded steps panel holds the rest.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from desktop.message_widgets import BubbleRow, MessageBubble
from engine.api import read_call, reply_in

LOAD_MORE_AT_PX = 60
SETTLE_MS = 1500
"""How long a message opened from search is kept in view while the rows around it are laid out."""


def group_messages(messages, agent_name: str) -> list[MessageBubble]:
    """Bubbles for stored messages (oldest first), each knowing which message ids it shows."""

    bubbles: list[MessageBubble] = []
    current: MessageBubble | None = None
    for message in messages:
        if message.role == "user":
            current = None
            bubble = MessageBubble("user", message.name or "You", message.created_at, message.content)
            bubble.message_ids.add(message.id)
            bubbles.append(bubble)
            continue
        if message.role not in ("assistant", "function"):
            continue
        if current is None:
            current = MessageBubble("assistant", agent_name, message.created_at)
            bubbles.append(current)
        current.message_ids.add(message.id)
        if message.role == "function":
            current.steps.add_result(not message.content.startswith('{"error"'), message.content)
            continue
        call = read_call(message)
        if call and call[0] != "send_message":
            current.steps.add_call(*call)
        reply = reply_in(message)
        if reply is not None:
            current.set_text(reply)
    for bubble in bubbles:
        bubble.steps.finish()
        if bubble.role == "assistant" and not bubble.text:
            bubble.set_placeholder("(no reply)")
    return bubbles


class ChatView(QScrollArea):
    """Scrollable conversation; asks for older messages when scrolled to the top."""

    wants_older = Signal(int)  # the oldest message id shown: load the ones before it
    wants_newer = Signal(int)  # the newest id shown, when showing a window away from the end

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatView")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.container = QWidget()
        self.container.setObjectName("chatContainer")
        self.rows = QVBoxLayout(self.container)
        self.rows.setContentsMargins(4, 8, 4, 8)
        self.rows.setSpacing(2)
        self.top_note = QLabel("", self.container)
        self.top_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.top_note.setObjectName("topNote")
        self.rows.addStretch(1)  # a short conversation sits at the bottom, next to the message box
        self.rows.addWidget(self.top_note)
        self.setWidget(self.container)
        self.agent_name = "assistant"
        self.has_older = False
        self.has_newer = False
        self.loading = False
        self._keep_from_bottom: int | None = None
        self._scroll_target: int | None = None  # a message to keep in view while the layout settles
        self._live: MessageBubble | None = None
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        self.verticalScrollBar().rangeChanged.connect(self._on_range_changed)
        self._stick_to_bottom = True

    # -- content ----------------------------------------------------------------------------------

    @property
    def bubbles(self) -> list[MessageBubble]:
        out = []
        for i in range(self.rows.count()):
            widget = self.rows.itemAt(i).widget()
            if isinstance(widget, BubbleRow):
                out.append(widget.bubble)
        return out

    def oldest_id(self) -> int | None:
        ids = [i for b in self.bubbles for i in b.message_ids]
        return min(ids) if ids else None

    def newest_id(self) -> int | None:
        ids = [i for b in self.bubbles for i in b.message_ids]
        return max(ids) if ids else None

    def clear(self) -> None:
        for bubble in self.bubbles:
            row = bubble.parentWidget()
            self.rows.removeWidget(row)
            row.deleteLater()
        self._live = None

    def set_messages(self, messages, has_older: bool, has_newer: bool = False, scroll_to: int | None = None) -> None:
        """Show these messages in place of what is shown; scroll to the end or to one message."""
        self.clear()
        for bubble in group_messages(messages, self.agent_name):
            self._insert(bubble, self.rows.count())
        self.has_older, self.has_newer, self.loading = has_older, has_newer, False
        self._update_top_note()
        if scroll_to is None:
            self._stick_to_bottom = True
            self._scroll_target = None
            QTimer.singleShot(0, self, self.scroll_to_end)
        else:
            self._stick_to_bottom = False
            self._scroll_target = scroll_to
            QTimer.singleShot(0, self, lambda: self.scroll_to_message(scroll_to))
            QTimer.singleShot(SETTLE_MS, self, lambda: self._settled(scroll_to))

    def prepend_messages(self, messages, has_older: bool) -> None:
        """Older messages above the shown ones, keeping what the user looks at in place."""
        bar = self.verticalScrollBar()
        self._keep_from_bottom = bar.maximum() - bar.value()
        self._scroll_target = None  # the user scrolled up to the top: what they read now stays put
        first = self._first_row_index()
        for offset, bubble in enumerate(group_messages(messages, self.agent_name)):
            self._insert(bubble, first + offset)
        self.has_older, self.loading = has_older, False
        self._update_top_note()

    def append_messages(self, messages, has_newer: bool) -> None:
        for bubble in group_messages(messages, self.agent_name):
            self._insert(bubble, self.rows.count())
        self.has_newer, self.loading = has_newer, False

    def _first_row_index(self) -> int:
        return 2  # after the stretch and the note at the top

    def _insert(self, bubble: MessageBubble, index: int) -> None:
        self.rows.insertWidget(index, BubbleRow(bubble, self.container))

    def _update_top_note(self) -> None:
        if not self.bubbles:
            self.top_note.setText("<span style='color:gray'>No messages yet. Say hello below.</span>")
        elif self.has_older:
            self.top_note.setText("<span style='color:gray'>Scroll up for older messages</span>")
        else:
            self.top_note.setText("<span style='color:gray'>The beginning of the conversation</span>")

    # -- the live turn ----------------------------------------------------------------------------

    def begin_turn(self, text: str) -> MessageBubble:
        """The user's message and an empty reply bubble that shows "Thinking…" until text comes."""
        self._stick_to_bottom = True
        self._insert(MessageBubble("user", "You", datetime.now(), text), self.rows.count())
        return self.begin_reply()

    def begin_reply(self) -> MessageBubble:
        """An empty reply bubble alone (a retry answers a message already shown)."""
        self._stick_to_bottom = True
        self._live = MessageBubble("assistant", self.agent_name, datetime.now())
        self._live.set_placeholder("Thinking…")
        self._insert(self._live, self.rows.count())
        self._update_top_note()
        QTimer.singleShot(0, self, self.scroll_to_end)
        return self._live

    @property
    def live(self) -> MessageBubble | None:
        return self._live

    def end_turn(self) -> None:
        self._live = None

    # -- scrolling --------------------------------------------------------------------------------

    def scroll_to_end(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def scroll_to_message(self, message_id: int, highlight: bool = True) -> bool:
        for bubble in self.bubbles:
            if message_id in bubble.message_ids:
                self.rows.activate()  # lay out the rows just added, so their positions are real
                self.ensureWidgetVisible(bubble.parentWidget(), 0, 40)
                if highlight:
                    bubble.highlight()
                return True
        return False

    def _settled(self, message_id: int) -> None:
        if self._scroll_target == message_id:  # a later jump keeps its own settling time
            self._scroll_target = None

    def bubble_for(self, message_id: int) -> MessageBubble | None:
        return next((b for b in self.bubbles if message_id in b.message_ids), None)

    def _on_range_changed(self, _min: int, maximum: int) -> None:
        """Rows change height as they are laid out and wrapped (and more load around them): the
        message asked for stays in view, the end stays at the end, or what the user reads stays put."""
        bar = self.verticalScrollBar()
        if self._scroll_target is not None and self._keep_from_bottom is None:
            self.scroll_to_message(self._scroll_target, highlight=False)
        elif self._keep_from_bottom is not None:
            bar.setValue(maximum - self._keep_from_bottom)
            self._keep_from_bottom = None
        elif self._stick_to_bottom:
            bar.setValue(maximum)

    def _on_scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._stick_to_bottom = value >= bar.maximum() - 4 and not self.has_newer
        if self.loading or self._keep_from_bottom is not None:
            return
        if value <= LOAD_MORE_AT_PX and self.has_older and self.oldest_id() is not None:
            self.loading = True
            self.top_note.setText("<span style='color:gray'>Loading older messages…</span>")
            self.wants_older.emit(self.oldest_id())
        elif value >= bar.maximum() - LOAD_MORE_AT_PX and self.has_newer and self.newest_id() is not None:
            self.loading = True
            self.wants_newer.emit(self.newest_id())
