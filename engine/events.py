"""What a turn reports while it runs: small frozen records the CLI and desktop consume."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    """Memory changed or was read: stored, evicted, summarised, core_edit, page_in, ..."""

    kind: str
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


TurnEvent = TokenEvent | FunctionCallEvent | FunctionResultEvent | MemoryEvent | ContextEvent | DoneEvent
