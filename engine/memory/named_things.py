"""Questions that ask for a name, and messages that name something.

"Which cities has Jon visited?", "What books has Tim read?", "What are Maria's dogs' names?":
the answer is a proper name, so it sits in a turn that writes one ("Took a short trip to Rome",
"I loved reading "Charlotte's Web""), however little else of the question that turn shares. On
the dev conversations two thirds of the evidence turns of such questions name something, against
a tenth of all turns. Names are spotted by their capital letter inside a sentence (or after a quote
mark), leaving out the speakers themselves, the first person and the calendar's words.
"""

from __future__ import annotations

import re
from typing import AbstractSet

from engine.memory.relative_dates import WEEKDAYS
from engine.memory.time_phrases import MONTHS

NAMED_KINDS = ("cit(?:y|ies)", "countr(?:y|ies)", "states?", "books?", "authors?", "novels?", "teams?",
               "names?", "movies?", "films?", "shows?", "bands?", "artists?", "songs?", "games?",
               "compan(?:y|ies)", "brands?", "restaurants?")
"""Kinds of things known by a proper name."""
ASKS_FOR_A_NAME = re.compile(r"^\s*(what|which|who)\b.*\b(" + "|".join(NAMED_KINDS) + r")\b", re.IGNORECASE)
INSIDE_A_SENTENCE = re.compile(r"(?:(?<=[a-z0-9,;] )|(?<=[\"“']))([A-Z][\w'’.-]*)")
"""A capitalised word after a lower-case word, a comma or a quote mark: not a sentence's first word."""
NOT_A_NAME = frozenset(w.capitalize() for w in MONTHS + WEEKDAYS) | {"I", "I'm", "I've", "I'd", "I'll", "OK"}
POSSESSIVE = re.compile(r"['’]s$")


def asks_for_a_name(query: str) -> bool:
    """Whether the question asks for something known by a proper name (a city, a book, a pet's name)."""
    return bool(ASKS_FOR_A_NAME.search(query))


def names_something(text: str, speakers: AbstractSet[str]) -> bool:
    """Whether ``text`` names something other than its speakers, the first person or a date."""
    return any(bare not in NOT_A_NAME and bare not in speakers
               for bare in map(_bare, INSIDE_A_SENTENCE.findall(text)))


def _bare(word: str) -> str:
    """The word without a full stop or a possessive ("Maria's" -> "Maria")."""
    return POSSESSIVE.sub("", word.rstrip(".'’"))
