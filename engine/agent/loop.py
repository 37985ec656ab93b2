"""One turn of the LLM-OS loop: store, page in, compile, sync the KV cache, call, dispatch.

The user's message is durable in recall storage before the model sees it. The window (its
parts, pressure, eviction) belongs to engine.context.window: the loop asks it for the window
before each step and runs the step. The model answers with function calls under a grammar; a
memory edit carries its reply, so saving a fact and answering is one step; the step plan decides
which calls the next step admits (no repeated search), and the last step admits only
send_message, so every turn ends with a reply.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime
from importlib.resources import files
from typing import Iterator

from engine.agent.call_parser import CallError, parse_call
from engine.agent.function_schema import describe
from engine.agent.functions import SEND_MESSAGE, FunctionContext, dispatch, function_specs
from engine.agent.message_stream import MessageStream, drawable
from engine.agent.page_in import core_lines_for, page_in, quoted_core_lines
from engine.agent.settings import AgentSettings
from engine.agent.step_plan import StepGrammars, allowed_functions
from engine.context.eviction import Summariser
from engine.context.segments import Segment
from engine.context.window import ContextWindow, WindowLimits
from engine.crash_points import crash_point
from engine.errors import InputError
from engine.events import (Changes, DoneEvent, FunctionCallEvent, FunctionResultEvent, MemoryEvent, MemoryKind,
                           TokenEvent, TurnEvent)
from engine.runtime.model import CancelFlag, GenerationStats

log = logging.getLogger(__name__)

PAGE_IN_QUERY_CHARS = 2000  # a 1 MB paste searches by its beginning, not by every word in it
NO_REPLY = "Sorry, I could not put a reply together just now. Your message is saved; please ask again."


EXAMPLES_MIN_N_CTX = 2048
"""Windows smaller than this get no worked examples: they would crowd out the conversation."""


def system_prompt(agent_name: str, specs, with_examples: bool = True) -> str:
    """The instructions; the agent's name comes last, so agents share the rest of the KV cache."""
    prompts = files("engine.agent").joinpath("prompts")
    template = prompts.joinpath("system.txt").read_text(encoding="utf-8")
    examples = prompts.joinpath("examples.txt").read_text(encoding="utf-8") + "\n" if with_examples else ""
    return template.format(agent_name=agent_name, functions=describe(list(specs.values())),
                           examples=examples.replace("{{", "{").replace("}}", "}"))


class AgentLoop:
    """Runs turns for the agents of one memory store on one model."""

    def __init__(self, runtime, store, pager=None, settings: AgentSettings = AgentSettings()) -> None:
        self.runtime, self.store, self.pager, self.settings = runtime, store, pager, settings
        self.specs = function_specs(settings.max_message_chars)
        self.grammars = StepGrammars(runtime, self.specs)
        with_examples = runtime.n_ctx >= EXAMPLES_MIN_N_CTX
        summarise = Summariser(runtime, pager, settings.summary_chars, settings.summary_max_tokens,
                               settings.summarise_with_model)
        limits = WindowLimits(settings.reply_reserve_tokens, settings.message_fraction)
        self.window = ContextWindow(runtime, store, limits, lambda name: system_prompt(name, self.specs, with_examples),
                                    summarise)

    # -- the turn -------------------------------------------------------------------------------

    def turn(self, agent_id: int, text: str, cancel: CancelFlag | None = None,
             name: str | None = None, created_at: datetime | None = None) -> Iterator[TurnEvent]:
        """The turn's events; its DoneEvent says what the turn changed, from the memory events it made."""
        return _with_changes(self._turn(agent_id, text, cancel, name, created_at))

    def _turn(self, agent_id: int, text: str, cancel: CancelFlag | None, name: str | None,
              created_at: datetime | None) -> Iterator[TurnEvent]:
        message = self.store.recall.append(agent_id, "user", text, name=name, created_at=created_at)
        yield MemoryEvent(MemoryKind.MESSAGE_STORED, {"message_id": message.id, "role": "user"})
        self.window.start_queue(agent_id, message.id)
        yield from self._answer(agent_id, message, cancel)

    def retry(self, agent_id: int, cancel: CancelFlag | None = None) -> Iterator[TurnEvent]:
        """Answer the newest user message again (a turn that failed), storing nothing new first."""
        message = self.store.recall.latest(agent_id, role="user")
        if message is None:
            raise InputError("there is no message to answer again")
        self.window.start_queue(agent_id, message.id)  # kept while the server was away, before any turn
        return _with_changes(self._answer(agent_id, message, cancel))

    def _answer(self, agent_id: int, message, cancel: CancelFlag | None) -> Iterator[TurnEvent]:
        """The steps of a turn for a stored user ``message``: page in, then call until a reply."""
        yield from self.page_in_for(agent_id, message.content, message.id)
        reply, done, stats = "", [], GenerationStats()
        for step in range(1, self.settings.max_steps + 1):
            allowed = allowed_functions(tuple(self.specs), done, step, self.settings.max_steps)
            segments = yield from self.window.prepare(agent_id)
            result = yield from self._step(agent_id, message.id, segments, allowed, step, cancel, stats)
            if result is None or stats.stop_reason == "cancelled":
                break
            call, ok, done_reply = result
            if done_reply is not None:
                reply = done_reply
                break
            done.append((call.name if call else "", ok))
        if not reply and stats.stop_reason != "cancelled":
            reply = yield from self._fallback_reply(agent_id)
        yield DoneEvent(reply, stats.stop_reason or "stop", stats.generated_tokens,
                        stats.tokens_per_second, stats.total_ms)

    def observe(self, agent_id: int, text: str, name: str | None = None,
                created_at: datetime | None = None):
        """Store a message and keep the window in bounds, without a reply (replays, imports)."""
        message = self.store.recall.append(agent_id, "user", text, name=name, created_at=created_at)
        self.window.start_queue(agent_id, message.id)
        for _ in self.window.prepare(agent_id):
            pass
        return message

    def page_in_for(self, agent_id: int, query: str, message_id: int | None = None) -> Iterator[TurnEvent]:
        query = query[:PAGE_IN_QUERY_CHARS]
        in_context = {m.id for m in self.window.queue(agent_id)}
        limit = int(self.runtime.n_ctx * self.settings.recalled_fraction)
        paged = page_in(self.store, agent_id, query, in_context, limit, self.runtime.count_tokens,
                        exclude_message_id=message_id)
        core_lines = core_lines_for(self.store, agent_id, query)
        recalled = "\n".join(part for part in (paged.text, core_lines) if part)
        self.window.set_recalled(agent_id, recalled)
        yield MemoryEvent(MemoryKind.PAGE_IN, {"hits": [{"tier": h.tier, "id": h.id, "text": h.text[:200]} for h in paged.hits]})

    # -- one model step ---------------------------------------------------------------------------

    def _step(self, agent_id: int, message_id: int, segments: list[Segment], allowed: tuple[str, ...],
              step: int, cancel: CancelFlag | None, stats: GenerationStats):
        # The generation prompt is synced with the window, so its tokens share the decode of the
        # last change and generation samples from the synced logits without another decode.
        generation = self.window.generation_segment()
        sync = self.pager.sync([*segments, generation]) if self.pager else None
        yield self.window.report(segments, sync)
        prompt = [t for s in segments for t in s.tokens] + list(generation.tokens)
        stream, step_stats = MessageStream(), GenerationStats()
        grammar = self.grammars.grammar(allowed, self.store.core.blocks(agent_id))
        text = "".join(s.text for s in segments) + generation.text
        for piece in self.runtime.stream(prompt, max_tokens=self.settings.reply_reserve_tokens,
                                         sampling=self.settings.sampling, grammar=grammar,
                                         cancel=cancel, stats=step_stats, prompt_text=text):
            crash_point("generation")
            visible = stream.feed(piece)
            if visible:
                yield TokenEvent(visible)
        _merge(stats, step_stats)
        raw = step_stats.text.strip()
        self.store.recall.append(agent_id, "assistant", raw, name="call")
        if step_stats.stop_reason == "cancelled":
            return None
        call = parse_call(raw, self.specs)
        if isinstance(call, CallError):
            yield from self._record_result(agent_id, "error", False, json.dumps({"error": call.message}), step)
            return None, False, None
        yield FunctionCallEvent(call.name, call.arguments, step)
        if call.name == SEND_MESSAGE:
            return call, True, drawable(call.arguments["message"])
        closest = quoted_core_lines(self.window.recalled(agent_id))
        context = FunctionContext(self.store, agent_id, closest_core_lines=closest, turn_message_id=message_id)
        result = dispatch(call, self.specs, context)
        yield from self._record_result(agent_id, call.name, result.ok, result.text, step)
        # An edit's reply stands once the edit has landed; a failed edit goes round again.
        return call, result.ok, drawable(call.reply) if result.ok and call.reply else None

    def _fallback_reply(self, agent_id: int) -> Iterator[TurnEvent]:
        """A turn whose steps all failed (garbage, a cut-off call) still answers, and says so."""
        call = {"function": SEND_MESSAGE, "arguments": {"message": NO_REPLY}}
        self.store.recall.append(agent_id, "assistant", json.dumps(call), name="call")
        yield TokenEvent(NO_REPLY)
        return NO_REPLY

    def _record_result(self, agent_id: int, name: str, ok: bool, text: str, step: int) -> Iterator[TurnEvent]:
        self.store.recall.append(agent_id, "function", text, name=name)
        yield FunctionResultEvent(name, ok, text, step)
        if ok and name.startswith(("core_memory", "archival_memory_insert")) and _changed(text):
            kind = MemoryKind.CORE_EDIT if name.startswith("core") else MemoryKind.ARCHIVAL_INSERT
            yield MemoryEvent(kind, {"function": name})


def _with_changes(events: Iterator[TurnEvent]) -> Iterator[TurnEvent]:
    """``events`` with the DoneEvent saying what the turn changed, from the memory events it made."""
    kinds = set()
    for event in events:
        if isinstance(event, MemoryEvent):
            kinds.add(event.kind)
        elif isinstance(event, DoneEvent):
            event = replace(event, changes=Changes(messages=True, timeline=True, core=MemoryKind.CORE_EDIT in kinds,
                                                   archival=MemoryKind.ARCHIVAL_INSERT in kinds))
        yield event


def _changed(result: str) -> bool:
    """Whether an edit's result says memory changed (not "unchanged", nor a skipped duplicate)."""
    try:
        return json.loads(result).get("status") == "ok"
    except (ValueError, AttributeError):
        return False


def _merge(total: GenerationStats, step: GenerationStats) -> None:
    total.generated_tokens += step.generated_tokens
    total.total_ms += step.total_ms
    total.first_token_ms = total.first_token_ms or step.first_token_ms
    total.stop_reason = step.stop_reason
