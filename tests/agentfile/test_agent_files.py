"""Letta agent files in and out, on real stores and real embeddings; hostile files change nothing."""

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from engine.api import Engine
from engine.context.state import ContextState, ContextStateStore
from engine.errors import AgentFileError, InputError

ROOT = Path(__file__).resolve().parents[2]
LETTA_FILES = Path(__file__).resolve().parent / "letta_files"


@pytest.fixture
def engine(tmp_path, embedder):
    opened = Engine(tmp_path / "data", embedder=embedder)
    yield opened
    opened.close()


def _lived_agent(engine: Engine) -> None:
    """An agent with a conversation in llmos's own stored shape, passages, a window and a summary."""
    engine.create_agent("ada", persona="I am Sam.", human="Name: Ada\nLives in Lisbon.", blocks={"projects": "Kiln"})
    agent_id = engine.agent("ada").id
    start = datetime(2026, 3, 1, 9, 0)
    rows = []
    for i in range(12):
        at = start + timedelta(hours=i)
        rows.append(("user", f"Message {i}: I fired {i} bowls in the kiln today. ünïcode ✓", None, at))
        if i % 4 == 3:
            rows.append(("assistant", json.dumps({"thought": "save it", "function": "archival_memory_insert",
                                                  "arguments": {"content": f"Ada fired {i} bowls"}}), "call", at))
            rows.append(("function", json.dumps({"status": "OK", "id": i}), "archival_memory_insert", at))
        rows.append(("assistant", json.dumps({"thought": "answer", "function": "send_message",
                                              "arguments": {"message": f"Lovely, {i} bowls!"}}), "call", at))
    rows.append(("assistant", '{"function": "send_message", "arguments": {"mess', "call", start + timedelta(days=1)))
    engine.store.recall.append_many(agent_id, rows)
    ids = [m.id for m in engine.history("ada", limit=500)]
    ContextStateStore(engine.store.db).set(agent_id, ContextState(ids[20], "Ada talked about her kiln."))
    engine.insert_passage("Ada's kiln reaches 1280 degrees.", agent="ada", source="notes.md")
    engine.insert_passage("Ada sells her bowls at the Saturday market.", agent="ada")


def _snapshot(engine: Engine, name: str) -> dict:
    agent_id = engine.agent(name).id
    state = ContextStateStore(engine.store.db).get(agent_id)
    messages = engine.history(name, limit=500)
    return {
        "blocks": [(b.label, b.value, b.limit) for b in engine.core_blocks(name)],
        "messages": [(m.role, m.content, m.name, m.created_at) for m in messages],
        "window": len([m for m in messages if m.id >= state.queue_start_id]) if state.queue_start_id else 0,
        "summary": state.summary,
        "passages": [(p.text, p.source, p.created_at) for p in engine.store.archival.all(agent_id)],
    }


def test_export_then_import_gives_the_same_blocks_messages_window_and_passages(engine, tmp_path):
    _lived_agent(engine)
    out = engine.export_agent(tmp_path / "ada.af", agent="ada")
    report = engine.import_agent(out, name="ada-again")
    before, after = _snapshot(engine, "ada"), _snapshot(engine, "ada-again")
    assert len(before["messages"]) == 31 and after["messages"] == before["messages"]
    assert after["blocks"] == before["blocks"]
    assert after["window"] == before["window"] == 11 and after["summary"] == "Ada talked about her kiln."
    assert after["passages"] == before["passages"] and len(after["passages"]) == 2
    assert report.messages == 31 and report.in_context == 11 and report.passages == 2 and not report.skipped
    hits = engine.search("kiln temperature", tier="archival", agent="ada-again")
    assert "1280" in hits.items[0].text  # re-embedded: the imported passages are searchable by meaning


def test_the_export_follows_lettas_layout(engine, tmp_path):
    _lived_agent(engine)
    document = json.loads(engine.export_agent(tmp_path / "ada.af", agent="ada").read_text(encoding="utf-8"))
    assert {"agents", "blocks", "tools", "groups", "files", "sources", "mcp_servers", "metadata",
            "created_at"} <= set(document)
    agent = document["agents"][0]
    assert agent["id"] == "agent-0" and agent["block_ids"] == ["block-0", "block-1", "block-2"]
    assert [b["label"] for b in document["blocks"]] == ["persona", "human", "projects"]
    assert agent["tool_ids"] == [t["id"] for t in document["tools"]] and "send_message" in [t["name"] for t in
                                                                                            document["tools"]]
    messages = agent["messages"]
    assert len(messages) == 31 and messages[0]["id"] == "message-0" and agent["in_context_message_ids"][0] == "message-20"
    save = next(m for m in messages if m["tool_calls"] and m["tool_calls"][0]["function"]["name"] != "send_message")
    answer = messages[messages.index(save) + 1]
    assert answer["role"] == "tool" and answer["tool_call_id"] == save["tool_calls"][0]["id"]
    assert json.loads(save["tool_calls"][0]["function"]["arguments"]) == {"content": "Ada fired 3 bowls"}
    assert agent["llm_config"]["context_window"] > 0 and agent["embedding_config"]["embedding_dim"] == 384
    assert len(document["llmos"]["agents"]["agent-0"]["passages"]) == 2


@pytest.mark.parametrize("name", ["memgpt_agent.af", "customer_service.af", "memgpt_agent_with_convo.af"])
def test_lettas_own_files_import_with_their_blocks_and_a_report(engine, name):
    document = json.loads((LETTA_FILES / name).read_text(encoding="utf-8"))
    if isinstance(document, str):
        document = json.loads(document)
    report = engine.import_agent(LETTA_FILES / name, name="imported")
    blocks = {b.label: (b.value, b.limit) for b in engine.core_blocks("imported")}
    assert blocks == {b["label"]: (b["value"], b["limit"]) for b in document["blocks"]}
    assert sorted(report.tools) == sorted(t["name"] for t in document["tools"])
    assert any("system message" in line for line in report.skipped)
    assert any("never run" in line for line in report.skipped)
    assert engine.stats("imported").messages == report.messages == 0  # these files hold only the system message


def test_a_letta_conversation_keeps_its_turns_calls_results_and_window(engine, tmp_path):
    at = "2025-10-31T22:56:56+00:00"
    text = lambda t: [{"type": "text", "text": t}]  # noqa: E731
    messages = [
        {"id": "message-0", "role": "system", "content": text("You are Sam."), "created_at": at},
        {"id": "message-1", "role": "user", "content": text(json.dumps({"type": "login", "last_login": "never"})),
         "created_at": at},
        {"id": "message-2", "role": "user", "content": text(json.dumps({"type": "user_message", "message": "I am Chad.",
                                                                         "time": at})), "created_at": at},
        {"id": "message-3", "role": "assistant", "content": text("Remember his name."), "created_at": at,
         "tool_calls": [{"id": "call_1", "type": "function", "function": {
             "name": "core_memory_append", "arguments": json.dumps({"label": "human", "content": "Name: Chad"})}}]},
        {"id": "message-4", "role": "tool", "content": text('{"status": "OK"}'), "tool_call_id": "call_1",
         "created_at": at},
        {"id": "message-5", "role": "assistant", "content": None, "created_at": at, "tool_calls": [{
            "id": "call_2", "type": "function", "function": {"name": "send_message",
                                                             "arguments": json.dumps({"message": "Hi Chad!"})}}]},
        {"id": "message-6", "role": "user", "content": "What is my name?", "created_at": at},
        {"id": "message-7", "role": "assistant", "content": text("Your name is Chad."), "created_at": at},
    ]
    document = {"agents": [{"id": "agent-0", "name": "sam", "block_ids": ["block-0"], "tool_ids": [],
                            "messages": messages, "in_context_message_ids": ["message-0", "message-5", "message-6",
                                                                             "message-7"]}],
                "blocks": [{"id": "block-0", "label": "human", "value": "Name: Chad", "limit": 100}], "tools": []}
    path = tmp_path / "sam.af"
    path.write_text(json.dumps(json.dumps(document)), encoding="utf-8")  # encoded twice, as Letta's own are
    report = engine.import_agent(path)
    stored = [(m.role, m.content, m.name) for m in engine.history("sam", limit=50)]
    assert [s[0] for s in stored] == ["user", "assistant", "function", "assistant", "user", "assistant"]
    assert stored[0][1] == "I am Chad." and stored[4][1] == "What is my name?"
    step = json.loads(stored[1][1])
    assert step == {"thought": "Remember his name.", "function": "core_memory_append",
                    "arguments": {"label": "human", "content": "Name: Chad"}}
    assert stored[2] == ("function", '{"status": "OK"}', "core_memory_append")
    assert json.loads(stored[5][1]) == {"function": "send_message", "arguments": {"message": "Your name is Chad."}}
    assert report.in_context == 3 and report.messages == 6
    assert any("login notice" in line for line in report.skipped) and any("system" in line for line in report.skipped)
    assert {b.label for b in engine.core_blocks("sam")} == {"human", "persona"}


def _hostile(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.af"
    base = {"agents": [{"id": "agent-0", "name": "x", "block_ids": ["block-0"], "messages": []}],
            "blocks": [{"id": "block-0", "label": "human", "value": "hi", "limit": 10}], "tools": []}
    if name == "not-json":
        path.write_text("this is not { json", encoding="utf-8")
    elif name == "wrong-types":
        path.write_text(json.dumps({**base, "agents": {"agent-0": "x"}}), encoding="utf-8")
    elif name == "duplicate-ids":
        base["blocks"].append({"id": "block-0", "label": "persona", "value": "p", "limit": 10})
        path.write_text(json.dumps(base), encoding="utf-8")
    elif name == "malformed-id":
        base["blocks"][0]["id"] = "../../etc/passwd"
        path.write_text(json.dumps(base), encoding="utf-8")
    elif name == "missing-block":
        base["agents"][0]["block_ids"] = ["block-7"]
        path.write_text(json.dumps(base), encoding="utf-8")
    elif name == "over-limit":
        base["blocks"][0]["value"] = "x" * 11
        path.write_text(json.dumps(base), encoding="utf-8")
    elif name == "deep":
        path.write_text("[" * 10_000 + "]" * 10_000, encoding="utf-8")
    elif name == "huge":
        with open(path, "wb") as handle:  # 200 MB on disk (sparse): refused before it is read
            handle.truncate(200 * 2**20)
    elif name == "bad-message":
        base["agents"][0]["messages"] = [{"id": "message-0", "role": "user", "content": 5}]
        path.write_text(json.dumps(base), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["not-json", "wrong-types", "duplicate-ids", "malformed-id", "missing-block",
                                  "over-limit", "deep", "huge", "bad-message"])
def test_a_hostile_file_gets_one_clear_error_and_changes_nothing(engine, tmp_path, name):
    engine.agent()
    before = ([a.name for a in engine.agents()], engine.store.db.cursor().execute(
        "SELECT count(*) FROM messages").fetchone()[0])
    with pytest.raises(AgentFileError) as raised:
        engine.import_agent(_hostile(tmp_path, name))
    assert len(str(raised.value).splitlines()) == 1 and len(str(raised.value)) < 300
    after = ([a.name for a in engine.agents()], engine.store.db.cursor().execute(
        "SELECT count(*) FROM messages").fetchone()[0])
    assert after == before


def test_a_name_in_use_is_refused_before_anything_is_written(engine, tmp_path):
    _lived_agent(engine)
    out = engine.export_agent(tmp_path / "ada.af", agent="ada")
    with pytest.raises(InputError, match="already exists"):
        engine.import_agent(out)
    assert sorted(a.name for a in engine.agents()) == ["ada", "default"]


def _llmos(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, env={**os.environ, **env})


def test_a_kill_mid_import_leaves_no_trace(tmp_path, embedder):
    source = Engine(tmp_path / "source", embedder=embedder)
    try:
        _lived_agent(source)
        out = source.export_agent(tmp_path / "ada.af", agent="ada")
    finally:
        source.close()
    data = tmp_path / "data"
    killed = _llmos("agent", "import", "--data-dir", str(data), str(out), LLMOS_CRASH_AT="agent_import:1")
    assert killed.returncode == -9  # a real SIGKILL inside the import's transaction
    done = _llmos("agent", "import", "--data-dir", str(data), str(out))
    assert done.returncode == 0, done.stderr
    assert "imported 'ada': 3 core blocks, 31 messages (11 in the window), 2 passages" in done.stdout
    engine = Engine(data, embedder=embedder)
    try:
        assert sorted(a.name for a in engine.agents()) == ["ada", "default"]
        assert engine.stats("ada").messages == 31 and engine.stats("ada").passages == 2
    finally:
        engine.close()


def test_the_cli_exports_and_reports_an_import(tmp_path):
    data = tmp_path / "data"
    imported = _llmos("agent", "import", "--data-dir", str(data), "--json", str(LETTA_FILES / "customer_service.af"))
    assert imported.returncode == 0, imported.stderr
    report = json.loads(imported.stdout)
    assert report["agent"] == "customer_service" and "cancel_order" in report["tools"]
    exported = _llmos("agent", "export", "--data-dir", str(data), "customer_service", str(tmp_path / "cs.af"))
    assert exported.returncode == 0 and (tmp_path / "cs.af").is_file()
    bad = _llmos("agent", "import", "--data-dir", str(data), str(tmp_path / "missing.af"))
    assert bad.returncode == 2 and bad.stderr.startswith("llmos: cannot read") and "Traceback" not in bad.stderr
