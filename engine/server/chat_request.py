"""What a chat-completions request asks for, checked before the engine sees anything.

The server keeps the conversation, so a client that sends its whole history each time must not
have it stored again: only the user messages after the last non-user message are new.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.server.errors import ApiError


@dataclass(frozen=True)
class ChatRequest:
    agent: str
    new_messages: tuple[str, ...]
    stream: bool = False
    include_usage: bool = False

    @classmethod
    def parse(cls, body: object) -> "ChatRequest":
        if not isinstance(body, dict):
            raise ApiError(400, "the request body must be a JSON object")
        agent = body.get("model")
        if not isinstance(agent, str) or not agent.strip():
            raise ApiError(400, "`model` must name an agent (see GET /v1/models)", param="model")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ApiError(400, "`messages` must be a non-empty list", param="messages")
        parsed = [_message(m, i) for i, m in enumerate(messages)]
        if parsed[-1][0] != "user":
            raise ApiError(400, "the last message must come from the user: the agent answers it", param="messages")
        new: list[str] = []
        for role, text in reversed(parsed):
            if role != "user":
                break
            new.insert(0, text)
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise ApiError(400, "`stream` must be true or false", param="stream")
        options = body.get("stream_options") or {}
        if not isinstance(options, dict):
            raise ApiError(400, "`stream_options` must be an object", param="stream_options")
        return cls(agent, tuple(new), stream, bool(options.get("include_usage", False)))


def _message(message: object, index: int) -> tuple[str, str]:
    param = f"messages[{index}]"
    if not isinstance(message, dict):
        raise ApiError(400, f"{param} must be an object with `role` and `content`", param=param)
    role = message.get("role")
    if role not in ("system", "developer", "user", "assistant", "tool", "function"):
        raise ApiError(400, f"{param}.role must be one of system, developer, user, assistant, tool",
                       param=f"{param}.role")
    return role, _text(message.get("content"), f"{param}.content", required=role == "user")


def _text(content: object, param: str, required: bool) -> str:
    """Plain text, or the text parts of a content list (images and audio are not supported)."""
    if content is None and not required:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise ApiError(400, f"{param} may hold only text parts", param=param)
            texts.append(part["text"])
        return "\n".join(texts)
    raise ApiError(400, f"{param} must be a string or a list of text parts", param=param)
