"""The span of time a query names: "yesterday", "in May 2023", "on 7 July, 2023", "the week
before August 3, 2023". Search boosts memories from that span; how sharply depends on how
precise the phrase is (a day is sharper than a year).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.memory.relative_dates import WEEKDAYS

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
_MONTH = r"(" + "|".join(MONTHS) + r")"
_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"
DAY_MONTH_RE = re.compile(rf"\b{_ORDINAL}\s+(?:of\s+)?{_MONTH}\b,?(?:\s+(\d{{4}}))?", re.IGNORECASE)
MONTH_DAY_RE = re.compile(rf"\b{_MONTH}\s+{_ORDINAL}\b(?:,?\s+(\d{{4}}))?", re.IGNORECASE)
MONTH_RE = re.compile(rf"\b{_MONTH}\b(?:,?\s+(\d{{4}}))?", re.IGNORECASE)
YEAR_RE = re.compile(r"\b(19\d{2}|20\d{2})\b")
BEFORE_RE = re.compile(r"\b(?:(two|three|few|couple of)\s+)?(days?|weeks?|weekend|months?)\s+before\s*$",
                       re.IGNORECASE)
SPAN_DAYS = {"day": 1, "days": 3, "week": 7, "weeks": 7, "weekend": 7, "month": 31, "months": 31}
COUNT = {"two": 2, "three": 3, "few": 3, "couple of": 2}


@dataclass(frozen=True)
class TimeWindow:
    """A half-open span; ``half_life_days`` is how fast the boost fades outside it."""

    start: datetime
    end: datetime
    half_life_days: float


def date_window(query: str, now: datetime) -> TimeWindow | None:
    """The time span a query names, if any, read relative to ``now``."""
    q, today = query.lower(), now.replace(hour=0, minute=0, second=0, microsecond=0)
    if day := _named_day(query, now):
        return _day_window(query, day)
    relative = {"yesterday": (today - timedelta(days=1), today, 1.0),
                "today": (today, today + timedelta(days=1), 1.0),
                "last week": (today - timedelta(days=7), today, 3.0),
                "this week": (today - timedelta(days=7), now, 3.0),
                "last month": (today - timedelta(days=31), today, 7.0),
                "last year": (today - timedelta(days=365), today, 30.0)}
    for phrase, (start, end, half_life) in relative.items():
        if phrase in q:
            return TimeWindow(start, end, half_life)
    if match := MONTH_RE.search(query):
        if match.group(1).lower() == "may" and not match.group(2):
            return None  # "may" alone is almost always the verb
        month = MONTHS.index(match.group(1).lower()) + 1
        year = int(match.group(2)) if match.group(2) else (now.year if month <= now.month else now.year - 1)
        start = datetime(year, month, 1)
        return TimeWindow(start, datetime(year + month // 12, month % 12 + 1, 1), 7.0)
    if match := YEAR_RE.search(query):
        year = int(match.group(1))
        return TimeWindow(datetime(year, 1, 1), datetime(year + 1, 1, 1), 30.0)
    return None


def _named_day(query: str, now: datetime) -> tuple[datetime, int] | None:
    """A calendar day ("7 July, 2023", "October 13, 2023", "June 3rd") and where it starts in
    the query; without a year, the latest such day not after ``now``."""
    for pattern, day_group, month_group in ((DAY_MONTH_RE, 1, 2), (MONTH_DAY_RE, 2, 1)):
        if match := pattern.search(query):
            day, month = int(match.group(day_group)), MONTHS.index(match.group(month_group).lower()) + 1
            year = int(match.group(3)) if match.group(3) else now.year
            try:
                found = datetime(year, month, day)
            except ValueError:
                continue
            if not match.group(3) and found > now:
                found = found.replace(year=year - 1)
            return found, match.start()
    return None


def _day_window(query: str, named: tuple[datetime, int]) -> TimeWindow:
    """The named day itself, or the span before it ("two weeks before August 11, 2023")."""
    day, at = named
    if before := BEFORE_RE.search(query[:at]):
        span = SPAN_DAYS[before.group(2).lower()] * COUNT.get((before.group(1) or "").lower(), 1)
        return TimeWindow(day - timedelta(days=span), day + timedelta(days=1), 2.0)
    return TimeWindow(day, day + timedelta(days=1), 2.0)


ASKS_WHEN_RE = re.compile(r"^\W*(?:when\b|since when\b|how long\b|how many (?:days|weeks|months|years)\b|"
                          r"(?:in |on |during )?(?:what|which) (?:year|month|day|date|time|week|weekend)\b)",
                          re.IGNORECASE)
TOLD_TIME_RE = re.compile(
    rf"\b(?:{_MONTH}|{'|'.join(WEEKDAYS)}|yesterday|today|tonight|tomorrow|ago|recently|lately|since|"
    r"weekend|week|weeks|month|months|year|years|days|last night|this morning|the other day|(?:19|20)\d{2})\b",
    re.IGNORECASE)


def asks_when(query: str) -> bool:
    """Whether a question asks for a time ("When did...", "How long...", "In which month...")."""
    return bool(ASKS_WHEN_RE.match(query))


def tells_time(text: str) -> bool:
    """Whether a message says when something happened, or for how long."""
    return bool(TOLD_TIME_RE.search(text))
