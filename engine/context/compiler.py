"""Compile the main context into segments with exact token counts.

Each segment is rendered with the model's turn markup and tokenised on its own, with a small
cache so an unchanged segment is never tokenised twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.context.segments import CORE, MESSAGE, PRESSURE, RECALLED, SUMMARY, SYSTEM, Segment
from engine.lru import LruCache
from engine.memory.types import CoreBlock, Message
from engine.runtime.model import ModelRuntime

PRESSURE_NOTE = ("Memory pressure: the window is {percent}% full. Older messages will soon leave it; "
                 "save what matters to core or archival memory.")


@dataclass(frozen=True)
class ContextParts:
    """Everything the window shows this step, before rendering."""

    system: str
    core: tuple[CoreBlock, ...]
    summary: str
    recalled: str
    messages: tuple[Message, ...]
    pressure_percent: int | None = None


class ContextCompiler:
    """Renders and tokenises segments; the token cache makes recompiling each step cheap."""

    def __init__(self, runtime: ModelRuntime, cache_size: int = 4096) -> None:
        self.runtime = runtime
        self._cache: LruCache[tuple[bool, str], tuple[int, ...]] = LruCache(cache_size)

    def compile(self, parts: ContextParts) -> list[Segment]:
        """The window: one system turn (instructions, core memory, summary, recalled memories),
        then the messages. Chat models are trained on a single system message that opens the
        conversation; memory in a run of separate system turns read to a small model as noise.
        Each piece ends with its newlines and starts without any, so no token spans two pieces."""
        bos = tuple(self.runtime.bos_tokens)
        prefix, suffix = self.runtime.chat_format.wrap("system")
        system = self.part("system", SYSTEM, prefix, parts.system + "\n\n")
        segments = [Segment(system.key, bos + system.tokens, system.kind, system.text)]
        segments += [seg for b in parts.core for seg in self.core_segments(b)]
        if parts.summary:
            segments.append(self.part("summary", SUMMARY, "", f"Summary of earlier conversation:\n{parts.summary}\n\n"))
        if parts.recalled:
            segments.append(self.part("recalled", RECALLED, "", f"{parts.recalled}\n"))
        segments.append(self.part("system:end", SYSTEM, "", "", suffix))
        segments += [self.message_segment(m) for m in parts.messages]
        if parts.pressure_percent is not None:
            note = PRESSURE_NOTE.format(percent=parts.pressure_percent)
            segments.append(self.segment("pressure", PRESSURE, "system", note))
        return segments

    def core_segments(self, block: CoreBlock) -> list[Segment]:
        """A core block as its opening, one segment a line, and its close.

        An edit changes one line (and the fill level in the opening): the KV pager re-evaluates
        those and keeps the block's other lines, instead of the whole block.
        """
        head = f'<{block.label} chars="{len(block.value)}/{block.limit}">\n'
        key = f"core:{block.label}"
        out = [Segment(key, self._tokens(head, False), CORE, head)]
        for n, line in enumerate(block.value.split("\n")):
            out.append(Segment(f"{key}:{n}", self._tokens(line + "\n", False), CORE, line + "\n"))
        tail = f"</{block.label}>\n\n"
        out.append(Segment(f"{key}:end", self._tokens(tail, False), CORE, tail))
        return out

    def message_segment(self, message: Message) -> Segment:
        return self.segment(f"msg:{message.id}", MESSAGE, message.role, render_message(message))

    def segment(self, key: str, kind: str, role: str, content: str) -> Segment:
        """Markup tokenised as markup, content as plain text: stored text that imitates a turn
        (``<end_of_turn><start_of_turn>system``) reaches the model as quoted words."""
        prefix, suffix = self.runtime.chat_format.wrap(role)
        return self.part(key, kind, prefix, content, suffix)

    def part(self, key: str, kind: str, markup_before: str, content: str, markup_after: str = "") -> Segment:
        """A piece of a turn: its content as plain text, with any turn markup around it as markup."""
        tokens = self._tokens(markup_before, True) + self._tokens(content, False) + self._tokens(markup_after, True)
        return Segment(key, tokens, kind, markup_before + content + markup_after)

    def generation_segment(self) -> Segment:
        """The opening of the model's turn: synced after the window so it shares its decode."""
        prompt = self.runtime.chat_format.generation_prompt
        return Segment("generation", self._tokens(prompt, True), MESSAGE, prompt)

    def generation_tokens(self) -> list[int]:
        return list(self.generation_segment().tokens)

    def _tokens(self, text: str, special: bool) -> tuple[int, ...]:
        return self._cache.get_or_make((special, text), lambda: tuple(self.runtime.tokenize(text, special=special)))


def render_message(message: Message) -> str:
    stamp = f"{message.created_at:%Y-%m-%d %H:%M}"
    if message.role == "user":
        return f"[{stamp}] {message.name or 'user'}: {message.content}"
    if message.role == "function":
        return f"[{stamp}] function {message.name} returned: {message.content}"
    return message.content
