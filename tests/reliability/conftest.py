"""Fixtures for the reliability suite: engines on the real model, a real tiny filesystem, the CLI."""

import subprocess
import sys
from pathlib import Path

import pytest

from engine.agent.settings import AgentSettings
from engine.api import Engine
from engine.runtime.model import GREEDY
from engine.runtime.settings import RuntimeSettings

SMALL_WINDOW = RuntimeSettings(n_ctx=1024, seed=3)
FAST_TURNS = AgentSettings(max_steps=2, max_message_chars=80, reply_reserve_tokens=128,
                           summarise_with_model=False, sampling=GREEDY)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def make_engine(tmp_path, embedder):
    opened = []

    def make(data_dir: Path | None = None, agent_settings: AgentSettings = FAST_TURNS) -> Engine:
        engine = Engine(data_dir or tmp_path / "data", SMALL_WINDOW, cache_dir=tmp_path / "cache",
                        agent_settings=agent_settings, embedder=embedder)
        opened.append(engine)
        return engine

    yield make
    for engine in opened:
        try:
            engine.close()
        except Exception:
            pass


def llmos(*args: str, stdin: bytes | None = None, env: dict | None = None, prefix: tuple[str, ...] = (),
          timeout: int = 300) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess; output as text (invalid bytes replaced)."""
    result = subprocess.run([*prefix, sys.executable, "-m", "engine.cli", *args], input=stdin, cwd=REPO,
                            capture_output=True, timeout=timeout, env=env)
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode("utf-8", "replace"),
                                       result.stderr.decode("utf-8", "replace"))


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("llmos:")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 4 MB tmpfs (needs root and mount rights; skipped where a mount is refused)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path) -> Path:
    """Fill ``disk`` to the last byte with one file; delete it to free the space."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        try:
            while out.write(b"\0" * 65536):
                pass
        except OSError:
            pass
    return filler
