"""The memory dock: core edits persist, evictions show on the timeline, search jumps to messages."""

from PySide6.QtCore import QMimeData, QPointF, QUrl, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from tests.desktop.conftest import SISTER


def test_a_core_memory_edit_in_the_ui_persists_across_restart(qtbot, open_window, tmp_path):
    window = open_window(tmp_path / "data")
    qtbot.waitUntil(lambda: "human" in window.memory.core.editors, timeout=30_000)
    editor = window.memory.core.editors["human"]
    editor.edit.setPlainText("Name: Ana. Grows tomatoes on a balcony.")
    assert editor.save.isEnabled() and "unsaved" in editor.count.text()
    qtbot.mouseClick(editor.save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: editor.version == 2 and not editor.dirty, timeout=30_000)
    window.close()

    reopened = open_window(tmp_path / "data")
    qtbot.waitUntil(lambda: "human" in reopened.memory.core.editors, timeout=30_000)
    again = reopened.memory.core.editors["human"]
    qtbot.waitUntil(lambda: again.edit.toPlainText() == "Name: Ana. Grows tomatoes on a balcony.", timeout=30_000)
    assert again.version == 2


def test_core_history_lists_versions_and_revert_restores_one(qtbot, open_window, tmp_path):
    from desktop.core_editor import HistoryDialog

    window = open_window(tmp_path / "data")
    qtbot.waitUntil(lambda: "human" in window.memory.core.editors, timeout=30_000)
    editor = window.memory.core.editors["human"]
    original = editor.edit.toPlainText()
    editor.edit.setPlainText("Likes tea.")
    editor.save.click()
    qtbot.waitUntil(lambda: editor.version == 2, timeout=30_000)
    history = []
    window.client.query(lambda engine: engine.core_history("human"), history.append)
    qtbot.waitUntil(lambda: bool(history), timeout=30_000)
    dialog = HistoryDialog("human", history[0])
    assert dialog.list.count() == 2 and dialog.preview.toPlainText() == "Likes tea."
    window.client.op(lambda engine: engine.revert_core("human", 1), editor.show_block)
    qtbot.waitUntil(lambda: editor.edit.toPlainText() == original and editor.version == 3, timeout=30_000)


def test_the_timeline_shows_evictions_with_the_evicted_messages(qtbot, open_window, copy_of_conversation):
    window = open_window(copy_of_conversation)
    timeline = window.memory.timeline
    window.memory.show_tab("timeline")
    qtbot.waitUntil(lambda: any(e.kind == "evicted" for e in timeline.events), timeout=30_000)
    kinds = {e.kind for e in timeline.events}
    assert "summarised" in kinds and "message_stored" not in kinds
    assert timeline.select_first("evicted")
    evicted = next(e for e in timeline.events if e.kind == "evicted")
    qtbot.waitUntil(lambda: "Messages moved out of the window" in timeline.detail.toHtml(), timeout=30_000)
    assert f"message:{evicted.payload['message_ids'][0]}" in timeline.detail.toHtml()
    timeline.filters["evicted"].setChecked(False)
    timeline.filters["summarised"].setChecked(False)
    qtbot.waitUntil(lambda: not {"evicted", "summarised"} & {e.kind for e in timeline.events}, timeout=30_000)


def test_a_search_result_opens_its_message_in_the_conversation(qtbot, open_window, copy_of_conversation):
    window = open_window(copy_of_conversation)
    search = window.memory.search
    assert window.chat.bubble_for(7) is None
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.memory.tabs.currentWidget() is search
    search.query.setText("Ingrid Tromsø")
    qtbot.keyClick(search.query, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: search.results.count() > 0, timeout=30_000)
    hit = search.results.item(0).data(Qt.ItemDataRole.UserRole)
    assert hit.text == SISTER
    search.results.setCurrentRow(0)
    search.open.click()
    qtbot.waitUntil(lambda: window.chat.bubble_for(hit.id) is not None, timeout=30_000)
    bubble = window.chat.bubble_for(hit.id)
    assert bubble.text == SISTER
    qtbot.waitUntil(lambda: not bubble.visibleRegion().isEmpty(), timeout=30_000)


def test_search_pages_through_many_results(qtbot, open_window, copy_of_conversation):
    window = open_window(copy_of_conversation)
    search = window.memory.search
    search.query.setText("weather garden")
    search.search(1)
    qtbot.waitUntil(lambda: search.page is not None, timeout=30_000)
    assert search.page.total > 10 and search.results.count() == 10 and search.next.isEnabled()
    first = search.results.item(0).data(Qt.ItemDataRole.UserRole).id
    search.next.click()
    qtbot.waitUntil(lambda: search.page.page == 2, timeout=30_000)
    assert search.results.item(0).data(Qt.ItemDataRole.UserRole).id != first


def test_a_note_added_in_the_archival_tab_is_found_by_archival_search(qtbot, open_window, tmp_path):
    window = open_window(tmp_path / "data")
    archival = window.memory.archival
    archival.note.setPlainText("The spare key is under the blue flower pot.")
    archival.add.click()
    qtbot.waitUntil(lambda: archival.passages == 1, timeout=60_000)
    notes = tmp_path / "notes.md"
    notes.write_text("# Trip\n\nThe train to Bergen leaves at 07:40 from platform 3.\n")
    archival.import_paths([notes])
    qtbot.waitUntil(lambda: "Imported 1 passages" in archival.result.text(), timeout=60_000)
    qtbot.waitUntil(lambda: archival.passages == 2, timeout=60_000)
    search = window.memory.search
    search.tier.setCurrentIndex(1)
    search.query.setText("where is the spare key")
    search.search(1)
    qtbot.waitUntil(lambda: search.page is not None and search.results.count() > 0, timeout=30_000)
    assert "blue flower pot" in search.results.item(0).data(Qt.ItemDataRole.UserRole).text


def test_files_dropped_on_the_archival_tab_are_imported_and_binary_ones_skipped(qtbot, open_window, tmp_path):
    window = open_window(tmp_path / "data")
    archival = window.memory.archival
    notes = tmp_path / "garden.md"
    notes.write_text("# Garden\n\nThe tomatoes need water every second evening in July.\n")
    image = tmp_path / "photo.txt"
    image.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(notes)), QUrl.fromLocalFile(str(image))])
    position = QPointF(archival.rect().center())
    enter = QDragEnterEvent(position, Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(archival, enter)
    assert enter.isAccepted()
    drop = QDropEvent(position, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(archival, drop)
    qtbot.waitUntil(lambda: "Imported" in archival.result.text(), timeout=60_000)
    assert "Imported 1 passages from 1 file." in archival.result.text()
    assert "Skipped photo.txt" in archival.result.text()
    qtbot.waitUntil(lambda: archival.passages == 1, timeout=30_000)
