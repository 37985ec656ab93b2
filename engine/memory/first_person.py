""""I" written as the speaker's name, for texts that join two speakers' turns.

The reply-in-context view embeds a turn after the one it answers ("Caroline: I went to a pride
parade" / "Melanie: I took my kids camping"). There "I" means two people, and a question about
one of them ("What did Melanie do with her kids?") cannot tell whose "I" is whose; with each
turn's "I", "my" and "me" written as its speaker's name, it can.
"""

from __future__ import annotations

import re

_FIRST_PERSON = tuple((re.compile(pattern), suffix) for pattern, suffix in (
    (r"\bI'm\b", " is"),
    (r"\bI've\b", " has"),
    (r"\bI'll\b", " will"),
    (r"\bI'd\b", " would"),
    (r"\bI\b", ""),
    (r"\b[Mm]y\b", "'s"),
    (r"\b[Mm]ine\b", "'s"),
    (r"\b[Mm]yself\b", ""),
    (r"\b[Mm]e\b", ""),
))
"""Each first-person form and what follows the name in its place."""


def named_first_person(text: str, name: str | None) -> str:
    """``text`` with its first person ("I", "I'm", "my", "me") written as ``name``; unchanged
    when the speaker has no name."""
    if not name:
        return text
    for pattern, suffix in _FIRST_PERSON:
        text = pattern.sub(lambda _match, written=name + suffix: written, text)
    return text
