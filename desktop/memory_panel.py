"""The memory dock: the context-window bar above tabs for core memory, timeline, search and archival."""

from __future__ import annotations

from PySide6.QtWidgets import QDockWidget, QTabWidget, QVBoxLayout, QWidget

from desktop.archival_view import ArchivalView
from desktop.context_bar import ContextBar
from desktop.core_editor import CoreEditor
from desktop.search_view import SearchView
from desktop.timeline_view import TimelineView

TABS = ("core", "timeline", "search", "archival")


class MemoryPanel(QDockWidget):
    """Each tab redraws itself when a change it shows is announced."""

    def __init__(self, client, agent_name, parent: QWidget | None = None) -> None:
        super().__init__("Memory", parent)
        self.setObjectName("memoryDock")
        self.client = client
        self.context_bar = ContextBar(self)
        self.core = CoreEditor(client, agent_name, self)
        self.timeline = TimelineView(client, agent_name, self)
        self.search = SearchView(client, agent_name, self)
        self.archival = ArchivalView(client, agent_name, self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.core, "Core")
        self.tabs.addTab(self.timeline, "Timeline")
        self.tabs.addTab(self.search, "Search")
        self.tabs.addTab(self.archival, "Archival")
        inner = QWidget(self)
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.context_bar)
        layout.addWidget(self.tabs, 1)
        self.setWidget(inner)
        client.changed.connect(self.on_changed)

    def show_tab(self, name: str) -> None:
        self.tabs.setCurrentIndex(TABS.index(name))
        self.show()
        self.raise_()

    def refresh_all(self) -> None:
        self.core.refresh()
        self.timeline.refresh()
        self.archival.refresh()

    def on_changed(self, changes) -> None:
        if changes.core or changes.agents:
            self.core.refresh()
        if changes.timeline or changes.messages or changes.agents:
            self.timeline.refresh()
        if changes.archival or changes.agents:
            self.archival.refresh()
