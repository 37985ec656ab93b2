"""Settings: which model (embedded, a GGUF file, or one from the models folder) and how to run it."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QPushButton, QSpinBox, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from desktop.prefs import PAGING_MODES, ModelPrefs


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


class SettingsDialog(QDialog):
    """Edits a ``ModelPrefs``; ``prefs`` holds the result after Accept."""

    def __init__(self, client, prefs: ModelPrefs, models_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setObjectName("settingsDialog")
        self.resize(760, 520)
        self.client, self.prefs, self.models_dir = client, prefs, models_dir
        self.models = QTreeWidget(self)
        self.models.setObjectName("modelList")
        self.models.setHeaderLabels(["Model", "Quantisation", "Size", "Trained context", "File"])
        self.models.setRootIsDecorated(False)
        self.models.setColumnWidth(0, 230)
        self.folder = QLabel(self)
        self.folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        choose_file = QPushButton("Choose a GGUF file…", self)
        choose_file.clicked.connect(self._choose_file)
        choose_folder = QPushButton("Models folder…", self)
        choose_folder.clicked.connect(self._choose_folder)
        rescan = QPushButton("Rescan", self)
        rescan.clicked.connect(self.scan)
        self.n_ctx = QSpinBox(self)
        self.n_ctx.setRange(512, 262_144)
        self.n_ctx.setSingleStep(1024)
        self.n_ctx.setSuffix(" tokens")
        self.n_ctx.setValue(prefs.n_ctx)
        self.threads = QSpinBox(self)
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("automatic (one per core)")
        self.threads.setValue(prefs.n_threads)
        self.gpu_layers = QSpinBox(self)
        self.gpu_layers.setRange(-1, 999)
        self.gpu_layers.setSpecialValueText("all")
        self.gpu_layers.setValue(prefs.n_gpu_layers)
        self.gpu_layers.setToolTip("0: CPU only; needs a llama.cpp build with GPU support")
        self.paging = QComboBox(self)
        for mode, text in (("fast", "fast (shift the KV cache, re-evaluate only what changed)"),
                           ("exact", "exact (re-evaluate everything after the first change)")):
            self.paging.addItem(text, mode)
        self.paging.setCurrentIndex(PAGING_MODES.index(prefs.paging_mode))
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(choose_folder)
        folder_row.addWidget(rescan)
        folder_row.addWidget(choose_file)
        form = QFormLayout()
        form.addRow("Context window", self.n_ctx)
        form.addRow("CPU threads", self.threads)
        form.addRow("GPU layers", self.gpu_layers)
        form.addRow("KV paging", self.paging)
        self.note = QLabel("<span style='color:gray'>Changes are applied at once: the model reloads in the "
                           "background and the conversation goes on.</span>", self)
        self.note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Model</b>", self))
        layout.addWidget(self.models, 1)
        layout.addLayout(folder_row)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        self._extra: list = []
        self.scan()

    def scan(self) -> None:
        self.folder.setText(f"Models folder: {html.escape(str(self.models_dir))}")
        folder = self.models_dir
        self.client.query(lambda engine: engine.available_models(folder), self._show)

    def _show(self, entries) -> None:
        self.models.clear()
        chosen = self.prefs.model_path
        for entry in [*entries, *self._extra]:
            item = QTreeWidgetItem([entry.name, entry.quantisation, _size(entry.size_bytes),
                                    f"{entry.context_length:,}" if entry.context_length else "?",
                                    str(entry.path) if entry.path else "built in"])
            item.setData(0, Qt.ItemDataRole.UserRole, entry)
            if entry.problem:
                item.setDisabled(True)
                item.setToolTip(0, entry.problem)
                item.setText(4, f"unusable: {entry.problem}")
            self.models.addTopLevelItem(item)
            if (entry.path is None and chosen is None) or (entry.path and chosen and Path(entry.path) == Path(chosen)):
                self.models.setCurrentItem(item)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model", str(self.models_dir), "GGUF models (*.gguf)")
        if path:
            self.prefs = ModelPrefs(Path(path), self.prefs.n_ctx, self.prefs.n_threads, self.prefs.n_gpu_layers,
                                    self.prefs.paging_mode)
            folder = Path(path).parent
            self.client.query(lambda engine: engine.available_models(folder), self._add_chosen)

    def _add_chosen(self, entries) -> None:
        self._extra = [e for e in entries if e.path and Path(e.path) == Path(self.prefs.model_path)]
        self.scan()

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Models folder", str(self.models_dir))
        if folder:
            self.models_dir = Path(folder)
            self.scan()

    def _accept(self) -> None:
        item = self.models.currentItem()
        entry = item.data(0, Qt.ItemDataRole.UserRole) if item else None
        path = Path(entry.path) if entry is not None and entry.path else None
        self.prefs = ModelPrefs(path, self.n_ctx.value(), self.threads.value(), self.gpu_layers.value(),
                                self.paging.currentData())
        self.accept()
