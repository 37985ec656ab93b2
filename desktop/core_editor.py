"""Core memory blocks, edited by the user: character counts against each block's limit, history, revert."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QGroupBox, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QPlainTextEdit, QPushButton, QScrollArea, QSplitter,
                               QVBoxLayout, QWidget)

from desktop.message_widgets import time_label
from engine.events import Changes


class BlockEditor(QGroupBox):
    """One block: its text, ``used / limit`` characters, Save and History."""

    save_requested = Signal(str, str)
    history_requested = Signal(str)

    def __init__(self, label: str, parent: QWidget | None = None) -> None:
        super().__init__(label.capitalize(), parent)
        self.label, self.limit, self.version, self.saved = label, 0, 0, ""
        self.edit = QPlainTextEdit(self)
        self.edit.setObjectName(f"core_{label}")
        self.edit.textChanged.connect(self._on_changed)
        self.count = QLabel(self)
        self.save = QPushButton("Save", self)
        self.save.setEnabled(False)
        self.save.clicked.connect(lambda: self.save_requested.emit(self.label, self.edit.toPlainText()))
        self.history = QPushButton("History…", self)
        self.history.clicked.connect(lambda: self.history_requested.emit(self.label))
        row = QHBoxLayout()
        row.addWidget(self.count, 1)
        row.addWidget(self.history)
        row.addWidget(self.save)
        layout = QVBoxLayout(self)
        layout.addWidget(self.edit)
        layout.addLayout(row)

    @property
    def dirty(self) -> bool:
        return self.edit.toPlainText() != self.saved

    def show_block(self, block) -> None:
        """Takes an ``engine.memory.types.CoreBlock``; an unsaved edit is never overwritten."""
        self.limit, self.version = block.limit, block.version
        if self.dirty and self.saved:
            self._on_changed()
            return
        self.saved = block.value
        self.edit.setPlainText(block.value)
        self._on_changed()

    def _on_changed(self) -> None:
        used = len(self.edit.toPlainText())
        over = self.limit and used > self.limit
        colour = "#c0392b" if over else "gray"
        self.count.setText(f"<span style='color:{colour}'>{used:,} / {self.limit:,} characters · "
                           f"version {self.version}{' · unsaved' if self.dirty else ''}</span>")
        self.save.setEnabled(self.dirty and not over)


class CoreEditor(QScrollArea):
    """Every core block of the current agent."""

    def __init__(self, client, agent_name, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client, self.agent_name = client, agent_name
        self.setWidgetResizable(True)
        self.inner = QWidget()
        self.layout_ = QVBoxLayout(self.inner)
        self.status = QLabel("", self.inner)
        self.status.setWordWrap(True)
        self.layout_.addWidget(self.status)
        self.setWidget(self.inner)
        self.editors: dict[str, BlockEditor] = {}

    def refresh(self) -> None:
        agent = self.agent_name()
        self.client.query(lambda engine: engine.core_blocks(agent), self._show)

    def _show(self, blocks) -> None:
        for block in blocks:
            editor = self.editors.get(block.label)
            if editor is None:
                editor = BlockEditor(block.label, self.inner)
                editor.save_requested.connect(self._save)
                editor.history_requested.connect(self._history)
                self.layout_.insertWidget(self.layout_.count() - 1, editor)
                self.editors[block.label] = editor
            editor.show_block(block)

    def reset(self) -> None:
        """Another agent: forget unsaved edits of the old one."""
        for editor in self.editors.values():
            editor.saved = ""
            editor.edit.clear()

    def _save(self, label: str, value: str) -> None:
        agent = self.agent_name()
        editor = self.editors[label]
        editor.saved = value

        def failed(message: str) -> None:
            editor.saved = ""
            self.status.setText(f"<span style='color:#c0392b'>{html.escape(message)}</span>")

        self.status.setText("")
        self.client.op(lambda engine: engine.edit_core(label, value, agent), editor.show_block, failed,
                       changes=Changes(core=True, timeline=True))

    def _history(self, label: str) -> None:
        agent = self.agent_name()
        self.client.query(lambda engine: engine.core_history(label, agent),
                          lambda versions: self._open_history(label, versions))

    def _open_history(self, label: str, versions) -> None:
        dialog = HistoryDialog(label, versions, self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.chosen is not None:
            agent, version = self.agent_name(), dialog.chosen
            editor = self.editors[label]
            editor.saved = ""
            self.client.op(lambda engine: engine.revert_core(label, version, agent), editor.show_block,
                           changes=Changes(core=True, timeline=True))


class HistoryDialog(QDialog):
    """Every version of a block, newest first, with who changed it and why; Revert picks one."""

    def __init__(self, label: str, versions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"History of “{label}”")
        self.resize(640, 420)
        self.chosen: int | None = None
        self.versions = sorted(versions, key=lambda v: v.version, reverse=True)
        self.list = QListWidget(self)
        for v in self.versions:
            item = QListWidgetItem(f"v{v.version} · {time_label(v.created_at)} · {v.author}"
                                   + (f" — {v.reason}" if v.reason else ""))
            item.setData(Qt.ItemDataRole.UserRole, v.version)
            self.list.addItem(item)
        self.preview = QPlainTextEdit(self)
        self.preview.setReadOnly(True)
        self.list.currentRowChanged.connect(lambda row: self.preview.setPlainText(self.versions[row].value)
                                            if row >= 0 else None)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.list)
        splitter.addWidget(self.preview)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        revert = buttons.addButton("Revert to this version", QDialogButtonBox.ButtonRole.AcceptRole)
        revert.setObjectName("revertButton")
        buttons.accepted.connect(self._revert)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(buttons)
        if self.versions:
            self.list.setCurrentRow(0)

    def _revert(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.chosen = item.data(Qt.ItemDataRole.UserRole)
            self.accept()
