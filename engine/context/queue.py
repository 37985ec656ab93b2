"""The FIFO message queue: memory pressure, and which oldest messages an eviction takes.

At ~70 % of the window the model is warned to save what matters; at 100 % the oldest messages
go (to ~50 %) into a new recursive summary. Evicted messages stay in recall storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

WARN_FRACTION = 0.70
EVICT_TO_FRACTION = 0.50


class Pressure(Enum):
    OK = "ok"
    WARN = "warn"
    FULL = "full"


@dataclass(frozen=True)
class QueuedMessage:
    """A message in the window, as the queue needs to see it."""

    message_id: int
    role: str
    n_tokens: int


def pressure(used_tokens: int, budget: int) -> Pressure:
    """``budget`` is the window less the room kept for the reply."""
    if used_tokens >= budget:
        return Pressure.FULL
    return Pressure.WARN if used_tokens >= WARN_FRACTION * budget else Pressure.OK


def eviction_count(queue: list[QueuedMessage], fixed_tokens: int, budget: int,
                   target_fraction: float = EVICT_TO_FRACTION) -> int:
    """How many messages to evict from the front so the window drops to ``target_fraction``.

    Never separates a function call (an assistant message) from its result (the function
    messages that follow it), and always keeps the newest message.
    """
    target = target_fraction * budget
    used = fixed_tokens + sum(m.n_tokens for m in queue)
    count = 0
    while count < len(queue) - 1 and used > target:
        used -= queue[count].n_tokens
        count += 1
        while count < len(queue) - 1 and queue[count].role == "function":
            used -= queue[count].n_tokens
            count += 1
    if count == len(queue) - 1 and queue[-1].role == "function":
        count = _back_off_to_call(queue, count)
    return count


def _back_off_to_call(queue: list[QueuedMessage], count: int) -> int:
    """Keep a trailing call/result group whole rather than evicting half of it."""
    while count > 0 and queue[count].role == "function":
        count -= 1
    return count
