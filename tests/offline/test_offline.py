"""llmos never touches the network: a full turn with sockets made to fail, and the CLI in a
network namespace without any network."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.offline import OFFLINE_SWITCHES

ROOT = Path(__file__).resolve().parents[2]


def _clean_env() -> dict[str, str]:
    """The environment without any offline switch, so the app has to set them itself."""
    return {k: v for k, v in os.environ.items() if k not in OFFLINE_SWITCHES}


def test_a_full_turn_with_archival_memory_attempts_no_network_call():
    result = subprocess.run([sys.executable, str(Path(__file__).with_name("no_network_turn.py"))],
                            capture_output=True, text=True, timeout=600, cwd=ROOT, env=_clean_env())
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["done"] and report["archival_hits"] >= 1
    assert report["attempts"] == []


def test_importing_the_engine_sets_every_offline_switch():
    code = "import os, engine.api; print(','.join(k for k in %r if os.environ.get(k) != %r[k]))" % (
        list(OFFLINE_SWITCHES), OFFLINE_SWITCHES)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env=_clean_env(), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def _can_unshare_network() -> bool:
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_unshare_network(), reason="no permission for a network namespace here")
def test_cli_chat_works_in_a_namespace_without_network(tmp_path):
    result = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "engine.cli", "chat", "--message", "Hi, I am Ada.",
         "--data-dir", str(tmp_path / "data"), "--n-ctx", "1024"],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env=_clean_env())
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip()
