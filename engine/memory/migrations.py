"""The schema's history: numbered migrations, applied in order and recorded in ``migrations``.

Each migration is a plain function taking a DuckDB connection. Add new ones at the end; never
edit one that has shipped, because existing data directories have already run it.
"""

from __future__ import annotations

import logging
from typing import Callable

import duckdb

from engine.memory.embeddings import DIM

log = logging.getLogger(__name__)

EMBEDDING_DIM = DIM  # the width of the first schema; see m007 for message vectors

Migration = Callable[[duckdb.DuckDBPyConnection], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    """Register ``fn`` as the next migration; its name is its identity in the database."""
    MIGRATIONS.append(fn)
    return fn


@migration
def m001_initial(db: duckdb.DuckDBPyConnection) -> None:
    # No PRIMARY KEY / UNIQUE constraints: DuckDB turns updates of rows with list columns into
    # delete+insert, which trips ART constraints; ids come from sequences and are unique anyway.
    db.execute(
        f"""
        CREATE SEQUENCE agents_seq START 1;
        CREATE TABLE agents (
            id BIGINT NOT NULL DEFAULT nextval('agents_seq'),
            name VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            settings JSON
        );
        CREATE SEQUENCE messages_seq START 1;
        CREATE TABLE messages (
            id BIGINT NOT NULL DEFAULT nextval('messages_seq'),
            agent_id BIGINT NOT NULL,
            role VARCHAR NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'function')),
            name VARCHAR,
            content VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            embedding FLOAT[{EMBEDDING_DIM}]
        );
        CREATE TABLE core_blocks (
            agent_id BIGINT NOT NULL,
            label VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL
        );
        CREATE TABLE core_block_versions (
            agent_id BIGINT NOT NULL,
            label VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            value VARCHAR NOT NULL,
            char_limit INTEGER NOT NULL,
            author VARCHAR NOT NULL CHECK (author IN ('model', 'user', 'system')),
            reason VARCHAR,
            created_at TIMESTAMP NOT NULL
        );
        CREATE SEQUENCE passages_seq START 1;
        CREATE TABLE archival_passages (
            id BIGINT NOT NULL DEFAULT nextval('passages_seq'),
            agent_id BIGINT NOT NULL,
            text VARCHAR NOT NULL,
            source VARCHAR,
            created_at TIMESTAMP NOT NULL,
            content_hash VARCHAR NOT NULL,
            embedding FLOAT[{EMBEDDING_DIM}] NOT NULL
        );
        CREATE SEQUENCE events_seq START 1;
        CREATE TABLE timeline_events (
            id BIGINT NOT NULL DEFAULT nextval('events_seq'),
            agent_id BIGINT,
            occurred_at TIMESTAMP NOT NULL,
            kind VARCHAR NOT NULL,
            payload JSON
        );
        """
    )


@migration
def m002_fts_state(db: duckdb.DuckDBPyConnection) -> None:
    # Rows with id above covered_max_id are not in the fts index yet; searches scan them directly.
    db.execute("CREATE TABLE fts_state (table_name VARCHAR NOT NULL, covered_max_id BIGINT NOT NULL)")
    db.execute("INSERT INTO fts_state VALUES ('messages', 0)")


@migration
def m003_context_state(db: duckdb.DuckDBPyConnection) -> None:
    # Which messages are in an agent's window (those from queue_start_id on) and its summary.
    db.execute(
        """
        CREATE TABLE context_state (
            agent_id BIGINT NOT NULL,
            queue_start_id BIGINT NOT NULL,
            summary VARCHAR NOT NULL,
            updated_at TIMESTAMP NOT NULL
        )
        """
    )


@migration
def m004_recall_postings(db: duckdb.DuckDBPyConnection) -> None:
    # Text search reads BM25 postings derived from the fts index (engine/memory/bm25.py); an index
    # built before them gets its postings now, or the rows it covers would not be found.
    from engine.memory.bm25 import BUILD_POSTINGS, FTS_SCHEMA

    has_index = db.execute("SELECT count(*) FROM duckdb_schemas() WHERE schema_name = ?", [FTS_SCHEMA]).fetchone()[0]
    if has_index:
        db.execute(BUILD_POSTINGS)
    else:
        db.execute("CREATE TABLE recall_postings (agent_id BIGINT, termid BIGINT, message_id BIGINT, impact DOUBLE)")


@migration
def m005_message_views(db: duckdb.DuckDBPyConnection) -> None:
    # Sentence and reply-context vectors of messages (engine/memory/message_views.py); messages up
    # to covered_max_id have theirs, so existing messages get them on the next upkeep.
    db.execute(
        f"""
        CREATE SEQUENCE message_views_seq START 1;
        CREATE TABLE message_views (
            id BIGINT NOT NULL DEFAULT nextval('message_views_seq'),
            message_id BIGINT NOT NULL,
            agent_id BIGINT NOT NULL,
            kind VARCHAR NOT NULL,
            embedding FLOAT[{EMBEDDING_DIM}] NOT NULL
        );
        CREATE TABLE views_state (covered_max_id BIGINT NOT NULL);
        INSERT INTO views_state VALUES (0);
        """
    )


@migration
def m006_recalled_in_context_state(db: duckdb.DuckDBPyConnection) -> None:
    # The window's recalled part, so a restart compiles the window the saved KV state holds.
    db.execute("ALTER TABLE context_state ADD COLUMN recalled VARCHAR DEFAULT ''")


@migration
def m007_message_vectors_from_mpnet(db: duckdb.DuckDBPyConnection) -> None:
    # A message's own vector now comes from all-mpnet-base-v2 (768 wide). The old vectors go;
    # upkeep embeds every message again, oldest first, and keyword search and the sentence
    # views (unchanged) find them meanwhile.
    db.execute("ALTER TABLE messages DROP COLUMN embedding")
    db.execute("ALTER TABLE messages ADD COLUMN embedding FLOAT[768]")


@migration
def m008_text_index_always_present(db: duckdb.DuckDBPyConnection) -> None:
    # Messages newer than the fts index are scored by BM25 with its tokenizer, stopwords and
    # statistics (engine/memory/bm25.py), so the index exists from the start (empty, it builds in
    # milliseconds) and keeps each agent's document count and average length beside its postings.
    from engine.memory.bm25 import BUILD_STATS
    from engine.memory.fts_index import build_index, index_exists

    if index_exists(db):
        db.execute(BUILD_STATS)
    else:
        build_index(db)


@migration
def m009_context_views_name_each_speaker(db: duckdb.DuckDBPyConnection) -> None:
    # The reply-in-context view now writes each turn's "I" as its speaker's name
    # (engine/memory/first_person.py). The old context views go; upkeep embeds them again, oldest
    # first, up to the messages covered now (MessageViews.redo_context), while newer messages get
    # the new view as usual and the sentence views stay.
    db.execute("DELETE FROM message_views WHERE kind = 'context'")
    db.execute("ALTER TABLE views_state ADD COLUMN context_redo_to BIGINT DEFAULT 0")
    db.execute("ALTER TABLE views_state ADD COLUMN context_redone_to BIGINT DEFAULT 0")
    db.execute("UPDATE views_state SET context_redo_to = covered_max_id, context_redone_to = 0")


def apply_migrations(db: duckdb.DuckDBPyConnection) -> list[str]:
    """Run every migration not yet recorded, each in its own transaction; return their names."""
    db.execute("CREATE TABLE IF NOT EXISTS migrations (name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)")
    done = {row[0] for row in db.execute("SELECT name FROM migrations").fetchall()}
    applied = []
    for fn in MIGRATIONS:
        if fn.__name__ in done:
            continue
        db.execute("BEGIN")
        fn(db)
        db.execute("INSERT INTO migrations VALUES (?, now())", [fn.__name__])
        db.execute("COMMIT")
        log.info("applied migration %s", fn.__name__)
        applied.append(fn.__name__)
    if applied:
        # Schema changes go into the database file at once: DuckDB cannot replay a WAL that
        # drops a column, so a crash before the next checkpoint would leave it unreadable.
        db.execute("CHECKPOINT")
    return applied
