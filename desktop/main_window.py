"""The main window: agents on the left, the conversation in the middle, memory on the right.

The window shows at once; the memory opens and the model loads on the engine thread while the
status bar shows progress. Every view is redrawn from ``EngineClient.changed``.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (QDockWidget, QLabel, QMainWindow, QMessageBox, QProgressBar, QVBoxLayout, QWidget)

from desktop.agent_files import AgentFiles
from desktop.api_server import ApiServer, ServerPrefs, load_server_prefs, save_server_prefs
from desktop.agent_list import AgentList
from desktop.chat_view import ChatView
from desktop.composer import Composer
from desktop.memory_panel import MemoryPanel
from desktop.prefs import ModelPrefs, load_model_prefs, save_model_prefs, settings_store
from desktop.turn import TurnController
from desktop.worker import EngineClient, EngineConfig
from engine.api import default_models_dir

HISTORY_PAGE = 40
AROUND = 15


class MainWindow(QMainWindow):
    def __init__(self, config: EngineConfig, prefs: ModelPrefs | None = None, remember: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("llmos")
        self.setObjectName("mainWindow")
        self.store = settings_store()
        self.remember = remember
        self.prefs = prefs or load_model_prefs(self.store)
        self.agent = str(self.store.value("last_agent", "default")) if remember else "default"
        self.history_loaded = False
        self.context_shown = False
        self.model_error = ""
        self.client = EngineClient(self)
        self.chat = ChatView(self)
        self.composer = Composer(self)
        self.turns = TurnController(self.client, self.chat, self)
        self.memory = MemoryPanel(self.client, lambda: self.agent, self)
        self.agents = AgentList(self.client, self)
        self.server_prefs = load_server_prefs(self.store) if remember else ServerPrefs()
        self.api = ApiServer(self.client, self)
        self._build_layout()
        self._build_status_bar()
        self._build_actions()
        self._connect()
        self._restore_geometry()
        self.config = EngineConfig(config.data_dir, config.cache_dir, config.settings or self.prefs.runtime_settings(),
                                   config.agent_settings, config.extra)

    def start(self) -> None:
        """Open the engine after the window is on screen, so the window never waits for it."""
        if not (self.remember and self.store.value("window/state")):
            width = self.width()
            self.resizeDocks([self.agent_dock, self.memory], [max(150, width // 8), max(360, width * 3 // 10)],
                             Qt.Orientation.Horizontal)
        self.client.open(self.config)

    # -- building -------------------------------------------------------------------------------

    def _build_layout(self) -> None:
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.chat, 1)
        layout.addWidget(self.composer)
        self.setCentralWidget(central)
        self.agent_dock = QDockWidget("Agents", self)
        self.agent_dock.setObjectName("agentDock")
        self.agent_dock.setWidget(self.agents)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.agent_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.memory)
        self.resize(1280, 800)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.model_label = QLabel("Opening memory…", self)
        self.load_bar = QProgressBar(self)
        self.load_bar.setMaximumWidth(160)
        self.load_bar.setRange(0, 0)
        self.warm_label = QLabel("", self)
        self.warm_label.hide()
        self.speed_label = QLabel("", self)
        self.stats_label = QLabel("", self)
        bar.addWidget(self.model_label)
        bar.addWidget(self.load_bar)
        bar.addPermanentWidget(self.warm_label)
        bar.addPermanentWidget(self.speed_label)
        bar.addPermanentWidget(self.stats_label)

    def _build_actions(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "Import files into archival memory…", None,
                     lambda: (self.memory.show_tab("archival"), self.memory.archival._choose()))
        self.agent_files = AgentFiles(self, self.client, self.agents, self.statusBar())
        self._action(file_menu, "Import agent…", None, self.agent_files.choose_import)
        self._action(file_menu, "Export agent…", None, self.agent_files.export_current)
        file_menu.addSeparator()
        self._action(file_menu, "Settings…", QKeySequence.StandardKey.Preferences, self.open_settings)
        file_menu.addSeparator()
        self._action(file_menu, "Quit", QKeySequence.StandardKey.Quit, self.close)
        agent_menu = self.menuBar().addMenu("&Agent")
        self._action(agent_menu, "Answer the last message again", QKeySequence("Ctrl+R"), self.retry)
        agent_menu.addSeparator()
        self._action(agent_menu, "New agent…", QKeySequence("Ctrl+N"), self.agents.create)
        self._action(agent_menu, "Rename…", None, self.agents.rename)
        self._action(agent_menu, "Delete…", None, self.agents.delete)
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self.agent_dock.toggleViewAction())
        view_menu.addAction(self.memory.toggleViewAction())
        self._action(view_menu, "Search memory", QKeySequence.StandardKey.Find, self.focus_search)
        self._action(view_menu, "Timeline", None, lambda: self.memory.show_tab("timeline"))
        self._action(view_menu, "Core memory", None, lambda: self.memory.show_tab("core"))
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.turns.stop)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.composer._on_submit)

    def _action(self, menu, text: str, shortcut, slot) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)
        return action

    def _connect(self) -> None:
        c = self.client
        c.opened.connect(self._on_opened)
        c.open_failed.connect(self._on_open_failed)
        c.model_progress.connect(self._on_model_progress)
        c.model_ready.connect(self._on_model_ready)
        c.warm_progress.connect(self._on_warm_progress)
        c.model_failed.connect(self._on_model_failed)
        c.changed.connect(self._on_changed)
        c.error.connect(lambda message: self.statusBar().showMessage(message, 8000))
        self.agents.selected.connect(self.select_agent)
        self.composer.send_requested.connect(self.send)
        self.composer.stop_requested.connect(self.turns.stop)
        self.turns.context.connect(self._show_context)
        self.turns.finished.connect(self._on_turn_finished)
        self.turns.failed.connect(lambda message: self.statusBar().showMessage(message, 8000))
        self.chat.wants_older.connect(self._load_older)
        self.chat.wants_newer.connect(self._load_newer)
        self.memory.search.open_message.connect(self.show_message)
        self.memory.timeline.open_message.connect(self.show_message)
        self.api.served.connect(self._on_served)
        self.api.state.connect(lambda text: self.statusBar().showMessage(text, 15_000))

    # -- engine lifecycle -----------------------------------------------------------------------

    def _on_opened(self) -> None:
        self.model_label.setText("Loading the model…")
        self.agents.refresh(select=self.agent)
        if self.server_prefs.enabled:
            self.api.apply(self.server_prefs)

    def _on_open_failed(self, message: str) -> None:
        self.model_label.setText("Memory could not be opened")
        self.load_bar.hide()
        self.composer.setEnabled(False)
        self.model_error = message
        QMessageBox.critical(self, "llmos", message)

    def _on_model_progress(self, stage: str, done: int, total: int) -> None:
        self.model_label.setText(f"{stage}…")
        self.load_bar.setRange(0, max(1, total))
        self.load_bar.setValue(done)

    def _on_warm_progress(self, stage: str, done: int, total: int) -> None:
        """The embedding models load beside the chat (a few seconds, longer the first time): a
        permanent label says so until they are ready, without hiding the status bar's messages."""
        self.warm_label.setText(f"{stage}… ({done}/{total})")
        self.warm_label.setVisible(done < total)

    def _on_model_ready(self, name: str) -> None:
        self.load_bar.hide()
        self.model_error = ""
        settings = self.config.settings
        where = f" on {html.escape(settings.server_url)}" if settings.remote else f" · n_ctx {settings.n_ctx:,}"
        self.model_label.setText(f"Model: <b>{html.escape(name)}</b>{where}")
        self.resume_context()

    def resume_context(self) -> None:
        """Put the conversation back into the model's cache now (from the saved state when there is
        one), so the first reply reads only the new message."""
        agent = self.agent
        self.statusBar().showMessage("Reading the conversation into the model…")

        def shown(event) -> None:
            self.statusBar().clearMessage()
            self._show_context(event)

        self.client.op(lambda engine: engine.resume(agent), shown,
                       lambda message: self.statusBar().showMessage(message, 15000))

    def _on_model_failed(self, message: str) -> None:
        self.load_bar.hide()
        self.model_error = message
        self.model_label.setText("<span style='color:#c0392b'>The model could not be loaded</span> "
                                 "(File → Settings to pick another)")
        self.statusBar().showMessage(message, 15000)

    # -- agents and history ---------------------------------------------------------------------

    def select_agent(self, name: str) -> None:
        if self.turns.running and name != self.agent:
            self.turns.stop()
        changed = name != self.agent
        self.agent = name
        self.chat.agent_name = name
        if self.remember:
            self.store.setValue("last_agent", name)
        if changed:
            self.memory.core.reset()
        self.reload_history()
        self.memory.refresh_all()
        self.refresh_stats()
        self.refresh_context()

    def reload_history(self) -> None:
        agent = self.agent
        self.history_loaded = False

        def shown(messages) -> None:
            if agent == self.agent:
                self.chat.set_messages(messages, has_older=len(messages) == HISTORY_PAGE)
                self.history_loaded = True

        self.client.query(lambda engine: engine.history(agent, limit=HISTORY_PAGE), shown)

    def _load_older(self, before_id: int) -> None:
        agent = self.agent
        self.client.query(lambda engine: engine.history(agent, before_id=before_id, limit=HISTORY_PAGE),
                          lambda messages: self.chat.prepend_messages(messages, len(messages) == HISTORY_PAGE))

    def _load_newer(self, after_id: int) -> None:
        agent = self.agent
        self.client.query(lambda engine: engine.history(agent, after_id=after_id, limit=HISTORY_PAGE),
                          lambda messages: self.chat.append_messages(messages, len(messages) == HISTORY_PAGE))

    def show_message(self, message_id: int) -> None:
        """Show a stored message in the conversation, with some before and after it, and flash it."""
        if self.chat.bubble_for(message_id) is not None and self.chat.scroll_to_message(message_id):
            return
        agent = self.agent

        def around(engine):
            before = engine.history(agent, before_id=message_id, limit=AROUND)
            after = engine.history(agent, after_id=message_id - 1, limit=AROUND + 1)
            return before, after

        def shown(result) -> None:
            before, after = result
            self.chat.set_messages([*before, *after], has_older=len(before) == AROUND,
                                   has_newer=len(after) == AROUND + 1, scroll_to=message_id)

        self.client.query(around, shown)

    def refresh_stats(self) -> None:
        agent = self.agent
        self.client.query(lambda engine: engine.stats(agent), lambda s: self.stats_label.setText(
            f"{s.messages:,} messages · {s.passages:,} passages"))

    def refresh_context(self) -> None:
        if not self.client.model_name or self.turns.running:
            return
        agent = self.agent
        self.client.op(lambda engine: engine.context_report(agent), self._show_context)

    def _show_context(self, event) -> None:
        self.memory.context_bar.update_from(event)
        self.context_shown = True

    def _on_changed(self, changes) -> None:
        if changes.agents:
            self.agents.refresh()
        if changes.messages or changes.archival:
            self.refresh_stats()
        if changes.core and not self.turns.running:
            self.refresh_context()

    # -- the conversation -----------------------------------------------------------------------

    def send(self, text: str) -> None:
        if self.chat.has_newer:
            self.chat.clear()
            self.chat.has_newer, self.chat.has_older = False, True
        if self.turns.send(text, self.agent):
            self.composer.set_generating(True)

    def retry(self) -> None:
        """After a reply that failed (the inference server was away): answer the stored message."""
        if self.turns.retry(self.agent):
            self.composer.set_generating(True)

    def _on_turn_finished(self, done) -> None:
        self.composer.set_generating(False)
        if done is not None:
            self.speed_label.setText(f"{done.tokens_per_second:.1f} tokens/s · {done.generated_tokens} tokens")

    def focus_search(self) -> None:
        self.memory.show_tab("search")
        self.memory.search.focus_query()

    def open_settings(self) -> None:
        from desktop.settings_dialog import SettingsDialog

        folder = Path(str(self.store.value("model/folder", "") or default_models_dir()))
        dialog = SettingsDialog(self.client, self.prefs, folder, self, server=self.server_prefs)
        accepted = dialog.exec()
        if accepted and dialog.prefs != self.prefs:
            self.apply_prefs(dialog.prefs)
        if accepted and dialog.server != self.server_prefs:
            self.apply_server_prefs(dialog.server)
        self.store.setValue("model/folder", str(dialog.models_dir))

    def apply_prefs(self, prefs: ModelPrefs) -> None:
        """Reload the model with new settings in the background; memory and the conversation stay."""
        self.prefs = prefs
        save_model_prefs(self.store, prefs)
        self.turns.stop()
        self.config = EngineConfig(self.config.data_dir, self.config.cache_dir, prefs.runtime_settings(),
                                   self.config.agent_settings, self.config.extra)
        self.load_bar.show()
        self.load_bar.setRange(0, 0)
        self.model_label.setText("Reloading the model…")
        self.client.reconfigure(self.config.settings)

    def apply_server_prefs(self, prefs: ServerPrefs) -> None:
        """Start or stop the API server inside the app (the data folder allows one owner)."""
        self.server_prefs = prefs
        if self.remember:
            save_server_prefs(self.store, prefs)
        self.api.apply(prefs)

    def _on_served(self, changes) -> None:
        """A request through the API server changed memory: redraw as after a turn of the user's."""
        self.client.changed.emit(changes)
        if changes.messages and not self.turns.running:
            self.reload_history()

    # -- window state ---------------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        if not self.remember:
            return
        geometry, state = self.store.value("window/geometry"), self.store.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def closeEvent(self, event) -> None:
        if self.remember:
            self.store.setValue("window/geometry", self.saveGeometry())
            self.store.setValue("window/state", self.saveState())
        self.turns.stop()
        self.api.stop()
        self.client.close()
        super().closeEvent(event)


def run_window(argv: list[str]) -> int:
    from desktop.app import run_app

    return run_app(argv)
