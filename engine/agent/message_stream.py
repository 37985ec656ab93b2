"""Stream the reply while the JSON call around it is still being generated.

The reply is send_message's ``"message"`` or the ``"reply"`` a memory edit carries; the grammar
fixes the key order, so it is the first string after either key. Its JSON escapes are decoded as
they complete, and a half-finished escape waits for its end.
"""

from __future__ import annotations

import json
import re
import unicodedata

_START = re.compile(r'"(?:message|reply)"\s*:\s*"')


# Private-use, unassigned and lone-surrogate code points: a small model can emit them through
# \\u escapes, and no font draws them (they show as boxes).
_UNDRAWABLE = frozenset({"Co", "Cn", "Cs"})


def drawable(text: str) -> str:
    """``text`` without code points no font can draw; everything else (emoji, RTL) kept."""
    return "".join(ch for ch in text if unicodedata.category(ch) not in _UNDRAWABLE)


class MessageStream:
    """Feed raw generated text; get back newly visible message text."""

    def __init__(self) -> None:
        self.raw = ""
        self._start: int | None = None
        self._consumed = 0
        self.done = False

    def feed(self, piece: str) -> str:
        self.raw += piece
        if self.done:
            return ""
        if self._start is None:
            match = _START.search(self.raw)
            if not match:
                return ""
            self._start = self._consumed = match.end()
        return self._decode_available()

    def _decode_available(self) -> str:
        out, i, raw = [], self._consumed, self.raw
        while i < len(raw):
            ch = raw[i]
            if ch == '"':
                self.done = True
                break
            if ch != "\\":
                out.append(ch)
                i += 1
                continue
            length = _escape_length(raw, i)
            if i + length > len(raw):
                break
            try:
                out.append(json.loads(f'"{raw[i:i + length]}"'))
            except ValueError:
                out.append(raw[i + 1: i + length])
            i += length
        self._consumed = i
        return drawable("".join(out))


def _escape_length(raw: str, i: int) -> int:
    """2 for ``\\n``, 6 for ``\\uXXXX``, 12 for a surrogate pair that must decode together."""
    if raw[i + 1: i + 2] != "u":
        return 2
    if raw[i + 2: i + 4].lower() in ("d8", "d9", "da", "db"):
        return 12
    return 6
