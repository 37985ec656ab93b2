"""The timeline of memory events, filterable by kind, with the selected event's details."""

from __future__ import annotations

import html
import json

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QGridLayout, QPushButton, QSplitter, QTextBrowser, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from desktop.message_widgets import time_label
from engine.events import MemoryKind, label

KIND_LABELS = {kind: label(kind) for kind in MemoryKind}
PAGE = 200


def summary_of(event) -> str:
    """One line that says what happened."""
    p = event.payload
    if event.kind == "message_stored":
        return f"{p.get('role', '?')} message #{p.get('message_id')}"
    if event.kind == "evicted":
        return f"{len(p.get('message_ids', []))} messages out of the window ({p.get('tokens', 0):,} tokens)"
    if event.kind == "summarised":
        return f"summary ({p.get('method', '?')}): {str(p.get('summary', ''))[:80]}"
    if event.kind == "core_edit":
        return f"{p.get('label', '')} by {p.get('author', '?')}: {str(p.get('reason') or '')[:60]}"
    if event.kind == "archival_insert":
        return f"passage #{p.get('passage_id')} from {p.get('source') or '?'} ({p.get('chars', 0):,} chars)"
    if event.kind == "search":
        return f"{p.get('tier', '?')}: “{str(p.get('query', ''))[:60]}” → {p.get('total', p.get('hits', '?'))}"
    if event.kind == "page_in":
        return f"{len(p.get('hits', []))} memories for “{str(p.get('query', ''))[:50]}”"
    return json.dumps(p)[:100]


class TimelineView(QWidget):
    """Kind filters on top, events in a list, the selected one's details below."""

    open_message = Signal(int)

    def __init__(self, client, agent_name, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client, self.agent_name = client, agent_name
        self.events: list = []
        filters = QGridLayout()
        filters.setHorizontalSpacing(12)
        filters.setVerticalSpacing(2)
        self.filters: dict[str, QCheckBox] = {}
        for n, (kind, text) in enumerate(KIND_LABELS.items()):
            box = QCheckBox(text, self)
            box.setChecked(kind != "message_stored")
            box.setObjectName(f"filter_{kind}")
            box.toggled.connect(self.refresh)
            filters.addWidget(box, n // 4, n % 4)
            self.filters[kind] = box
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("timelineList")
        self.tree.setHeaderLabels(["When", "Kind", "What"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setColumnWidth(0, 90)
        self.tree.setColumnWidth(1, 100)
        self.tree.currentItemChanged.connect(self._on_selected)
        self.more = QPushButton("Load older events", self)
        self.more.clicked.connect(self._load_more)
        self.more.setVisible(False)
        self.detail = QTextBrowser(self)
        self.detail.setObjectName("timelineDetail")
        self.detail.setOpenLinks(False)
        self.detail.anchorClicked.connect(lambda url: self.open_message.emit(int(url.toString().split(":")[1])))
        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(filters)
        top_layout.addWidget(self.tree, 1)
        top_layout.addWidget(self.more)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(top)
        splitter.addWidget(self.detail)
        splitter.setSizes([300, 200])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def kinds(self) -> tuple[str, ...]:
        return tuple(k for k, b in self.filters.items() if b.isChecked())

    def refresh(self) -> None:
        agent, kinds = self.agent_name(), self.kinds()
        if not kinds:
            self._show([], replace=True)
            return
        self.client.query(lambda engine: engine.timeline(agent, kinds=kinds, limit=PAGE),
                          lambda events: self._show(events, replace=True))

    def _load_more(self) -> None:
        agent, kinds, offset = self.agent_name(), self.kinds(), len(self.events)
        self.client.query(lambda engine: engine.timeline(agent, kinds=kinds, limit=PAGE, offset=offset),
                          lambda events: self._show(events, replace=False))

    def _show(self, events, replace: bool) -> None:
        selected = self._selected_id()
        if replace:
            self.tree.clear()
            self.events = []
        for event in events:
            item = QTreeWidgetItem([time_label(event.at), KIND_LABELS.get(event.kind, event.kind), summary_of(event)])
            item.setData(0, Qt.ItemDataRole.UserRole, len(self.events))
            item.setToolTip(2, summary_of(event))
            self.events.append(event)
            self.tree.addTopLevelItem(item)
            if event.id == selected:
                self.tree.setCurrentItem(item)
        self.more.setVisible(len(events) == PAGE)

    def _selected_id(self) -> int | None:
        item = self.tree.currentItem()
        return self.events[item.data(0, Qt.ItemDataRole.UserRole)].id if item else None

    def select_first(self, kind: str) -> bool:
        """Select the newest event of a kind (for screenshots and tests)."""
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if self.events[item.data(0, Qt.ItemDataRole.UserRole)].kind == kind:
                self.tree.setCurrentItem(item)
                return True
        return False

    def _on_selected(self, item: QTreeWidgetItem | None, _previous=None) -> None:
        if item is None:
            self.detail.clear()
            return
        event = self.events[item.data(0, Qt.ItemDataRole.UserRole)]
        self.detail.setHtml(self._detail_html(event))
        ids = event.payload.get("message_ids") or ([event.payload["message_id"]] if "message_id" in event.payload else [])
        if ids:
            self.client.query(lambda engine: [engine.message(i) for i in ids[:40]],
                              lambda messages: self._add_messages(event, messages))

    def _detail_html(self, event) -> str:
        rows = "".join(f"<tr><td><b>{html.escape(str(k))}</b></td><td>{html.escape(_value(v))}</td></tr>"
                       for k, v in event.payload.items() if k != "message_ids")
        return (f"<h3>{html.escape(KIND_LABELS.get(event.kind, event.kind))}</h3>"
                f"<p style='color:gray'>{event.at:%Y-%m-%d %H:%M:%S} · event #{event.id}</p>"
                f"<table cellspacing=4>{rows}</table>")

    def _add_messages(self, event, messages) -> None:
        if self._selected_id() != event.id:
            return
        title = "Messages moved out of the window (still in recall storage)" if event.kind == "evicted" else "Message"
        items = "".join(f"<li><a href='message:{m.id}'>#{m.id}</a> <b>{html.escape(m.name or m.role)}</b>: "
                        f"{html.escape(m.content[:300])}</li>" for m in messages)
        self.detail.setHtml(self._detail_html(event) + f"<h4>{title}</h4><ul>{items}</ul>")


def _value(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)[:2000]
