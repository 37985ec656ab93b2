"""Search over recall (the conversation) and archival memory, a page at a time.

Activating a conversation result asks the main window to show that message in the chat.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QPushButton, QTextBrowser, QVBoxLayout, QWidget)

from desktop.message_widgets import time_label
from engine.api import readable

PAGE_SIZE = 10


class SearchView(QWidget):
    open_message = Signal(int)

    def __init__(self, client, agent_name, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client, self.agent_name = client, agent_name
        self.page = None
        self.query = QLineEdit(self)
        self.query.setObjectName("searchQuery")
        self.query.setPlaceholderText("Search memory…")
        self.query.setClearButtonEnabled(True)
        self.query.returnPressed.connect(lambda: self.search(1))
        self.tier = QComboBox(self)
        self.tier.addItem("Conversation", "recall")
        self.tier.addItem("Archival", "archival")
        self.tier.currentIndexChanged.connect(lambda _: self.search(1) if self.query.text().strip() else None)
        self.results = QListWidget(self)
        self.results.setObjectName("searchResults")
        self.results.setWordWrap(True)
        self.results.setAlternatingRowColors(True)
        self.results.itemActivated.connect(self._activate)
        self.results.currentItemChanged.connect(self._preview)
        self.preview = QTextBrowser(self)
        self.preview.setMaximumHeight(140)
        self.prev = QPushButton("‹ Previous", self)
        self.next = QPushButton("Next ›", self)
        self.prev.clicked.connect(lambda: self.search(self.page.page - 1))
        self.next.clicked.connect(lambda: self.search(self.page.page + 1))
        self.info = QLabel("", self)
        self.open = QPushButton("Show in conversation", self)
        self.open.setObjectName("showInConversation")
        self.open.clicked.connect(lambda: self._activate(self.results.currentItem()))
        top = QHBoxLayout()
        top.addWidget(self.query, 1)
        top.addWidget(self.tier)
        nav = QHBoxLayout()
        nav.addWidget(self.prev)
        nav.addWidget(self.info, 1, Qt.AlignmentFlag.AlignCenter)
        nav.addWidget(self.next)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.results, 1)
        layout.addLayout(nav)
        layout.addWidget(self.preview)
        layout.addWidget(self.open)
        self._update_nav()

    def focus_query(self) -> None:
        self.query.setFocus()
        self.query.selectAll()

    def search(self, page: int = 1) -> None:
        text, tier, agent = self.query.text().strip(), self.tier.currentData(), self.agent_name()
        if not text:
            return
        self.info.setText("Searching…")
        self.client.query(lambda engine: engine.search(text, tier=tier, agent=agent, page=page, page_size=PAGE_SIZE),
                          self._show, lambda message: self.info.setText(message))

    def _show(self, page) -> None:
        self.page = page
        self.results.clear()
        for hit in page.items:
            who = hit.name or hit.role or hit.tier
            text = " ".join(_readable(hit).split())
            item = QListWidgetItem(f"{time_label(hit.created_at)} · {who}\n{text[:220]}")
            item.setData(Qt.ItemDataRole.UserRole, hit)
            item.setToolTip(text[:1000])
            self.results.addItem(item)
        self._update_nav()

    def _update_nav(self) -> None:
        page = self.page
        self.prev.setEnabled(bool(page and page.page > 1))
        self.next.setEnabled(bool(page and page.page < page.pages))
        self.info.setText(f"{page.total:,} results · page {page.page} of {page.pages}" if page else "")
        self.open.setEnabled(bool(page and page.items and page.items[0].tier == "recall"))

    def _preview(self, item: QListWidgetItem | None, _previous=None) -> None:
        if item is None:
            self.preview.clear()
            return
        hit = item.data(Qt.ItemDataRole.UserRole)
        self.preview.setHtml(f"<p style='color:gray'>{hit.tier} #{hit.id} · {hit.created_at:%Y-%m-%d %H:%M} · "
                             f"score {hit.score:.3f}</p><p>{html.escape(_readable(hit))}</p>")

    def _activate(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        hit = item.data(Qt.ItemDataRole.UserRole)
        if hit.tier == "recall":
            self.open_message.emit(hit.id)


def _readable(hit) -> str:
    """A recalled call as its reply or function, not the JSON the model wrote."""

    return readable(hit)
