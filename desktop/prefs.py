"""What the app remembers between runs (QSettings): model settings (or the inference server), geometry, the last agent."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings
from engine.api import DEFAULT_PAGING_MODE, PAGING_MODES, RuntimeSettings, embedded_model_ids


ModelChoice = str | Path | None
"""An embedded model's id (a str), a GGUF file (a Path), or None for the model used by default."""


@dataclass(frozen=True)
class ModelPrefs:
    """The user's choice of model and how to run it; ``model_path`` is a :data:`ModelChoice`."""

    model_path: ModelChoice = None
    n_ctx: int = 4096
    n_threads: int = 0  # 0: one per core
    n_gpu_layers: int = 0
    paging_mode: str = DEFAULT_PAGING_MODE
    on_server: bool = False
    """True: generate on the inference server below ("On a server"); False: "On this computer"."""
    server_url: str = ""
    server_model: str = ""
    api_key_env: str = ""
    """The name of the environment variable that holds the server's key, never the key."""

    def runtime_settings(self) -> RuntimeSettings:
        server = {}
        if self.on_server and self.server_url:
            server = dict(server_url=self.server_url, server_model=self.server_model or None,
                          api_key_env=self.api_key_env or None)
        return RuntimeSettings(model_path=self.model_path, n_ctx=self.n_ctx, n_threads=self.n_threads or None,
                               n_gpu_layers=self.n_gpu_layers, paging_mode=self.paging_mode, **server)


def settings_store() -> QSettings:
    return QSettings("llmos", "llmos")


def model_choice(text: str | Path | None) -> ModelChoice:
    """What a user typed or the settings hold, as a choice: an embedded model's id stays a str."""

    if text is None or str(text) == "":
        return None
    return str(text) if str(text) in embedded_model_ids() else Path(text).expanduser()


def load_model_prefs(store: QSettings) -> ModelPrefs:
    """What was saved; a paging mode this version does not know (an older or newer app's) falls back to the default."""
    embedded = str(store.value("model/embedded", "") or "")
    path = str(store.value("model/path", "") or "")
    mode = str(store.value("model/paging_mode", DEFAULT_PAGING_MODE))
    return ModelPrefs(embedded or (Path(path) if path else None), _int(store.value("model/n_ctx"), 4096),
                      _int(store.value("model/threads"), 0), _int(store.value("model/gpu_layers"), 0),
                      mode if mode in PAGING_MODES else DEFAULT_PAGING_MODE,
                      str(store.value("inference/on_server", "false")).lower() == "true",
                      str(store.value("inference/url", "") or ""), str(store.value("inference/model", "") or ""),
                      str(store.value("inference/key_env", "") or ""))


def save_model_prefs(store: QSettings, prefs: ModelPrefs) -> None:
    """Embedded ids and files are kept under their own keys, so a file is never taken for an id."""
    choice = prefs.model_path
    store.setValue("model/embedded", choice if isinstance(choice, str) else "")
    store.setValue("model/path", str(choice) if isinstance(choice, Path) else "")
    store.setValue("model/n_ctx", prefs.n_ctx)
    store.setValue("model/threads", prefs.n_threads)
    store.setValue("model/gpu_layers", prefs.n_gpu_layers)
    store.setValue("model/paging_mode", prefs.paging_mode)
    store.setValue("inference/on_server", "true" if prefs.on_server else "false")
    store.setValue("inference/url", prefs.server_url)
    store.setValue("inference/model", prefs.server_model)
    store.setValue("inference/key_env", prefs.api_key_env)


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
