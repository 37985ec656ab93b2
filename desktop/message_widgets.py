"""One message on screen: a bubble with its header, its markdown body, and the steps taken on the way.

The steps panel shows what the model did before it answered (searching memory, saving a note);
it is folded by default and can be unfolded to read each call with its result.
"""

from __future__ import annotations

import html
import json
from datetime import datetime

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from engine.events import label

RENDER_INTERVAL_MS = 40


def time_label(at: datetime) -> str:
    """``14:02`` for today, ``3 Mar 14:02`` for earlier days."""
    if at.date() == datetime.now().date():
        return at.strftime("%H:%M")
    return f"{at.day} {at.strftime('%b %H:%M')}" if at.year == datetime.now().year else at.strftime("%d %b %Y %H:%M")


def describe_call(name: str, arguments: dict) -> str:
    shown = {k: v for k, v in arguments.items() if k != "request_heartbeat"}
    detail = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)[:120]}" for k, v in shown.items())
    return label(name, doing=True) + (f" — {detail}" if detail else "")


class StepsPanel(QWidget):
    """A foldable list of what the model did during one reply."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.steps: list[str] = []
        self.toggle = QToolButton(self)
        self.toggle.setObjectName("stepsToggle")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setAutoRaise(True)
        self.toggle.toggled.connect(self._on_toggled)
        self.details = QLabel(self)
        self.details.setObjectName("stepsDetails")
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.details)
        self.setVisible(False)

    def add_call(self, name: str, arguments: dict) -> None:
        self.steps.append(f"<b>{html.escape(describe_call(name, arguments))}</b>")
        self._refresh(live=label(name, doing=True))

    def add_result(self, ok: bool, result: str) -> None:
        text = html.escape(result if len(result) < 600 else result[:600] + " …")
        colour = "" if ok else " style='color:#c0392b'"
        self.steps.append(f"<span{colour}>&rarr; {text}</span>")
        self._refresh()

    def add_note(self, kind: str, detail: str = "") -> None:
        doing = label(kind, doing=True)
        self.steps.append(f"<i>{html.escape(doing)}</i>" + (f": {html.escape(detail)}" if detail else ""))
        self._refresh(live=doing)

    def finish(self) -> None:
        self._refresh()

    def _refresh(self, live: str | None = None) -> None:
        calls = sum(1 for s in self.steps if s.startswith("<b>"))
        if live:
            self.toggle.setText(f"{live}…")
        else:
            self.toggle.setText(f"{calls} memory step{'s' if calls != 1 else ''}" if calls else "Memory activity")
        self.details.setText("<br>".join(self.steps))
        self.setVisible(bool(self.steps))

    def _on_toggled(self, on: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.details.setVisible(on)


class MessageBubble(QFrame):
    """A user message or an assistant reply (with its steps); knows the stored message ids it shows."""

    def __init__(self, role: str, speaker: str, at: datetime, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        self.message_ids: set[int] = set()
        self.text = text
        self.setObjectName("userBubble" if role == "user" else "assistantBubble")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAutoFillBackground(True)
        self._paint(False)
        self.header = QLabel(f"<b>{html.escape(speaker)}</b> · {time_label(at)}", self)
        self.header.setObjectName("bubbleHeader")
        self.header.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.steps = StepsPanel(self)
        self.body = QLabel(self)
        self.body.setObjectName("bubbleBody")
        self.body.setTextFormat(Qt.TextFormat.MarkdownText)
        self.body.setWordWrap(True)
        self.body.setOpenExternalLinks(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.body.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 10)
        layout.setSpacing(4)
        layout.addWidget(self.header)
        layout.addWidget(self.steps)
        layout.addWidget(self.body)
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(RENDER_INTERVAL_MS)
        self._render_timer.timeout.connect(self._render)
        self._placeholder = ""
        self._render()

    def _paint(self, highlighted: bool) -> None:
        palette = self.palette()
        base = palette.color(QPalette.ColorRole.Base)
        if highlighted:
            colour = palette.color(QPalette.ColorRole.Highlight)
            colour.setAlpha(90)
        elif self.role == "user":
            colour = palette.color(QPalette.ColorRole.Highlight)
            colour.setAlpha(40)
        else:
            colour = palette.color(QPalette.ColorRole.AlternateBase)
            if colour == base:
                colour = colour.darker(106)
        self.setStyleSheet(f"QFrame#{self.objectName()} {{ background-color: rgba({colour.red()},{colour.green()},"
                           f"{colour.blue()},{colour.alpha()}); border-radius: 10px; }}")

    def set_placeholder(self, text: str) -> None:
        """Shown in grey while there is no text yet ("Thinking…")."""
        self._placeholder = text
        self._render()

    def append_text(self, piece: str) -> None:
        """Streamed text: rendering is coalesced so a fast model cannot flood the UI thread."""
        self.text += piece
        if not self._render_timer.isActive():
            self._render_timer.start()

    def set_text(self, text: str) -> None:
        self.text = text
        self._render()

    def flush(self) -> None:
        self._render_timer.stop()
        self._render()

    def _render(self) -> None:
        if self.text:
            self.body.setTextFormat(Qt.TextFormat.MarkdownText)
            self.body.setText(self.text)
        else:
            self.body.setTextFormat(Qt.TextFormat.RichText)
            self.body.setText(f"<i style='color:gray'>{html.escape(self._placeholder)}</i>")
        self.body.setVisible(bool(self.text or self._placeholder))

    def highlight(self, ms: int = 2500) -> None:
        """Flash the bubble so the eye finds a message the user jumped to."""
        self._paint(True)
        QTimer.singleShot(ms, self, lambda: self._paint(False))


class BubbleRow(QWidget):
    """Places a bubble on its side: the user's on the right, the assistant's on the left."""

    def __init__(self, bubble: MessageBubble, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bubble = bubble
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 3, 8, 3)
        if bubble.role == "user":
            layout.addStretch(1)
            layout.addWidget(bubble, 4)
        else:
            layout.addWidget(bubble, 4)
            layout.addStretch(1)
