"""Evict the oldest part of the queue into a new recursive summary, and log both."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from engine.context.queue import QueuedMessage, eviction_count
from engine.context.segments import Segment
from engine.context.state import ContextState
from engine.context.summary import EvictedLine, extractive_summary, is_usable_summary, summary_prompt
from engine.crash_points import crash_point
from engine.memory.timeline import EVICTED, SUMMARISED
from engine.memory.types import Message
from engine.runtime.model import GREEDY

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Eviction:
    state: ContextState
    evicted_ids: tuple[int, ...]
    evicted_tokens: int
    summary_method: str  # "model" or "extractive"


def evict(store, agent_id: int, state: ContextState, messages: list[Message], segments: list[Segment],
          budget: int, summarise) -> Eviction | None:
    """Drop the oldest messages to ~50 % of ``budget``; ``summarise(old, lines)`` writes the summary."""
    by_key = {s.key: s for s in segments}
    queue = [QueuedMessage(m.id, m.role, by_key[f"msg:{m.id}"].n_tokens) for m in messages]
    fixed = sum(s.n_tokens for s in segments) - sum(q.n_tokens for q in queue)
    count = eviction_count(queue, fixed, budget)
    if count == 0:
        return None
    gone = messages[:count]
    lines = [EvictedLine(m.name or m.role, m.content) for m in gone]
    summary, method = summarise(state.summary, lines)
    new_state = replace(state, queue_start_id=messages[count].id, summary=summary)
    tokens = sum(q.n_tokens for q in queue[:count])
    store.timeline.log(agent_id, EVICTED, {"message_ids": [m.id for m in gone], "tokens": tokens})
    store.timeline.log(agent_id, SUMMARISED, {"summary": summary, "method": method,
                                              "previous": state.summary, "message_ids": [m.id for m in gone]})
    return Eviction(new_state, tuple(m.id for m in gone), tokens, method)


class Summariser:
    """Asks the model for the summary aside from the main cache; checks it; falls back."""

    def __init__(self, runtime, pager, max_chars: int, max_tokens: int, use_model: bool) -> None:
        self.runtime, self.pager = runtime, pager
        self.max_chars, self.max_tokens, self.use_model = max_chars, max_tokens, use_model

    def __call__(self, old: str, lines: list[EvictedLine]) -> tuple[str, str]:
        crash_point("summary")
        if self.use_model:
            text = self._model_summary(old, lines)
            if is_usable_summary(text, self.max_chars):
                return text.strip(), "model"
        return extractive_summary(old, lines, self.max_chars), "extractive"

    def _model_summary(self, old: str, lines: list[EvictedLine]) -> str:
        fmt = self.runtime.chat_format
        prefix, suffix = fmt.wrap("user")
        content = summary_prompt(old, lines, self.max_chars)
        tokens = (self.runtime.bos_tokens + self.runtime.tokenize(prefix)
                  + self.runtime.tokenize(content, special=False)
                  + self.runtime.tokenize(suffix + fmt.generation_prompt))
        if len(tokens) + self.max_tokens > self.runtime.n_ctx:
            return ""

        text = prefix + content + suffix + fmt.generation_prompt

        def generate() -> str:
            return self.runtime.generate_text(tokens, max_tokens=self.max_tokens, sampling=GREEDY, prompt_text=text)

        try:
            return self.pager.run_aside(generate) if self.pager else generate()
        except Exception:  # a failed summary must not block the turn
            log.exception("model summary failed; using the extractive summary")
            return ""
