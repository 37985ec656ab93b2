from engine.memory.archival import ArchivalStore
from engine.memory.importer import CHUNK_CHARS, chunk_text, import_files


def test_markdown_is_chunked_at_headings_and_long_text_is_cut_with_overlap():
    long_para = " ".join(f"Sentence number {i} is here." for i in range(200))
    chunks = chunk_text(f"# One\n\nShort intro.\n\n# Two\n\n{long_para}")
    assert chunks[0] == "# One\n\nShort intro."
    assert chunks[1].startswith("# Two\n\nSentence number 0 ")
    assert all(len(c) <= CHUNK_CHARS for c in chunks)
    assert chunks[2][:30] in chunks[1]


def test_import_stores_text_files_and_skips_binary_and_missing_ones(db, data_dir, embedder, timeline, tmp_path):
    archival = ArchivalStore(db, data_dir, lambda: embedder, timeline)
    notes = tmp_path / "notes.md"
    notes.write_text("# Garden\n\nThe tomatoes go in the south bed.\n\n# Car\n\nThe MOT is due in March.\n")
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(b"\xff\xd8\xff\x00\x10JFIF\x00")
    latin = tmp_path / "old.txt"
    latin.write_bytes("caf\xe9".encode("latin-1"))
    seen = []
    report = import_files(archival, 1, [notes, binary, latin, tmp_path / "gone.txt"],
                          lambda done, total: seen.append((done, total)))
    assert (report.files, report.passages) == (1, 2)
    reasons = dict(report.skipped)
    assert "binary" in reasons[binary] and "UTF-8" in reasons[latin] and tmp_path / "gone.txt" in reasons
    assert seen[-1] == (4, 4)
    assert archival.search(1, "when is the car inspection?").items[0].text.startswith("# Car")
