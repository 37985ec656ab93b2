"""A real ``llmos serve`` process on loopback, on the small test model, and clients for it."""

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    process: subprocess.Popen
    base_url: str
    token: str
    data_dir: Path

    def client(self, **options):
        from openai import OpenAI

        return OpenAI(base_url=self.base_url, api_key=self.token, max_retries=0, timeout=300, **options)

    def stop(self) -> int:
        """Stop as Ctrl-C does; the data folder is free again afterwards."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def llmos(*args: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, **options)


def start_server(data_dir: Path, *extra: str) -> Served:
    """Start ``llmos serve --port 0`` and wait for the line that names its address."""
    process = subprocess.Popen([sys.executable, "-m", "engine.cli", "serve", "--data-dir", str(data_dir),
                                "--port", "0", "--n-ctx", "2048", "--max-steps", "2", *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line = process.stdout.readline()
    if not line.startswith("llmos serve: http://"):
        process.kill()
        raise AssertionError(f"the server did not start: {line!r} {process.stderr.read()[-2000:]}")
    base_url = line.split()[2]
    token = llmos("serve", "--data-dir", str(data_dir), "--show-token").stdout.strip()
    return Served(process, base_url, token, data_dir)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("served") / "data")
    yield server
    server.stop()


@pytest.fixture
def fresh_server(tmp_path):
    """A server of the test's own, for checks that read the data folder after it stops."""
    servers = []

    def start(*extra: str) -> Served:
        servers.append(start_server(tmp_path / "data", *extra))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()
