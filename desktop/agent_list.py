"""The agents: each one a separate conversation with its own memory. Create, rename, delete."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QInputDialog, QListWidget, QListWidgetItem, QMenu, QMessageBox,
                               QToolButton, QVBoxLayout, QWidget)
from engine.events import Changes


class AgentList(QWidget):
    selected = Signal(str)

    def __init__(self, client, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.list = QListWidget(self)
        self.list.setObjectName("agentList")
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.currentItemChanged.connect(self._on_current)
        buttons = QHBoxLayout()
        for text, tip, slot in (("+", "New agent (Ctrl+N)", self.create), ("Rename", "Rename the agent", self.rename),
                                ("Delete", "Delete the agent and all its memory", self.delete)):
            button = QToolButton(self)
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self._wanted: str | None = None

    def current(self) -> str | None:
        item = self.list.currentItem()
        return item.text() if item else None

    def refresh(self, select: str | None = None) -> None:
        self._wanted = select or self._wanted or self.current()
        self.client.query(lambda engine: engine.agents(), self._show)

    def _show(self, agents) -> None:
        names = [a.name for a in agents]
        wanted = self._wanted if self._wanted in names else (names[0] if names else None)
        self.list.blockSignals(True)
        self.list.clear()
        for name in names:
            self.list.addItem(QListWidgetItem(name))
        self.list.blockSignals(False)
        if wanted:
            self.list.setCurrentRow(names.index(wanted))

    def _on_current(self, item, _previous) -> None:
        if item is not None:
            self._wanted = item.text()
            self.selected.emit(item.text())

    def create(self) -> None:
        name, ok = QInputDialog.getText(self, "New agent", "Name of the new agent:")
        if ok and name.strip():
            self.client.op(lambda engine: engine.create_agent(name.strip()),
                           lambda agent: self.refresh(select=agent.name), changes=Changes(agents=True))

    def rename(self) -> None:
        old = self.current()
        if old is None:
            return
        name, ok = QInputDialog.getText(self, "Rename agent", "New name:", text=old)
        if ok and name.strip() and name.strip() != old:
            self.client.op(lambda engine: engine.rename_agent(old, name.strip()),
                           lambda agent: self.refresh(select=agent.name), changes=Changes(agents=True))

    def delete(self) -> None:
        name = self.current()
        if name is None:
            return
        if self.confirm_delete(name):
            self._wanted = None
            self.client.op(lambda engine: engine.delete_agent(name), lambda _: self.refresh(),
                           changes=Changes(agents=True))

    def confirm_delete(self, name: str) -> bool:
        """Ask before deleting: an agent's conversation and memory go with it."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Delete agent",
                          f"Delete “{name}” with its whole conversation and memory? This cannot be undone.",
                          QMessageBox.StandardButton.Cancel, self)
        delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is delete

    def _menu(self, pos) -> None:
        menu = QMenu(self)
        menu.addAction("New agent…", self.create)
        if self.list.itemAt(pos):
            menu.addAction("Rename…", self.rename)
            menu.addAction("Delete…", self.delete)
        menu.exec(self.list.mapToGlobal(pos))
