"""Opening a data directory: one process at a time, bad files reported and left untouched."""

import subprocess
import sys
import textwrap

import pytest

from engine.errors import DataDirError, DataDirLockedError
from engine.memory.store import MemoryStore
from engine.memory.timeline import CORE_EDIT, MESSAGE_STORED

HOLD_OPEN = textwrap.dedent("""
    import sys, time
    from engine.memory.store import MemoryStore
    store = MemoryStore.open(sys.argv[1])
    print("open", flush=True)
    time.sleep(60)
""")


def test_second_process_on_the_same_data_dir_gets_a_clear_error(data_dir):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_OPEN, str(data_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(DataDirLockedError, match="another llmos is already using"):
            MemoryStore.open(data_dir)
    finally:
        holder.kill()
        holder.wait()
    MemoryStore.open(data_dir).close()  # the lock dies with its process


def test_corrupt_database_is_reported_and_never_overwritten(data_dir):
    garbage = b"this is not a database" * 1000
    (data_dir / "llmos.duckdb").write_bytes(garbage)
    with pytest.raises(DataDirError, match="left untouched"):
        MemoryStore.open(data_dir)
    assert (data_dir / "llmos.duckdb").read_bytes() == garbage
    with pytest.raises(DataDirError):  # and the lock was released: same error, not "in use"
        MemoryStore.open(data_dir)


def test_unwritable_location_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataDirError, match="cannot create the data directory"):
        MemoryStore.open(blocker / "data")


def test_timeline_records_memory_events_by_kind(data_dir, embedder):
    with MemoryStore.open(data_dir, embedder=embedder) as store:
        agent = store.agents.ensure_default()
        store.recall.append(agent.id, "user", "I adopted a cat named Miso.")
        store.core.append(agent.id, "human", " Has a cat named Miso.", author="model", reason="pet")
        kinds = [e.kind for e in store.timeline.query(agent.id)]
        assert MESSAGE_STORED in kinds and CORE_EDIT in kinds
        edits = [e for e in store.timeline.query(agent.id, kinds=(CORE_EDIT,)) if e.payload["author"] == "model"]
        assert len(edits) == 1 and edits[0].payload["label"] == "human" and edits[0].payload["reason"] == "pet"
