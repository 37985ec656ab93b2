"""``--screenshot OUT.png``: start, wait until a view has everything it shows, save it, quit.

Waiting is by state, not by time: the memory is open, the model loaded (or failed), the
history and the context bar drawn, and no engine call is still out.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication
from engine.api import default_models_dir

log = logging.getLogger(__name__)

VIEWS = ("chat", "memory", "timeline", "settings")
POLL_MS = 100
SETTLE_POLLS = 4
TIMEOUT_MS = 180_000


class Screenshotter(QObject):
    def __init__(self, window, view: str, out: Path) -> None:
        super().__init__(window)
        self.window, self.view, self.out = window, view, out
        self.stage = "loading"
        self.steps: list = []
        self.quiet = 0
        self.dialog = None
        self.code = 1
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._poll)
        self.timer.start(POLL_MS)
        QTimer.singleShot(TIMEOUT_MS, self._give_up)

    def _loaded(self) -> bool:
        w = self.window
        model_done = bool(w.client.model_name) or bool(w.model_error)
        return w.history_loaded and model_done and (w.context_shown or bool(w.model_error))

    def _poll(self) -> None:
        if self.stage == "loading" and self._loaded():
            self.steps = self._steps()
            self.stage = "settling"
        elif self.stage == "settling":
            self.quiet = self.quiet + 1 if not self.window.client.busy else 0
            if self.quiet < SETTLE_POLLS:
                return
            self.quiet = 0
            if self.steps:
                self.steps.pop(0)()
            else:
                self._save()

    def _steps(self) -> list:
        """What to do, one step per settled moment, to bring the view into shape."""
        w = self.window
        if self.view == "chat":
            return [lambda: w.memory.show_tab("core"), w.chat.scroll_to_end]
        if self.view == "memory":
            search = w.memory.search

            def find() -> None:
                w.memory.show_tab("search")
                search.query.setText("sister birthday")
                search.search(1)

            def open_first() -> None:
                if search.results.count():
                    search.results.setCurrentRow(0)
                    search.open.click()

            return [find, open_first]
        if self.view == "timeline":
            return [lambda: w.memory.show_tab("timeline"),
                    lambda: w.memory.timeline.select_first("evicted") or w.memory.timeline.select_first("core_edit")]
        return [self._open_settings]

    def _open_settings(self) -> None:
        from desktop.settings_dialog import SettingsDialog

        self.dialog = SettingsDialog(self.window.client, self.window.prefs, default_models_dir(), self.window)
        self.dialog.show()

    def _save(self) -> None:
        self.timer.stop()
        target = self.dialog if self.dialog is not None else self.window
        self.out.parent.mkdir(parents=True, exist_ok=True)
        ok = target.grab().save(str(self.out))
        self.code = 0 if ok else 1
        if not ok:
            print(f"could not write {self.out}", file=sys.stderr)
        if self.dialog is not None:
            self.dialog.close()
        self.window.close()
        QApplication.instance().exit(self.code)

    def _give_up(self) -> None:
        if self.timer.isActive():
            print(f"the {self.view} view did not finish loading in time", file=sys.stderr)
            self.timer.stop()
            self.window.close()
            QApplication.instance().exit(1)
