"""What the server stores, read back from the data folder once the server has stopped."""

import json

import httpx

from engine.api import Engine


def _user_messages(data_dir) -> list[str]:
    engine = Engine(data_dir)
    try:
        return [m.content for m in engine.history(limit=500) if m.role == "user"]
    finally:
        engine.close()


def test_a_client_sending_its_whole_history_has_only_its_new_messages_stored(fresh_server):
    served = fresh_server()
    client = served.client()
    first = client.chat.completions.create(model="default", messages=[{"role": "user", "content": "I live in Porto."}])
    client.chat.completions.create(model="default", messages=[
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "I live in Porto."},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "I also have a dog."},
        {"role": "user", "content": "Where do I live?"}])
    assert served.stop() == 0
    assert _user_messages(served.data_dir) == ["I live in Porto.", "I also have a dog.", "Where do I live?"]


def test_a_client_that_hangs_up_mid_stream_stops_the_reply_and_loses_nothing(fresh_server):
    served = fresh_server()
    ask = "Please write a very long story about a lighthouse keeper and his three cats."
    headers = {"Authorization": f"Bearer {served.token}"}
    with httpx.stream("POST", served.base_url + "/chat/completions", headers=headers, timeout=120,
                      json={"model": "default", "stream": True, "messages": [{"role": "user", "content": ask}]}) as reply:
        assert reply.status_code == 200
        next(reply.iter_lines())  # the first chunk, then hang up
    after = served.client().chat.completions.create(model="default",
                                                    messages=[{"role": "user", "content": "Are you there?"}])
    assert after.choices[0].message.content.strip()
    assert served.stop() == 0
    engine = Engine(served.data_dir)
    try:
        history = engine.history(limit=500)
    finally:
        engine.close()
    users = [m.content for m in history if m.role == "user"]
    assert users == [ask, "Are you there?"]
    asked_at = next(i for i, m in enumerate(history) if m.content == ask)
    cut_off = [m.content for m in history[asked_at + 1:] if m.role == "assistant"][0]
    try:
        json.loads(cut_off)
        finished = True
    except ValueError:
        finished = False
    assert not finished, f"the reply to the hung-up request ran to its end: {cut_off[:200]!r}"


def test_named_cors_origins_are_allowed_and_remote_binding_still_needs_the_token(fresh_server):
    origin = {"Origin": "http://app.example"}
    remote = fresh_server("--host", "0.0.0.0", "--allow-remote", "--cors-origin", "http://app.example")
    url = remote.base_url.replace("0.0.0.0", "127.0.0.1")
    preflight = httpx.options(url + "/chat/completions", headers={
        **origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"})
    assert preflight.headers.get("access-control-allow-origin") == "http://app.example"
    assert httpx.get(url + "/models", headers=origin).status_code == 401
    allowed = httpx.get(url + "/models", headers={**origin, "Authorization": f"Bearer {remote.token}"})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "http://app.example"
