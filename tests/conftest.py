"""Shared fixtures: real stores in temporary directories, the real embedding model loaded once."""

from pathlib import Path

import pytest

import engine.offline  # noqa: F401
from engine.memory.db import Database
from engine.memory.migrations import apply_migrations
from engine.memory.timeline import Timeline


@pytest.fixture(scope="session")
def embedder():
    from engine.memory.embeddings import Embedder

    return Embedder()


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
def timeline(db) -> Timeline:
    return Timeline(db)
