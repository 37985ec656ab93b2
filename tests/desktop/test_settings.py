"""Settings: every embedded model with its size and purpose, the default marked, the choice remembered;
every KV paging mode offered and remembered."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from desktop.prefs import ModelPrefs, load_model_prefs, model_choice, save_model_prefs, settings_store
from engine.api import DEFAULT_PAGING_MODE, PAGING_MODES, embedded_model_ids
from engine.runtime.embedded_models import EMBEDDED_MODELS, MODEL_ENV, QWEN_0_5B

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def window(open_window, tmp_path):
    return open_window(tmp_path / "data")


def _open_dialog(qtbot, window, prefs: ModelPrefs, models_dir: Path):
    from desktop.settings_dialog import SettingsDialog

    dialog = SettingsDialog(window.client, prefs, models_dir, window)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.models.topLevelItemCount() >= len(EMBEDDED_MODELS), timeout=30_000)
    return dialog


def _items(dialog) -> dict:
    items = [dialog.models.topLevelItem(i) for i in range(dialog.models.topLevelItemCount())]
    return {item.data(0, Qt.ItemDataRole.UserRole).id: item for item in items}


def _press_ok(dialog) -> None:
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()


def test_every_embedded_model_is_offered_with_its_size_and_purpose_and_the_default_is_marked(qtbot, window,
                                                                                           tmp_path):
    dialog = _open_dialog(qtbot, window, ModelPrefs(n_ctx=1024), tmp_path / "models")
    items = _items(dialog)
    assert list(items) == list(embedded_model_ids())
    for model in EMBEDDED_MODELS:
        item = items[model.id]
        assert model.name in item.text(0) and item.text(2).endswith(("MiB", "GiB"))
        assert item.toolTip(0) == model.purpose
    marked = [i for i, item in items.items() if item.text(0).endswith("default")]
    assert marked == [os.environ[MODEL_ENV]]  # the suite runs with LLMOS_MODEL naming the default
    assert dialog.models.currentItem() is items[marked[0]]
    assert "Used when no model is chosen" in dialog.description.text()
    dialog.models.setCurrentItem(items[QWEN_0_5B.id])
    assert QWEN_0_5B.purpose in dialog.description.text()


def test_keeping_the_default_selected_changes_nothing(qtbot, window, tmp_path):
    prefs = ModelPrefs(n_ctx=1024)
    dialog = _open_dialog(qtbot, window, prefs, tmp_path / "models")
    _press_ok(dialog)
    assert dialog.prefs == prefs and dialog.prefs.model_path is None


def test_an_embedded_choice_is_saved_and_offered_again_after_a_restart(qtbot, window, tmp_path):
    dialog = _open_dialog(qtbot, window, ModelPrefs(n_ctx=1024), tmp_path / "models")
    dialog.models.setCurrentItem(_items(dialog)[QWEN_0_5B.id])
    _press_ok(dialog)
    assert dialog.prefs.model_path == QWEN_0_5B.id
    assert dialog.prefs.runtime_settings().model_path == QWEN_0_5B.id
    store = settings_store()
    save_model_prefs(store, dialog.prefs)
    store.sync()
    restarted = subprocess.run(
        [sys.executable, "-c", "from desktop.prefs import load_model_prefs, settings_store; "
                               "print(repr(load_model_prefs(settings_store()).model_path))"],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert restarted.stdout.strip() == repr(QWEN_0_5B.id), restarted.stderr
    again = _open_dialog(qtbot, window, load_model_prefs(settings_store()), tmp_path / "models")
    assert again.models.currentItem() is _items(again)[QWEN_0_5B.id]
    _press_ok(again)
    assert again.prefs == dialog.prefs


def test_a_model_file_named_like_an_embedded_id_stays_a_file(tmp_path):
    store = settings_store()
    odd = tmp_path / QWEN_0_5B.id
    save_model_prefs(store, ModelPrefs(odd))
    assert load_model_prefs(store).model_path == odd
    save_model_prefs(store, ModelPrefs(None))
    assert load_model_prefs(store).model_path is None


def test_a_model_given_on_the_command_line_is_an_embedded_id_or_a_file():
    assert model_choice(QWEN_0_5B.id) == QWEN_0_5B.id
    assert model_choice("~/models/own.gguf") == Path.home() / "models" / "own.gguf"
    assert model_choice(None) is None


def test_every_paging_mode_is_offered_and_the_choice_reaches_the_runtime_settings_and_is_saved(qtbot, window,
                                                                                                tmp_path):
    dialog = _open_dialog(qtbot, window, ModelPrefs(n_ctx=1024), tmp_path / "models")
    offered = [dialog.paging.itemData(i) for i in range(dialog.paging.count())]
    assert offered == list(PAGING_MODES) and dialog.paging.currentData() == DEFAULT_PAGING_MODE
    dialog.paging.setCurrentIndex(offered.index("window"))
    _press_ok(dialog)
    assert dialog.prefs.paging_mode == "window" == dialog.prefs.runtime_settings().paging_mode
    store = settings_store()
    save_model_prefs(store, dialog.prefs)
    assert load_model_prefs(store).paging_mode == "window"
    again = _open_dialog(qtbot, window, load_model_prefs(store), tmp_path / "models")
    assert again.paging.currentData() == "window"


@pytest.mark.parametrize("stored, loaded", [("exact", "exact"), ("fast", "fast"), ("prefix", DEFAULT_PAGING_MODE),
                                            ("", DEFAULT_PAGING_MODE)])
def test_a_stored_paging_mode_is_kept_when_known_and_falls_back_to_the_default_otherwise(stored, loaded):
    store = settings_store()
    store.setValue("model/paging_mode", stored)
    assert load_model_prefs(store).paging_mode == loaded
    store.remove("model/paging_mode")
    assert load_model_prefs(store).paging_mode == DEFAULT_PAGING_MODE
