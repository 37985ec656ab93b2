"""One message between Letta's shape and llmos's: llmos stores each model step as its raw call
(``{"thought", "function", "arguments"}``) and each result as a ``function`` message; Letta keeps
an assistant message with ``tool_calls`` and a ``tool`` message that answers it by call id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from engine.errors import AgentFileError

NOTICE_TYPES = ("heartbeat", "login", "system_alert")


@dataclass
class Converted:
    messages: list[tuple[str, str, str | None, datetime | None]] = field(default_factory=list)
    skipped: str | None = None


def from_letta_message(message: dict, where: str, call_names: dict[str, str]) -> Converted:
    """llmos's messages for one Letta message; ``call_names`` maps call ids to function names."""
    from engine.agentfile.document import parse_time

    role = message.get("role")
    at = parse_time(message.get("created_at"), f"{where}.created_at")
    name = message.get("name") if isinstance(message.get("name"), str) else None
    text = _text(message.get("content"), f"{where}.content")
    if role == "system":
        return Converted(skipped="system message(s): llmos writes its own instructions")
    if role == "user":
        return _user(text, name, at)
    if role == "assistant":
        return _assistant(message, text, at, where, call_names)
    if role == "tool":
        call_id = message.get("tool_call_id")
        function = name or call_names.get(call_id if isinstance(call_id, str) else "", "tool")
        return Converted([("function", text or _tool_return(message), function, at)])
    raise AgentFileError(f"{where}.role must be system, user, assistant or tool, not {str(role)[:30]!r}")


def to_letta_message(role: str, content: str, name: str | None, created_at: datetime, local_id: str,
                     agent_id: str, model: str, open_calls: list[str]) -> dict:
    """A Letta message for one stored llmos message; ``open_calls`` pairs results with their calls."""
    body = {"type": "message", "role": role, "content": [{"type": "text", "text": content}], "name": name,
            "id": local_id, "agent_id": agent_id, "model": model, "tool_calls": None, "tool_call_id": None,
            "tool_returns": [], "created_at": created_at.astimezone().isoformat()}
    if role == "function":
        body.update(role="tool", tool_call_id=open_calls.pop(0) if open_calls else None)
    elif role == "assistant":
        call = _decoded(content)
        if call is not None:
            call_id = f"call-{local_id.split('-', 1)[1]}"
            arguments = call.get("arguments") if isinstance(call.get("arguments"), dict) else {}
            thought = call.get("thought")
            body.update(content=[{"type": "text", "text": thought}] if isinstance(thought, str) and thought else [],
                        tool_calls=[{"id": call_id, "type": "function",
                                     "function": {"name": call["function"], "arguments": json.dumps(arguments)}}])
            if call["function"] != "send_message":
                open_calls.append(call_id)
    return body


def _user(text: str, name: str | None, at: datetime | None) -> Converted:
    packed = _decoded_object(text)
    if packed is not None and packed.get("type") in NOTICE_TYPES:
        return Converted(skipped=f"{packed['type']} notice(s): Letta's own signals, not the user's words")
    if packed is not None and packed.get("type") == "user_message" and isinstance(packed.get("message"), str):
        text = packed["message"]
    if not text.strip():
        return Converted(skipped="empty user message(s)")
    return Converted([("user", text, name, at)])


def _assistant(message: dict, text: str, at: datetime | None, where: str, call_names: dict[str, str]) -> Converted:
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise AgentFileError(f"{where}.tool_calls must be a list")
    out = []
    for i, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise AgentFileError(f"{where}.tool_calls[{i}] must have a function with a name")
        arguments = function.get("arguments", "{}")
        if isinstance(arguments, str):
            arguments = _decoded_object(arguments) or {"raw": arguments}
        if not isinstance(arguments, dict):
            raise AgentFileError(f"{where}.tool_calls[{i}].function.arguments must be an object")
        if isinstance(call.get("id"), str):
            call_names[call["id"]] = function["name"]
        step = {"thought": text, "function": function["name"], "arguments": arguments} if text and i == 0 else \
            {"function": function["name"], "arguments": arguments}
        out.append(("assistant", json.dumps(step, ensure_ascii=False), "call", at))
    if not out and text.strip():
        out.append(("assistant", json.dumps({"function": "send_message", "arguments": {"message": text}},
                                            ensure_ascii=False), "call", at))
    return Converted(out) if out else Converted(skipped="empty assistant message(s)")


def _tool_return(message: dict) -> str:
    returns = message.get("tool_returns") or []
    parts = [r.get("func_response") or r.get("stdout") for r in returns if isinstance(r, dict)]
    return "\n".join(str(p) for p in parts if p)


def _text(content, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise AgentFileError(f"{where} must be text or a list of parts, not {type(content).__name__}")
    texts = []
    for i, part in enumerate(content):
        if not isinstance(part, dict):
            raise AgentFileError(f"{where}[{i}] must be an object")
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
    return "\n".join(texts)


def _decoded(content: str) -> dict | None:
    value = _decoded_object(content)
    return value if value is not None and isinstance(value.get("function"), str) else None


def _decoded_object(text: str) -> dict | None:
    try:
        value = json.loads(text, strict=False)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None
