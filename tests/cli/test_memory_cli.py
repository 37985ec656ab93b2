"""``llmos memory``: every subcommand on a real data directory; --json gives a results list."""

import json
import subprocess
import sys


def _memory(data_dir, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine.cli", "memory", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=300)


def test_insert_then_search_finds_the_passage_best_first(tmp_path):
    assert _memory(tmp_path, "insert", "The user's sister Lena lives in Porto.").returncode == 0
    assert _memory(tmp_path, "insert", "Tomatoes need plenty of sun.").returncode == 0
    result = _memory(tmp_path, "search", "where does Lena live", "--tier", "archival", "--json")
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)["results"]
    assert "Porto" in results[0]["text"]


def test_import_skips_binary_files_with_a_reason_and_timeline_shows_inserts(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text("# Trip\n\nWe hiked the Rota Vicentina in May.\n\n# Food\n\nGrilled sardines.\n")
    binary = tmp_path / "photo.bin"
    binary.write_bytes(bytes(range(256)) * 10)
    data_dir = tmp_path / "data"
    result = _memory(data_dir, "import", str(notes), str(binary))
    assert result.returncode == 0, result.stderr
    assert "skipped" in result.stderr and "photo.bin" in result.stderr
    timeline = json.loads(_memory(data_dir, "timeline", "--kind", "archival_insert", "--json").stdout)
    assert timeline["results"] and all(e["kind"] == "archival_insert" for e in timeline["results"])
    shown = json.loads(_memory(data_dir, "show", "--json").stdout)
    assert shown["counts"]["passages"] >= 1
    assert {b["label"] for b in shown["results"]} >= {"persona", "human"}


def test_unknown_agent_is_a_one_line_error(tmp_path):
    result = _memory(tmp_path, "show", "--agent", "nobody")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.startswith("llmos:")
