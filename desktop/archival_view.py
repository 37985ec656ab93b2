"""Archival memory: add a note, import text and markdown files (dialog or drag-and-drop) with progress."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar,
                               QPushButton, QVBoxLayout, QWidget)
from engine.events import Changes

IMPORTABLE = (".txt", ".md", ".markdown", ".text", ".rst")


class ArchivalView(QWidget):
    progress = Signal(int, int)  # emitted from the engine thread, shown on the UI thread

    def __init__(self, client, agent_name, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client, self.agent_name = client, agent_name
        self.passages: int | None = None
        self.setAcceptDrops(True)
        self.count = QLabel("", self)
        note_box = QGroupBox("Add a note", self)
        self.note = QPlainTextEdit(note_box)
        self.note.setObjectName("archivalNote")
        self.note.setPlaceholderText("Something the model should be able to look up later…")
        self.add = QPushButton("Add to archival memory", note_box)
        self.add.setObjectName("addNote")
        self.add.clicked.connect(self.add_note)
        note_layout = QVBoxLayout(note_box)
        note_layout.addWidget(self.note)
        note_layout.addWidget(self.add)
        import_box = QGroupBox("Import files", self)
        self.import_button = QPushButton("Choose text or markdown files…", import_box)
        self.import_button.clicked.connect(self._choose)
        drop = QLabel("<span style='color:gray'>or drop .txt / .md files here</span>", import_box)
        self.bar = QProgressBar(import_box)
        self.bar.setVisible(False)
        self.result = QLabel("", import_box)
        self.result.setWordWrap(True)
        import_layout = QVBoxLayout(import_box)
        row = QHBoxLayout()
        row.addWidget(self.import_button)
        row.addWidget(drop, 1)
        import_layout.addLayout(row)
        import_layout.addWidget(self.bar)
        import_layout.addWidget(self.result)
        layout = QVBoxLayout(self)
        layout.addWidget(self.count)
        layout.addWidget(note_box, 1)
        layout.addWidget(import_box)
        self.progress.connect(self._on_progress)

    def refresh(self) -> None:
        agent = self.agent_name()
        self.client.query(lambda engine: engine.stats(agent), self._show_count)

    def _show_count(self, stats) -> None:
        self.passages = stats.passages
        self.count.setText(f"<b>{stats.passages:,}</b> passages in archival memory")

    def add_note(self) -> None:
        text, agent = self.note.toPlainText(), self.agent_name()
        if not text.strip():
            return
        self.add.setEnabled(False)

        def done(_):
            self.note.clear()
            self.add.setEnabled(True)
            self.result.setText("Note added.")

        def failed(message: str):
            self.add.setEnabled(True)
            self.result.setText(f"<span style='color:#c0392b'>{html.escape(message)}</span>")

        self.client.op(lambda engine: engine.insert_passage(text, agent), done, failed,
                       changes=Changes(archival=True, timeline=True))

    def _choose(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Import into archival memory", str(Path.home()),
                                                "Text and markdown (*.txt *.md *.markdown *.text *.rst);;All files (*)")
        if paths:
            self.import_paths([Path(p) for p in paths])

    def import_paths(self, paths: list[Path]) -> None:
        agent = self.agent_name()
        self.bar.setVisible(True)
        self.bar.setRange(0, 0)
        self.import_button.setEnabled(False)
        self.result.setText(f"Importing {len(paths)} file{'s' if len(paths) != 1 else ''}…")
        self.client.op(lambda engine: engine.import_files(paths, agent, lambda d, t: self.progress.emit(d, t)),
                       self._imported, self._import_failed, changes=Changes(archival=True, timeline=True))

    def _on_progress(self, done: int, total: int) -> None:
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(done)

    def _imported(self, report) -> None:
        self.bar.setVisible(False)
        self.import_button.setEnabled(True)
        self.result.setText(html.escape(_describe(report)).replace("\n", "<br>"))

    def _import_failed(self, message: str) -> None:
        self.bar.setVisible(False)
        self.import_button.setEnabled(True)
        self.result.setText(f"<span style='color:#c0392b'>{html.escape(message)}</span>")

    def dragEnterEvent(self, event) -> None:
        if any(u.toLocalFile().lower().endswith(IMPORTABLE) for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.toLocalFile()]
        if paths:
            self.import_paths(paths)
            event.acceptProposedAction()


def _describe(report) -> str:
    """An ``ImportReport`` in a sentence, with each skipped file and why."""
    text = f"Imported {report.passages:,} passages from {report.files} file{'s' if report.files != 1 else ''}."
    for path, reason in report.skipped:
        text += f"\nSkipped {Path(path).name}: {reason}"
    return text
