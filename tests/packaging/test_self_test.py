"""``llmos-desktop --self-test`` from the source tree: one real turn on the embedded model, no display."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run_self_test(*extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return subprocess.run([sys.executable, "-m", "desktop.app", "--self-test", *extra], capture_output=True,
                          text=True, timeout=600, cwd=ROOT, env=env)


def test_self_test_runs_a_full_memory_turn_and_exits_zero():
    result = _run_self_test()
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "llmos self-test"
    for step in ("load model", "archival insert", "turn:", "archival search", "recall search"):
        assert any(step in line for line in lines), step
    assert "1 hit" in next(line for line in lines if "archival search" in line)
    assert "platform xcb:" in next(line for line in lines if "desktop platform:" in line)
    assert next(line for line in lines if line.strip().startswith("window:")).endswith("skipped: no display")
    assert lines[-1].startswith("OK")


def test_self_test_fails_with_one_clear_line_on_a_model_that_is_not_gguf(tmp_path):
    bogus = tmp_path / "not-a-model.gguf"
    bogus.write_text("hello")
    result = _run_self_test("--model", str(bogus))
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1].startswith("FAILED: SelfTestFailure: load model:")
    assert "Traceback" not in result.stdout + result.stderr
