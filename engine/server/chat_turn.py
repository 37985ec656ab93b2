"""One agent turn told in the OpenAI chat format: a whole completion, or chunks as it streams.

Memory steps (searches, core memory edits, archival inserts) never enter the reply text: they
travel in the ``llmos`` extension field, which OpenAI clients keep as an extra attribute.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

from engine.api import ContextEvent, DoneEvent, TurnEvent, TurnSteps

EXTENSION = "llmos"


@dataclass
class TurnTally:
    """What the turn did and read, gathered from its events."""

    agent: str
    id: str = field(default_factory=lambda: "chatcmpl-" + uuid.uuid4().hex[:24])
    created: int = field(default_factory=lambda: int(time.time()))
    model_name: str = ""
    prompt_tokens: int = 0
    cached_tokens: int = 0
    steps: TurnSteps = field(default_factory=lambda: TurnSteps(with_replies=False))
    done: DoneEvent | None = None

    def take(self, event: TurnEvent) -> dict | None:
        """Count the event in; a finished memory step is returned for a streamed chunk."""
        if isinstance(event, ContextEvent):
            self.prompt_tokens += event.total_tokens
            self.cached_tokens += event.reused_tokens
        elif isinstance(event, DoneEvent):
            self.done = event
        else:
            return self.steps.take(event)
        return None

    @property
    def finish_reason(self) -> str:
        return "length" if self.done and self.done.stop_reason == "length" else "stop"

    def usage(self) -> dict:
        completion = self.done.generated_tokens if self.done else 0
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": completion,
                "total_tokens": self.prompt_tokens + completion,
                "prompt_tokens_details": {"cached_tokens": self.cached_tokens}}

    def extension(self) -> dict:
        return {"agent": self.agent, "steps": self.steps.records,
                "stop_reason": self.done.stop_reason if self.done else None}

    def completion(self) -> dict:
        """The whole turn as one ``chat.completion`` object."""
        reply = self.done.reply if self.done else ""
        return {"id": self.id, "object": "chat.completion", "created": self.created, "model": self.agent,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                             "finish_reason": self.finish_reason, "logprobs": None}],
                "usage": self.usage(), EXTENSION: self.extension()}

    def chunk(self, delta: dict, finish_reason: str | None = None, extension: dict | None = None) -> dict:
        body = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.agent,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]}
        if extension is not None:
            body[EXTENSION] = extension
        return body

    def usage_chunk(self) -> dict:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.agent,
                "choices": [], "usage": self.usage()}


def sse(payload: dict | str) -> str:
    """One server-sent event line pair, as OpenAI streams them."""
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n"
