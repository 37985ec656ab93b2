"""The memory functions the model calls. Each docstring is written for the model: it becomes
the function's description in the system prompt and its JSON schema.

Results go back to the model as JSON, so stored text (which may imitate a call or a system
message) always arrives as quoted data.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.agent.call_parser import FunctionCall
from engine.agent.core_edits import (Edit, added_text, append_fact, closeness, is_placeholder, lines_of, replace_text,
                                     updated_line)
from engine.agent.function_schema import FunctionSpec, spec_for
from engine.agent.page_in import core_line_parts
from engine.errors import LlmosError
from engine.memory.core import CoreMemoryEditError
from engine.memory.relative_dates import annotate

log = logging.getLogger(__name__)

SEND_MESSAGE = "send_message"
HEARTBEAT = "request_heartbeat"
"""MemGPT's chaining flag: accepted and ignored, since the engine decides when a turn goes on
(engine.agent.step_plan)."""


@dataclass(frozen=True)
class FunctionContext:
    """What a memory function may touch: one agent's memory."""

    store: object  # engine.memory.store.MemoryStore
    agent_id: int
    page_size: int = 5
    near_duplicate: float = 0.95
    closest_core_lines: tuple[str, ...] = ()
    """The core memory lines page-in found closest to the latest message, quoted back by a search
    that finds nothing."""
    turn_message_id: int | None = None
    """The user message the turn answers: conversation searches look only before it, since the
    turn's own messages are in view and match the words of the question they echo."""


@dataclass(frozen=True)
class FunctionResult:
    name: str
    ok: bool
    text: str


def send_message(ctx: FunctionContext, message: str) -> str:
    """Send a message to the user. This is the only way the user sees what you say.

    Args:
        message: the message text, in your persona's voice
    """
    return json.dumps({"status": "sent"})


def core_memory_append(ctx: FunctionContext, label: str, content: str) -> str:
    """Save a lasting fact as a new line of a core memory block (always in view).

    Args:
        label: the block, e.g. "human" (facts about the user) or "persona" (about you)
        content: the fact, one short sentence
    """
    current = ctx.store.core.get(ctx.agent_id, label)
    home, line = _line_updated_by(ctx, content)
    if home is not None:
        current = home  # an update lands where the fact it updates lives, not beside it in another block
    edit = append_fact(current.value, content, updates=line)
    return _apply(ctx, current, edit, "core_memory_append")


def _line_updated_by(ctx: FunctionContext, content: str):
    """The block and line (persona aside) that the fact ``content`` updates, or (None, "")."""
    held = [(block, line) for block in ctx.store.core.blocks(ctx.agent_id) if block.label != "persona"
            for line in lines_of(block.value)]
    if not held or not content.strip():
        return None, ""
    vectors = ctx.store.embedder().embed([content] + [line for _, line in held])
    meanings = vectors[1:] @ vectors[0]
    line = updated_line([(closeness(line, content, float(m)), line) for (_, line), m in zip(held, meanings)], content)
    block = next((b for b, held_line in held if held_line == line), None) if line else None
    return block, line


def core_memory_replace(ctx: FunctionContext, label: str, old_content: str, new_content: str) -> str:
    """Change a line of a core memory block when a fact changed.

    Args:
        label: the block, e.g. "human" or "persona"
        old_content: the line as it stands now
        new_content: the corrected line (empty to delete it)
    """
    added = added_text(old_content, new_content) or (new_content if is_placeholder(old_content) else "")
    if added:
        # A replaced placeholder is a first fact, and it may update a line of another block
        # ("Brent no longer volunteers" written over "Nothing known about the user yet.").
        return core_memory_append(ctx, label, added)
    current = ctx.store.core.get(ctx.agent_id, label)
    edit = replace_text(current.value, old_content, new_content)
    if edit is None:
        raise CoreMemoryEditError(f"the {label!r} block has no line like {old_content[:80]!r}")
    return _apply(ctx, current, edit, "core_memory_replace")


def _apply(ctx: FunctionContext, current, edit: Edit, reason: str) -> str:
    if not edit.changed:
        return json.dumps({"status": "unchanged", "block": current.label, "note": edit.note})
    block = ctx.store.core.set(ctx.agent_id, current.label, edit.value, author="model", reason=reason)
    return json.dumps({"status": "ok", "block": block.label, "note": edit.note,
                       "chars": len(block.value), "limit": block.limit})


def conversation_search(ctx: FunctionContext, query: str, page: int = 1) -> str:
    """Search the whole past conversation (recall memory) by words.

    Args:
        query: words to look for
        page: result page, starting at 1
    """
    return _page_json(ctx.store.recall.search_text(ctx.agent_id, query, max(1, page), ctx.page_size,
                                                   before_id=ctx.turn_message_id), ctx)


def conversation_search_date(ctx: FunctionContext, start_date: str, end_date: str, page: int = 1) -> str:
    """Search the past conversation by the days messages were sent (not the dates of events they mention).

    Args:
        start_date: first day, as YYYY-MM-DD
        end_date: last day, as YYYY-MM-DD
        page: result page, starting at 1
    """
    start, end = _parse_day(start_date), _parse_day(end_date) + timedelta(days=1)
    return _page_json(ctx.store.recall.search_date(ctx.agent_id, start, end, None, max(1, page), ctx.page_size,
                                                   before_id=ctx.turn_message_id), ctx)


def archival_memory_insert(ctx: FunctionContext, content: str) -> str:
    """Save a passage to archival memory (unlimited, searchable by meaning) for later.

    Args:
        content: the text to save
    """
    duplicate = ctx.store.archival.find_near_duplicate(ctx.agent_id, content, ctx.near_duplicate) \
        if content.strip() else None  # a blank passage is refused by the store, not matched
    if duplicate is not None:
        return json.dumps({"status": "skipped", "reason": "already stored", "id": duplicate.id})
    passage = ctx.store.archival.insert(ctx.agent_id, content, source="model")
    return json.dumps({"status": "ok", "id": passage.id})


def archival_memory_search(ctx: FunctionContext, query: str, page: int = 1) -> str:
    """Search archival memory by meaning.

    Args:
        query: what to look for
        page: result page, starting at 1
    """
    return _page_json(ctx.store.archival.search(ctx.agent_id, query, max(1, page), ctx.page_size), ctx)


ALL_FUNCTIONS = (send_message, core_memory_append, core_memory_replace, conversation_search,
                 conversation_search_date, archival_memory_insert, archival_memory_search)


def function_specs(max_message_chars: int = 1000, max_text_chars: int = 1000) -> dict[str, FunctionSpec]:
    """Specs of every memory function; string lengths bound what the grammar lets through."""
    limits = {"message": max_message_chars, "content": max_text_chars, "old_content": max_text_chars,
              "new_content": max_text_chars, "query": 200, "label": 20, "start_date": 10, "end_date": 10}
    return {fn.__name__: spec_for(fn, max_lengths=limits) for fn in ALL_FUNCTIONS}


def dispatch(call: FunctionCall, specs: dict[str, FunctionSpec], ctx: FunctionContext) -> FunctionResult:
    """Run ``call``; any failure becomes an error result for the model, never an exception."""
    try:
        arguments = {k: v for k, v in call.arguments.items() if k != HEARTBEAT}
        return FunctionResult(call.name, True, specs[call.name].fn(ctx, **arguments))
    except LlmosError as exc:
        return FunctionResult(call.name, False, json.dumps({"error": str(exc)}))
    except (ValueError, TypeError, KeyError) as exc:
        return FunctionResult(call.name, False, json.dumps({"error": f"bad arguments: {exc}"[:300]}))
    except Exception as exc:  # a failing call must not end the turn
        log.exception("function %s failed", call.name)
        return FunctionResult(call.name, False, json.dumps({"error": f"{call.name} failed: {exc}"[:300]}))


def _page_json(page, ctx: FunctionContext) -> str:
    """A page of hits; an empty one gives the core memory lines closest to the message as its results.

    A small model reads an empty search as "I do not know" even when the answer sits in its
    core memory (a date search for an event "in 2021" finds no message sent in 2021; a search
    for the very line that answers, once the question itself is left out), and it reads an
    empty result list that way even with the lines quoted beside it. So the lines that may
    answer are the results, marked as core memory.
    """
    found = {"page": page.page, "pages": page.pages, "total": page.total,
             "results": [{"id": h.id, "time": f"{h.created_at:%Y-%m-%d %H:%M}", "from": h.name or h.role or h.tier,
                          "text": annotate(h.text, h.created_at)} for h in page.items]}
    if not page.items and ctx.closest_core_lines:
        found["results"] = [_core_result(line) for line in reversed(ctx.closest_core_lines)]
        found["note"] = "nothing in the conversation; these lines of your core memory are closest"
    return json.dumps(found)


def _core_result(quoted: str) -> dict:
    label, line = core_line_parts(quoted)
    return {"from": f"core memory ({label})", "text": line}


def _parse_day(text: str) -> datetime:
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d")
    except ValueError:
        raise ValueError(f"dates must look like 2024-05-31, not {text[:20]!r}") from None
