"""The main context as an ordered list of segments, each with its exact tokens.

The context is compiled once per turn into segments; nothing re-parses the prompt text. The
stable part comes first (system, core memory) so the KV cache is reused, and each segment has a
stable ``key`` so the KV pager can tell a kept segment from a changed one. ``Segment`` itself is
the runtime's (engine.runtime.segment), so the pager and the window share one definition; this
module names the kinds of segment and counts tokens by kind.
"""

from __future__ import annotations

from engine.runtime.segment import Segment

__all__ = ["Segment", "SYSTEM", "CORE", "SUMMARY", "RECALLED", "MESSAGE", "PRESSURE", "KIND_ORDER",
           "tokens_by_kind", "total_tokens"]

SYSTEM, CORE, SUMMARY, RECALLED, MESSAGE, PRESSURE = "system", "core", "summary", "recalled", "message", "pressure"
KIND_ORDER = (SYSTEM, CORE, SUMMARY, RECALLED, MESSAGE, PRESSURE)


def tokens_by_kind(segments: list[Segment]) -> tuple[tuple[str, int], ...]:
    """Token totals per kind, in window order: the context-window bar's data."""
    totals = {kind: 0 for kind in KIND_ORDER}
    for segment in segments:
        totals[segment.kind] += segment.n_tokens
    return tuple((kind, count) for kind, count in totals.items() if count)


def total_tokens(segments: list[Segment]) -> int:
    return sum(segment.n_tokens for segment in segments)
