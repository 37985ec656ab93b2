"""The context-window bar: how the model's window is filled, segment by segment, after every turn."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

SEGMENT_COLOURS = {
    "system": QColor("#7f8c8d"),
    "core": QColor("#8e44ad"),
    "summary": QColor("#d35400"),
    "recalled": QColor("#16a085"),
    "message": QColor("#2980b9"),
    "pressure": QColor("#c0392b"),
}
SEGMENT_NAMES = {"system": "system", "core": "core", "summary": "summary", "recalled": "recalled",
                 "message": "messages", "pressure": "warning"}


class _Bar(QWidget):
    """Paints the stacked segments, the free room and the pressure threshold."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.segments: tuple[tuple[str, int], ...] = ()
        self.n_ctx = 0
        self.threshold = 0
        self.setMinimumHeight(18)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Mid)))
        painter.setBrush(self.palette().color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(rect, 4, 4)
        if not self.n_ctx:
            return
        x = rect.left()
        painter.setPen(Qt.PenStyle.NoPen)
        for kind, tokens in self.segments:
            width = rect.width() * tokens / self.n_ctx
            painter.setBrush(SEGMENT_COLOURS.get(kind, QColor("gray")))
            painter.drawRect(QRectF(x, rect.top() + 1, width, rect.height() - 2))
            x += width
        mark = rect.left() + rect.width() * self.threshold / self.n_ctx
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.WindowText), 2, Qt.PenStyle.DashLine))
        painter.drawLine(int(mark), int(rect.top()), int(mark), int(rect.bottom()))


class ContextBar(QWidget):
    """The bar with a legend of token counts underneath."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("contextBar")
        self.title = QLabel("<b>Context window</b> <span style='color:gray'>(waiting for the model)</span>", self)
        self.bar = _Bar(self)
        self.legend = QLabel(self)
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 2)
        layout.setSpacing(3)
        layout.addWidget(self.title)
        layout.addWidget(self.bar)
        layout.addWidget(self.legend)

    def update_from(self, event) -> None:
        """Takes an ``engine.events.ContextEvent``."""
        self.bar.segments, self.bar.n_ctx, self.bar.threshold = event.segments, event.n_ctx, event.pressure_threshold
        self.bar.update()
        used = event.total_tokens
        self.title.setText(f"<b>Context window</b> {used:,} / {event.n_ctx:,} tokens "
                           f"({100 * used / max(1, event.n_ctx):.0f} %)")
        items = [f"<span style='color:{SEGMENT_COLOURS.get(k, QColor('gray')).name()}'>&#9632;</span> "
                 f"{SEGMENT_NAMES.get(k, k)} {n:,}" for k, n in event.segments]
        items.append(f"&#9474; pressure at {event.pressure_threshold:,}")
        if event.evaluated_tokens or event.reused_tokens:
            items.append(f"<span style='color:gray'>evaluated {event.evaluated_tokens:,}, "
                         f"reused {event.reused_tokens:,}</span>")
        self.legend.setText(" &nbsp; ".join(items))
        self.setToolTip("\n".join(f"{SEGMENT_NAMES.get(k, k)}: {n:,} tokens" for k, n in event.segments))
