"""Reading the time span a query names."""

from datetime import datetime

from engine.memory.time_phrases import date_window

NOW = datetime(2024, 6, 15, 12, 0)


def span(query: str) -> tuple[datetime, datetime] | None:
    window = date_window(query, NOW)
    return (window.start, window.end) if window else None


def test_relative_days_weeks_and_years():
    assert span("what did I say yesterday?") == (datetime(2024, 6, 14), datetime(2024, 6, 15))
    assert span("plans from last week")[0] == datetime(2024, 6, 8)
    assert span("a trip last year")[0] == datetime(2023, 6, 16)


def test_months_and_years_without_a_day():
    assert span("in December") == (datetime(2023, 12, 1), datetime(2024, 1, 1))
    assert span("in June") == (datetime(2024, 6, 1), datetime(2024, 7, 1))
    assert span("on 1 February, 2023") != span("in February, 2023")
    assert span("in February, 2023") == (datetime(2023, 2, 1), datetime(2023, 3, 1))
    assert span("back in 2022") == (datetime(2022, 1, 1), datetime(2023, 1, 1))


def test_a_named_day_in_either_order_with_or_without_a_year():
    day = (datetime(2023, 10, 13), datetime(2023, 10, 14))
    assert span("What painting did she show on October 13, 2023?") == day
    assert span("what happened on 13 October 2023") == day
    assert span("on the 13th of October, 2023") == day
    assert span("on June 3rd") == (datetime(2024, 6, 3), datetime(2024, 6, 4))
    assert span("on June 30th")[0] == datetime(2023, 6, 30)  # not yet this year: last year's


def test_a_span_before_a_named_day_keeps_that_day():
    assert span("the puppy she got two weeks before August 11, 2023") == (datetime(2023, 7, 28), datetime(2023, 8, 12))
    assert span("last weekend before April 10, 2023") == (datetime(2023, 4, 3), datetime(2023, 4, 11))


def test_a_day_is_sharper_than_a_month_or_a_year():
    day, month, year = (date_window(q, NOW) for q in ("on 3 May 2023", "in May 2023", "in 2023"))
    assert day.half_life_days < month.half_life_days < year.half_life_days


def test_no_time_and_the_verb_may():
    assert date_window("may I ask about the cat", NOW) is None
    assert date_window("what is my sister's name", NOW) is None
    assert span("on 31 February 2023") == (datetime(2023, 2, 1), datetime(2023, 3, 1))  # no such day: the month


def test_questions_that_ask_when_and_messages_that_say_when():
    from engine.memory.time_phrases import asks_when, tells_time
    assert all(asks_when(q) for q in ("When did Jo move?", "How long has Nate had turtles?",
                                      "In which month did they meet?", "What year did she graduate?"))
    assert not any(asks_when(q) for q in ("What did Jo bake?", "Where is the house?", "Why so long?"))
    assert all(tells_time(t) for t in ("I went yesterday!", "I've had them for 3 years now",
                                       "See you tomorrow", "We met in May 2021", "It was on Sunday"))
    assert not any(tells_time(t) for t in ("Nice pic!", "The cello, finally.", "I love pottery"))
