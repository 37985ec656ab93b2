"""``llmos chat --server URL``: a turn generated on a real inference server, from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from engine.api import Engine
from tests.remote.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def llmos(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, env={**os.environ, **(env or {})})


def test_chat_with_a_server_answers_one_message_as_json(inference_server, tmp_path):
    result = llmos("chat", "--server", inference_server.url, "--message", "Hello! Who are you?", "--json",
                   "--max-steps", "1", "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["reply"] and report["steps"][0]["function"] == "send_message"
    assert "Traceback" not in result.stderr


def test_chat_with_a_server_that_is_down_says_so_in_one_line_and_keeps_the_message(inference_server, tmp_path):
    data = str(tmp_path / "data")
    down = f"http://127.0.0.1:{free_port()}"
    result = llmos("chat", "--server", down, "--message", "Are you there?", "--data-dir", data)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("llmos: nothing answers at") and "message is saved" in lines[0]

    retried = llmos("chat", "--server", inference_server.url, "--retry", "--json", "--max-steps", "1",
                    "--data-dir", data)
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout)["reply"]
    engine = Engine(Path(data))
    try:
        assert [(m.role, m.content) for m in engine.history()][0] == ("user", "Are you there?")
        assert [m.role for m in engine.history()].count("user") == 1
    finally:
        engine.close()


def test_chat_with_a_key_variable_that_is_unset_is_refused_before_anything_is_sent(inference_server, tmp_path):
    result = llmos("chat", "--server", inference_server.url, "--api-key-env", "LLMOS_NO_SUCH_KEY_VAR",
                   "--message", "hi", "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2
    assert "LLMOS_NO_SUCH_KEY_VAR is not set" in result.stderr and "Traceback" not in result.stderr
