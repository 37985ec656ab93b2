"""``llmos chat --message TEXT --json``: one JSON object that says what the turn did and cost."""

import json
import os
import subprocess
import sys


def _chat(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine.cli", "chat", *args, "--data-dir", str(tmp_path / "data"),
                           "--max-steps", "2", "--summaries", "extractive"],
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, LLMOS_CACHE_DIR=str(tmp_path / "cache")))


def test_one_turn_prints_its_reply_steps_context_and_time_as_one_object(tmp_path):
    result = _chat(tmp_path, "--message", "Hello! My name is Ada.", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["reply"].strip()
    assert report["steps"] and all({"function", "arguments", "ok", "result"} <= set(s) or s["function"] == "send_message"
                                   for s in report["steps"])
    context = report["context"]
    assert context["evaluated_tokens"] + context["reused_tokens"] >= context["total_tokens"]  # + the generation prompt
    assert context["evaluated_tokens"] > 0 and context["prompt_ms"] > 0
    assert report["seconds"] > 0

    again = json.loads(_chat(tmp_path, "--message", "What is my name?", "--json").stdout)
    assert again["context"]["reused_tokens"] > again["context"]["evaluated_tokens"]


def test_json_without_a_message_is_a_one_line_error(tmp_path):
    result = _chat(tmp_path, "--json")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "--json needs --message" in result.stderr
