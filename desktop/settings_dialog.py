"""Settings: where the model runs (on this computer, or on an inference server) and which model: one that
comes with llmos, a GGUF file, one from the models folder, or one the server serves."""

from __future__ import annotations

import html
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QRadioButton, QSpinBox, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from desktop.api_server import ServerPrefs
from desktop.prefs import ModelChoice, ModelPrefs
from engine.api import PAGING_MODES

PAGING_DESCRIPTIONS = {
    "fast": "fast (shift the KV cache, re-evaluate only what changed)",
    "window": "window (as fast, and re-evaluate a few tokens after each change)",
    "exact": "exact (re-evaluate everything after the first change)",
}


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def _choice(entry) -> ModelChoice:
    """What the prefs hold for a model entry; the default model is None, so it follows the default."""
    if entry.default:
        return None
    return entry.id if entry.embedded else Path(entry.path)


def _is_chosen(entry, chosen: ModelChoice) -> bool:
    if chosen is None:
        return entry.default
    if isinstance(chosen, str):
        return entry.embedded and entry.id == chosen
    return not entry.embedded and entry.path is not None and Path(entry.path) == Path(chosen)


def _description(entry) -> str:
    if entry.problem:
        return f"<b>{html.escape(entry.name)}</b> cannot be used: {html.escape(entry.problem)}"
    text = html.escape(entry.purpose) if entry.embedded else html.escape(str(entry.path))
    suffix = " <i>Used when no model is chosen.</i>" if entry.default else ""
    return f"<b>{html.escape(entry.name)}</b>: {text}{suffix}"


class SettingsDialog(QDialog):
    """Edits a ``ModelPrefs``; ``prefs`` holds the result after Accept."""

    def __init__(self, client, prefs: ModelPrefs, models_dir: Path, parent: QWidget | None = None,
                 server: ServerPrefs = ServerPrefs()) -> None:
        super().__init__(parent)
        self.server = server
        self.setWindowTitle("Settings")
        self.setObjectName("settingsDialog")
        self.resize(760, 520)
        self.client, self.prefs, self.models_dir = client, prefs, models_dir
        self.models = QTreeWidget(self)
        self.models.setObjectName("modelList")
        self.models.setHeaderLabels(["Model", "Quantisation", "Size", "Trained context", "File"])
        self.models.setRootIsDecorated(False)
        self.models.currentItemChanged.connect(self._describe)
        self.description = QLabel(self)
        self.description.setObjectName("modelDescription")
        self.description.setWordWrap(True)
        self.description.setTextFormat(Qt.TextFormat.RichText)
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
        self.paging.setObjectName("pagingMode")
        for mode in PAGING_MODES:
            self.paging.addItem(PAGING_DESCRIPTIONS.get(mode, mode), mode)
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
        self.serve = QCheckBox("Serve the OpenAI API on this computer (loopback only, with a key)", self)
        self.serve.setObjectName("serveApi")
        self.serve.setChecked(server.enabled)
        self.port = QSpinBox(self)
        self.port.setRange(1024, 65535)
        self.port.setValue(server.port)
        self.port.setPrefix("127.0.0.1:")
        serve_row = QHBoxLayout()
        serve_row.addWidget(self.serve, 1)
        serve_row.addWidget(self.port)
        form.addRow("Local API server", serve_row)
        self.note = QLabel("<span style='color:gray'>Changes are applied at once: the model reloads in the "
                           "background and the conversation goes on.</span>", self)
        self.note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self._where_rows(prefs))
        self.local_part = QWidget(self)
        local = QVBoxLayout(self.local_part)
        local.setContentsMargins(0, 0, 0, 0)
        local.addWidget(QLabel("<b>Model</b>", self))
        local.addWidget(self.models, 1)
        local.addWidget(self.description)
        local.addLayout(folder_row)
        layout.addWidget(self.local_part, 1)
        layout.addWidget(self.server_part)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        self._extra: list = []
        self._show_where()
        self.scan()

    def _where_rows(self, prefs: ModelPrefs) -> QHBoxLayout:
        """"On this computer" / "On a server", and the server's address, model and key variable."""
        self.on_computer = QRadioButton("On this computer", self)
        self.on_computer.setObjectName("runLocally")
        self.on_server = QRadioButton("On a server", self)
        self.on_server.setObjectName("runOnServer")
        group = QButtonGroup(self)
        group.addButton(self.on_computer)
        group.addButton(self.on_server)
        (self.on_server if prefs.on_server else self.on_computer).setChecked(True)
        self.on_server.toggled.connect(self._show_where)
        self.server_url = QLineEdit(prefs.server_url, self)
        self.server_url.setObjectName("serverUrl")
        self.server_url.setPlaceholderText("http://gpu-box:8080  (llama-server, vLLM or llama_cpp.server)")
        self.server_model = QLineEdit(prefs.server_model, self)
        self.server_model.setObjectName("serverModel")
        self.server_model.setPlaceholderText("the first model the server lists")
        self.key_env = QLineEdit(prefs.api_key_env, self)
        self.key_env.setObjectName("serverKeyEnv")
        self.key_env.setPlaceholderText("e.g. LLMOS_SERVER_KEY; empty: the server needs no key")
        self.server_problem = QLabel(self)
        self.server_problem.setObjectName("serverProblem")
        self.server_problem.setStyleSheet("color: #c0392b")
        self.server_problem.hide()
        self.server_part = QWidget(self)
        rows = QFormLayout(self.server_part)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.addRow("Server address", self.server_url)
        rows.addRow("Model name", self.server_model)
        rows.addRow("API key variable", self.key_env)
        rows.addRow("", QLabel("<span style='color:gray'>The key is read from this environment variable when "
                               "llmos starts; it is never saved. Memory and the conversation stay on this "
                               "computer; the server sees each prompt.</span>", self))
        rows.addRow("", self.server_problem)
        where = QHBoxLayout()
        where.addWidget(QLabel("<b>The model runs</b>", self))
        where.addWidget(self.on_computer)
        where.addWidget(self.on_server)
        where.addStretch(1)
        return where

    def _show_where(self) -> None:
        remote = self.on_server.isChecked()
        self.local_part.setVisible(not remote)
        self.server_part.setVisible(remote)
        for widget in (self.threads, self.gpu_layers, self.paging):
            widget.setEnabled(not remote)

    def scan(self) -> None:
        self.folder.setText(f"Models folder: {html.escape(str(self.models_dir))}")
        folder = self.models_dir
        self.client.query(lambda engine: engine.available_models(folder), self._show)

    def _show(self, entries) -> None:
        self.models.clear()
        for entry in [*entries, *self._extra]:
            item = self._item(entry)
            self.models.addTopLevelItem(item)
            if _is_chosen(entry, self.prefs.model_path):
                self.models.setCurrentItem(item)
        self.models.resizeColumnToContents(0)

    def _item(self, entry) -> QTreeWidgetItem:
        name = f"{entry.name} — default" if entry.default else entry.name
        where = "comes with llmos" if entry.embedded else str(entry.path)
        item = QTreeWidgetItem([name, entry.quantisation, _size(entry.size_bytes),
                                f"{entry.context_length:,}" if entry.context_length else "?", where])
        item.setData(0, Qt.ItemDataRole.UserRole, entry)
        for column in range(item.columnCount()):
            item.setToolTip(column, entry.problem or entry.purpose or str(entry.path))
        if entry.default:
            font = QFont(item.font(0))
            font.setBold(True)
            item.setFont(0, font)
        if entry.problem:
            item.setDisabled(True)
            item.setText(4, f"unusable: {entry.problem}")
        return item

    def _describe(self, item: QTreeWidgetItem | None) -> None:
        entry = item.data(0, Qt.ItemDataRole.UserRole) if item else None
        self.description.setText(_description(entry) if entry is not None else "")

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model", str(self.models_dir), "GGUF models (*.gguf)")
        if path:
            self.prefs = replace(self.prefs, model_path=Path(path))
            folder = Path(path).parent
            self.client.query(lambda engine: engine.available_models(folder), self._add_chosen)

    def _add_chosen(self, entries) -> None:
        self._extra = [e for e in entries if not e.embedded and _is_chosen(e, self.prefs.model_path)]
        self.scan()

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Models folder", str(self.models_dir))
        if folder:
            self.models_dir = Path(folder)
            self.scan()

    def _accept(self) -> None:
        item = self.models.currentItem()
        entry = item.data(0, Qt.ItemDataRole.UserRole) if item else None
        choice = _choice(entry) if entry is not None else self.prefs.model_path
        url, key_env = self.server_url.text().strip(), self.key_env.text().strip()
        problem = _server_problem(url, key_env) if self.on_server.isChecked() else ""
        if problem:
            self.server_problem.setText(problem)
            self.server_problem.show()
            return
        self.prefs = ModelPrefs(choice, self.n_ctx.value(), self.threads.value(), self.gpu_layers.value(),
                                self.paging.currentData(), self.on_server.isChecked(), url,
                                self.server_model.text().strip(), key_env)
        self.server = ServerPrefs(self.serve.isChecked(), self.port.value())
        self.accept()


def _server_problem(url: str, key_env: str) -> str:
    """Why the server settings cannot be used as typed ("" when they can)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Write the server's address as http://HOST:PORT."
    if key_env and not key_env.replace("_", "").isalnum():
        return "The API key variable is the name of an environment variable (letters, digits, _), not the key."
    return ""
