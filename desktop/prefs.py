"""What the app remembers between runs (QSettings): model settings, geometry, the last agent."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings

PAGING_MODES = ("fast", "exact")


@dataclass(frozen=True)
class ModelPrefs:
    """The user's choice of model and how to run it; ``model_path`` None is the embedded model."""

    model_path: Path | None = None
    n_ctx: int = 4096
    n_threads: int = 0  # 0: one per core
    n_gpu_layers: int = 0
    paging_mode: str = "fast"

    def runtime_settings(self):
        from engine.api import RuntimeSettings

        return RuntimeSettings(model_path=self.model_path, n_ctx=self.n_ctx, n_threads=self.n_threads or None,
                               n_gpu_layers=self.n_gpu_layers)


def settings_store() -> QSettings:
    return QSettings("llmos", "llmos")


def load_model_prefs(store: QSettings) -> ModelPrefs:
    path = store.value("model/path", "") or ""
    mode = str(store.value("model/paging_mode", "fast"))
    return ModelPrefs(Path(path) if path else None, _int(store.value("model/n_ctx"), 4096),
                      _int(store.value("model/threads"), 0), _int(store.value("model/gpu_layers"), 0),
                      mode if mode in PAGING_MODES else "fast")


def save_model_prefs(store: QSettings, prefs: ModelPrefs) -> None:
    store.setValue("model/path", str(prefs.model_path) if prefs.model_path else "")
    store.setValue("model/n_ctx", prefs.n_ctx)
    store.setValue("model/threads", prefs.n_threads)
    store.setValue("model/gpu_layers", prefs.n_gpu_layers)
    store.setValue("model/paging_mode", prefs.paging_mode)


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
