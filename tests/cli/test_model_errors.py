"""Bad model files and settings: one clear line on stderr, exit code 2, no traceback."""

import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from engine.runtime.model_file import ensure_embedded_model


def _llmos(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine.cli", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=300)


def _gguf_string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def _write_gguf_with_architecture(path: Path, arch: str) -> Path:
    kv = _gguf_string("general.architecture") + struct.pack("<I", 8) + _gguf_string(arch)
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + kv)
    return path


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """The command failed with exit 2 and one ``llmos:`` line naming each fragment, no traceback."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("llmos:")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_missing_model_file(tmp_path):
    result = _llmos("chat", "-m", "hi", "--model", str(tmp_path / "absent.gguf"), data_dir=tmp_path)
    assert_one_line_error(result, "no such model file")


def test_file_that_is_not_gguf(tmp_path):
    bogus = tmp_path / "notes.gguf"
    bogus.write_text("just some text, not a model")
    assert_one_line_error(_llmos("chat", "-m", "hi", "--model", str(bogus), data_dir=tmp_path),
                           "not a GGUF model file")


@pytest.mark.parametrize("keep_bytes", [2_000, 50_000_000], ids=["header", "tensor_data"])
def test_truncated_gguf(tmp_path, keep_bytes):
    truncated = tmp_path / "cut.gguf"
    with ensure_embedded_model().open("rb") as src:
        truncated.write_bytes(src.read(keep_bytes))
    assert_one_line_error(_llmos("chat", "-m", "hi", "--model", str(truncated), data_dir=tmp_path),
                           "truncated")


def test_unknown_architecture(tmp_path):
    model = _write_gguf_with_architecture(tmp_path / "odd.gguf", "nonsense-arch")
    assert_one_line_error(_llmos("chat", "-m", "hi", "--model", str(model), data_dir=tmp_path),
                           "nonsense-arch", "could not load")


def test_context_window_too_small(tmp_path):
    assert_one_line_error(_llmos("chat", "-m", "hi", "--n-ctx", "64", data_dir=tmp_path),
                           "too small", "the system prompt with core memory alone needs")


def test_one_shot_message_prints_a_reply_and_exits_zero(tmp_path):
    result = _llmos("chat", "--message", "Hello there", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_version_and_models_listing(tmp_path):
    version = subprocess.run([sys.executable, "-m", "engine.cli", "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("llmos ")
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    shutil.copy(ensure_embedded_model(), models_dir / "copy.gguf")
    (models_dir / "broken.gguf").write_text("nope")
    listing = subprocess.run([sys.executable, "-m", "engine.cli", "models", "--models-dir", str(models_dir)],
                             capture_output=True, text=True)
    assert listing.returncode == 0
    assert "embedded" in listing.stdout and "copy.gguf" in listing.stdout and "Q4_K_M" in listing.stdout
    assert "unusable" in listing.stdout
