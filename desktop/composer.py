"""Where the user writes: Enter or Ctrl+Enter sends, Shift+Enter breaks the line; Send turns into Stop."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QPlainTextEdit, QPushButton, QWidget

MAX_LINES = 8


class MessageEdit(QPlainTextEdit):
    """A text box that grows with its text up to a few lines."""

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageEdit")
        self.setPlaceholderText("Write a message…  (Enter sends, Shift+Enter for a new line)")
        self.setTabChangesFocus(True)
        self.textChanged.connect(self._fit_height)
        self._fit_height()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(event)

    def _fit_height(self) -> None:
        lines = max(1, min(MAX_LINES, self.document().lineCount() if self.toPlainText() else 1))
        line_height = self.fontMetrics().lineSpacing()
        self.setFixedHeight(int(lines * line_height + 2 * self.document().documentMargin() + 10))


class Composer(QWidget):
    """The message box with its Send / Stop button."""

    send_requested = Signal(str)
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = MessageEdit(self)
        self.button = QPushButton("Send", self)
        self.button.setObjectName("sendButton")
        self.button.setMinimumWidth(80)
        self.button.clicked.connect(self._on_button)
        self.edit.submitted.connect(self._on_submit)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignBottom)
        self.generating = False

    def set_generating(self, generating: bool) -> None:
        self.generating = generating
        self.button.setText("Stop" if generating else "Send")
        self.button.setToolTip("Stop the reply (Esc)" if generating else "Send (Enter)")

    def _on_button(self) -> None:
        if self.generating:
            self.stop_requested.emit()
        else:
            self._on_submit()

    def _on_submit(self) -> None:
        text = self.edit.toPlainText()
        if self.generating or not text.strip():
            return
        self.edit.clear()
        self.send_requested.emit(text)
