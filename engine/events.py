"""What the engine reports: small frozen records the CLI, the server and the desktop consume.

This module imports nothing from the runtime, so a front end can import the events, their
kinds and labels, and :class:`Changes` without loading a model library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class MemoryKind(StrEnum):
    """Every kind of memory event: the turn's :class:`MemoryEvent` and the timeline's rows."""

    MESSAGE_STORED = "message_stored"
    EVICTED = "evicted"
    SUMMARISED = "summarised"
    CORE_EDIT = "core_edit"
    ARCHIVAL_INSERT = "archival_insert"
    SEARCH = "search"
    PAGE_IN = "page_in"
    AGENT_IMPORTED = "agent_imported"


@dataclass(frozen=True)
class Label:
    """How a memory event or a memory function is named: ``noun`` in a list of what happened,
    ``doing`` while it runs."""

    noun: str
    doing: str


LABELS: dict[str, Label] = {
    MemoryKind.MESSAGE_STORED: Label("stored", "Storing the message"),
    MemoryKind.EVICTED: Label("evicted", "Moving old messages out of the context window"),
    MemoryKind.SUMMARISED: Label("summarised", "Summarising what scrolled out"),
    MemoryKind.CORE_EDIT: Label("core edit", "Updating core memory"),
    MemoryKind.ARCHIVAL_INSERT: Label("archival insert", "Saving to archival memory"),
    MemoryKind.SEARCH: Label("search", "Searching memory"),
    MemoryKind.PAGE_IN: Label("page-in", "Recalling related memories"),
    MemoryKind.AGENT_IMPORTED: Label("imported", "Importing the agent"),
    "conversation_search": Label("conversation search", "Searching the conversation"),
    "conversation_search_date": Label("date search", "Searching the conversation by date"),
    "archival_memory_search": Label("archival search", "Searching archival memory"),
    "archival_memory_insert": Label("archival insert", "Saving to archival memory"),
    "core_memory_append": Label("core edit", "Updating core memory"),
    "core_memory_replace": Label("core edit", "Updating core memory"),
    "send_message": Label("reply", "Replying"),
}


def label(name: str, doing: bool = False) -> str:
    """The label of an event kind or a function name (the name itself when it has none)."""
    found = LABELS.get(name)
    return name if found is None else (found.doing if doing else found.noun)


@dataclass(frozen=True)
class Changes:
    """What an engine call changed, so each view redraws only what it shows."""

    messages: bool = False
    core: bool = False
    archival: bool = False
    agents: bool = False
    timeline: bool = False


@dataclass(frozen=True)
class TokenEvent:
    """A piece of the visible reply, as it streams."""

    text: str


@dataclass(frozen=True)
class FunctionCallEvent:
    """The model called a memory function."""

    name: str
    arguments: dict
    step: int


@dataclass(frozen=True)
class FunctionResultEvent:
    """What a function call returned (``ok`` False: an error result went back to the model)."""

    name: str
    ok: bool
    result: str
    step: int


@dataclass(frozen=True)
class MemoryEvent:
    """Memory changed or was read (see :class:`MemoryKind`)."""

    kind: MemoryKind
    payload: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ContextEvent:
    """The window after compilation: tokens per segment kind and the KV work it cost."""

    segments: tuple[tuple[str, int], ...]
    total_tokens: int
    n_ctx: int
    pressure_threshold: int
    evaluated_tokens: int = 0
    reused_tokens: int = 0
    prompt_ms: float = 0.0


@dataclass(frozen=True)
class DoneEvent:
    """The turn ended; ``reply`` is what the user sees, ``stop_reason`` why it ended."""

    reply: str
    stop_reason: str
    generated_tokens: int
    tokens_per_second: float
    total_ms: float
    changes: Changes = Changes(messages=True, timeline=True)
    """What the turn changed: its messages always; core memory or archival memory when an edit landed."""


TurnEvent = TokenEvent | FunctionCallEvent | FunctionResultEvent | MemoryEvent | ContextEvent | DoneEvent
