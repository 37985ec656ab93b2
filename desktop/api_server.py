"""The OpenAI API served from inside the app (Settings → Local API server).

The data folder has one owner: while the app holds it, a second ``llmos serve`` would be refused
its lock. So the app serves the API itself, on the engine thread its window already uses: a
server request waits behind a reply the user started, and the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QSettings, Signal

from desktop.worker import EngineClient
from engine.server.listener import BackgroundServer
from engine.server.worker import EngineWorker

DEFAULT_PORT = 8747


@dataclass(frozen=True)
class ServerPrefs:
    enabled: bool = False
    port: int = DEFAULT_PORT


def load_server_prefs(store: QSettings) -> ServerPrefs:
    enabled = str(store.value("server/enabled", "false")).lower() in ("true", "1")
    try:
        port = int(store.value("server/port", DEFAULT_PORT))
    except (TypeError, ValueError):
        port = DEFAULT_PORT
    return ServerPrefs(enabled, port if 0 < port < 65536 else DEFAULT_PORT)


def save_server_prefs(store: QSettings, prefs: ServerPrefs) -> None:
    store.setValue("server/enabled", prefs.enabled)
    store.setValue("server/port", prefs.port)


class AppServerWorker(EngineWorker):
    """The server's jobs go to the window's engine thread; what they change is told to the views."""

    def __init__(self, client: EngineClient, served: Signal) -> None:
        self.client, self.served = client, served

    @property
    def engine(self):
        return self.client.engine

    def submit(self, job) -> None:
        self.client.run_detached(job)

    def announce(self, changes) -> None:
        self.served.emit(changes)

    def close(self) -> None:
        """The window owns the engine and closes it."""


class ApiServer(QObject):
    """Starts and stops the background server; ``served`` comes (on the UI thread) after each request
    that changed memory, ``state`` with a line for the status bar."""

    served = Signal(object)
    state = Signal(str)

    def __init__(self, client: EngineClient, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.running: BackgroundServer | None = None

    @property
    def url(self) -> str | None:
        return self.running.url if self.running else None

    def apply(self, prefs: ServerPrefs) -> None:
        """Serve as the settings say: start, stop, or move to another port."""
        self.stop()
        if not prefs.enabled or self.client.engine is None:
            return
        try:
            self.running = BackgroundServer(AppServerWorker(self.client, self.served), self.client.engine.data_dir,
                                            port=prefs.port)
        except Exception as exc:  # a port in use: said in the status bar, the app goes on
            self.state.emit(f"The API server could not start: {exc}")
            return
        self.state.emit(f"API server at {self.running.url} (key: llmos serve --show-token)")

    def stop(self) -> None:
        if self.running is not None:
            self.running.stop()
            self.running = None
            self.state.emit("API server stopped")
