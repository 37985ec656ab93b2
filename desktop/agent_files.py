"""File → Import agent… / Export agent…: Letta agent files through the engine, off the UI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from engine.api import Changes

FILTER = "Letta agent files (*.af);;JSON (*.json);;All files (*)"


class AgentFiles:
    """The two actions; ``last_message`` keeps what the user was last told (for the status bar)."""

    def __init__(self, window: QWidget, client, agents, status) -> None:
        self.window, self.client, self.agents, self.status = window, client, agents, status
        self.last_message = ""

    def export_current(self) -> None:
        name = self.agents.current()
        if name is None:
            return
        path, _ = QFileDialog.getSaveFileName(self.window, "Export agent", f"{name}.af", FILTER)
        if path:
            self.export_to(name, Path(path))

    def export_to(self, name: str, path: Path) -> None:
        self._tell(f"Exporting “{name}”…")
        self.client.query(lambda engine: (engine.export_agent(path, agent=name), engine.stats(name)),
                          lambda done: self._tell(f"Exported “{name}” to {done[0]}: {done[1].messages:,} messages, "
                                                  f"{done[1].passages:,} passages"),
                          lambda message: self._fail("Export failed", message))

    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Import agent", "", FILTER)
        if path:
            self.import_from(Path(path))

    def import_from(self, path: Path, name: str | None = None) -> None:
        self._tell(f"Importing {path.name}…")

        def imported(report) -> None:
            self.agents.refresh(select=report.agent)
            lines = [f"Imported “{report.agent}”: {report.blocks} core blocks, {report.messages:,} messages "
                     f"({report.in_context} in the window), {report.passages:,} passages."]
            lines += [f"Left out: {line}" for line in report.skipped]
            self._tell(lines[0])
            self._show(QMessageBox.Icon.Information, "Agent imported", "\n".join(lines))

        self.client.op(lambda engine: engine.import_agent(path, name=name), imported,
                       lambda message: self._fail("Import failed", message), changes=Changes(agents=True, timeline=True))

    def _fail(self, title: str, message: str) -> None:
        self._tell(f"{title}: {message}")
        self._show(QMessageBox.Icon.Warning, title, message)

    def _tell(self, text: str) -> None:
        self.last_message = text
        self.status.showMessage(text, 15_000)

    def _show(self, icon, title: str, text: str) -> None:
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self.window)
        box.setModal(False)
        box.open()  # not exec(): the window stays live behind it
