"""A real ``llama_cpp.server`` (llama-cpp-python's OpenAI-compatible server) on loopback, running the
small test model, for the engine to generate on as it would on llama-server or vLLM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_MODEL

N_CTX = 2048
START_TIMEOUT_S = 180


def model_file() -> Path:
    """The test model's GGUF, assembled from its wheel parts on first use."""
    from engine.runtime.embedded_models import embedded_model
    from engine.runtime.model_file import ensure_embedded_model

    return ensure_embedded_model(model=embedded_model(TEST_MODEL))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class InferenceServer:
    """One ``python -m llama_cpp.server`` process; ``restart`` brings it back on the same port."""

    port: int
    api_key: str | None = None
    log_path: Path | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "InferenceServer":
        command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_file()), "--host", "127.0.0.1",
                   "--port", str(self.port), "--n_ctx", str(N_CTX), "--n_threads", "1"]
        if self.api_key:
            command += ["--api_key", self.api_key]
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"llama_cpp.server exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/v1/models", headers=headers, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise AssertionError("llama_cpp.server did not start in time")

    def kill(self) -> None:
        """SIGKILL: the server is gone at once, mid-reply if it was replying."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> "InferenceServer":
        self.kill()
        return self.start()


@pytest.fixture(scope="module")
def inference_server(tmp_path_factory):
    server = InferenceServer(free_port(), log_path=tmp_path_factory.mktemp("server") / "server.log").start()
    yield server
    server.stop()


@pytest.fixture
def own_server(tmp_path):
    """A server of the test's own (to kill, or to start with a key)."""
    servers = []

    def start(api_key: str | None = None) -> InferenceServer:
        servers.append(InferenceServer(free_port(), api_key, tmp_path / "server.log").start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def remote_settings(server: InferenceServer, **changes):
    from engine.runtime.settings import RuntimeSettings

    return RuntimeSettings(server_url=server.url, n_ctx=N_CTX, **changes)
