"""Fair-use rules (domain.quotas), table-driven: weeks and months of the place's clock, hours,
bookings to come, and the date a refusal gives for the next possible booking."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tierslieu.domain.quotas import Held, QuotaReached, Quotas, check, window
from tierslieu.errors import render_problem

PARIS = ZoneInfo("Europe/Paris")
NOW = dt.datetime(2027, 3, 15, 9, 0, tzinfo=dt.UTC)  # Monday 15 March 2027


def at(day: int, hour: int, month: int = 4, hours: int = 1) -> Held:
    start = dt.datetime(2027, month, day, hour, tzinfo=PARIS)
    return Held(start.astimezone(dt.UTC), (start + dt.timedelta(hours=hours)).astimezone(dt.UTC))


def ask(held, quotas, day, hour=10, month=4, hours=1):
    wanted = at(day, hour, month, hours)
    check(quotas, held, wanted.starts_at, wanted.ends_at, now=NOW, timezone="Europe/Paris")


# Week of Monday 5 April 2027: Tuesday 6 and Saturday 10 April.
TWO_THIS_WEEK = [at(6, 10), at(10, 10)]

ALLOWED = [
    ("no quotas at all", [], Quotas(), 7),
    ("2 per week, one held", [at(6, 10)], Quotas(bookings_per_week=2), 8),
    (
        "2 per week, two held the week before",
        [at(30, 10, 3), at(31, 10, 3)],
        Quotas(bookings_per_week=2),
        6,
    ),
    # Sunday 11 April is still the week of Monday 5; Monday 12 starts the next one.
    ("2 per week, next Monday", TWO_THIS_WEEK, Quotas(bookings_per_week=2), 12),
    ("3 hours a week, 2 held, 1 asked", [at(6, 9, hours=2)], Quotas(hours_per_week=3), 8),
    (
        "4 per month, 3 in April",
        [at(6, 10), at(13, 10), at(20, 10)],
        Quotas(bookings_per_month=4),
        27,
    ),
    ("2 to come, one is over", [at(1, 10, 3), at(6, 10)], Quotas(upcoming=2), 8),
]


@pytest.mark.parametrize(("why", "held", "quotas", "day"), ALLOWED, ids=[a[0] for a in ALLOWED])
def test_allowed(why, held, quotas, day):
    ask(held, quotas, day)


REFUSED = [
    ("2 per week", TWO_THIS_WEEK, Quotas(bookings_per_week=2), 8, "per-week", "2027-04-12"),
    (
        "sunday is the same week",
        TWO_THIS_WEEK,
        Quotas(bookings_per_week=2),
        11,
        "per-week",
        "2027-04-12",
    ),
    (
        "3 hours a week",
        [at(6, 9, hours=3)],
        Quotas(hours_per_week=3),
        8,
        "hours-per-week",
        "2027-04-12",
    ),
    (
        "4 per month",
        [at(6, 10), at(13, 10), at(20, 10), at(27, 10)],
        Quotas(bookings_per_month=4),
        29,
        "per-month",
        "2027-05-01",
    ),
    (
        "december rolls the year",
        [at(6, 10, 12)],
        Quotas(bookings_per_month=1),
        20,
        "per-month",
        "2028-01-01",
    ),
    ("2 to come", [at(6, 10), at(20, 10)], Quotas(upcoming=2), 27, "upcoming", "2027-04-06"),
]


@pytest.mark.parametrize(
    ("why", "held", "quotas", "day", "rule", "next_possible"), REFUSED, ids=[r[0] for r in REFUSED]
)
def test_refused(why, held, quotas, day, rule, next_possible):
    month = 12 if why == "december rolls the year" else 4
    with pytest.raises(QuotaReached) as refused:
        ask(held, quotas, day, month=month)
    assert refused.value.extra["rule"] == rule
    assert refused.value.extra["next_possible"] == next_possible


def test_the_refusal_says_the_limit_and_the_next_date_in_both_languages():
    with pytest.raises(QuotaReached) as refused:
        ask(TWO_THIS_WEEK, Quotas(bookings_per_week=2), 8)
    title, detail = render_problem(refused.value, "fr")
    assert title == "Limite de réservations atteinte"
    assert detail == (
        "Cette ressource se réserve au plus 2 fois par semaine et par personne. "
        "Prochaine réservation possible à partir du lundi 12 avril 2027."
    )
    title, detail = render_problem(refused.value, "en")
    assert detail == (
        "This resource can be booked at most 2 times a week per person. "
        "Next booking possible from Monday, 12 April 2027."
    )


def test_the_window_read_is_bounded_by_the_week_and_month_of_the_day():
    since, until = window(at(30, 10, 4).starts_at, NOW, "Europe/Paris")
    assert since == NOW  # earlier than 1 April: bookings still to come count from now
    assert until == dt.datetime(2027, 5, 3, tzinfo=PARIS).astimezone(
        dt.UTC
    )  # Monday after 30 April
