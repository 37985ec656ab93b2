"""Fixtures for the reliability suite: engines on the real model, a real tiny filesystem, the CLI."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.agent.conftest import FAST_TURNS, SMALL_WINDOW, make_engine  # noqa: F401  (shared engine fixture)

REPO = Path(__file__).resolve().parents[2]


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
