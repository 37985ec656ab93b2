"""``llmos serve`` through the official ``openai`` client (and httpx for what it cannot send)."""

import json
import math
import threading

import httpx
import openai
import pytest

from tests.server.conftest import llmos


def _stored(served, agent: str = "default") -> dict:
    """The agent's entry in /v1/models: its extension counts what is stored."""
    models = served.client().models.list()
    return next(m for m in models.data if m.id == agent).model_extra["llmos"]


def test_the_agents_are_the_models(served):
    models = served.client().models.list()
    assert [m.id for m in models.data] == ["default"]
    assert models.data[0].owned_by == "llmos"
    assert models.data[0].model_extra["llmos"]["model"]


def test_a_plain_chat_answers_with_usage_and_the_memory_steps_apart(served):
    before = _stored(served)["messages"]
    response = served.client().chat.completions.create(
        model="default", messages=[{"role": "user", "content": "Hello! My cat is called Miso."}])
    reply = response.choices[0].message.content
    assert isinstance(reply, str) and reply.strip()
    assert response.choices[0].finish_reason in ("stop", "length")
    assert response.usage.prompt_tokens > 200 and response.usage.completion_tokens > 0
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens
    extension = response.model_extra["llmos"]
    assert extension["agent"] == "default" and isinstance(extension["steps"], list)
    assert '"function"' not in reply  # calls never leak into the reply text
    assert _stored(served)["messages"] > before + 1  # the user's message and the agent's call at least


def test_a_streamed_chat_arrives_in_chunks_and_ends_with_usage(served):
    stream = served.client().chat.completions.create(
        model="default", messages=[{"role": "user", "content": "Tell me something about the sea."}],
        stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    finishing = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finishing) == 1 and finishing[0].choices[0].finish_reason in ("stop", "length")
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_an_unknown_agent_is_a_404_and_stores_nothing(served):
    before = _stored(served)["messages"]
    with pytest.raises(openai.NotFoundError) as raised:
        served.client().chat.completions.create(model="nobody", messages=[{"role": "user", "content": "hi"}])
    assert "nobody" in str(raised.value)
    assert _stored(served)["messages"] == before


def test_a_wrong_or_missing_token_is_refused(served):
    client = served.client()
    client.api_key = "llmos-not-the-token"
    with pytest.raises(openai.AuthenticationError):
        client.models.list()
    bare = httpx.get(served.base_url + "/models")
    assert bare.status_code == 401 and bare.json()["error"]["code"] == "invalid_api_key"


def test_a_foreign_host_header_is_refused_even_with_the_token(served):
    response = httpx.get(served.base_url + "/models", headers={"Authorization": f"Bearer {served.token}",
                                                               "Host": "attacker.example:8747"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "host_not_allowed"
    ok = httpx.get(served.base_url + "/models", headers={"Authorization": f"Bearer {served.token}",
                                                         "Host": "localhost:8747"})
    assert ok.status_code == 200


def test_cors_is_off_unless_origins_are_named(served):
    origin = {"Origin": "http://app.example", "Authorization": f"Bearer {served.token}"}
    plain = httpx.get(served.base_url + "/models", headers=origin)
    assert plain.status_code == 200 and "access-control-allow-origin" not in plain.headers
    preflight = httpx.options(served.base_url + "/chat/completions", headers={
        "Origin": "http://app.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers


@pytest.mark.parametrize("body, status", [
    (b"{not json", 400),
    (b"\xff\xfe not utf-8", 400),
    (json.dumps({"model": "default", "messages": "hi"}).encode(), 400),
    (json.dumps({"model": "default", "messages": [{"role": "user", "content": 7}]}).encode(), 400),
    (json.dumps({"model": "default", "messages": [{"role": "wizard", "content": "hi"}]}).encode(), 400),
    (json.dumps({"model": "default", "messages": [{"role": "user", "content": "hi"}], "stream": "yes"}).encode(), 400),
    (json.dumps({"model": "default", "messages": [{"role": "user", "content": "   "}]}).encode(), 400),
    (json.dumps({"model": 5, "messages": [{"role": "user", "content": "hi"}]}).encode(), 400),
    (b"[" * 10_000 + b"]" * 10_000, 400),
    (json.dumps({"model": "default", "messages": [{"role": "user", "content": "x" * 10_000_000}]}).encode(), 413),
])
def test_a_malformed_body_gets_a_clear_4xx_and_changes_nothing(served, body, status):
    before = _stored(served)["messages"]
    response = httpx.post(served.base_url + "/chat/completions", content=body, timeout=120,
                          headers={"Authorization": f"Bearer {served.token}", "Content-Type": "application/json"})
    assert response.status_code == status, response.text[:300]
    error = response.json()["error"]
    assert error["message"] and error["type"] == "invalid_request_error"
    assert _stored(served)["messages"] == before


def test_embeddings_are_the_memory_models_vectors_in_both_encodings(served):
    client = served.client()
    result = client.embeddings.create(model="all-MiniLM-L6-v2", input=["a red apple", "a green pear"])
    vectors = [d.embedding for d in result.data]
    assert [len(v) for v in vectors] == [384, 384]
    assert all(abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-3 for v in vectors)
    assert result.usage.prompt_tokens > 4
    plain = httpx.post(served.base_url + "/embeddings", json={"model": "all-MiniLM-L6-v2", "input": "a red apple",
                                                             "encoding_format": "float"},
                       headers={"Authorization": f"Bearer {served.token}"}).json()
    assert plain["data"][0]["embedding"] == pytest.approx(vectors[0], abs=1e-6)
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="text-embedding-3-small", input="x")


def test_ten_concurrent_clients_each_get_their_answer(served):
    before = _stored(served)["messages"]
    replies, errors = {}, []

    def ask(i: int) -> None:
        try:
            response = served.client().chat.completions.create(
                model="default", messages=[{"role": "user", "content": f"Client {i} says hello."}])
            replies[i] = response.choices[0].message.content
        except Exception as exc:  # collected: the assertion below names it
            errors.append(repr(exc))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not errors and sorted(replies) == list(range(10))
    assert all(isinstance(r, str) and r.strip() for r in replies.values())
    assert _stored(served)["messages"] >= before + 20


def test_serving_beyond_loopback_needs_an_explicit_flag(tmp_path):
    result = llmos("serve", "--data-dir", str(tmp_path / "data"), "--host", "0.0.0.0", "--port", "0")
    assert result.returncode == 2
    assert "--allow-remote" in result.stderr


def test_the_token_is_made_once_and_kept_for_its_owner_only(tmp_path):
    first = llmos("serve", "--data-dir", str(tmp_path / "data"), "--show-token").stdout.strip()
    second = llmos("serve", "--data-dir", str(tmp_path / "data"), "--show-token").stdout.strip()
    assert first == second and first.startswith("llmos-") and len(first) > 30
    assert (tmp_path / "data" / "server-token").stat().st_mode & 0o077 == 0
