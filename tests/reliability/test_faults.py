"""Faults from outside the engine: each is one clear line for the user, and nothing is lost.

Real faults throughout: a real full tmpfs (ENOSPC), a directory the process may not read
(capabilities dropped with ``setpriv``, since root ignores file modes), real truncated and
corrupted files, a model file deleted under a running chat.
"""

import os
import shutil
import subprocess
import sys
from dataclasses import replace

import pytest

from engine.api import Engine
from engine.errors import DataDirError
from engine.memory.store import MemoryStore
from engine.runtime.model_file import ensure_embedded_model
from tests.reliability.conftest import FAST_TURNS, REPO, assert_one_line_error, fill, llmos

NO_ROOT_BYPASS = ("setpriv", "--bounding-set=-dac_override,-dac_read_search")


def test_full_disk_during_a_message_write_is_a_clear_error_and_loses_nothing(tiny_disk, make_engine):
    engine = make_engine(data_dir=tiny_disk / "data")
    first = list(engine.send("My sister Mia lives in Lisbon."))
    assert first
    stored = [m.content for m in engine.history(limit=100)]
    filler = fill(tiny_disk)
    with pytest.raises(DataDirError, match="is full") as caught:
        list(engine.send("This message arrives on a full disk. " + "x" * 50_000))
    assert "\n" not in str(caught.value) and "intact" in str(caught.value)
    filler.unlink()
    after = list(engine.send("Space is back: are you still there?"))
    assert after
    contents = [m.content for m in engine.history(limit=100)]
    assert contents[:len(stored)] == stored
    assert sum(c.startswith("This message arrives on a full disk") for c in contents) <= 1
    engine.close()
    with MemoryStore.open(tiny_disk / "data") as store:
        agent = store.agents.list()[0]
        assert [m.content for m in store.recall.range(agent.id, limit=100)] == contents


def test_full_disk_during_an_archival_insert_is_a_clear_error_and_the_index_recovers(tiny_disk, embedder):
    data = tiny_disk / "data"
    engine = Engine(data, cache_dir=tiny_disk / "cache", embedder=embedder)
    engine.insert_passage("The spare key is under the blue pot.")
    filler = fill(tiny_disk)
    with pytest.raises(DataDirError, match="is full"):
        engine.insert_passage("A long note. " * 5_000)
    filler.unlink()
    engine.close()
    with MemoryStore.open(data, embedder=embedder) as store:
        agent = store.agents.list()[0]
        hits = store.archival.search(agent.id, "where is the key").items
        assert hits[0].text == "The spare key is under the blue pot."
        assert store.archival.index().count == store.archival.count(agent.id)


def test_unreadable_data_dir_is_one_line(tmp_path):
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is not installed")
    data = tmp_path / "data"
    MemoryStore.open(data).close()
    os.chmod(data, 0)
    try:
        result = llmos("memory", "show", "--data-dir", str(data), prefix=NO_ROOT_BYPASS)
    finally:
        os.chmod(data, 0o755)
    assert_one_line_error(result, str(data), "Permission denied")


@pytest.mark.parametrize("keep", [0.5, 0.01], ids=["half", "header"])
def test_truncated_database_is_one_line_left_untouched_and_a_backup_path_offered(tmp_path, keep):
    data = tmp_path / "data"
    with MemoryStore.open(data) as store:
        agent = store.agents.ensure_default()
        for i in range(1500):
            store.recall.append(agent.id, "user", f"message number {i} " * 10)
    db_file = data / "llmos.duckdb"
    cut = db_file.read_bytes()[: int(db_file.stat().st_size * keep)]
    db_file.write_bytes(cut)
    line = assert_one_line_error(llmos("memory", "show", "--data-dir", str(data)), "left untouched", ".broken")
    assert str(db_file) in line
    assert db_file.read_bytes() == cut


def _archival_store(data, embedder, texts):
    with MemoryStore.open(data, embedder=embedder) as store:
        agent = store.agents.ensure_default()
        store.archival.insert_many(agent.id, texts, source="test")
    return data / "index" / "archival.hnsw"


@pytest.mark.parametrize("damage", ["flipped_bytes", "truncated", "garbage_manifest", "deleted"])
def test_corrupt_vector_index_is_rebuilt_from_the_table(tmp_path, embedder, damage):
    texts = ["The spare key is under the blue pot.", "Mia teaches piano in Lisbon.", "Miso is a grey cat."]
    index_file = _archival_store(tmp_path / "data", embedder, texts)
    raw = index_file.read_bytes()
    if damage == "flipped_bytes":
        index_file.write_bytes(raw[:100] + bytes(b ^ 0xFF for b in raw[100:400]) + raw[400:])
    elif damage == "truncated":
        index_file.write_bytes(raw[: len(raw) // 3])
    elif damage == "garbage_manifest":
        index_file.with_name("archival.hnsw.json").write_text("{not json")
    else:
        index_file.unlink()
    with MemoryStore.open(tmp_path / "data", embedder=embedder) as store:
        agent = store.agents.list()[0]
        hits = store.archival.search(agent.id, "where is the key").items
        assert hits[0].text == texts[0]
        assert store.archival.index().count == 3


def test_corrupt_kv_state_files_are_ignored_and_the_chat_resumes(make_engine, tmp_path):
    one_step = replace(FAST_TURNS, max_steps=1)
    engine = make_engine(agent_settings=one_step)
    list(engine.send("Hello, my name is Ana."))
    engine.close()
    states = list((tmp_path / "cache" / "kv").glob("*.kvstate"))
    assert states
    for i, path in enumerate(states):
        raw = path.read_bytes()
        path.write_bytes(raw[: len(raw) // 2] if i % 2 else raw[:64] + b"\xff" * 64 + raw[128:])
    (tmp_path / "cache" / "kv" / "junk.kvstate").write_bytes(os.urandom(1000))
    reopened = make_engine(agent_settings=one_step)
    events = list(reopened.send("Do you remember my name?"))
    assert events[-1].__class__.__name__ == "DoneEvent"
    assert [m.content for m in reopened.history() if m.role == "user"] == ["Hello, my name is Ana.",
                                                                         "Do you remember my name?"]


def _read_until_reply(proc) -> list[str]:
    """Lines from the next ``ack`` up to the ``end`` that follows its reply (a reply may span lines)."""
    lines = []
    while True:
        line = proc.stdout.readline().decode("utf-8", "replace")
        assert line, "the chat ended early"
        lines.append(line.rstrip("\n"))
        if lines[-1] == "end" and lines[0].startswith("ack "):
            return lines


def test_model_file_deleted_while_chatting_keeps_the_chat_going_then_one_line(tmp_path):
    model = tmp_path / "copy.gguf"
    shutil.copy(ensure_embedded_model(), model)
    data = tmp_path / "data"
    env = dict(os.environ, LLMOS_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "chat", "--ack", "--data-dir", str(data),
                             "--model", str(model), "--n-ctx", "1024", "--max-steps", "1", "--summaries", "extractive"],
                            cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(b"Hello, I am Ana.\n")
        proc.stdin.flush()
        _read_until_reply(proc)
        model.unlink()
        out, err = proc.communicate(b"The model file is gone now.\n", timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert b"Traceback" not in err
    assert out.decode().startswith("ack ")
    with MemoryStore.open(data) as store:
        agent = store.agents.list()[0]
        users = [m.content for m in store.recall.range(agent.id, limit=50) if m.role == "user"]
    assert users == ["Hello, I am Ana.", "The model file is gone now."]
    result = llmos("chat", "-m", "hi", "--model", str(model), "--data-dir", str(data), env=env)
    assert_one_line_error(result, "no such model file")
