"""The recursive summary: old summary + evicted messages -> new summary, always bounded.

A capable model writes the summary; a weak one (the embedded 270M base model) often returns
nothing useful, so every model summary is checked and an extractive summary of bounded size
stands in when it fails. The turn never waits on a summary that cannot come.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_USEFUL_CHARS = 20
MIN_DISTINCT_WORD_RATIO = 0.35


@dataclass(frozen=True)
class EvictedLine:
    """One evicted message as the summary sees it."""

    speaker: str
    text: str


def summary_prompt(old_summary: str, evicted: list[EvictedLine], max_chars: int) -> str:
    """Instructions for the model to fold ``evicted`` into ``old_summary``."""
    lines = "\n".join(f"{e.speaker}: {_squash(e.text, 300)}" for e in evicted)
    return (f"Summarise the conversation so far in at most {max_chars} characters. Keep names, "
            f"dates, facts about the user and promises made.\n\nPrevious summary: "
            f"{old_summary or '(none)'}\n\nNew messages:\n{lines}\n\nSummary:")


def is_usable_summary(text: str, max_chars: int) -> bool:
    """Reject empty, oversized, markup-laden or repetitive output."""
    text = text.strip()
    if not (MIN_USEFUL_CHARS <= len(text) <= max_chars) or "<start_of_turn>" in text:
        return False
    words = re.findall(r"\w+", text.lower())
    if len(words) < 4:
        return False
    letters = sum(ch.isalpha() for ch in text)
    return letters / len(text) > 0.5 and len(set(words)) / len(words) >= MIN_DISTINCT_WORD_RATIO


def extractive_summary(old_summary: str, evicted: list[EvictedLine], max_chars: int) -> str:
    """The first sentence of each evicted message after the old summary, newest kept if cut.

    The old summary gets at most half the room, so recent events are never crowded out.
    """
    fresh = " ".join(f"{e.speaker}: {_first_sentence(e.text)}" for e in evicted if e.text.strip())
    old = _squash(old_summary, max_chars // 2) if old_summary else ""
    room = max_chars - len(old) - (1 if old else 0)
    if len(fresh) > room:
        fresh = "…" + fresh[len(fresh) - room + 1:]
    return f"{old} {fresh}".strip() if old else fresh


def _first_sentence(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    match = re.match(r"(.+?[.!?])(\s|$)", flat)
    return _squash(match.group(1) if match else flat, limit)


def _squash(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
