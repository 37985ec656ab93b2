"""Relative time phrases resolved against when they were said."""

from __future__ import annotations

from datetime import datetime

from engine.memory.relative_dates import annotate, resolve

SAID = datetime(2023, 7, 15, 13, 56)  # a Saturday


def test_days_weeks_and_weekdays_resolve_against_the_day_said():
    assert annotate("I went to the support group yesterday.", SAID) == \
        "I went to the support group yesterday (14 July 2023)."
    assert annotate("Last Friday I went to a workshop", SAID) == \
        "Last Friday (the Friday before 15 July 2023) I went to a workshop"
    assert annotate("we went camping this past weekend", SAID) == \
        "we went camping this past weekend (the weekend before 15 July 2023)"
    assert annotate("I start next week", SAID) == "I start next week (the week after 15 July 2023)"


def test_months_years_and_spans_ago():
    assert annotate("last month, next month and last year", SAID) == \
        "last month (June 2023), next month (August 2023) and last year (2022)"
    assert annotate("I started 10 years ago", SAID) == "I started 10 years ago (2013)"
    assert annotate("two weeks ago I ran", SAID) == "two weeks ago (two weeks before 15 July 2023) I ran"
    assert annotate("a month ago", datetime(2023, 1, 10)) == "a month ago (December 2022)"


def test_a_phrase_is_resolved_once_and_plain_text_is_left_alone():
    assert [r for *_, r in resolve("the day before yesterday", SAID)] == ["13 July 2023"]
    assert annotate("I love weekends and Fridays.", SAID) == "I love weekends and Fridays."
    assert resolve("", SAID) == []
