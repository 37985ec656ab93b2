"""Shared fixtures: real stores in temporary directories, the real embedding model loaded once.

The suite runs on the small embedded Gemma 3 270M for speed (``LLMOS_MODEL``, inherited by the
``llmos`` processes tests start); tests/default_model runs the real default model through a turn.
"""

import os
from pathlib import Path

import pytest

import engine.offline  # noqa: F401
from engine.memory.db import Database
from engine.memory.migrations import MIGRATIONS, apply_migrations
from engine.memory.timeline import Timeline

TEST_MODEL = "gemma-3-270m"
os.environ["LLMOS_MODEL"] = TEST_MODEL


@pytest.fixture(scope="session")
def embedder():
    from engine.memory.embeddings import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def message_embedder():
    from engine.memory.embeddings import shared_message_embedder

    return shared_message_embedder()


@pytest.fixture
def data_dir(tmp_path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def db(data_dir):
    database = Database.connect(data_dir / "llmos.duckdb")
    apply_migrations(database.cursor())
    yield database
    database.close()


@pytest.fixture
def schema_before():
    """Makes a data directory's database as a release before migration ``name`` left it (the
    migrations before it applied and recorded); the caller fills it in and closes it."""

    def make(path: Path, name: str) -> Database:
        path.mkdir()
        database = Database.connect(path / "llmos.duckdb")  # with the full-text extension m008 needs
        cur = database.cursor()
        cur.execute("CREATE TABLE migrations (name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)")
        for fn in (fn for fn in MIGRATIONS if fn.__name__ < name):
            fn(cur)
            cur.execute("INSERT INTO migrations VALUES (?, now())", [fn.__name__])
        return database

    return make


@pytest.fixture
def timeline(db) -> Timeline:
    return Timeline(db)
