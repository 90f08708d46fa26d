"""Occurrences of a series on the wall clock, and its bounds (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from tierslieu.domain import localtime
from tierslieu.domain.series import (
    MAX_OCCURRENCES,
    Repeat,
    RepeatInvalid,
    RepeatTooLong,
    is_skippable,
    occurrences,
    wall_clock,
)
from tierslieu.errors import InvalidInput

PARIS = "Europe/Paris"
FAR = dt.date(2030, 1, 1)


def starts(found):
    return [o.starts_at for o in found]


def test_every_tuesday_at_ten_stays_at_ten_on_the_wall_clock_and_moves_in_utc():
    first = dt.datetime(2027, 10, 19, 10, 0)
    found = occurrences(first, first + dt.timedelta(hours=1), Repeat(1, count=3), latest=FAR)
    assert starts(found) == [dt.datetime(2027, 10, d, 10, 0) for d in (19, 26)] + [
        dt.datetime(2027, 11, 2, 10, 0)
    ]
    utc = [localtime.to_utc(s, PARIS).time() for s in starts(found)]
    assert utc == [dt.time(8, 0), dt.time(8, 0), dt.time(9, 0)]


def test_an_aware_first_time_is_read_on_the_structures_clock():
    aware = dt.datetime(2027, 10, 26, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert wall_clock(aware, PARIS) == dt.datetime(2027, 10, 26, 10, 0)
    assert wall_clock(dt.datetime(2027, 10, 26, 10, 0), PARIS) == dt.datetime(2027, 10, 26, 10)


@pytest.mark.parametrize(
    ("repeat", "expected"),
    [
        (Repeat(2, count=3), [1, 15, 29]),
        (Repeat(1, until=dt.date(2028, 3, 14)), [1, 8]),
        (Repeat(1, until=dt.date(2028, 3, 15)), [1, 8, 15]),  # inclusive
        (Repeat(1, until=dt.date(2028, 3, 1)), [1]),
    ],
)
def test_count_or_until(repeat, expected):
    first = dt.datetime(2028, 3, 1, 2, 30)  # a Wednesday
    found = occurrences(first, first + dt.timedelta(hours=1), repeat, latest=FAR)
    days = [(s.date() - dt.date(2028, 3, 1)).days + 1 for s in starts(found)]
    assert days == expected


def test_an_occurrence_in_the_spring_gap_is_listed_here_and_refused_when_booked():
    # Sundays at 02:30: 26 March 2028 at 02:30 does not exist in Paris.
    first = dt.datetime(2028, 3, 19, 2, 30)
    found = occurrences(first, first + dt.timedelta(hours=1), Repeat(1, count=3), latest=FAR)
    gap = found[1].starts_at
    assert gap == dt.datetime(2028, 3, 26, 2, 30)
    with pytest.raises(InvalidInput) as refused:
        localtime.typed_to_utc(gap, PARIS, "starts_at")
    assert is_skippable(refused.value)


@pytest.mark.parametrize(
    ("repeat", "error"),
    [
        (Repeat(1), RepeatInvalid),
        (Repeat(1, count=2, until=dt.date(2028, 1, 1)), RepeatInvalid),
        (Repeat(1, until=dt.date(2027, 1, 1)), RepeatInvalid),
        (Repeat(0, count=2), RepeatInvalid),
        (Repeat(1, count=MAX_OCCURRENCES + 1), RepeatTooLong),
        (Repeat(1, until=dt.date(2029, 1, 1)), RepeatTooLong),
        (Repeat(1, count=5), RepeatTooLong),  # the fifth is after ``latest``
    ],
)
def test_refused_before_anything_is_booked(repeat, error):
    first = dt.datetime(2027, 10, 12, 10, 0)
    with pytest.raises(error):
        occurrences(first, first + dt.timedelta(hours=1), repeat, latest=dt.date(2027, 11, 5))


def test_at_most_fifty_two_and_the_last_on_the_latest_day_is_allowed():
    first = dt.datetime(2027, 10, 12, 10, 0)
    found = occurrences(
        first, first + dt.timedelta(hours=1), Repeat(1, count=4), latest=dt.date(2027, 11, 2)
    )
    assert found[-1].starts_at.date() == dt.date(2027, 11, 2)
    many = occurrences(first, first, Repeat(1, count=MAX_OCCURRENCES), latest=FAR)
    assert len(many) == MAX_OCCURRENCES
