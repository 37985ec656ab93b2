"""A segment: one run of tokens in the window, under a key that stays the same while it does.

Defined here, below the context layer, because the KV pager matches segments by ``key`` and
``tokens``; the context layer fills in ``kind`` and ``text`` (engine.context.segments names the kinds).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    """``key`` names the segment (``msg:42``, ``core:human``); ``tokens`` are exact, turn markup included.

    ``kind`` is the part of the window it belongs to (system, core, summary, …) and ``text`` what
    the tokens render; the KV pager reads neither.
    """

    key: str
    tokens: tuple[int, ...]
    kind: str = ""
    text: str = ""

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)
