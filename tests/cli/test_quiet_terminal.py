"""The terminal shows the reply and llmos's own lines, never the libraries' notes or progress bars."""

import logging
import os
import subprocess
import sys
from pathlib import Path

from engine.runtime.embedded_models import GEMMA_270M, MODEL_ENV
from engine.runtime.model import ModelRuntime
from engine.runtime.settings import RuntimeSettings

ROOT = Path(__file__).resolve().parents[2]
LIBRARY_NOISE = ("llama_kv_cache_iswa", "using full-size SWA cache", "Loading weights")


def test_a_chat_turn_prints_no_llama_cpp_notes_and_no_weight_loading_bars(tmp_path):
    env = os.environ | {MODEL_ENV: GEMMA_270M.id}  # Gemma 3 is the model whose load notes its SWA cache
    result = subprocess.run([sys.executable, "-m", "engine.cli", "chat", "--message", "hi", "--max-steps", "1",
                             "--data-dir", str(tmp_path / "data")],
                            capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert (tmp_path / "data" / "index" / "recall.hnsw").is_file()  # the embedding model was loaded
    for noise in LIBRARY_NOISE:
        assert noise not in result.stderr and noise not in result.stdout, noise


def test_llama_cpp_notes_are_kept_as_info_records_for_verbose_runs(caplog):
    with caplog.at_level(logging.DEBUG, logger="llama.cpp"):
        ModelRuntime(RuntimeSettings(model_path=GEMMA_270M.id, n_ctx=256)).close()
    notes = [r for r in caplog.records if r.name == "llama.cpp" and "using full-size SWA cache" in r.getMessage()]
    assert notes and all(r.levelno == logging.INFO for r in notes)
