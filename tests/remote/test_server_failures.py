"""A server that is down, killed mid-reply, silent, failing or refusing the key: one clear line,
the user's message kept, and a retry that answers it once the server is back."""

from __future__ import annotations

import socket
import threading
from dataclasses import replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.agent.settings import AgentSettings
from engine.api import Engine
from engine.errors import (InferenceServerError, InputError, ServerAuthError, ServerReplyError, ServerTimeoutError,
                           ServerUnreachableError, ServerUrlError)
from engine.events import DoneEvent, TokenEvent
from engine.runtime.remote import RemoteModelRuntime
from engine.runtime.settings import RuntimeSettings
from tests.remote.conftest import free_port, remote_settings

ONE_STEP = replace(AgentSettings(), max_steps=1, max_message_chars=200, reply_reserve_tokens=200)
WHEN = datetime(2025, 3, 14, 9, 30)


def _one_line(error: Exception) -> str:
    text = str(error)
    assert "\n" not in text and "Traceback" not in text and len(text) < 400
    return text


def _user_messages(engine: Engine) -> list[str]:
    return [m.content for m in engine.history() if m.role == "user"]


def test_a_server_killed_mid_reply_keeps_the_message_and_a_retry_answers_it(own_server, tmp_path, embedder):
    server = own_server()
    engine = Engine(tmp_path / "data", remote_settings(server), cache_dir=tmp_path / "cache",
                    agent_settings=ONE_STEP, embedder=embedder)
    try:
        seen = []
        with pytest.raises(ServerUnreachableError) as failure:
            for event in engine.send("Tell me a long story about a lighthouse keeper and the sea.", created_at=WHEN):
                seen.append(event)
                if isinstance(event, TokenEvent):
                    server.kill()  # mid-reply: the first words have arrived
        assert any(isinstance(e, TokenEvent) for e in seen)
        assert not any(isinstance(e, DoneEvent) for e in seen)
        line = _one_line(failure.value)
        assert "broke off" in line and "message is saved" in line
        assert _user_messages(engine) == ["Tell me a long story about a lighthouse keeper and the sea."]
        assert [m.role for m in engine.history()] == ["user"]  # no half reply stored

        server.restart()
        done = list(engine.retry())[-1]
        assert isinstance(done, DoneEvent) and done.reply
        assert _user_messages(engine) == ["Tell me a long story about a lighthouse keeper and the sea."]
        assert engine.history()[0].role == "user" and engine.history()[-1].role == "assistant"
    finally:
        engine.close()


def test_a_message_sent_while_the_server_is_down_is_kept_and_answered_by_a_retry(own_server, tmp_path, embedder):
    port = free_port()
    settings = RuntimeSettings(server_url=f"http://127.0.0.1:{port}", n_ctx=2048)
    engine = Engine(tmp_path / "data", settings, cache_dir=tmp_path / "cache", agent_settings=ONE_STEP,
                    embedder=embedder)
    try:
        with pytest.raises(ServerUnreachableError) as failure:
            list(engine.send("Are you there?"))
        line = _one_line(failure.value)
        assert f"127.0.0.1:{port}" in line and "is the inference server running" in line
        assert _user_messages(engine) == ["Are you there?"]

        server = own_server()
        engine.reconfigure(remote_settings(server))
        done = list(engine.retry())[-1]
        assert isinstance(done, DoneEvent) and done.reply
        assert _user_messages(engine) == ["Are you there?"]
    finally:
        engine.close()


def test_retry_with_no_message_is_refused(inference_server, tmp_path, embedder):
    engine = Engine(tmp_path / "data", remote_settings(inference_server), cache_dir=tmp_path / "cache",
                    embedder=embedder)
    try:
        with pytest.raises(InputError):
            list(engine.retry())
    finally:
        engine.close()


def test_a_wrong_key_is_refused_with_a_clear_error_and_the_right_one_works(own_server, monkeypatch):
    server = own_server(api_key="s3cret-key")
    monkeypatch.setenv("LLMOS_TEST_SERVER_KEY", "wrong-key")
    with pytest.raises(ServerAuthError) as failure:
        RemoteModelRuntime(remote_settings(server, api_key_env="LLMOS_TEST_SERVER_KEY"))
    line = _one_line(failure.value)
    assert "refused the API key" in line and "wrong-key" not in line and "s3cret" not in line

    monkeypatch.delenv("LLMOS_TEST_SERVER_KEY")
    with pytest.raises(ServerAuthError, match="none was sent"):
        RemoteModelRuntime(remote_settings(server))
    with pytest.raises(InputError, match="LLMOS_TEST_SERVER_KEY is not set"):
        RemoteModelRuntime(remote_settings(server, api_key_env="LLMOS_TEST_SERVER_KEY"))

    monkeypatch.setenv("LLMOS_TEST_SERVER_KEY", "s3cret-key")
    runtime = RemoteModelRuntime(remote_settings(server, api_key_env="LLMOS_TEST_SERVER_KEY"))
    try:
        assert runtime.count_tokens("hello there") > 0
    finally:
        runtime.close()


def test_a_server_that_accepts_but_never_answers_times_out():
    with socket.socket() as listener:  # a real socket that takes connections and says nothing
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(ServerTimeoutError) as failure:
            RemoteModelRuntime(RuntimeSettings(server_url=url, server_timeout_s=0.5))
    line = _one_line(failure.value)
    assert "0.5 s" in line


class _Failing(BaseHTTPRequestHandler):
    """Stands in for an inference server that fails (a 503 from an overloaded or broken one)."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = b'{"error": {"message": "model is loading"}}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_a_5xx_from_the_server_is_one_line_with_its_reason():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(ServerReplyError) as failure:
            RemoteModelRuntime(RuntimeSettings(server_url=f"http://127.0.0.1:{httpd.server_port}"))
    finally:
        httpd.shutdown()
        httpd.server_close()
    line = _one_line(failure.value)
    assert "503" in line and "model is loading" in line


@pytest.mark.parametrize("url", ["localhost:8080", "ftp://127.0.0.1:8080", "http://"])
def test_an_address_that_is_not_a_server_url_is_refused(url):
    with pytest.raises(ServerUrlError):
        RemoteModelRuntime(RuntimeSettings(server_url=url))


def test_every_server_error_is_an_llmos_error():
    from engine.errors import LlmosError

    for error in (ServerUrlError, ServerUnreachableError, ServerAuthError, ServerTimeoutError, ServerReplyError):
        assert issubclass(error, InferenceServerError) and issubclass(error, LlmosError)
