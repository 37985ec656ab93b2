"""The context window of each agent: its parts, kept within the model's window step by step.

The window is compiled from the agent's core memory and from parts kept in the database (the
queue's first message, the recursive summary, the recalled part: engine.context.state), so a
restart compiles the same window and a saved KV state still matches it. Before each model step
:meth:`ContextWindow.prepare` applies memory pressure: a warning to the model from about 70 %
of the budget, and at 100 % an eviction of the queue's oldest messages into a new summary, after
which recalled hits and then the summary's oldest words give way if the window is still over.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Generator

from engine.context.compiler import ContextCompiler, ContextParts
from engine.context.eviction import evict
from engine.context.queue import WARN_FRACTION, Pressure, pressure
from engine.context.segments import MESSAGE, Segment, tokens_by_kind, total_tokens
from engine.context.state import ContextState, ContextStateStore
from engine.crash_points import crash_point
from engine.events import ContextEvent, MemoryEvent, MemoryKind
from engine.memory.types import Message

CUT_NOTE = " … [cut here: the full message is in recall storage]"


@dataclass(frozen=True)
class WindowLimits:
    """How the model's window is shared: room kept for the reply, and the most one message may take."""

    reply_reserve_tokens: int
    message_fraction: float


class ContextWindow:
    """Owns each agent's window: the queue, the summary, the recalled part, pressure and eviction.

    ``system_text(agent_name)`` gives the instructions, ``summarise(old, lines)`` the summary
    an eviction writes (see engine.context.eviction.Summariser).
    """

    def __init__(self, runtime, store, limits: WindowLimits, system_text: Callable[[str], str],
                 summarise: Callable) -> None:
        self.runtime, self.store, self.limits = runtime, store, limits
        self.system_text, self.summarise = system_text, summarise
        self.compiler = ContextCompiler(runtime)
        self.states = ContextStateStore(store.db)
        self.budget = runtime.n_ctx - limits.reply_reserve_tokens

    # -- the parts ------------------------------------------------------------------------------

    def start_queue(self, agent_id: int, message_id: int) -> None:
        """The agent's first message starts its queue; later messages join it by id order."""
        if self.states.get(agent_id).queue_start_id == 0:
            self.states.set(agent_id, ContextState(message_id))

    def queue(self, agent_id: int) -> list[Message]:
        start = self.states.get(agent_id).queue_start_id
        return self.store.recall.range(agent_id, after_id=start - 1, limit=100_000) if start else []

    def recalled(self, agent_id: int) -> str:
        return self.states.get(agent_id).recalled

    def set_recalled(self, agent_id: int, text: str) -> None:
        """What page-in found for the latest message, one hit a line, weakest last."""
        self.states.set(agent_id, replace(self.states.get(agent_id), recalled=text))

    # -- compiling ------------------------------------------------------------------------------

    def compile(self, agent_id: int, pressure_percent: int | None = None) -> list[Segment]:
        """The window as it stands now (also what the KV state is saved and restored against)."""
        agent = self.store.agents.get(agent_id)
        state = self.states.get(agent_id)
        parts = ContextParts(self.system_text(agent.name), tuple(self.store.core.blocks(agent_id)),
                             state.summary, state.recalled, tuple(self.queue(agent_id)), pressure_percent)
        return self._fit_messages(self.compiler.compile(parts))

    def generation_segment(self) -> Segment:
        return self.compiler.generation_segment()

    def report(self, segments: list[Segment], sync=None) -> ContextEvent:
        """The window's make-up and, given the pager's ``sync``, what bringing the KV cache in line cost."""
        return ContextEvent(tokens_by_kind(segments), total_tokens(segments), self.runtime.n_ctx,
                            int(WARN_FRACTION * self.budget),
                            evaluated_tokens=getattr(sync, "evaluated", 0), reused_tokens=getattr(sync, "reused", 0),
                            prompt_ms=getattr(sync, "ms", 0.0))

    def _fit_messages(self, segments: list[Segment]) -> list[Segment]:
        """A huge message (a 1 MB paste) is shown cut; the whole of it stays in recall storage."""
        limit = int(self.runtime.n_ctx * self.limits.message_fraction)
        out = []
        for seg in segments:
            if seg.kind == MESSAGE and seg.n_tokens > limit:
                keep = self.runtime.detokenize(seg.tokens[: limit - 40])
                seg = self.compiler.segment(seg.key, seg.kind, "user", keep + CUT_NOTE)
            out.append(seg)
        return out

    # -- pressure -------------------------------------------------------------------------------

    def prepare(self, agent_id: int) -> Generator[MemoryEvent, None, list[Segment]]:
        """The window for the next model step, within the budget; yields an eviction's events."""
        segments = self.compile(agent_id)
        fixed = dict(tokens_by_kind(segments))
        self.runtime.require_room(fixed.get("system", 0) + fixed.get("core", 0),
                                  self.limits.reply_reserve_tokens, "the system prompt with core memory")
        generation = self.generation_segment().n_tokens
        used = total_tokens(segments) + generation
        level = pressure(used, self.budget)
        if level is Pressure.WARN:
            warned = self.compile(agent_id, pressure_percent=round(100 * used / self.budget))
            if total_tokens(warned) + generation <= self.budget:
                return warned
            level = Pressure.FULL  # the warning itself would overflow the window
        if level is Pressure.FULL:
            yield from self._evict(agent_id, segments)
            segments = self._trim_recalled(agent_id, self.compile(agent_id))
        return segments

    def _evict(self, agent_id: int, segments: list[Segment]) -> Generator[MemoryEvent, None, None]:
        state = self.states.get(agent_id)
        eviction = evict(self.store, agent_id, state, self.queue(agent_id), segments, self.budget, self.summarise)
        if eviction is None:
            return
        crash_point("eviction")
        self.states.set(agent_id, eviction.state)
        yield MemoryEvent(MemoryKind.EVICTED, {"message_ids": list(eviction.evicted_ids), "tokens": eviction.evicted_tokens})
        yield MemoryEvent(MemoryKind.SUMMARISED, {"summary": eviction.state.summary, "method": eviction.summary_method})

    def _over_budget(self, segments: list[Segment]) -> bool:
        return total_tokens(segments) + self.generation_segment().n_tokens > self.budget

    def _trim_recalled(self, agent_id: int, segments: list[Segment]) -> list[Segment]:
        """Drop paged-in hits, the weakest (last) first, while the window is still over budget
        after an eviction: at a small window the fixed part leaves little room, and the queue's
        own messages matter more than recalled ones."""
        lines = self.recalled(agent_id).split("\n")
        while len(lines) > 1 and self._over_budget(segments):
            lines.pop()
            self.set_recalled(agent_id, "\n".join(lines) if len(lines) > 1 else "")
            segments = self.compile(agent_id)
        return self._shorten_summary(agent_id, segments)

    def _shorten_summary(self, agent_id: int, segments: list[Segment]) -> list[Segment]:
        """Cut the summary's oldest part while the window is over budget with every hit gone: a
        small window with a large system prompt cannot hold a full summary; what it said of the
        evicted messages is still in recall storage."""
        state = self.states.get(agent_id)
        while state.summary and self._over_budget(segments):
            words = [w for w in state.summary.split() if w != "…"]
            kept = words[max(1, len(words) // 3):]  # strictly fewer words each round
            state = replace(state, summary=("… " + " ".join(kept)) if kept else "")
            self.states.set(agent_id, state)
            segments = self.compile(agent_id)
        return segments
