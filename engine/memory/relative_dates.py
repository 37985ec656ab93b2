"""Relative time phrases read against the moment they were said.

"I went to the support group yesterday", recalled a month later, no longer says when: the
reader (a small model above all) would have to do calendar arithmetic from the message's
timestamp. When a memory is shown, each relative phrase gets its resolution beside it:
"yesterday (7 May 2023)", "last Friday (the Friday before 15 July 2023)". A phrase that names
a weekday or a week is resolved only as far as the words go: "last Friday" said on a Saturday
is the Friday before that day, not a guessed calendar date.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Callable

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "a few": 3, "few": 3, "several": 3}


def day(when: datetime) -> str:
    return f"{when.day} {when:%B %Y}"


def month(when: datetime, shift: int = 0) -> str:
    index = when.year * 12 + when.month - 1 + shift
    return f"{datetime(index // 12, index % 12 + 1, 1):%B %Y}"


def _ago(match: re.Match, said: datetime) -> str:
    words, unit = match.group(1).lower(), match.group(2).lower().rstrip("s")
    count = int(words) if words.isdigit() else NUMBERS.get(words, 0)
    if unit == "year" and count:
        return str(said.year - count)
    if unit == "month" and count:
        return month(said, -count)
    plural = "s" if count != 1 or words in ("a few", "few", "several", "a couple of") else ""
    return f"{words} {unit}{plural} before {day(said)}"


Resolver = Callable[[re.Match, datetime], str]
_NUMBER = r"(\d{1,2}|a couple of|a few|few|several|an?|one|two|three|four|five|six|seven|eight|nine|ten)"
RULES: tuple[tuple[re.Pattern, Resolver], ...] = tuple((re.compile(p, re.IGNORECASE), r) for p, r in (
    (r"\bthe day before yesterday\b", lambda m, s: day(s - timedelta(days=2))),
    (r"\b(?:yesterday|last night)\b", lambda m, s: day(s - timedelta(days=1))),
    (r"\b(?:today|tonight|this (?:morning|afternoon|evening))\b", lambda m, s: day(s)),
    (r"\btomorrow\b", lambda m, s: day(s + timedelta(days=1))),
    (r"\b(?:last|this past) weekend\b", lambda m, s: f"the weekend before {day(s)}"),
    (r"\bthis weekend\b", lambda m, s: f"the weekend of {day(s)}"),
    (r"\bnext weekend\b", lambda m, s: f"the weekend after {day(s)}"),
    (r"\b(?:last|this past) week\b", lambda m, s: f"the week before {day(s)}"),
    (r"\bthis week\b", lambda m, s: f"the week of {day(s)}"),
    (r"\bnext week\b", lambda m, s: f"the week after {day(s)}"),
    (rf"\b(?:last|this past) ({'|'.join(WEEKDAYS)})\b",
     lambda m, s: f"the {m.group(1).capitalize()} before {day(s)}"),
    (rf"\bnext ({'|'.join(WEEKDAYS)})\b", lambda m, s: f"the {m.group(1).capitalize()} after {day(s)}"),
    (r"\blast month\b", lambda m, s: month(s, -1)),
    (r"\bthis month\b", lambda m, s: month(s)),
    (r"\bnext month\b", lambda m, s: month(s, 1)),
    (r"\blast year\b", lambda m, s: str(s.year - 1)),
    (r"\bthis year\b", lambda m, s: str(s.year)),
    (r"\bnext year\b", lambda m, s: str(s.year + 1)),
    (rf"\b{_NUMBER} (days?|weeks?|months?|years?) ago\b", _ago),
    (r"\bthe other day\b", lambda m, s: f"a few days before {day(s)}"),
))


def resolve(text: str, said_at: datetime) -> list[tuple[int, int, str]]:
    """(start, end, resolution) of each relative phrase in ``text``, in order, none overlapping."""
    found: list[tuple[int, int, str]] = []
    for pattern, resolver in RULES:
        for match in pattern.finditer(text):
            if any(match.start() < end and start < match.end() for start, end, _ in found):
                continue
            found.append((match.start(), match.end(), resolver(match, said_at)))
    return sorted(found)


def annotate(text: str, said_at: datetime) -> str:
    """``text`` with each relative phrase followed by what it meant when said."""
    out, last = [], 0
    for start, end, resolution in resolve(text, said_at):
        out.append(text[last:end] + f" ({resolution})")
        last = end
    return "".join(out) + text[last:]
