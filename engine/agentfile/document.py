"""A Letta agent file read into what llmos will store, checked whole before anything is written.

Letta's layout: top-level ``agents``, ``blocks``, ``tools`` (and ``groups``, ``files``, ``sources``,
``mcp_servers``, ``metadata``, ``created_at``); ids are local to the file (``agent-0``,
``block-0``, ``message-0``) and agents refer to blocks and tools by them. Some files hold the
document as a JSON string (encoded twice). llmos's own passages and exact message texts travel
in the ``llmos`` extension field, which Letta ignores.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from engine.agentfile.letta_messages import Converted, from_letta_message
from engine.errors import AgentFileError

MAX_FILE_BYTES = 128 * 2**20
EXTENSION = "llmos"
_LOCAL_ID = re.compile(r"^[a-z][a-z_]*-[0-9A-Za-z_-]+$")


@dataclass(frozen=True)
class StoredMessage:
    role: str
    content: str
    name: str | None
    created_at: datetime | None


@dataclass(frozen=True)
class ImportPlan:
    """One agent as llmos will store it, and what of the file it leaves out and why."""

    name: str
    blocks: list[tuple[str, str, int]]
    messages: list[StoredMessage]
    queue_start: int | None  # index in ``messages`` of the first in-context one
    summary: str
    passages: list[tuple[str, datetime | None, str | None]]
    tools: list[str]
    skipped: list[str] = field(default_factory=list)


def read_document(path: Path) -> dict:
    """The file's JSON document; one clear error for a file too big, not JSON or too deep."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AgentFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size > MAX_FILE_BYTES:
        raise AgentFileError(f"{path.name} is {size / 2**20:.0f} MB; agent files over "
                             f"{MAX_FILE_BYTES // 2**20} MB are refused")
    raw = path.read_bytes()
    document = _json(raw, path.name)
    if isinstance(document, str):  # JSON encoded twice: a string that holds the document
        document = _json(document.encode("utf-8", errors="replace"), path.name)
    if not isinstance(document, dict):
        raise AgentFileError(f"{path.name} is not an agent file: its JSON is a {type(document).__name__}, not an object")
    return document


def plan_import(document: dict, name: str | None = None) -> ImportPlan:
    """The file's (first) agent, checked: types, ids, references and block limits."""
    agents = _list(document, "agents", "the file")
    if not agents:
        raise AgentFileError("the file holds no agent")
    ids = _unique_ids(document)
    agent = _object(agents[0], "agents[0]")
    skipped = [f"{len(agents) - 1} further agent(s): one agent is imported per file"] if len(agents) > 1 else []
    blocks = _blocks(document, agent, ids)
    tools, foreign = _tools(document, agent, ids)
    if foreign:
        skipped.append(f"tools {', '.join(foreign)}: listed, their Python source never run")
    messages, queue_start, message_skips = _messages(agent)
    skipped += message_skips
    extension = document.get(EXTENSION) if isinstance(document.get(EXTENSION), dict) else {}
    own = extension.get("agents", {}).get(agent.get("id")) if isinstance(extension.get("agents"), dict) else None
    summary, passages = "", []
    if isinstance(own, dict):
        messages, queue_start = _own_messages(own, messages, queue_start)
        summary = _string(own.get("summary", ""), "llmos.summary")
        passages = _passages(own.get("passages", []))
    for key in ("groups", "files", "sources", "mcp_servers"):
        if document.get(key):
            skipped.append(f"{key}: llmos has no such thing")
    chosen = (name or _string(agent.get("name", ""), "agents[0].name")).strip()
    if not chosen:
        raise AgentFileError("the agent has no name: give one with --name")
    return ImportPlan(chosen, blocks, messages, queue_start, summary, passages, tools, skipped)


def _json(raw: bytes, label: str):
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise AgentFileError(f"{label} is not UTF-8 text") from None
    except RecursionError:
        raise AgentFileError(f"{label} nests too deeply to be an agent file") from None
    except ValueError as exc:
        raise AgentFileError(f"{label} is not JSON ({exc})") from None


def _unique_ids(document: dict) -> set[str]:
    """Every file-local id, each once and well formed."""
    seen: set[str] = set()
    for key in ("agents", "blocks", "tools"):
        for i, item in enumerate(_list(document, key, "the file")):
            item = _object(item, f"{key}[{i}]")
            local = item.get("id")
            if not isinstance(local, str) or not _LOCAL_ID.match(local):
                raise AgentFileError(f"{key}[{i}].id is malformed: {str(local)[:60]!r}")
            if local in seen:
                raise AgentFileError(f"the id {local!r} appears twice")
            seen.add(local)
    messages = _list(_object(document["agents"][0], "agents[0]"), "messages", "agents[0]") if document.get("agents") else []
    message_ids: set[str] = set()
    for i, message in enumerate(messages):
        local = _object(message, f"agents[0].messages[{i}]").get("id")
        if local is None:
            continue
        if not isinstance(local, str) or not _LOCAL_ID.match(local):
            raise AgentFileError(f"agents[0].messages[{i}].id is malformed: {str(local)[:60]!r}")
        if local in message_ids or local in seen:
            raise AgentFileError(f"the id {local!r} appears twice")
        message_ids.add(local)
    return seen


def _blocks(document: dict, agent: dict, ids: set[str]) -> list[tuple[str, str, int]]:
    by_id = {b["id"]: b for b in document.get("blocks", [])}
    wanted = _list(agent, "block_ids", "agents[0]") if "block_ids" in agent else list(by_id)
    blocks, labels = [], set()
    for i, block_id in enumerate(wanted):
        if block_id not in by_id:
            raise AgentFileError(f"agents[0].block_ids[{i}] names {str(block_id)[:60]!r}, which the file lacks")
        block = by_id[block_id]
        where = f"block {block_id}"
        label = _string(block.get("label"), f"{where}.label").strip()
        value = _string(block.get("value", ""), f"{where}.value")
        limit = block.get("limit", max(2000, len(value)))
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise AgentFileError(f"{where}.limit must be a positive whole number")
        if len(value) > limit:
            raise AgentFileError(f"{where} ({label!r}) holds {len(value)} characters, over its limit of {limit}")
        if not label or label in labels:
            raise AgentFileError(f"{where} has an empty or repeated label {label!r}")
        labels.add(label)
        blocks.append((label, value, limit))
    return blocks


def _tools(document: dict, agent: dict, ids: set[str]) -> tuple[list[str], list[str]]:
    """Every tool's name, and those that are not llmos's own memory functions."""
    by_id = {t["id"]: t for t in document.get("tools", [])}
    names, foreign = [], []
    for i, tool_id in enumerate(_list(agent, "tool_ids", "agents[0]") if "tool_ids" in agent else list(by_id)):
        if tool_id not in by_id:
            raise AgentFileError(f"agents[0].tool_ids[{i}] names {str(tool_id)[:60]!r}, which the file lacks")
        tool = by_id[tool_id]
        names.append(_string(tool.get("name", tool_id), f"tool {tool_id}.name"))
        if "llmos" not in (tool.get("tags") or []):
            foreign.append(names[-1])
    return names, foreign


def _messages(agent: dict) -> tuple[list[StoredMessage], int | None, list[str]]:
    messages: list[StoredMessage] = []
    local_ids: dict[str, int] = {}
    skipped: dict[str, int] = {}
    call_names: dict[str, str] = {}
    for i, raw in enumerate(_list(agent, "messages", "agents[0]")):
        converted: Converted = from_letta_message(_object(raw, f"agents[0].messages[{i}]"), f"agents[0].messages[{i}]",
                                                  call_names)
        if converted.skipped:
            skipped[converted.skipped] = skipped.get(converted.skipped, 0) + 1
        if converted.messages and isinstance(raw.get("id"), str):
            local_ids[raw["id"]] = len(messages)
        messages += [StoredMessage(*m) for m in converted.messages]
    context = _list(agent, "in_context_message_ids", "agents[0]") if "in_context_message_ids" in agent else []
    starts = [local_ids[c] for c in context if isinstance(c, str) and c in local_ids]
    notes = [f"{count} {why}" for why, count in skipped.items()]
    return messages, (min(starts) if starts else None), notes


def _own_messages(own: dict, messages: list[StoredMessage], queue_start: int | None):
    """llmos's exact stored messages, when the file came from llmos and still matches them."""
    exact = own.get("messages")
    if not isinstance(exact, list) or len(exact) != len(messages):
        return messages, queue_start
    rebuilt = []
    for i, item in enumerate(exact):
        item = _object(item, f"llmos.messages[{i}]")
        role = item.get("role")
        if role not in ("user", "assistant", "system", "function"):
            raise AgentFileError(f"llmos.messages[{i}].role is not a message role")
        rebuilt.append(StoredMessage(role, _string(item.get("content"), f"llmos.messages[{i}].content"),
                                     item.get("name") if isinstance(item.get("name"), str) else None,
                                     messages[i].created_at))
    start = own.get("queue_start")
    if isinstance(start, int) and not isinstance(start, bool) and 0 <= start < len(rebuilt):
        queue_start = start
    return rebuilt, queue_start


def _passages(items) -> list[tuple[str, datetime | None, str | None]]:
    if not isinstance(items, list):
        raise AgentFileError("llmos.passages must be a list")
    out = []
    for i, item in enumerate(items):
        item = _object(item, f"llmos.passages[{i}]")
        text = _string(item.get("text"), f"llmos.passages[{i}].text")
        if text.strip():
            source = item.get("source")
            out.append((text, parse_time(item.get("created_at"), f"llmos.passages[{i}].created_at"),
                        source if isinstance(source, str) else None))
    return out


def parse_time(value, where: str) -> datetime | None:
    """A file's ISO time as llmos stores times: local, without a zone."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise AgentFileError(f"{where} must be an ISO date and time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise AgentFileError(f"{where} is not an ISO date and time: {value[:40]!r}") from None
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo else moment


def _list(parent: dict, key: str, where: str) -> list:
    value = parent.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise AgentFileError(f"{where}: {key} must be a list, not {type(value).__name__}")
    return value


def _object(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise AgentFileError(f"{where} must be an object, not {type(value).__name__}")
    return value


def _string(value, where: str) -> str:
    if not isinstance(value, str):
        raise AgentFileError(f"{where} must be text, not {type(value).__name__}")
    return value
