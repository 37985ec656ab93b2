"""Embedded models: joined from their installed parts once, checked, and joined again only when damaged."""

import hashlib

from engine.runtime.embedded_models import GEMMA_270M, SMOLLM2_135M
from engine.runtime.model_file import ensure_embedded_model, is_ready


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while block := src.read(4 << 20):
            digest.update(block)
    return digest.hexdigest()


def test_an_embedded_model_is_assembled_once_and_not_again_while_intact(tmp_path):
    stages = []
    first = ensure_embedded_model(tmp_path, lambda stage, done, total: stages.append(stage), GEMMA_270M)
    assert first == tmp_path / "models" / GEMMA_270M.file_name
    assert stages and first.stat().st_size == GEMMA_270M.size_bytes
    assert _sha256(first) == GEMMA_270M.sha256 and is_ready(GEMMA_270M, tmp_path)
    written = first.stat().st_mtime_ns
    stages.clear()
    assert ensure_embedded_model(tmp_path, lambda stage, done, total: stages.append(stage), GEMMA_270M) == first
    assert stages == [] and first.stat().st_mtime_ns == written


def test_an_assembled_model_that_was_damaged_is_assembled_again(tmp_path):
    model = ensure_embedded_model(tmp_path, None, GEMMA_270M)
    with model.open("r+b") as out:
        out.truncate(1_000_000)
    assert not is_ready(GEMMA_270M, tmp_path)
    assert ensure_embedded_model(tmp_path, None, GEMMA_270M) == model
    assert model.stat().st_size == GEMMA_270M.size_bytes and is_ready(GEMMA_270M, tmp_path)


def test_a_model_shipped_as_one_file_is_checked_once_and_used_in_place(tmp_path):
    stages = []
    path = ensure_embedded_model(tmp_path, lambda stage, done, total: stages.append(stage), SMOLLM2_135M)
    assert path == SMOLLM2_135M.part_paths()[0] and tmp_path not in path.parents
    assert stages and all(stage.startswith("Checking") for stage in stages)
    assert not (tmp_path / "models" / SMOLLM2_135M.file_name).exists()
    stages.clear()
    assert ensure_embedded_model(tmp_path, lambda stage, done, total: stages.append(stage), SMOLLM2_135M) == path
    assert stages == []
