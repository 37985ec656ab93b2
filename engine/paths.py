"""Where llmos keeps its data (durable) and its caches (rebuildable)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "llmos"


def default_data_dir() -> Path:
    """The user's data directory: the DuckDB file and the archival index live here."""
    override = os.environ.get("LLMOS_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


def default_cache_dir() -> Path:
    """The user's cache directory: the assembled model file and saved KV states."""
    override = os.environ.get("LLMOS_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME))


def default_models_dir() -> Path:
    """A folder scanned for user-supplied GGUF files."""
    return default_data_dir() / "models"
